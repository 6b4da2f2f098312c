"""Issue 14's Clear-Site-Data on logout (SEC-29) and binding (SEC-62) through the ASGI
middleware: Starlette on every async store, and FastAPI through its dependency.

httpx's ASGI transport lets each request name its client address, as a server would fill in
the scope; the user agent travels as a header.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.binding import bind
from sojourn.fastapi import SessionDep
from sojourn.stores.base import AsyncStore

from .stores import StoreFactory, available

COOKIE = "__Host-sid"
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


async def login(request: Request) -> Response:
    session = get_session(request)
    session.login("alice")
    session["cart"] = ["book"]
    return PlainTextResponse("ok")


async def me(request: Request) -> Response:
    session = get_session(request)
    return JSONResponse({"user": session.principal, "cart": session.get("cart")})


async def logout(request: Request) -> Response:
    get_session(request).invalidate()
    return PlainTextResponse("bye")


def starlette_app(store: AsyncStore, **options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/me", me),
            Route("/logout", logout, methods=["POST"]),
        ]
    )
    app.add_middleware(SessionMiddleware, store=store, **options)
    return app


def fastapi_app(store: AsyncStore, **options: Any) -> FastAPI:
    app = FastAPI()

    @app.post("/login")
    async def fastapi_login(session: SessionDep) -> str:
        session.login("alice")
        session["cart"] = ["book"]
        return "ok"

    @app.get("/me")
    async def fastapi_me(session: SessionDep) -> dict[str, Any]:
        return {"user": session.principal, "cart": session.get("cart")}

    @app.post("/logout")
    async def fastapi_logout(session: SessionDep) -> str:
        session.invalidate()
        return "bye"

    app.add_middleware(SessionMiddleware, store=store, **options)
    return app


APPS = {"starlette": starlette_app, "fastapi": fastapi_app}


@pytest.fixture(params=sorted(available()))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncStore]:
    factory: StoreFactory = available()[request.param]
    async with factory(tmp_path) as opened:
        yield opened


@pytest.fixture(params=sorted(APPS))
def framework(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


def client_for(app: Any, ip: str = "203.0.113.9", agent: str = CHROME) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(ip, 50000))
    return httpx.AsyncClient(
        transport=transport, base_url="https://testserver", headers={"user-agent": agent}
    )


def issued(response: httpx.Response) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}="):
            return header.split(";", 1)[0].split("=", 1)[1]
    raise AssertionError("no session cookie was set")


# -- Clear-Site-Data ---------------------------------------------------------------------------


@pytest.mark.sec("SEC-29")
@pytest.mark.anyio
async def test_a_logout_sends_the_configured_clear_site_data(
    store: AsyncStore, framework: str
) -> None:
    app = APPS[framework](store, clear_site_data=("cache", "storage"))
    async with client_for(app) as client:
        signed_in = await client.post("/login")
        assert "clear-site-data" not in signed_in.headers
        assert "clear-site-data" not in (await client.get("/me")).headers
        response = await client.post("/logout")
        assert response.headers["clear-site-data"] == '"cache", "storage"'
        assert any("Max-Age=0" in h for h in response.headers.get_list("set-cookie"))


@pytest.mark.anyio
async def test_without_the_option_a_logout_sends_no_clear_site_data(
    store: AsyncStore, framework: str
) -> None:
    async with client_for(APPS[framework](store)) as client:
        await client.post("/login")
        assert "clear-site-data" not in (await client.post("/logout")).headers


@pytest.mark.anyio
async def test_a_logout_presenting_an_id_a_login_replaced_clears_nothing(
    store: AsyncStore,
) -> None:
    """A straggler with the old ID ends nothing: the client holds the login's new ID, and
    wiping its site data would log that one out too."""
    app = starlette_app(store, clear_site_data="*")
    async with client_for(app) as client:
        old = issued(await client.post("/login"))
        new = issued(await client.post("/login"))  # a second login: a new ID
        assert new != old
        client.cookies.clear()
        client.cookies.set(COOKIE, old)
        response = await client.post("/logout")
        assert "clear-site-data" not in response.headers


# -- binding -----------------------------------------------------------------------------------


@pytest.mark.sec("SEC-62")
@pytest.mark.anyio
async def test_a_bound_session_from_another_user_agent_family_ends(
    store: AsyncStore, framework: str
) -> None:
    app = APPS[framework](store, binding=bind(user_agent=True))
    async with client_for(app) as client:
        session_id = issued(await client.post("/login"))
        assert (await client.get("/me")).json() == {"user": "alice", "cart": ["book"]}
    async with client_for(app, agent=FIREFOX) as thief:
        thief.cookies.set(COOKIE, session_id)
        response = await thief.get("/me")
        assert response.json() == {"user": None, "cart": None}
        assert "set-cookie" not in response.headers  # the stolen ID names nothing any more
    assert await store.load(store_key(session_id), time.time()) is None
    async with client_for(app) as owner:  # ended for everyone: never adopted
        owner.cookies.set(COOKIE, session_id)
        assert (await owner.get("/me")).json() == {"user": None, "cart": None}


@pytest.mark.anyio
async def test_a_bound_session_from_another_ip_prefix_ends(
    store: AsyncStore, framework: str
) -> None:
    app = APPS[framework](store, binding=bind(ip=True))
    async with client_for(app, ip="203.0.113.9") as client:
        session_id = issued(await client.post("/login"))
    async with client_for(app, ip="203.0.113.77") as neighbour:  # the same /24
        neighbour.cookies.set(COOKIE, session_id)
        assert (await neighbour.get("/me")).json()["user"] == "alice"
    async with client_for(app, ip="2001:db8::1") as elsewhere:
        elsewhere.cookies.set(COOKIE, session_id)
        assert (await elsewhere.get("/me")).json()["user"] is None
