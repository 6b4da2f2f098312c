"""The foundation's acceptance scenario, through the ASGI middleware, on every store.

Requests go over https://testserver so the default ``__Host-sid; Secure`` cookie is kept and
sent back by the client, as a browser would.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sojourn import new_session_id
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import AsyncStore
from sojourn.testing import FakeClock

from .stores import StoreFactory, available

COOKIE = "__Host-sid"


async def read(request: Request) -> Response:
    return JSONResponse({"name": request.session.get("name"), "keys": sorted(request.session)})


async def write(request: Request) -> Response:
    request.session["name"] = request.query_params.get("name", "x")
    return PlainTextResponse("ok")


async def set_key(request: Request) -> Response:
    await asyncio.sleep(0.01)  # let the other requests load the same state first
    request.session[request.path_params["key"]] = True
    return PlainTextResponse("ok")


async def login(request: Request) -> Response:
    get_session(request).login(request.query_params["user"])
    return PlainTextResponse("ok")


async def logout(request: Request) -> Response:
    get_session(request).invalidate()
    return PlainTextResponse("bye")


async def untouched(request: Request) -> Response:
    return PlainTextResponse("no session here")


def make_app(store: AsyncStore, clock: FakeClock, **options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/read", read),
            Route("/write", write, methods=["POST"]),
            Route("/set/{key}", set_key, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/untouched", untouched),
        ]
    )
    app.add_middleware(SessionMiddleware, store=store, clock=clock, **options)
    return app


@pytest.fixture(params=sorted(available()))
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncStore]:
    factory: StoreFactory = available()[request.param]
    async with factory(tmp_path) as opened:
        yield opened


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def client_for(app: Starlette) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="https://testserver")


def session_cookie(response: httpx.Response) -> str | None:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{COOKIE}="):
            return header
    return None


def cookie_value(header: str) -> str:
    return header.split(";", 1)[0].split("=", 1)[1]


@pytest.mark.sec("SEC-06")
@pytest.mark.anyio
async def test_anonymous_read_sets_no_cookie_and_writes_nothing(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        response = await client.get("/read")
        assert response.status_code == 200
        assert response.json() == {"name": None, "keys": []}
        assert "set-cookie" not in response.headers
        assert response.headers["vary"] == "Cookie"
    # the middleware's own store view holds nothing new: a fresh cookie finds nothing either
    bogus = new_session_id()
    assert await store.load(store_key(bogus), clock()) is None


@pytest.mark.sec("SEC-10")
@pytest.mark.anyio
async def test_a_write_sets_a_secure_cookie(store: AsyncStore, clock: FakeClock) -> None:
    async with client_for(make_app(store, clock)) as client:
        response = await client.post("/write?name=ann")
        header = session_cookie(response)
        assert header is not None
        attributes = [part.strip() for part in header.split(";")]
        assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= set(attributes)
        assert not any(a.lower().startswith(("domain", "max-age", "expires")) for a in attributes)
        assert response.headers["cache-control"] == "private, no-store"
        assert (await client.get("/read")).json()["name"] == "ann"
        assert await store.load(store_key(cookie_value(header)), clock()) is not None


@pytest.mark.sec("SEC-05")
@pytest.mark.anyio
async def test_an_unknown_id_is_never_adopted(store: AsyncStore, clock: FakeClock) -> None:
    planted = new_session_id()
    async with client_for(make_app(store, clock)) as client:
        client.cookies.set(COOKIE, planted)
        read_response = await client.get("/read")
        assert read_response.json()["name"] is None
        assert session_cookie(read_response) is None
        response = await client.post("/write?name=eve")
        header = session_cookie(response)
        assert header is not None
        assert cookie_value(header) != planted
    assert await store.load(store_key(planted), clock()) is None


@pytest.mark.sec("SEC-07", "SEC-08")
@pytest.mark.anyio
async def test_login_issues_a_new_id_and_the_old_one_is_dead(
    store: AsyncStore, clock: FakeClock
) -> None:
    app = make_app(store, clock)
    async with client_for(app) as client:
        first = session_cookie(await client.post("/write?name=pre"))
        assert first is not None
        response = await client.post("/login?user=alice")
        second = session_cookie(response)
        assert second is not None
        assert cookie_value(second) != cookie_value(first)
        assert (await client.get("/read")).json()["name"] == "pre"  # data kept
    assert await store.load(store_key(cookie_value(first)), clock()) is None
    async with client_for(app) as replay:
        replay.cookies.set(COOKIE, cookie_value(first))
        assert (await replay.get("/read")).json() == {"name": None, "keys": []}


@pytest.mark.sec("SEC-25")
@pytest.mark.anyio
async def test_invalidate_clears_the_cookie_and_the_record(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        header = session_cookie(await client.post("/write?name=bob"))
        assert header is not None
        response = await client.post("/logout")
        cleared = session_cookie(response)
        assert cleared is not None
        assert cookie_value(cleared) == ""
        assert "Max-Age=0" in cleared
        assert (await client.get("/read")).json()["name"] is None
    assert await store.load(store_key(cookie_value(header)), clock()) is None


@pytest.mark.sec("SEC-47")
@pytest.mark.anyio
async def test_twenty_concurrent_writers_on_one_session_all_survive(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        assert session_cookie(await client.post("/write?name=many")) is not None
        responses = await asyncio.gather(*(client.post(f"/set/k{i}") for i in range(20)))
        assert all(r.status_code == 200 for r in responses)
        assert all(session_cookie(r) is None for r in responses)
        keys = (await client.get("/read")).json()["keys"]
    assert keys == sorted(["name", *(f"k{i}" for i in range(20))])


@pytest.mark.sec("SEC-20")
@pytest.mark.anyio
async def test_a_session_idle_past_the_timeout_is_not_served(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock, idle_timeout=1)) as client:
        assert session_cookie(await client.post("/write?name=idle")) is not None
        clock.advance(0.5)
        assert (await client.get("/read")).json()["name"] == "idle"
        clock.advance(2)
        assert (await client.get("/read")).json()["name"] is None


@pytest.mark.sec("SEC-20")
@pytest.mark.anyio
async def test_reads_renew_the_idle_deadline(store: AsyncStore, clock: FakeClock) -> None:
    async with client_for(make_app(store, clock, idle_timeout=10)) as client:
        assert session_cookie(await client.post("/write?name=busy")) is not None
        for _ in range(5):
            clock.advance(6)  # each read comes before the (renewed) deadline
            assert (await client.get("/read")).json()["name"] == "busy"


@pytest.mark.sec("SEC-21")
@pytest.mark.anyio
async def test_the_absolute_lifetime_ends_a_busy_session(
    store: AsyncStore, clock: FakeClock
) -> None:
    app = make_app(store, clock, idle_timeout=10, lifetime=25)
    async with client_for(app) as client:
        assert session_cookie(await client.post("/write?name=busy")) is not None
        for _ in range(4):
            clock.advance(5)
            assert (await client.get("/read")).json()["name"] == "busy"
        clock.advance(6)
        assert (await client.get("/read")).json()["name"] is None


@pytest.mark.sec("SEC-17")
@pytest.mark.anyio
async def test_a_route_that_never_touches_the_session_gets_no_vary(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        await client.post("/write?name=v")
        response = await client.get("/untouched")
        assert "vary" not in response.headers
        assert "set-cookie" not in response.headers


@pytest.mark.anyio
async def test_the_real_clock_expires_a_session(store: AsyncStore) -> None:
    app = Starlette(routes=[Route("/read", read), Route("/write", write, methods=["POST"])])
    app.add_middleware(SessionMiddleware, store=store, idle_timeout=0.3, lifetime=10)
    async with client_for(app) as client:
        assert session_cookie(await client.post("/write?name=short")) is not None
        assert (await client.get("/read")).json()["name"] == "short"
        await asyncio.sleep(0.6)
        assert (await client.get("/read")).json()["name"] is None
