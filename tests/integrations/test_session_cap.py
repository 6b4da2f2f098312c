"""SEC-63 through every adapter: the cap is configured there, and a refused login is answered.

ASGI, WSGI and Flask answer a refused login with ``409`` and ``Sojourn-Session: refused``, no
cookie, the session as it was (the client's cookie still opens it); Django raises
``LoginRefused`` (a ``TooManySessions`` and a ``PermissionDenied``): a view that saves the
login itself catches it, and otherwise Django answers ``403``; either way the visitor is not
signed in (``auth.login`` cycles the key before the save the cap refuses, so the pre-login
session is not handed back). Under ``evict_oldest`` the
oldest session's cookie no longer opens anything.
"""

from __future__ import annotations

import json
import time
from typing import Any

import django
import httpx
import pytest
from django.conf import settings

if not settings.configured:
    from . import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.test import Client as DjangoClient
from django.test import override_settings
from flask import Flask, request, session
from werkzeug.test import Client

from sojourn import AsyncMemoryStore, MemoryStore, Session
from sojourn.asgi import SessionMiddleware as ASGIMiddleware
from sojourn.flask import Sojourn
from sojourn.testing import FakeClock
from sojourn.wsgi import SessionMiddleware as WSGIMiddleware
from sojourn.wsgi import get_session

from ..asgi.test_acceptance import client_for, make_app
from .shared import django_users

BASE = "https://localhost"

pytestmark = pytest.mark.sec("SEC-63")


def _refused(status: int, headers: Any, cookies: list[str]) -> None:
    assert status == 409
    assert headers["Sojourn-Session"] == "refused"
    assert cookies == []


# -- ASGI ---------------------------------------------------------------------------------------


async def _asgi_login(app: Any, cookie: str | None = None) -> httpx.Response:
    async with client_for(app) as client:
        if cookie:
            client.cookies.set("__Host-sid", cookie)
        return await client.post("/login?user=alice")


@pytest.mark.anyio
async def test_asgi_refuses_a_login_past_the_cap_with_a_409_and_no_cookie() -> None:
    store = MemoryStore()
    app = make_app(AsyncMemoryStore(store), FakeClock(), max_sessions_per_user=2, on_cap="refuse")
    for _ in range(2):
        assert (await _asgi_login(app)).status_code == 200
    async with client_for(app) as client:
        await client.post("/write?name=cart")
        form = client.cookies.get("__Host-sid")
        refused = await client.post("/login?user=alice")
        _refused(refused.status_code, refused.headers, refused.headers.get_list("set-cookie"))
        assert b"login was refused" in refused.content
        kept = await client.get("/read")  # the same cookie: the session as it was
        assert kept.json()["name"] == "cart"
        assert client.cookies.get("__Host-sid") == form
    assert len(store.sessions_of("alice", FakeClock()())) == 2


@pytest.mark.anyio
async def test_asgi_evicts_the_oldest_session_past_the_cap() -> None:
    clock = FakeClock()
    store = MemoryStore()
    app = make_app(AsyncMemoryStore(store), clock, max_sessions_per_user=2)
    async with client_for(app) as first:
        await first.post("/login?user=alice")
        clock.advance(1)
        for _ in range(2):
            assert (await _asgi_login(app)).status_code == 200
            clock.advance(1)
        assert (await first.get("/read")).json()["keys"] == []  # the oldest login: ended
    assert len(store.sessions_of("alice", clock())) == 2


# -- WSGI ---------------------------------------------------------------------------------------


def _wsgi_app(environ: dict[str, Any], start_response: Any) -> Any:
    from werkzeug.wrappers import Request, Response

    req = Request(environ)
    live: Session = get_session(environ)
    if req.path == "/login":
        live.login("alice")
    elif req.path == "/write":
        live["cart"] = "3"
    return Response(json.dumps(dict(live)))(environ, start_response)


def _client(app: Any) -> Client:
    return Client(app)


def test_wsgi_refuses_a_login_past_the_cap_with_a_409_and_no_cookie() -> None:
    store = MemoryStore()
    app = WSGIMiddleware(_wsgi_app, store=store, max_sessions_per_user=1, on_cap="refuse")
    assert _client(app).get(f"{BASE}/login").status_code == 200
    client = _client(app)
    client.get(f"{BASE}/write")
    refused = client.get(f"{BASE}/login")
    _refused(refused.status_code, refused.headers, refused.headers.getlist("Set-Cookie"))
    assert json.loads(client.get(f"{BASE}/read").text) == {"cart": "3"}


# -- Flask --------------------------------------------------------------------------------------


def _flask_app(store: MemoryStore, **options: Any) -> Flask:
    app = Flask(__name__)
    Sojourn(app, store=store, **options)

    @app.get("/login")
    def login() -> str:
        session.login(request.args["user"])  # type: ignore[attr-defined]
        return "ok"

    @app.get("/write")
    def write() -> str:
        session["cart"] = "3"
        return "ok"

    @app.get("/read")
    def read() -> dict[str, Any]:
        return dict(session)

    return app


def test_flask_refuses_a_login_past_the_cap_with_a_409_and_no_cookie() -> None:
    store = MemoryStore()
    app = _flask_app(store, max_sessions_per_user=1, on_cap="refuse")
    assert app.test_client().get("/login?user=alice").status_code == 200
    client = app.test_client()
    client.get("/write")
    refused = client.get("/login?user=alice")
    _refused(refused.status_code, refused.headers, refused.headers.getlist("Set-Cookie"))
    assert client.get("/read").json == {"cart": "3"}


def test_flask_evicts_the_oldest_session_past_the_cap() -> None:
    store = MemoryStore()
    app = _flask_app(store, max_sessions_per_user=1)
    first = app.test_client()
    first.get("/write")
    first.get("/login?user=alice")
    assert app.test_client().get("/login?user=alice").status_code == 200
    assert first.get("/read").json == {}  # evicted: a fresh session


# -- Django -------------------------------------------------------------------------------------


def _alice() -> str:
    from django.contrib.auth.models import User

    return str(User.objects.get(username="alice").pk)


@pytest.fixture(scope="module")
def users() -> None:
    django_users()


@pytest.mark.usefixtures("users")
def test_django_view_catches_a_refused_login_saved_at_once() -> None:
    store = MemoryStore()
    with override_settings(
        SOJOURN_STORE=store, SOJOURN_MAX_SESSIONS_PER_USER=1, SOJOURN_ON_CAP="refuse"
    ):
        assert DjangoClient().get("/login-checked?user=alice", secure=True).content == b"ok"
        client = DjangoClient()
        client.get("/write?cart=3", secure=True)
        refused = client.get("/login-checked?user=alice", secure=True)
        assert refused.status_code == 409
        assert refused.content == b"too many sessions"
        assert json.loads(client.get("/whoami", secure=True).content) == {"user": None}
        assert len(store.sessions_of(_alice(), time.time())) == 1


@pytest.mark.usefixtures("users")
def test_django_answers_403_for_a_refused_login_the_middleware_saves() -> None:
    store = MemoryStore()
    with override_settings(
        SOJOURN_STORE=store, SOJOURN_MAX_SESSIONS_PER_USER=1, SOJOURN_ON_CAP="refuse"
    ):
        assert DjangoClient().get("/login?user=alice", secure=True).status_code == 200
        client = DjangoClient()
        client.get("/write?cart=3", secure=True)
        refused = client.get("/login?user=alice", secure=True)
        assert refused.status_code == 403
        assert "sessionid" not in refused.cookies
        # auth.login cycled the key before the save that the cap refused: the client's cookie
        # names the pre-login key, so it is anonymous again, and not signed in.
        assert json.loads(client.get("/whoami", secure=True).content) == {"user": None}
        assert len(store.sessions_of(_alice(), time.time())) == 1


@pytest.mark.usefixtures("users")
def test_django_evicts_the_oldest_session_past_the_cap() -> None:
    store = MemoryStore()
    with override_settings(SOJOURN_STORE=store, SOJOURN_MAX_SESSIONS_PER_USER=1):
        first = DjangoClient()
        first.get("/login?user=alice", secure=True)
        assert json.loads(first.get("/whoami", secure=True).content) == {"user": "alice"}
        DjangoClient().get("/login?user=alice", secure=True)
        assert json.loads(first.get("/whoami", secure=True).content) == {"user": None}


def test_asgi_middleware_takes_the_cap_options() -> None:
    store = MemoryStore()
    inner = make_app(AsyncMemoryStore(store), FakeClock())
    middleware = ASGIMiddleware(inner, store, max_sessions_per_user=4, on_cap="refuse")
    engine = middleware.manager.engine
    assert (engine.max_sessions_per_user, engine.on_cap) == (4, "refuse")
