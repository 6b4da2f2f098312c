"""Middleware behaviour beyond the acceptance scenario: costs, transports, edges, failures."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.testclient import TestClient
from starlette.websockets import WebSocket

from sojourn import (
    AsyncMemoryStore,
    CookieSettings,
    HeaderTransport,
    ResponseStarted,
    new_session_id,
)
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware
from sojourn.testing import FakeClock

from .stores import CountingStore
from .test_acceptance import COOKIE, client_for, cookie_value, make_app, session_cookie


@pytest.fixture
def memory() -> AsyncMemoryStore:
    return AsyncMemoryStore()


@pytest.mark.sec("SEC-43")
@pytest.mark.anyio
async def test_no_store_call_without_a_session_id(memory: AsyncMemoryStore) -> None:
    counting = CountingStore(memory)
    async with client_for(make_app(counting, FakeClock())) as client:
        await client.get("/read")
        for junk in ["", "short", "x" * 43, "../../etc/passwd", "' OR '1'='1", "a" * 5000]:
            client.cookies.set(COOKIE, junk)
            response = await client.get("/read")
            assert response.status_code == 200
            assert session_cookie(response) is None
    assert counting.calls == []


@pytest.mark.sec("SEC-47")
@pytest.mark.anyio
async def test_a_read_only_request_costs_one_store_call_and_no_write(
    memory: AsyncMemoryStore,
) -> None:
    counting = CountingStore(memory)
    async with client_for(make_app(counting, FakeClock())) as client:
        await client.post("/write?name=r")
        counting.calls.clear()
        response = await client.get("/read")
        assert response.json()["name"] == "r"
        assert session_cookie(response) is None
    assert counting.calls == ["load"]


@pytest.mark.anyio
async def test_unchanged_in_place_values_are_not_written_but_edits_are(
    memory: AsyncMemoryStore,
) -> None:
    async def append(request: Request) -> Response:
        request.session.setdefault("cart", []).append(request.query_params["item"])
        return PlainTextResponse(",".join(request.session["cart"]))

    app = Starlette(routes=[Route("/add", append, methods=["POST"])])
    counting = CountingStore(memory)
    app.add_middleware(SessionMiddleware, store=counting)
    async with client_for(app) as client:
        await client.post("/add?item=a")
        response = await client.post("/add?item=b")
        assert response.text == "a,b"
    assert counting.calls == ["create", "load", "apply"]


@pytest.mark.sec("SEC-59")
@pytest.mark.anyio
async def test_a_server_error_response_is_not_committed(memory: AsyncMemoryStore) -> None:
    async def broken(request: Request) -> Response:
        request.session["half"] = "done"
        return PlainTextResponse("oops", status_code=500)

    app = make_app(memory, FakeClock())
    app.router.routes.append(Route("/broken", broken, methods=["POST"]))
    async with client_for(app) as client:
        await client.post("/write?name=kept")
        response = await client.post("/broken")
        assert response.status_code == 500
        assert session_cookie(response) is None
        assert (await client.get("/read")).json()["keys"] == ["name"]


@pytest.mark.sec("SEC-17")
@pytest.mark.anyio
async def test_vary_is_merged_with_the_apps_own(memory: AsyncMemoryStore) -> None:
    async def varied(request: Request) -> Response:
        request.session.get("x")
        return PlainTextResponse("v", headers={"Vary": "Accept-Encoding"})

    app = Starlette(routes=[Route("/v", varied)])
    app.add_middleware(SessionMiddleware, store=memory)
    async with client_for(app) as client:
        response = await client.get("/v")
    assert response.headers.get_list("vary") == ["Accept-Encoding, Cookie"]


@pytest.mark.sec("SEC-51")
@pytest.mark.anyio
async def test_two_live_session_cookies_give_no_session(memory: AsyncMemoryStore) -> None:
    app = make_app(memory, FakeClock())
    async with client_for(app) as one, client_for(app) as two:
        first = cookie_value(session_cookie(await one.post("/write?name=one")) or "")
        second = cookie_value(session_cookie(await two.post("/write?name=two")) or "")
    async with client_for(app) as both:
        headers = {"cookie": f"{COOKIE}={first}; {COOKIE}={second}"}
        assert (await both.get("/read", headers=headers)).json()["name"] is None
        one_live = {"cookie": f"{COOKIE}={new_session_id()}; {COOKIE}={first}"}
        assert (await both.get("/read", headers=one_live)).json()["name"] == "one"


@pytest.mark.sec("SEC-19")
@pytest.mark.anyio
async def test_header_transport_round_trip(memory: AsyncMemoryStore) -> None:
    app = make_app(memory, FakeClock(), transport=HeaderTransport())
    async with client_for(app) as client:
        response = await client.post("/write?name=api")
        token = response.headers["x-session-token"]
        assert "set-cookie" not in response.headers
        assert response.headers["cache-control"] == "private, no-store"
        auth = {"authorization": f"Bearer {token}"}
        read = await client.get("/read", headers=auth)
        assert read.json()["name"] == "api"
        assert read.headers["vary"] == "Authorization"
        rotated = (await client.post("/login?user=u", headers=auth)).headers["x-session-token"]
        assert rotated != token
        assert (await client.get("/read", headers=auth)).json()["name"] is None
        query = await client.get(f"/read?sid={rotated}")
        assert query.json()["name"] is None  # never accepted from the query string


@pytest.mark.sec("SEC-10")
@pytest.mark.anyio
async def test_plain_http_cookies_must_be_asked_for(memory: AsyncMemoryStore) -> None:
    app = make_app(memory, FakeClock(), cookie=CookieSettings(secure=False))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://local") as client:
        response = await client.post("/write?name=dev")
        header = response.headers["set-cookie"]
        assert header.startswith("sid=")
        assert "Secure" not in header
        assert (await client.get("/read")).json()["name"] == "dev"


@pytest.mark.sec("SEC-57")
@pytest.mark.anyio
async def test_changes_after_a_streaming_response_starts_are_saved(
    memory: AsyncMemoryStore,
) -> None:
    async def stream(request: Request) -> Response:
        session = request.session

        async def body() -> AsyncIterator[bytes]:
            yield b"a"
            session["late"] = "saved"
            yield b"b"

        return StreamingResponse(body())

    app = make_app(memory, FakeClock())
    app.router.routes.append(Route("/stream", stream))
    async with client_for(app) as client:
        await client.post("/write?name=s")
        assert (await client.get("/stream")).text == "ab"
        assert "late" in (await client.get("/read")).json()["keys"]


@pytest.mark.sec("SEC-57")
@pytest.mark.anyio
async def test_a_new_session_cannot_start_after_the_headers_went_out(
    memory: AsyncMemoryStore,
) -> None:
    errors: list[BaseException] = []

    async def stream(request: Request) -> Response:
        session = request.session

        async def body() -> AsyncIterator[bytes]:
            yield b"a"
            try:
                session["late"] = "new"
            except ResponseStarted as exc:
                errors.append(exc)

        return StreamingResponse(body())

    app = make_app(memory, FakeClock())
    app.router.routes.append(Route("/stream", stream))
    async with client_for(app) as client:
        response = await client.get("/stream")
        assert session_cookie(response) is None
    assert len(errors) == 1


@pytest.mark.sec("SEC-57")
def test_websocket_sessions_are_read_only() -> None:
    seen: dict[str, Any] = {}

    async def ws(websocket: WebSocket) -> None:
        await websocket.accept()
        seen["name"] = websocket.session.get("name")
        try:
            websocket.session["x"] = 1
        except Exception as exc:
            seen["error"] = type(exc).__name__
        await websocket.send_text("done")
        await websocket.close()

    memory = AsyncMemoryStore()
    app = make_app(memory, FakeClock(), cookie=CookieSettings(secure=False))
    app.router.routes.append(WebSocketRoute("/ws", ws))
    with TestClient(app) as client:
        client.post("/write?name=socket")
        with client.websocket_connect("/ws") as websocket:
            assert websocket.receive_text() == "done"
    assert seen == {"name": "socket", "error": "ReadOnlySession"}


@pytest.mark.sec("SEC-26")
@pytest.mark.anyio
async def test_revoke_from_another_session_ends_an_in_flight_request_cleanly(
    memory: AsyncMemoryStore,
) -> None:
    gate = asyncio.Event()
    loaded = asyncio.Event()

    async def slow_write(request: Request) -> Response:
        loaded.set()
        await gate.wait()
        request.session["after"] = "revoke"
        return PlainTextResponse("late")

    app = make_app(memory, FakeClock())
    app.router.routes.append(Route("/slow", slow_write, methods=["POST"]))
    async with client_for(app) as client:
        header = session_cookie(await client.post("/login?user=zed"))
        assert header is not None
        in_flight = asyncio.create_task(client.post("/slow"))
        await loaded.wait()
        await memory.delete_sessions_of("zed")
        gate.set()
        response = await in_flight
        # The write did not land: it is answered as such, and no cookie is touched (a later
        # response may have given the client another one).
        assert response.status_code == 409
        assert response.headers["sojourn-session"] == "ended"
        assert session_cookie(response) is None
    assert await memory.load(store_key(cookie_value(header)), FakeClock()()) is None


@pytest.mark.sec("SEC-57")
@pytest.mark.anyio
async def test_lifespan_passes_through(memory: AsyncMemoryStore) -> None:
    started: list[str] = []

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        started.append("up")
        yield

    app = Starlette(routes=[], lifespan=lifespan)
    app.add_middleware(SessionMiddleware, store=memory)
    with TestClient(app):
        pass
    assert started == ["up"]


def test_get_session_without_the_middleware_names_the_fix() -> None:
    from sojourn import ConfigurationError
    from sojourn.asgi import get_session

    with pytest.raises(ConfigurationError, match="SessionMiddleware"):
        get_session({"type": "http"})
