"""The middleware against raw ASGI apps and servers: what the ASGI spec allows, not only what
Starlette sends (shared messages, one-shot header iterables, mixed-case header names)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import pytest

from sojourn import AsyncMemoryStore
from sojourn.asgi import SessionMiddleware

pytestmark = pytest.mark.anyio

Headers = list[tuple[bytes, bytes]]


async def call(app: Any, path: str, headers: Iterable[tuple[bytes, bytes]] = ()) -> Headers:
    """The response headers ``app`` sends for one request, copied as they were sent."""
    sent: list[Headers] = []

    async def send(message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            sent.append(list(message.get("headers", [])))

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {"type": "http", "path": path, "headers": list(headers), "query_string": b""}
    await app(scope, receive, send)
    return sent[0]


def cookie_of(headers: Headers) -> bytes:
    (line,) = [v for k, v in headers if k == b"set-cookie"]
    return line.split(b";")[0]


@pytest.mark.sec("SEC-56")
async def test_a_message_the_app_sends_for_every_response_never_keeps_a_cookie() -> None:
    # One user's Set-Cookie written into a shared message would go to every later visitor.
    start = {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"t")]}

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["path"] == "/login":
            scope["session"]["user"] = "alice"
        await send(start)
        await send({"type": "http.response.body", "body": b"ok"})

    middleware = SessionMiddleware(app, AsyncMemoryStore())
    assert any(k == b"set-cookie" for k, _ in await call(middleware, "/login"))
    assert start["headers"] == [(b"content-type", b"t")]
    assert await call(middleware, "/other") == [(b"content-type", b"t")]


async def test_response_headers_given_as_a_one_shot_iterable_are_all_kept() -> None:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        scope["session"].get("user")  # used: the response gains Vary

        def headers() -> Iterator[tuple[bytes, bytes]]:
            yield (b"content-type", b"t")
            yield (b"x-app", b"1")

        await send({"type": "http.response.start", "status": 200, "headers": headers()})
        await send({"type": "http.response.body", "body": b"ok"})

    sent = await call(SessionMiddleware(app, AsyncMemoryStore()), "/")
    assert sent == [(b"content-type", b"t"), (b"x-app", b"1"), (b"vary", b"Cookie")]


async def test_request_header_names_need_not_be_lower_case() -> None:
    # ASGI asks servers for lower-case names but does not require them.
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        session = scope["session"]
        if scope["path"] == "/login":
            session["user"] = "alice"
        body = str(session.get("user")).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"x-user", body)]})
        await send({"type": "http.response.body", "body": body})

    middleware = SessionMiddleware(app, AsyncMemoryStore())
    cookie = cookie_of(await call(middleware, "/login"))
    for name in (b"cookie", b"Cookie", b"COOKIE"):
        sent = await call(middleware, "/read", [(b"host", b"x"), (name, cookie)])
        assert (b"x-user", b"alice") in sent
