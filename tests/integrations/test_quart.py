"""Quart through the ASGI middleware, with Quart's own test client.

The middleware wraps ``app.asgi_app`` (Quart's documented place for ASGI middleware), and a
handler reaches the session with ``sojourn.asgi.get_session(request)`` — Quart's ``request``
exposes the ASGI scope. ``quart.session`` stays Quart's own signed-cookie session and is not
used. Requests use ``scheme="https"`` so the default ``__Host-sid; Secure`` cookie is kept.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from quart import Quart, request
from quart import typing as quart_typing
from quart.wrappers import Response

from sojourn import AsyncMemoryStore, Session
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import AsyncStore
from sojourn.stores.sqlite import AsyncSQLiteStore

COOKIE = "__Host-sid"


def make_app(store: AsyncStore) -> Quart:
    app = Quart(__name__)

    @app.post("/login")
    async def login() -> dict[str, str]:
        get_session(request).login(request.args["user"])
        return {"ok": "yes"}

    @app.post("/cart")
    async def add() -> dict[str, Any]:
        cart = get_session(request).setdefault("cart", [])
        cart.append(request.args["item"])
        return {"cart": cart}

    @app.get("/me")
    async def me() -> dict[str, Any]:
        session = get_session(request)
        return {"user": session.principal, "cart": session.get("cart", [])}

    @app.get("/scope")
    async def scope() -> dict[str, bool]:
        raw: Any = request.scope  # a TypedDict to mypy, without Sojourn's key
        return {"sojourn": isinstance(raw["session"], Session)}

    @app.post("/logout")
    async def logout() -> dict[str, str]:
        get_session(request).invalidate()
        return {"ok": "bye"}

    # Quart types scopes as TypedDicts, Sojourn as MutableMapping[str, Any]: the same dicts at
    # run time, two unrelated types to mypy (documented in the guide).
    app.asgi_app = SessionMiddleware(app.asgi_app, store=store)  # type: ignore[method-assign]
    return app


@contextlib.asynccontextmanager
async def memory_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    yield AsyncMemoryStore()


@contextlib.asynccontextmanager
async def sqlite_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    store = AsyncSQLiteStore(tmp_path / "sessions.db")
    yield store
    await store.aclose()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncStore]:
    factory = {"memory": memory_store, "sqlite": sqlite_store}[request.param]
    async with factory(tmp_path) as made:
        yield made


async def call(client: quart_typing.TestClientProtocol, method: str, path: str) -> Response:
    send = client.post if method == "POST" else client.get
    return await send(path, scheme="https")


def session_id(client: quart_typing.TestClientProtocol) -> str | None:
    assert client.cookie_jar is not None
    return next((c.value for c in client.cookie_jar if c.name == COOKIE), None)


@pytest.mark.anyio
async def test_login_write_read_logout(store: AsyncStore) -> None:
    client = make_app(store).test_client()
    anonymous = await call(client, "GET", "/me")
    assert await anonymous.get_json() == {"user": None, "cart": []}
    assert "set-cookie" not in anonymous.headers

    login = await call(client, "POST", "/login?user=alice")
    assert login.headers["set-cookie"].startswith(f"{COOKIE}=")
    sid = session_id(client)
    assert sid is not None

    await call(client, "POST", "/cart?item=apple")
    added = await call(client, "POST", "/cart?item=pear")
    assert await added.get_json() == {"cart": ["apple", "pear"]}
    me = await call(client, "GET", "/me")
    assert await me.get_json() == {"user": "alice", "cart": ["apple", "pear"]}

    bye = await call(client, "POST", "/logout")
    assert bye.headers["set-cookie"].startswith(f"{COOKIE}=;")
    assert session_id(client) is None
    assert await store.load(store_key(sid), 0.0) is None
    assert await (await call(client, "GET", "/me")).get_json() == {"user": None, "cart": []}


@pytest.mark.anyio
async def test_the_scope_holds_the_sojourn_session(store: AsyncStore) -> None:
    response = await call(make_app(store).test_client(), "GET", "/scope")
    assert await response.get_json() == {"sojourn": True}
