"""Remember-me and per-session timeouts through the ASGI middleware, on every store.

Two sessions of one app on one store: one remembered (a persistent cookie, the longer
lifetime), one not (a browser-session cookie); each ends at its own deadline.
"""

from __future__ import annotations

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import AsyncStore
from sojourn.testing import FakeClock
from tests.timing import DAY, HOUR, OPTIONS

from . import test_acceptance as acceptance
from .test_acceptance import client_for, clock, store

__all__ = ["clock", "store"]  # the acceptance suite's fixtures: every store, a fake clock


async def login(request: Request) -> Response:
    session = get_session(request)
    session.login(request.query_params["user"])
    if request.query_params.get("remember") == "1":
        session.remember(True)
    return PlainTextResponse("ok")


async def cart(request: Request) -> Response:
    request.session["cart"] = ["book"]
    return PlainTextResponse("ok")


async def shorten(request: Request) -> Response:
    get_session(request).set_timeouts(idle=float(request.query_params["idle"]))
    return PlainTextResponse("ok")


async def regenerate(request: Request) -> Response:
    get_session(request).regenerate()
    return PlainTextResponse("ok")


async def logout(request: Request) -> Response:
    get_session(request).invalidate()
    request.session["flash"] = "bye"
    return PlainTextResponse("bye")


async def whoami(request: Request) -> Response:
    session = get_session(request)
    return JSONResponse(
        {"user": session.principal, "remembered": session.remembered, "keys": sorted(session)}
    )


def make_app(store: AsyncStore, clock: FakeClock) -> Starlette:
    app = Starlette(
        routes=[
            Route("/login", login, methods=["POST"]),
            Route("/cart", cart, methods=["POST"]),
            Route("/shorten", shorten, methods=["POST"]),
            Route("/regenerate", regenerate, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/whoami", whoami),
        ]
    )
    app.add_middleware(SessionMiddleware, store=store, clock=clock, **OPTIONS)
    return app


def session_cookie(response: httpx.Response) -> str:
    header = acceptance.session_cookie(response)
    assert header is not None, "no session cookie"
    return header


def max_age(header: str) -> int | None:
    for part in header.split(";"):
        name, _, value = part.strip().partition("=")
        if name.lower() == "max-age":
            return int(value)
    return None


async def user(client: httpx.AsyncClient) -> str | None:
    found: str | None = (await client.get("/whoami")).json()["user"]
    return found


@pytest.mark.sec("SEC-14", "SEC-21")
@pytest.mark.anyio
async def test_a_remembered_and_an_ordinary_session_each_end_at_their_own_deadline(
    store: AsyncStore, clock: FakeClock
) -> None:
    app = make_app(store, clock)
    async with client_for(app) as kept, client_for(app) as plain:
        remembered = session_cookie(await kept.post("/login?user=ann&remember=1"))
        ordinary = session_cookie(await plain.post("/login?user=bob"))
        assert max_age(remembered) == int(30 * DAY)  # persistent, to its own deadline
        assert "expires=" in remembered.lower()
        assert max_age(ordinary) is None  # a browser-session cookie
        assert "expires=" not in ordinary.lower()
        # Both in use every half hour: past the ordinary lifetime, only one is left.
        for _ in range(int(8 * HOUR // 1800) + 1):
            clock.advance(1800)
            await kept.get("/whoami")
            await plain.get("/whoami")
        assert await user(kept) == "ann"
        assert await user(plain) is None
        # Idle for two days: within the remembered idle timeout.
        clock.advance(2 * DAY)
        assert await user(kept) == "ann"
        # Used every six days, the remembered one ends at its 30 days, not later.
        start = clock() - 8 * HOUR - 1800 - 2 * DAY
        while clock() + 6 * DAY < start + 30 * DAY:
            clock.advance(6 * DAY)
            assert await user(kept) == "ann"
        clock.advance(6 * DAY)
        assert await user(kept) is None


@pytest.mark.sec("SEC-20")
@pytest.mark.anyio
async def test_an_idle_remembered_session_ends_at_its_own_idle_timeout(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        await client.post("/login?user=ann&remember=1")
        clock.advance(7 * DAY - 60)
        assert await user(client) == "ann"
        clock.advance(7 * DAY + 1)
        assert await user(client) is None


@pytest.mark.anyio
async def test_anonymous_sessions_have_the_shorter_anonymous_timeouts(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with (
        client_for(make_app(store, clock)) as anonymous,
        client_for(make_app(store, clock)) as signed_in,
    ):
        await anonymous.post("/cart")
        await signed_in.post("/cart")
        await signed_in.post("/login?user=bob")
        clock.advance(601)  # past the anonymous idle timeout, within the signed-in one
        assert (await anonymous.get("/whoami")).json()["keys"] == []
        assert (await signed_in.get("/whoami")).json()["keys"] == ["cart"]


@pytest.mark.sec("SEC-21")
@pytest.mark.anyio
async def test_an_anonymous_session_used_all_along_ends_at_the_anonymous_lifetime(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        await client.post("/cart")
        for _ in range(5):
            clock.advance(500)  # within the idle timeout: renewed each time
            assert (await client.get("/whoami")).json()["keys"] == ["cart"]
        clock.advance(HOUR - 2500)
        assert (await client.get("/whoami")).json()["keys"] == []


@pytest.mark.sec("SEC-20")
@pytest.mark.anyio
async def test_set_timeouts_shortens_one_session_and_is_stored(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        await client.post("/login?user=ann")
        await client.post("/shorten?idle=120")
        for _ in range(3):  # renewed on reads, by its own idle timeout
            clock.advance(100)
            assert await user(client) == "ann"
        clock.advance(121)
        assert await user(client) is None


@pytest.mark.anyio
async def test_set_timeouts_refuses_to_extend(store: AsyncStore, clock: FakeClock) -> None:
    app = make_app(store, clock)
    async with client_for(app) as client:
        await client.post("/login?user=ann")
        with pytest.raises(Exception, match="only shorten"):
            await client.post(f"/shorten?idle={2 * HOUR}")
        assert await user(client) == "ann"


@pytest.mark.anyio
async def test_remember_survives_login_and_regenerate_and_ends_at_logout(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        first = session_cookie(await client.post("/login?user=ann&remember=1"))
        rotated = session_cookie(await client.post("/regenerate"))
        assert rotated.split(";")[0] != first.split(";")[0]
        assert max_age(rotated) is not None  # still persistent
        assert (await client.get("/whoami")).json()["remembered"] is True
        relogged = session_cookie(await client.post("/login?user=ann2"))
        assert max_age(relogged) is not None
        assert (await client.get("/whoami")).json()["remembered"] is True
        after = session_cookie(await client.post("/logout"))  # a new session holds the flash
        assert max_age(after) is None
        assert (await client.get("/whoami")).json() == {
            "user": None,
            "remembered": None,
            "keys": ["flash"],
        }
        clock.advance(601)  # the new session is an ordinary anonymous one
        assert (await client.get("/whoami")).json()["keys"] == []


@pytest.mark.anyio
async def test_the_reserved_entries_stay_out_of_the_sessions_metadata(
    store: AsyncStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        header = session_cookie(await client.post("/login?user=ann&remember=1"))
        key = store_key(header.split(";")[0].split("=", 1)[1])
        record = await store.load(key, clock())
        assert record is not None
        assert record.meta["sojourn:remember"] == "1"
        assert float(record.meta["sojourn:lifetime"]) == 30 * DAY
