"""Issue 14's Clear-Site-Data on logout (SEC-29) and binding (SEC-62) through WSGI and Flask,
on every sync store. Each client names its address and user agent in the WSGI environ, as a
server fills them in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client
from werkzeug.wrappers import Request, Response

from sojourn import Session
from sojourn.binding import bind
from sojourn.flask import Sojourn, current_session
from sojourn.stores.base import Store
from sojourn.wsgi import SessionMiddleware, get_session

from .stores import StoreFactory, available, record_of, store_params

BASE = "https://localhost"
COOKIE = "__Host-sid"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    session: Session = get_session(environ)
    path = Request(environ).path
    if path == "/login":
        session.login("alice")
    elif path == "/logout":
        session.invalidate()
    body = str(session.principal)
    return Response(body, mimetype="text/plain")(environ, start_response)


def wsgi(store: Store, **options: Any) -> Any:
    return SessionMiddleware(wsgi_app, store=store, **options)


def flask(store: Store, **options: Any) -> Any:
    app = Flask(__name__)
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_SECURE=True)
    Sojourn(app, store=store, **options)

    @app.get("/login")
    def login() -> str:
        current_session().login("alice")
        return "alice"

    @app.get("/me")
    def me() -> str:
        return str(current_session().principal)

    @app.get("/logout")
    def logout() -> str:
        current_session().invalidate()
        return "None"

    return app


APPS: dict[str, Callable[..., Any]] = {"wsgi": wsgi, "flask": flask}


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


@pytest.fixture(params=sorted(APPS))
def framework(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


class Browser(Client):
    """A test client whose every request comes from one user agent and address."""

    def __init__(self, app: Any, agent: str, ip: str) -> None:
        super().__init__(app)
        self.who = {"HTTP_USER_AGENT": agent, "REMOTE_ADDR": ip}

    def open(self, *args: Any, **kwargs: Any) -> Any:
        kwargs["environ_base"] = {**self.who, **kwargs.get("environ_base", {})}
        return super().open(*args, **kwargs)


def browser(app: Any, agent: str = CHROME, ip: str = "203.0.113.9") -> Browser:
    return Browser(app, agent, ip)


def session_id(client: Client) -> str:
    cookie = client.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    return cookie.value


def presenting(app: Any, value: str, **who: str) -> Client:
    client = browser(app, **who)
    client.set_cookie(COOKIE, value, domain="localhost", secure=True)
    return client


@pytest.mark.sec("SEC-29")
def test_a_logout_sends_the_configured_clear_site_data(store: Store, framework: str) -> None:
    client = browser(APPS[framework](store, clear_site_data=["cookies", "storage"]))
    assert "Clear-Site-Data" not in client.get(f"{BASE}/login").headers
    response = client.get(f"{BASE}/logout")
    assert response.headers["Clear-Site-Data"] == '"cookies", "storage"'
    assert len(response.headers.getlist("Clear-Site-Data")) == 1


def test_without_the_option_a_logout_sends_no_clear_site_data(store: Store, framework: str) -> None:
    client = browser(APPS[framework](store))
    client.get(f"{BASE}/login")
    assert "Clear-Site-Data" not in client.get(f"{BASE}/logout").headers


@pytest.mark.sec("SEC-62")
def test_a_bound_session_from_another_user_agent_family_ends(store: Store, framework: str) -> None:
    app = APPS[framework](store, binding=bind(user_agent=True))
    owner = browser(app)
    owner.get(f"{BASE}/login")
    stolen = session_id(owner)
    assert owner.get(f"{BASE}/me").text == "alice"
    thief = presenting(app, stolen, agent=FIREFOX)
    assert thief.get(f"{BASE}/me").text == "None"
    assert record_of(store, stolen) is None
    assert owner.get(f"{BASE}/me").text == "None"  # ended, for its owner too


def test_a_bound_session_from_another_ip_prefix_ends(store: Store, framework: str) -> None:
    app = APPS[framework](store, binding=bind(ip=True))
    owner = browser(app, ip="198.51.100.20")
    owner.get(f"{BASE}/login")
    value = session_id(owner)
    assert presenting(app, value, ip="198.51.100.200").get(f"{BASE}/me").text == "alice"
    assert presenting(app, value, ip="198.51.101.20").get(f"{BASE}/me").text == "None"
    assert record_of(store, value) is None
