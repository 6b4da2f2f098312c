"""µs per request through ``sojourn.asgi.SessionMiddleware``, side by side with its peers, all in
one run: bare Starlette, Starlette's own signed-cookie ``SessionMiddleware`` (what an app
switches from) and starsessions (``SessionMiddleware`` + ``SessionAutoloadMiddleware``) on its
``InMemoryStore`` (the nearest server-side peer).

Sojourn runs with a server store (memory, SQLite) and with the client-side ``CookieStore``
(the whole session sealed with AES-256-GCM in the cookie), so the cost of encryption can be
set beside Starlette's signed-but-readable cookie in the same run; and on memory once more
with ``metrics=PrometheusMetrics(...)``, so the row beside plain memory is the cost of the
metrics (every store call timed, the lifecycle counted).

The ASGI app is called directly (scope, receive, send) by a tiny in-process caller: no network,
no HTTP client, so the figures are the middleware's cost plus Starlette's routing. Requests use
the ``https`` scheme and every session layer its secure defaults.

Scenarios:
    anonymous: GET without a cookie; the endpoint reads the (empty) session.
    read: GET with a session cookie; the endpoint reads one key.
    write: POST with a session cookie; the endpoint changes one key.

starsessions saves the session on every request that loaded a non-empty one, reads included:
that is its design, and the read row measures it as it is.

Rounds are interleaved: each round times every configuration x scenario once (``--requests``
sequential requests, the configurations in an order rotated from round to round), and each
cell is the median over ``--rounds`` rounds, so a busy moment on a shared machine hits every
variant alike. Two tables: µs per request, and each row's overhead over bare Starlette with
its ratio to the Starlette cookie middleware's overhead (issue 11's acceptance: sojourn on
memory at most 1.0x on every scenario) and to starsessions'.
Run: ``python -m benchmarks.asgi_bench`` (or ``python -m benchmarks`` for all).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starsessions import SessionAutoloadMiddleware
from starsessions import SessionMiddleware as StarSessionMiddleware
from starsessions.stores.memory import InMemoryStore

from sojourn import AsyncMemoryStore
from sojourn.asgi import SessionMiddleware
from sojourn.metrics.prometheus import PrometheusMetrics
from sojourn.stores.base import AsyncStore, ClientSideStore
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.stores.sqlite import AsyncSQLiteStore

from ._machine import load_average

ASGIApp = Callable[..., Awaitable[None]]
SCENARIOS = ("anonymous", "read", "write")
BARE = "bare Starlette"
COOKIE = "Starlette SessionMiddleware (signed cookie)"
STARSESSIONS = "starsessions + InMemoryStore"
SOJOURN_MEMORY = "sojourn + AsyncMemoryStore"
SOJOURN_METRICS = "sojourn + AsyncMemoryStore + Prometheus metrics"
TARGET = 1.0
"""Issue 11: sojourn on memory costs at most this times the Starlette cookie's overhead."""


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


def starsessions_app(store: Any) -> Starlette:
    """starsessions as its docs set it up: the session middleware, then autoload on every path.

    ``lifetime`` matches sojourn's default idle timeout (30 minutes) so both send a
    persistent cookie; ``cookie_https_only`` is its default (the ``Secure`` flag).
    """
    return Starlette(
        routes=ROUTES,
        middleware=[
            Middleware(StarSessionMiddleware, store=store, lifetime=1800),
            Middleware(SessionAutoloadMiddleware),
        ],
    )


def sojourn_app(store: AsyncStore | ClientSideStore, *, metered: bool = False) -> Starlette:
    """Sojourn's middleware on ``store``; ``metered``: reporting to Prometheus metrics (in a
    registry of their own, never scraped: the cost measured is the request path's)."""
    metrics = PrometheusMetrics(CollectorRegistry()) if metered else None
    middleware = Middleware(SessionMiddleware, store=store, metrics=metrics)
    return Starlette(routes=ROUTES, middleware=[middleware])


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


def request_of(scenario: str, cookie: bytes | None) -> tuple[str, str, bytes | None]:
    """The method, path and cookie one request of ``scenario`` sends."""
    method, path = ("POST", "/write") if scenario == "write" else ("GET", "/read")
    return method, path, None if scenario == "anonymous" else cookie


async def warm_up(app: ASGIApp, scenario: str, cookie: bytes | None, requests: int) -> None:
    """Run ``requests`` untimed requests of ``scenario`` and check that the last one succeeded."""
    method, path, sent = request_of(scenario, cookie)
    response = await call(app, method, path, sent)
    for _ in range(requests - 1):
        response = await call(app, method, path, sent)
    if response.status != 200:
        raise RuntimeError(f"{scenario}: status {response.status}")


async def timed(app: ASGIApp, scenario: str, cookie: bytes | None, requests: int) -> float:
    """µs per request over one run of ``requests`` sequential requests of ``scenario``."""
    method, path, sent = request_of(scenario, cookie)
    start = time.perf_counter()
    for _ in range(requests):
        await call(app, method, path, sent)
    return (time.perf_counter() - start) / requests * 1e6


async def measure(
    app: ASGIApp, scenario: str, cookie: bytes | None, requests: int, repeat: int
) -> float:
    """Best µs per request of ``repeat`` runs of ``requests`` requests, after a warm-up.

    One cell on its own (:mod:`benchmarks.sql_bench` uses it); :func:`run` interleaves instead.
    """
    await warm_up(app, scenario, cookie, max(50, requests // 10))
    return min([await timed(app, scenario, cookie, requests) for _ in range(repeat)])


Cell = tuple[str, str]


async def run(requests: int, rounds: int) -> dict[Cell, list[float]]:
    """Every configuration x scenario, timed once per round: µs per request of each round."""
    with tempfile.TemporaryDirectory() as tmp:
        sqlite_store = AsyncSQLiteStore(Path(tmp) / "bench.db")
        memory_store = AsyncMemoryStore()
        configurations: dict[str, ASGIApp] = {
            BARE: bare(),
            COOKIE: starlette_sessions(),
            STARSESSIONS: starsessions_app(InMemoryStore()),
            SOJOURN_MEMORY: sojourn_app(memory_store),
            SOJOURN_METRICS: sojourn_app(memory_store, metered=True),
            "sojourn + AsyncSQLiteStore": sojourn_app(sqlite_store),
            "sojourn + CookieStore (sealed cookie)": sojourn_app(CookieStore([generate_key()])),
        }
        samples: dict[Cell, list[float]] = {
            (name, s): [] for name in configurations for s in SCENARIOS
        }
        try:
            cookies = {name: await session_cookie(app) for name, app in configurations.items()}
            for name, app in configurations.items():
                for scenario in SCENARIOS:
                    await warm_up(app, scenario, cookies[name], max(50, requests // 4))
            names = list(configurations)
            for number in range(rounds):
                turn = number % len(names)
                for name in names[turn:] + names[:turn]:
                    for scenario in SCENARIOS:
                        us = await timed(configurations[name], scenario, cookies[name], requests)
                        samples[(name, scenario)].append(us)
                print(f"  round {number + 1}/{rounds}", file=sys.stderr, flush=True)
        finally:
            await sqlite_store.aclose()
            await memory_store.aclose()
    return samples


def table(medians: dict[Cell, float]) -> str:
    """A Markdown table: µs per request and the ratio to bare Starlette."""
    names = list(dict.fromkeys(name for name, _ in medians))
    head = "| app | " + " | ".join(f"{s} µs | x bare" for s in SCENARIOS) + " |"
    rule = "| --- |" + " ---: | ---: |" * len(SCENARIOS)
    rows = [
        f"| {name} | "
        + " | ".join(
            f"{medians[(name, s)]:.1f} | {medians[(name, s)] / medians[(BARE, s)]:.2f}"
            for s in SCENARIOS
        )
        + " |"
        for name in names
    ]
    return "\n".join([head, rule, *rows])


def overhead_table(medians: dict[Cell, float]) -> str:
    """A Markdown table: µs over bare Starlette per scenario, and that as a ratio to the
    Starlette cookie middleware's overhead and to starsessions' for the same scenario.

    Each scenario is measured against bare Starlette doing the same request (the anonymous
    and read rows against its GET, the write row against its POST), so routing cancels out.
    """
    names = [name for name in dict.fromkeys(name for name, _ in medians) if name != BARE]
    head = "| app | " + " | ".join(f"{s} +µs | x cookie | x starsessions" for s in SCENARIOS)
    rule = "| --- |" + " ---: | ---: | ---: |" * len(SCENARIOS)
    rows = []
    for name in names:
        cells = []
        for s in SCENARIOS:
            over = medians[(name, s)] - medians[(BARE, s)]
            cookie = medians[(COOKIE, s)] - medians[(BARE, s)]
            star = medians[(STARSESSIONS, s)] - medians[(BARE, s)]
            cells.append(f"+{over:.1f} | {over / cookie:.2f}x | {over / star:.2f}x")
        rows.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join([head + " |", rule, *rows])


def verdict(medians: dict[Cell, float]) -> str:
    """One line per scenario: sojourn on memory against the ≤ 1.0x cookie-overhead target."""
    lines = []
    for s in SCENARIOS:
        over = medians[(SOJOURN_MEMORY, s)] - medians[(BARE, s)]
        cookie = medians[(COOKIE, s)] - medians[(BARE, s)]
        ratio = over / cookie
        mark = "met" if ratio <= TARGET else "MISSED"
        lines.append(
            f"- {s}: sojourn memory overhead {ratio:.2f}x the cookie middleware's "
            f"(target ≤ {TARGET:.1f}x): {mark}"
        )
    return "\n".join(lines)


def spread(samples: dict[Cell, list[float]]) -> str:
    """The noisiest cell: (max - min) / median over its rounds, so a reader can weigh the run."""
    worst, cell = max(
        ((max(v) - min(v)) / statistics.median(v), cell) for cell, v in samples.items()
    )
    return f"largest round-to-round spread: {worst:.0%} of the median ({cell[0]}, {cell[1]})"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.asgi_bench", description=__doc__)
    parser.add_argument("--requests", type=int, default=2000, help="requests per cell per round")
    parser.add_argument("--rounds", type=int, default=9, help="interleaved rounds (median kept)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    before = load_average()
    samples = asyncio.run(run(args.requests, args.rounds))
    after = load_average()
    medians = {cell: statistics.median(values) for cell, values in samples.items()}
    print(
        f"\n### ASGI: µs per request (median of {args.rounds} interleaved rounds of "
        f"{args.requests} requests per cell; Python {platform.python_version()}, "
        f"{platform.machine()})\n"
    )
    print(table(medians))
    print(
        "\n### ASGI: overhead over bare Starlette (µs), as a ratio to the Starlette cookie "
        "middleware's overhead and to starsessions'\n"
    )
    print(overhead_table(medians))
    print()
    print(verdict(medians))
    print(f"\n{spread(samples)}")
    print(f"before: {before}; after: {after}")
    print(f"(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
