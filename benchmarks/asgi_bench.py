"""µs per request through ``sojourn.asgi.SessionMiddleware``, against bare Starlette and
Starlette's own signed-cookie ``SessionMiddleware``, all in one run.

Sojourn runs with a server store (memory, SQLite) and with the client-side ``CookieStore``
(the whole session sealed with AES-256-GCM in the cookie), so the cost of encryption can be
set beside Starlette's signed-but-readable cookie in the same run.

The ASGI app is called directly (scope, receive, send) by a tiny in-process caller: no network,
no HTTP client, so the figures are the middleware's cost plus Starlette's routing. Requests use
the ``https`` scheme and every session layer its secure defaults.

Scenarios:
    anonymous: GET without a cookie; the endpoint reads the (empty) session.
    read: GET with a session cookie; the endpoint reads one key.
    write: POST with a session cookie; the endpoint changes one key.

Each cell is the best of ``--repeat`` runs of ``--requests`` sequential requests, after a
warm-up. Run: ``python -m benchmarks.asgi_bench`` (or ``python -m benchmarks`` for all).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sojourn import AsyncMemoryStore
from sojourn.asgi import SessionMiddleware
from sojourn.stores.base import AsyncStore, ClientSideStore
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.stores.sqlite import AsyncSQLiteStore

ASGIApp = Callable[..., Awaitable[None]]
SCENARIOS = ("anonymous", "read", "write")


# -- the application ------------------------------------------------------------------------


async def read(request: Request) -> PlainTextResponse:
    session = request.scope.get("session")
    value = session.get("n") if session is not None else None
    return PlainTextResponse(str(value))


async def write(request: Request) -> PlainTextResponse:
    session = request.scope.get("session")
    if session is not None:
        session["n"] = int(session.get("n", 0)) + 1
    return PlainTextResponse("ok")


ROUTES = [Route("/read", read, methods=["GET"]), Route("/write", write, methods=["POST"])]


def bare() -> Starlette:
    return Starlette(routes=ROUTES)


def starlette_sessions() -> Starlette:
    middleware = Middleware(
        StarletteSessionMiddleware,
        secret_key="benchmark-secret-key-benchmark-secret-key",
        https_only=True,
    )
    return Starlette(routes=ROUTES, middleware=[middleware])


def sojourn_app(store: AsyncStore | ClientSideStore) -> Starlette:
    return Starlette(routes=ROUTES, middleware=[Middleware(SessionMiddleware, store=store)])


# -- a tiny in-process ASGI caller -----------------------------------------------------------


class Response:
    """What the caller saw: status, headers, body."""

    def __init__(self) -> None:
        self.status = 0
        self.headers: list[tuple[bytes, bytes]] = []
        self.body = b""

    def set_cookie(self) -> bytes | None:
        """The ``name=value`` part of the first ``Set-Cookie``, if any."""
        for name, value in self.headers:
            if name.lower() == b"set-cookie":
                return value.split(b";", 1)[0]
        return None


async def call(app: ASGIApp, method: str, path: str, cookie: bytes | None = None) -> Response:
    """Send one request through ``app`` and collect the response."""
    headers = [(b"host", b"bench.example"), (b"user-agent", b"asgi-bench")]
    if cookie is not None:
        headers.append((b"cookie", cookie))
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("bench.example", 443),
    }
    response = Response()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            response.status = message["status"]
            response.headers = list(message.get("headers", []))
        elif message["type"] == "http.response.body":
            response.body += message.get("body", b"")

    await app(scope, receive, send)
    return response


# -- measuring -------------------------------------------------------------------------------


async def session_cookie(app: ASGIApp) -> bytes | None:
    """A cookie for a session holding ``n``; ``None`` for an app without sessions."""
    first = await call(app, "POST", "/write")
    cookie = first.set_cookie()
    if cookie is not None:
        check = await call(app, "GET", "/read", cookie)
        if check.body != b"1":
            raise RuntimeError(f"the session did not persist: read {check.body!r}")
    return cookie


async def measure(
    app: ASGIApp, scenario: str, cookie: bytes | None, requests: int, repeat: int
) -> float:
    """Best µs per request of ``repeat`` runs of ``requests`` requests."""
    method, path = ("POST", "/write") if scenario == "write" else ("GET", "/read")
    sent = None if scenario == "anonymous" else cookie
    for _ in range(max(50, requests // 10)):  # warm-up
        response = await call(app, method, path, sent)
    if response.status != 200:
        raise RuntimeError(f"{scenario}: status {response.status}")
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(requests):
            await call(app, method, path, sent)
        best = min(best, time.perf_counter() - start)
    return best / requests * 1e6


async def run(requests: int, repeat: int) -> dict[str, dict[str, float]]:
    """Every configuration and scenario, in µs per request."""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_store = AsyncSQLiteStore(Path(tmp) / "bench.db")
        memory_store = AsyncMemoryStore()
        configurations: dict[str, ASGIApp] = {
            "bare Starlette": bare(),
            "Starlette SessionMiddleware (signed cookie)": starlette_sessions(),
            "sojourn + AsyncMemoryStore": sojourn_app(memory_store),
            "sojourn + AsyncSQLiteStore": sojourn_app(sqlite_store),
            "sojourn + CookieStore (sealed cookie)": sojourn_app(CookieStore([generate_key()])),
        }
        results: dict[str, dict[str, float]] = {}
        try:
            for name, app in configurations.items():
                cookie = await session_cookie(app)
                results[name] = {
                    scenario: await measure(app, scenario, cookie, requests, repeat)
                    for scenario in SCENARIOS
                }
                print(f"  measured {name}", file=sys.stderr, flush=True)
        finally:
            await sqlite_store.aclose()
            await memory_store.aclose()
    return results


def table(results: dict[str, dict[str, float]]) -> str:
    """A Markdown table: µs per request and the ratio to bare Starlette."""
    base = results["bare Starlette"]
    head = "| app | " + " | ".join(f"{s} µs | x bare" for s in SCENARIOS) + " |"
    rule = "| --- |" + " ---: | ---: |" * len(SCENARIOS)
    rows = [
        f"| {name} | "
        + " | ".join(f"{cells[s]:.1f} | {cells[s] / base[s]:.2f}" for s in SCENARIOS)
        + " |"
        for name, cells in results.items()
    ]
    return "\n".join([head, rule, *rows])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asgi_bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per cell (best is kept)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    results = asyncio.run(run(args.requests, args.repeat))
    print(
        f"\n### ASGI: µs per request (best of {args.repeat} runs of {args.requests} requests; "
        f"Python {platform.python_version()}, {platform.machine()})\n"
    )
    print(table(results))
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
