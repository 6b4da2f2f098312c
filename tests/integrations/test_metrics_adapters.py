"""``metrics=`` reaches the manager of every sync adapter: WSGI, Flask, and Django through
``SOJOURN_METRICS``; a request that writes a session is reported (the create, the event)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import django
from django.conf import settings

if not settings.configured:
    from . import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.test import override_settings
from flask import Flask
from flask import session as flask_session
from werkzeug.test import Client
from werkzeug.wrappers import Response

from sojourn import MemoryStore
from sojourn._integrations.django_config import configured_manager
from sojourn.django import SessionStore
from sojourn.flask import Sojourn
from sojourn.wsgi import SessionMiddleware
from tests.metrics.recording import Recorder

STORE = "sojourn.stores.memory.MemoryStore"


def test_the_wsgi_middleware_reports_to_its_metrics() -> None:
    recorder = Recorder()

    def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        environ["sojourn.session"]["n"] = 1
        return Response("ok")(environ, start_response)

    store = MemoryStore()
    wrapped: Any = SessionMiddleware(app, store, metrics=recorder)
    client = Client(wrapped)
    assert client.get("/", base_url="https://localhost").status_code == 200
    assert recorder.operations == ["create"]
    assert [event.kind for event in recorder.events] == ["created"]
    assert recorder.watched == [store]


def test_the_flask_extension_reports_to_its_metrics() -> None:
    recorder = Recorder()
    app = Flask(__name__)
    app.config.update(SECRET_KEY="x" * 32, SESSION_COOKIE_SECURE=True)

    @app.post("/write")
    def write() -> str:
        flask_session["n"] = int(flask_session.get("n", 0)) + 1
        return str(flask_session["n"])

    Sojourn(app, store=MemoryStore(), metrics=recorder)
    client = app.test_client()
    assert client.post("/write", base_url="https://localhost").text == "1"
    assert client.post("/write", base_url="https://localhost").text == "2"
    assert recorder.operations == ["create", "load", "apply"]
    assert [event.kind for event in recorder.events] == ["created"]


def test_django_reports_to_the_observer_sojourn_metrics_names() -> None:
    recorder = Recorder()
    with override_settings(SOJOURN_STORE=STORE, SOJOURN_METRICS=recorder):
        assert configured_manager().metrics is recorder
        session = SessionStore()
        session["n"] = 1
        session.save()
        assert SessionStore(session.session_key)["n"] == 1
    assert recorder.operations[:1] == ["create"]
    assert "load" in recorder.operations
    assert [event.kind for event in recorder.events] == ["created"]
