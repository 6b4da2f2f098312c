"""Litestar through the ASGI middleware, with Litestar's own test clients.

Two ways to install it, both tested: ``DefineMiddleware`` in ``Litestar(middleware=[...])``
(the recommended one: Litestar builds the middleware into every route's stack) and wrapping the
whole application. Handlers reach the session with ``sojourn.asgi.get_session(request)`` (typed)
or ``request.session`` (Litestar's accessor of ``scope["session"]``), or have it injected with
``Provide``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from litestar import Litestar, Request, get, post
from litestar.di import Provide
from litestar.middleware import DefineMiddleware
from litestar.testing import AsyncTestClient, TestClient
from litestar.types import ASGIApp

from sojourn import Session
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import AsyncStore

from .shared import ASYNC_STORES

BASE = "https://testserver.local"
COOKIE = "__Host-sid"


@post("/login")
async def login(request: Request[Any, Any, Any], user: str) -> dict[str, str]:
    get_session(request).login(user)
    return {"ok": "yes"}


@post("/cart")
async def add(request: Request[Any, Any, Any], item: str) -> dict[str, Any]:
    cart = request.session.setdefault("cart", [])  # Litestar's accessor works too
    cart.append(item)
    return {"cart": cart}


@get("/me")
async def me(request: Request[Any, Any, Any]) -> dict[str, Any]:
    session = get_session(request)
    return {"user": session.principal, "cart": session.get("cart", [])}


@post("/logout")
async def logout(request: Request[Any, Any, Any]) -> dict[str, str]:
    get_session(request).invalidate()
    return {"ok": "bye"}


async def provide_session(request: Request[Any, Any, Any]) -> Session:
    """A Litestar dependency handing a handler the typed session."""
    return get_session(request)


@get("/injected", dependencies={"session": Provide(provide_session)})
async def injected(session: Session) -> dict[str, Any]:
    return {"user": session.principal, "sojourn": isinstance(session, Session)}


@post("/clear")
async def clear(request: Request[Any, Any, Any]) -> dict[str, str]:
    request.clear_session()  # Litestar's own: only replaces scope["session"]
    return {"ok": "cleared?"}


HANDLERS = [login, add, me, logout, injected, clear]


# Litestar types its scopes as TypedDicts, Sojourn as MutableMapping[str, Any]: the same dicts at
# run time, but mypy sees two unrelated types, hence the ignores (documented in the guide).


def defined(store: AsyncStore) -> ASGIApp:
    middleware = DefineMiddleware(SessionMiddleware, store=store)
    return Litestar(HANDLERS, middleware=[middleware])


def wrapped(store: AsyncStore) -> ASGIApp:
    return SessionMiddleware(Litestar(HANDLERS), store=store)


@pytest.fixture(params=sorted(ASYNC_STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AsyncStore]:
    with ASYNC_STORES[request.param](tmp_path) as made:
        yield made


@pytest.mark.parametrize("build", [defined, wrapped], ids=["DefineMiddleware", "wrapped"])
def test_login_write_read_logout(store: AsyncStore, build: Callable[[AsyncStore], ASGIApp]) -> None:
    with TestClient(build(store), base_url=BASE) as client:
        anonymous = client.get("/me")
        assert anonymous.json() == {"user": None, "cart": []}
        assert "set-cookie" not in anonymous.headers

        login_response = client.post("/login", params={"user": "alice"})
        assert login_response.headers["set-cookie"].startswith(f"{COOKIE}=")
        sid = client.cookies.get(COOKIE)
        assert sid is not None

        client.post("/cart", params={"item": "apple"})
        assert client.post("/cart", params={"item": "pear"}).json() == {"cart": ["apple", "pear"]}
        assert client.get("/me").json() == {"user": "alice", "cart": ["apple", "pear"]}

        bye = client.post("/logout")
        assert bye.headers["set-cookie"].startswith(f"{COOKIE}=;")
        assert client.cookies.get(COOKIE) is None
        assert client.blocking_portal.call(store.load, store_key(sid), 0.0) is None
        assert client.get("/me").json() == {"user": None, "cart": []}


def test_a_dependency_can_hand_over_the_typed_session(store: AsyncStore) -> None:
    with TestClient(defined(store), base_url=BASE) as client:
        client.post("/login", params={"user": "bob"})
        assert client.get("/injected").json() == {"user": "bob", "sojourn": True}


def test_litestars_clear_session_does_not_end_a_sojourn_session(store: AsyncStore) -> None:
    # Documented in docs/frameworks/litestar.md: log out with get_session(request).invalidate().
    with TestClient(defined(store), base_url=BASE) as client:
        client.post("/login", params={"user": "dan"})
        response = client.post("/clear")
        assert "set-cookie" not in response.headers
        assert client.get("/me").json() == {"user": "dan", "cart": []}


@pytest.mark.anyio
async def test_async_test_client(store: AsyncStore) -> None:
    async with AsyncTestClient(defined(store), base_url=BASE) as client:
        await client.post("/login", params={"user": "carol"})
        await client.post("/cart", params={"item": "fig"})
        assert (await client.get("/me")).json() == {"user": "carol", "cart": ["fig"]}
        assert await store.load(store_key(client.cookies[COOKIE]), 0.0) is not None
