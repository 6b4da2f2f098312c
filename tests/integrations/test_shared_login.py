"""One login, two frameworks: a Flask app and a FastAPI app on one store and one cookie name.

The Flask side uses ``sojourn.flask.Sojourn`` over a sync store; the FastAPI side uses
``sojourn.asgi.SessionMiddleware`` over the async store of the same backend (the same SQLite
file, the same Redis prefix). A :class:`Browser` keeps one cookie jar and hands it to whichever
test client makes the next request, as a browser would when both apps sit behind one host.
Neither client keeps cookies of its own, so nothing reaches an app except through the jar.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask, request, session
from flask.testing import FlaskClient

from sojourn import CookieSettings
from sojourn.asgi import SessionMiddleware
from sojourn.fastapi import SessionDep
from sojourn.flask import Sojourn, current_session
from sojourn.stores.base import AsyncStore, Store

from .stores import record_of, redis_store, sqlite_store

# The same name and attributes on both sides; named explicitly, so they win over Flask's config.
SHARED_COOKIE = CookieSettings(name="__Host-sid", secure=True, same_site="lax")
COOKIE = SHARED_COOKIE.cookie_name


# -- the two applications ---------------------------------------------------------------------


def flask_app(store: Store) -> Flask:
    app = Flask(__name__)
    Sojourn(app, store=store, cookie=SHARED_COOKIE)

    @app.post("/login")
    def login() -> dict[str, str]:
        current_session().login(request.args["user"])
        return {"ok": "yes"}

    @app.post("/write")
    def write() -> dict[str, str]:
        session[request.args["key"]] = request.args["value"]
        return {"ok": "yes"}

    @app.get("/me")
    def me() -> dict[str, Any]:
        return {"user": current_session().principal, "data": dict(session)}

    @app.post("/logout")
    def logout() -> dict[str, str]:
        current_session().invalidate()
        return {"ok": "bye"}

    return app


def fastapi_app(store: AsyncStore) -> FastAPI:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, store=store, cookie=SHARED_COOKIE)

    @app.post("/login")
    async def login(user: str, session: SessionDep) -> dict[str, str]:
        session.login(user)
        return {"ok": "yes"}

    @app.post("/write")
    async def write(key: str, value: str, session: SessionDep) -> dict[str, str]:
        session[key] = value
        return {"ok": "yes"}

    @app.get("/me")
    async def me(session: SessionDep) -> dict[str, Any]:
        return {"user": session.principal, "data": dict(session)}

    @app.post("/logout")
    async def logout(session: SessionDep) -> dict[str, str]:
        session.invalidate()
        return {"ok": "bye"}

    return app


# -- one browser, two clients -----------------------------------------------------------------


@dataclass
class Browser:
    """One cookie jar carried between the Flask and the FastAPI test clients."""

    flask: FlaskClient
    api: TestClient
    store: Store  # the Flask side's view of the shared store, to inspect records
    jar: dict[str, str] = field(default_factory=dict)

    def _headers(self) -> dict[str, str]:
        return {"cookie": "; ".join(f"{k}={v}" for k, v in self.jar.items())} if self.jar else {}

    def _remember(self, lines: list[str]) -> None:
        for line in lines:
            name, _, rest = line.partition("=")
            value = rest.split(";", 1)[0]
            if value and "max-age=0" not in line.lower():
                self.jar[name] = value
            else:
                self.jar.pop(name, None)

    def on_flask(self, method: str, path: str) -> Any:
        response = self.flask.open(
            path, method=method, base_url="https://localhost", headers=self._headers()
        )
        assert response.status_code == 200, response.text
        self._remember(response.headers.getlist("Set-Cookie"))
        return response.json

    def on_fastapi(self, method: str, path: str) -> Any:
        response = self.api.request(method, path, headers=self._headers())
        self.api.cookies.clear()  # the jar above is the only one
        assert response.status_code == 200, response.text
        self._remember(response.headers.get_list("set-cookie"))
        return response.json()

    @property
    def session_id(self) -> str | None:
        return self.jar.get(COOKIE)


# -- the stores: one backend, a sync view for Flask and an async one for FastAPI ---------------


@contextlib.contextmanager
def sqlite_pair(tmp_path: Path) -> Iterator[tuple[Store, AsyncStore]]:
    from sojourn.stores.sqlite import AsyncSQLiteStore

    with sqlite_store(tmp_path) as sync:  # tmp_path / "sessions.db"
        yield sync, AsyncSQLiteStore(tmp_path / "sessions.db")


@contextlib.contextmanager
def redis_pair(tmp_path: Path) -> Iterator[tuple[Store, AsyncStore]]:
    from sojourn.stores.redis import AsyncRedisStore

    from .stores import REDIS_URL

    with redis_store(tmp_path) as sync:  # a random prefix, its keys deleted afterwards
        yield sync, AsyncRedisStore.from_url(REDIS_URL, prefix=getattr(sync, "prefix"))  # noqa: B009


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.server)])
def browser(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Browser]:
    pair = {"sqlite": sqlite_pair, "redis": redis_pair}[request.param]
    with (
        pair(tmp_path) as (sync, async_),
        TestClient(fastapi_app(async_), base_url="https://testserver") as api,
    ):
        yield Browser(flask_app(sync).test_client(use_cookies=False), api, sync)
        assert api.portal is not None
        api.portal.call(async_.aclose)  # its connections belong to the client's event loop


# -- the scenario ------------------------------------------------------------------------------


def test_login_on_flask_is_a_login_on_fastapi(browser: Browser) -> None:
    browser.on_flask("POST", "/login?user=alice")
    assert browser.session_id is not None
    assert browser.on_fastapi("GET", "/me") == {"user": "alice", "data": {}}


def test_login_on_fastapi_is_a_login_on_flask(browser: Browser) -> None:
    browser.on_fastapi("POST", "/login?user=bob")
    assert browser.session_id is not None
    assert browser.on_flask("GET", "/me") == {"user": "bob", "data": {}}


def test_a_write_on_either_side_is_seen_by_both(browser: Browser) -> None:
    browser.on_flask("POST", "/login?user=carol")
    browser.on_flask("POST", "/write?key=theme&value=dark")
    browser.on_fastapi("POST", "/write?key=cart&value=apple")
    expected = {"user": "carol", "data": {"theme": "dark", "cart": "apple"}}
    assert browser.on_flask("GET", "/me") == expected
    assert browser.on_fastapi("GET", "/me") == expected


def test_rotation_on_one_side_carries_the_data_to_the_other(browser: Browser) -> None:
    browser.on_fastapi("POST", "/write?key=cart&value=pear")  # anonymous first
    anonymous_id = browser.session_id
    browser.on_flask("POST", "/login?user=dan")  # rotates the ID, keeps the data
    assert browser.session_id not in (None, anonymous_id)
    assert browser.on_fastapi("GET", "/me") == {"user": "dan", "data": {"cart": "pear"}}
    assert anonymous_id is not None
    assert record_of(browser.store, anonymous_id) is None


def test_logout_on_one_side_logs_out_of_both(browser: Browser) -> None:
    browser.on_fastapi("POST", "/login?user=erin")
    old_id = browser.session_id
    assert old_id is not None
    browser.on_flask("POST", "/logout")
    assert browser.session_id is None
    assert record_of(browser.store, old_id) is None
    assert browser.on_fastapi("GET", "/me") == {"user": None, "data": {}}
    browser.jar[COOKIE] = old_id  # a replayed cookie is dead on both sides
    assert browser.on_fastapi("GET", "/me") == {"user": None, "data": {}}
    assert browser.on_flask("GET", "/me") == {"user": None, "data": {}}
