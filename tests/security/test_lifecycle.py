"""Checklist items no other test pinned as the item states them.

SEC-09 (authentication time survives rotation, a new login resets it), SEC-16 (rotate then
destroy in one request: one ``Set-Cookie``, the deletion), SEC-42 (an application's own Redis
keys named after a raw ID change nothing), SEC-56 (interleaved requests of many users never see
each other's session) and SEC-57 (a WebSocket with an expired session gets no session).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from sojourn import (
    AsyncMemoryStore,
    CookieSettings,
    CookieTransport,
    Engine,
    Manager,
    MemoryStore,
)
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import Store
from sojourn.testing import FakeClock
from tests.integrations.stores import redis_store

from .adapters import adapter

COOKIE = "sid"
ENGINE = Engine(transport=CookieTransport(CookieSettings(name=COOKIE, secure=False)))


def cookie(session_id: str) -> list[tuple[str, str]]:
    return [("cookie", f"{COOKIE}={session_id}")]


@pytest.mark.sec("SEC-09")
def test_authentication_time_survives_rotation_and_a_new_login_resets_it() -> None:
    clock = FakeClock(1_700_000_000.0)
    manager = Manager(MemoryStore(), ENGINE, clock=clock)
    session = manager.open([]).session
    session["cart"] = [1]
    first = manager.commit(session).session_id
    assert first is not None
    clock.advance(10)
    session = manager.open(cookie(first)).session
    assert session.authenticated_at is None
    created = session.created_at
    session.login("alice")
    logged_in = manager.commit(session).session_id
    assert logged_in is not None
    clock.advance(10)
    session = manager.open(cookie(logged_in)).session
    assert session.authenticated_at == 1_700_000_010.0
    assert session.created_at > created  # a login restarts the absolute lifetime
    session.regenerate()
    rotated = manager.commit(session).session_id
    assert rotated not in (None, logged_in)
    assert rotated is not None
    clock.advance(10)
    session = manager.open(cookie(rotated)).session
    assert session.authenticated_at == 1_700_000_010.0  # rotation keeps it
    assert session.created_at == 1_700_000_010.0
    session.login("alice")
    again = manager.commit(session).session_id
    assert again is not None
    assert manager.open(cookie(again)).session.authenticated_at == 1_700_000_030.0


@pytest.mark.sec("SEC-16", "SEC-25")
@pytest.mark.parametrize("first", ["regenerate", "login"])
def test_rotating_then_destroying_in_one_request_sends_one_cookie_the_deletion(
    first: str,
) -> None:
    store = MemoryStore()
    settings = CookieSettings(name="__Secure-s", domain="example.com", path="/app")
    engine = Engine(transport=CookieTransport(settings))
    manager = Manager(store, engine)
    session = manager.open([]).session
    session["k"] = "v"
    session_id = manager.commit(session).session_id
    assert session_id is not None
    session = manager.open([("cookie", f"__Secure-s={session_id}")]).session
    session.regenerate() if first == "regenerate" else session.login("alice")
    session.invalidate()
    headers = manager.commit(session).headers
    cookies = [v for k, v in headers if k == "set-cookie"]
    assert len(cookies) == 1
    assert cookies[0].startswith("__Secure-s=; Max-Age=0; Expires=Thu, 01 Jan 1970")
    assert "Path=/app" in cookies[0]
    assert "Domain=example.com" in cookies[0]
    assert store.count(0) == 0


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[Store]:
    with redis_store(tmp_path) as store:
        yield store


@pytest.mark.sec("SEC-42")
@pytest.mark.server
def test_application_keys_named_after_a_raw_id_change_nothing(redis: Store) -> None:
    from sojourn.stores.redis import RedisStore

    assert isinstance(redis, RedisStore)
    manager = Manager(redis, ENGINE)
    session = manager.open([]).session
    session["role"] = "user"
    session_id = manager.commit(session).session_id
    assert session_id is not None
    client = redis.client
    planted = [session_id, redis.prefix + session_id, redis.prefix + "{" + session_id + "}"]
    planted.append("sess:" + session_id)
    try:
        for key in planted:
            client.hset(key, mapping={"d:role": '"admin"', "m:e": "9e12", "role": "admin"})
        client.set(store_key(session_id), "admin")  # the digest alone, without the prefix
        opened = manager.open(cookie(session_id)).session
        assert dict(opened) == {"role": "user"}
        assert manager.open(cookie(store_key(session_id))).session.is_new
    finally:
        client.delete(*planted, store_key(session_id))


# -- SEC-56 ---------------------------------------------------------------------------------


async def whoami(request: Request) -> JSONResponse:
    session = get_session(request)
    if "user" in request.query_params:
        session["user"] = request.query_params["user"]
    await asyncio.sleep(random.random() / 500)  # let other requests run in between
    seen = session.get("user")
    await asyncio.sleep(random.random() / 500)
    return JSONResponse({"user": seen, "again": session.get("user")})


@pytest.mark.sec("SEC-56")
@pytest.mark.anyio
async def test_interleaved_async_requests_of_many_users_see_only_their_own() -> None:
    app = Starlette(routes=[Route("/me", whoami)])
    app.add_middleware(SessionMiddleware, store=AsyncMemoryStore())
    transport = httpx.ASGITransport(app=app)
    users = [f"user{i}" for i in range(30)]
    ids: dict[str, str] = {}

    async def start(user: str) -> None:
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            response = await client.get("/me", params={"user": user})
            ids[user] = response.headers["set-cookie"].split(";")[0].split("=", 1)[1]

    await asyncio.gather(*(start(u) for u in users))
    assert len(set(ids.values())) == len(users)

    async def check(user: str) -> tuple[str, Any, str]:
        cookies = {"__Host-sid": ids[user]}
        async with httpx.AsyncClient(
            transport=transport, base_url="https://t", cookies=cookies
        ) as client:
            response = await client.get("/me")
            return user, response.json(), response.headers.get("set-cookie", "")

    results = await asyncio.gather(*(check(u) for u in users * 10))
    for user, body, set_cookie in results:
        assert body == {"user": user, "again": user}
        assert set_cookie == ""  # nobody is handed someone else's cookie


@pytest.mark.sec("SEC-56")
@pytest.mark.parametrize("name", ["wsgi", "flask", "django"])
def test_threaded_requests_of_many_users_see_only_their_own(name: str) -> None:
    with adapter(name) as app:
        users = [f"user{i}" for i in range(20)]
        with ThreadPoolExecutor(max_workers=8) as pool:
            ids = dict(zip(users, pool.map(app.login_as, users), strict=True))

        def check(user: str) -> tuple[str, object, list[str]]:
            reply = app.request("/read", [("cookie", f"{app.cookie}={ids[user]}")])
            return user, reply.user(), reply.cookies(app.cookie)

        with ThreadPoolExecutor(max_workers=8) as pool:
            results = list(pool.map(check, users * 10))
    for user, seen, cookies in results:
        assert seen == user
        assert all(ids[user] in c for c in cookies)


# -- SEC-57 ---------------------------------------------------------------------------------


@pytest.mark.sec("SEC-57", "SEC-20")
def test_a_websocket_with_an_expired_session_gets_no_session() -> None:
    seen: list[Any] = []

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        session = get_session(websocket)
        seen.append((session.get("name"), session.is_new, session.read_only))
        await websocket.close()

    async def write(request: Request) -> JSONResponse:
        get_session(request)["name"] = "socket"
        return JSONResponse({})

    clock = FakeClock()
    app = Starlette(routes=[Route("/write", write), WebSocketRoute("/ws", ws)])
    app.add_middleware(
        SessionMiddleware,
        store=AsyncMemoryStore(),
        clock=clock,
        cookie=CookieSettings(name=COOKIE, secure=False),
        idle_timeout=60,
        lifetime=600,
    )
    with TestClient(app) as client:
        client.get("/write")
        with client.websocket_connect("/ws"):
            pass
        clock.advance(61)
        with client.websocket_connect("/ws"):
            pass
    assert seen == [("socket", False, True), (None, True, True)]
