"""Several named sessions through the ASGI middleware: Starlette, FastAPI, Litestar, Quart.

Each app stacks two middlewares, the shop's (unnamed, ``scope["session"]``) and the admin's
(``name="admin"``, ``scope["sojourn.sessions"]["admin"]``), in both orders, and answers every
path with :func:`tests.integrations.named.act`. Starlette's ``TestClient`` is the browser.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import pytest
from fastapi import Depends, FastAPI
from fastapi import Request as FastAPIRequest
from litestar import Litestar, route
from litestar import Request as LitestarRequest
from litestar.middleware import DefineMiddleware
from quart import Quart
from quart import request as quart_request
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sojourn import AsyncManager, AsyncMemoryStore, ConfigurationError, CookieSettings, Session
from sojourn.asgi import SessionMiddleware, get_manager, get_session
from sojourn.fastapi import SessionDep, named_manager, named_session
from sojourn.stores.sqlite import AsyncSQLiteStore
from sojourn.testing._clock import FakeClock

from . import named
from .named import ADMIN, ADMIN_COOKIE, ADMIN_IDLE, ADMIN_NAME, ALL_PATHS, REVOKED_WRITE, SHOP

BASE = "https://testserver"


@dataclass
class Setup:
    """The two middlewares' options, in the order they wrap (the first is outermost)."""

    clock: FakeClock
    layers: list[dict[str, Any]]


@pytest.fixture(params=["admin-outside", "shop-outside"])
def setup(request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock) -> Iterator[Setup]:
    admin_store = AsyncSQLiteStore(tmp_path / "admin.db")
    shop: dict[str, Any] = {"store": AsyncMemoryStore(), "cookie": SHOP, "clock": clock}
    admin: dict[str, Any] = {
        "store": admin_store,
        "cookie": ADMIN,
        "idle_timeout": ADMIN_IDLE,
        "clock": clock,
        "name": ADMIN_NAME,
    }
    yield Setup(clock, [admin, shop] if request.param == "admin-outside" else [shop, admin])
    asyncio.run(admin_store.aclose())


async def revoke_if_asked(path: str, scope: Any, cookies: dict[str, str]) -> None:
    if path == REVOKED_WRITE:  # ended elsewhere while this request runs
        await get_manager(scope, ADMIN_NAME).delete(cookies[ADMIN_COOKIE])


def starlette_app(setup: Setup) -> Any:
    async def endpoint(request: Request) -> JSONResponse:
        path = request.url.path
        await revoke_if_asked(path, request.scope, request.cookies)
        shop, admin = get_session(request), get_session(request, ADMIN_NAME)
        return JSONResponse(named.act(path, dict(request.query_params), shop, admin))

    routes = [Route(path, endpoint, methods=["GET", "POST"]) for path in ALL_PATHS]
    return Starlette(
        routes=routes, middleware=[Middleware(SessionMiddleware, **o) for o in setup.layers]
    )


AdminDep = Annotated[Session, Depends(named_session(ADMIN_NAME))]
AdminManagerDep = Annotated[AsyncManager, Depends(named_manager(ADMIN_NAME))]


def fastapi_app(setup: Setup) -> Any:
    app = FastAPI()

    async def endpoint(
        request: FastAPIRequest, shop: SessionDep, admin: AdminDep, manager: AdminManagerDep
    ) -> Any:
        path = request.url.path
        if path == REVOKED_WRITE:
            await manager.delete(request.cookies[ADMIN_COOKIE])
        return named.act(path, dict(request.query_params), shop, admin)

    for path in ALL_PATHS:
        app.add_api_route(path, endpoint, methods=["GET", "POST"])
    for options in reversed(setup.layers):  # add_middleware puts each one outside the last
        app.add_middleware(SessionMiddleware, **options)
    return app


def litestar_app(setup: Setup) -> Any:
    @route(list(ALL_PATHS), http_method=["GET", "POST"], status_code=200)
    async def endpoint(request: LitestarRequest[Any, Any, Any]) -> Any:
        path = request.url.path
        await revoke_if_asked(path, request.scope, request.cookies)
        shop, admin = get_session(request), get_session(request, ADMIN_NAME)
        return named.act(path, dict(request.query_params), shop, admin)

    layers = [DefineMiddleware(SessionMiddleware, **options) for options in setup.layers]
    return Litestar([endpoint], middleware=layers)


def quart_app(setup: Setup) -> Any:
    app = Quart(__name__)

    async def endpoint() -> Any:
        path = quart_request.path
        await revoke_if_asked(path, quart_request.scope, dict(quart_request.cookies))
        shop, admin = get_session(quart_request), get_session(quart_request, ADMIN_NAME)
        return named.act(path, dict(quart_request.args), shop, admin)

    for path in ALL_PATHS:
        app.add_url_rule(path, path, endpoint, methods=["GET", "POST"])
    wrapped: Any = app.asgi_app
    for options in reversed(setup.layers):
        wrapped = SessionMiddleware(wrapped, **options)
    app.asgi_app = wrapped  # type: ignore[method-assign]
    return app


APPS: dict[str, Callable[[Setup], Any]] = {
    "starlette": starlette_app,
    "fastapi": fastapi_app,
    "litestar": litestar_app,
    "quart": quart_app,
}


@pytest.fixture(params=sorted(APPS))
def client(request: pytest.FixtureRequest, setup: Setup) -> Iterator[TestClient]:
    with TestClient(APPS[request.param](setup), base_url=BASE) as made:
        yield made


class TestASGI(named.Scenario):
    """The scenario through two stacked ASGI middlewares, in each framework."""


# -- refused set-ups ----------------------------------------------------------------------------


async def plain(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("never called")


def test_two_middlewares_on_one_cookie_are_refused_at_start_up() -> None:
    inner = SessionMiddleware(plain, AsyncMemoryStore(), cookie=SHOP)
    with pytest.raises(ConfigurationError, match="__Host-shop"):
        SessionMiddleware(inner, AsyncMemoryStore(), cookie=SHOP, name=ADMIN_NAME)


def test_two_unnamed_middlewares_are_refused_at_start_up() -> None:
    inner = SessionMiddleware(plain, AsyncMemoryStore(), cookie=SHOP)
    with pytest.raises(ConfigurationError, match="name="):
        SessionMiddleware(inner, AsyncMemoryStore(), cookie=ADMIN)


def test_two_middlewares_of_one_name_are_refused_at_start_up() -> None:
    inner = SessionMiddleware(plain, AsyncMemoryStore(), cookie=SHOP, name=ADMIN_NAME)
    with pytest.raises(ConfigurationError, match="'admin'"):
        SessionMiddleware(inner, AsyncMemoryStore(), cookie=ADMIN, name=ADMIN_NAME)


def test_starlette_stack_on_one_cookie_is_refused_when_built() -> None:
    same = CookieSettings(name="__Host-same")
    app = Starlette(
        middleware=[
            Middleware(SessionMiddleware, store=AsyncMemoryStore(), cookie=same),
            Middleware(SessionMiddleware, store=AsyncMemoryStore(), cookie=same, name="admin"),
        ]
    )
    with pytest.raises(ConfigurationError, match="__Host-same"), TestClient(app, base_url=BASE):
        pass


class Hiding:
    """A middleware that keeps its app under another attribute: the start-up walk misses the
    session inside it, and the first request finds the clash instead."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self._inner(scope, receive, send)


def test_a_clash_hidden_from_the_start_up_walk_fails_the_first_request() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})

    inner = SessionMiddleware(app, AsyncMemoryStore(), cookie=SHOP, name=ADMIN_NAME)
    outer = SessionMiddleware(Hiding(inner), AsyncMemoryStore(), cookie=SHOP)
    client = TestClient(outer, base_url=BASE)  # no lifespan: the raw app answers HTTP only
    with pytest.raises(ConfigurationError, match="__Host-shop"):
        client.get("/")


def test_a_missing_named_session_names_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="name='admin'"):
        get_session({"type": "http"}, ADMIN_NAME)


def test_an_empty_name_is_refused() -> None:
    with pytest.raises(ConfigurationError):
        SessionMiddleware(plain, AsyncMemoryStore(), name="")
    with pytest.raises(ConfigurationError):
        named_session(" ")
