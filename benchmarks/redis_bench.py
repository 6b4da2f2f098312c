"""µs per request for sessions on Redis: Sojourn against the physical floor and its peers.

Run: ``.venv/bin/python -m benchmarks.redis_bench [--n 3000] [--url redis://…]``

Every setup talks to the same Redis (a private ``redis-server`` started for the run, unless
``--url`` is given) and is driven in-process, with no network server in front of the app: ASGI
apps are called with a scope and ``receive``/``send`` callables, WSGI apps with an environ. Rows:

- floor: one raw redis-py round trip (``HGETALL``, and the ``EVALSHA`` that Sojourn's load is);
- Sojourn: ``sojourn.asgi.SessionMiddleware`` on ``AsyncRedisStore``, around a Starlette app;
- starsessions: its ``SessionMiddleware`` + autoload on its ``RedisStore``, same Starlette app;
- Flask-Session: its Redis interface on a Flask app (its defaults: the session is saved on
  every request, read-only ones included);
- Sojourn Flask: ``sojourn.flask.Sojourn`` on ``RedisStore``, the same Flask app;
- each framework without any session middleware, so its own cost can be subtracted.

Round trips are counted on the client's connections; "server commands" come from the server's
``INFO commandstats`` and include the commands a Lua script runs. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import os
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import redis
import redis.asyncio

from ._wsgi import call_wsgi, wsgi_environ

Scope = dict[str, Any]
Message = dict[str, Any]


class Trips:
    """Counts round trips: every packed command written to a socket."""

    def __init__(self) -> None:
        self.count = 0

    def async_class(self) -> type[redis.asyncio.Connection]:
        counter = self

        class Counting(redis.asyncio.Connection):
            async def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
                counter.count += 1
                await super().send_packed_command(*args, **kwargs)

        return Counting

    def sync_class(self) -> type[redis.Connection]:
        counter = self

        class Counting(redis.Connection):
            def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
                counter.count += 1
                super().send_packed_command(*args, **kwargs)  # type: ignore[no-untyped-call]

        return Counting


@dataclass
class Row:
    setup: str
    request: str
    us: float
    trips: float
    commands: float


def server_commands(admin: redis.Redis) -> int:
    stats: dict[str, Any] = admin.info("commandstats")
    return sum(int(v["calls"]) for k, v in stats.items() if k not in ("cmdstat_info",))


# -- driving apps in-process -------------------------------------------------------------------


def _scope(path: str, cookie: str | None) -> Scope:
    headers = [(b"host", b"testserver")]
    if cookie:
        headers.append((b"cookie", cookie.encode()))
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "https",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443),
    }


async def call_asgi(app: Any, path: str, cookie: str | None) -> tuple[int, list[str]]:
    """One request; returns the status and the ``name=value`` of each Set-Cookie."""
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(_scope(path, cookie), receive, send)
    start = sent[0]
    cookies = [
        v.decode().split(";", 1)[0] for k, v in start.get("headers", []) if k == b"set-cookie"
    ]
    return int(start["status"]), cookies


# -- measurement ---------------------------------------------------------------------------------


async def measure_async(
    admin: redis.Redis, trips: Trips, n: int, repeats: int, fn: Callable[[], Awaitable[Any]]
) -> tuple[float, float, float]:
    for _ in range(min(200, n)):
        await fn()
    best = float("inf")
    t0, c0 = trips.count, server_commands(admin)
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            await fn()
        best = min(best, (time.perf_counter() - start) / n)
    total = n * repeats
    return best * 1e6, (trips.count - t0) / total, (server_commands(admin) - c0) / total


def measure_sync(
    admin: redis.Redis, trips: Trips, n: int, repeats: int, fn: Callable[[], Any]
) -> tuple[float, float, float]:
    for _ in range(min(200, n)):
        fn()
    best = float("inf")
    t0, c0 = trips.count, server_commands(admin)
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n)
    total = n * repeats
    return best * 1e6, (trips.count - t0) / total, (server_commands(admin) - c0) / total


# -- the setups ----------------------------------------------------------------------------------


def starlette_app(middleware: list[Any]) -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route

    async def read(request: Request) -> Response:
        return PlainTextResponse(str(request.session.get("n", "")))

    async def write(request: Request) -> Response:
        request.session["n"] = int(request.session.get("n", 0)) + 1
        return PlainTextResponse("ok")

    async def plain(request: Request) -> Response:
        return PlainTextResponse("")

    routes = [Route("/read", read), Route("/write", write), Route("/plain", plain)]
    return Starlette(routes=routes, middleware=middleware)


async def run_async(url: str, admin: redis.Redis, n: int, repeats: int) -> list[Row]:
    from starlette.middleware import Middleware
    from starsessions import SessionAutoloadMiddleware
    from starsessions import SessionMiddleware as StarSessionMiddleware
    from starsessions.stores.redis import RedisStore as StarRedisStore

    from sojourn.asgi import SessionMiddleware
    from sojourn.stores.redis import AsyncRedisStore

    rows: list[Row] = []
    trips = Trips()
    prefix = f"bench-{os.getpid()}:"

    # The floor: one raw round trip.
    client = redis.asyncio.Redis.from_url(url, connection_class=trips.async_class())
    await client.hset(prefix + "floor", mapping={"n": "1", "m:e": "9e99"})
    await client.expire(prefix + "floor", 600)
    us, t, c = await measure_async(
        admin, trips, n, repeats, lambda: client.hgetall(prefix + "floor")
    )
    rows.append(Row("redis-py floor", "HGETALL", us, t, c))

    store = AsyncRedisStore.from_url(url, prefix=prefix, connection_class=trips.async_class())
    from sojourn.stores.base import Record

    now = time.time()
    digest = "0" * 64
    await store.create(
        Record(digest, {"n": b"1"}, None, now, now, now + 3600, None, {}),
    )
    us, t, c = await measure_async(
        admin, trips, n, repeats, lambda: store.load(digest, time.time())
    )
    rows.append(Row("redis-py floor", "EVALSHA (Sojourn's load script)", us, t, c))

    # Starlette without sessions.
    bare = starlette_app([])
    us, t, c = await measure_async(
        admin, trips, n, repeats, lambda: call_asgi(bare, "/plain", None)
    )
    rows.append(Row("Starlette, no sessions", "plain", us, t, c))

    # Sojourn.
    sojourn_app = starlette_app([Middleware(SessionMiddleware, store=store)])
    _, cookies = await call_asgi(sojourn_app, "/write", None)
    cookie = cookies[0]
    for path, label in (("/read", "read-only"), ("/write", "write")):
        us, t, c = await measure_async(
            admin, trips, n, repeats, functools.partial(call_asgi, sojourn_app, path, cookie)
        )
        rows.append(Row("Sojourn (AsyncRedisStore)", label, us, t, c))

    # starsessions.
    star_client = redis.asyncio.Redis.from_url(url, connection_class=trips.async_class())
    star_store = StarRedisStore(connection=star_client, prefix=prefix + "star.")
    star_app = starlette_app(
        [
            Middleware(StarSessionMiddleware, store=star_store, lifetime=3600),
            Middleware(SessionAutoloadMiddleware),
        ]
    )
    _, cookies = await call_asgi(star_app, "/write", None)
    star_cookie = cookies[0]
    for path, label in (("/read", "read-only"), ("/write", "write")):
        us, t, c = await measure_async(
            admin, trips, n, repeats, functools.partial(call_asgi, star_app, path, star_cookie)
        )
        rows.append(Row("starsessions (RedisStore)", label, us, t, c))

    async for key in client.scan_iter(match=prefix + "*"):
        await client.delete(key)
    await client.aclose()
    await star_client.aclose()
    await store.aclose()
    return rows


def run_flask(url: str, admin: redis.Redis, n: int, repeats: int) -> list[Row]:
    from flask import Flask
    from flask import session as flask_session
    from flask_session import Session

    from sojourn.flask import Sojourn
    from sojourn.stores.redis import RedisStore

    rows: list[Row] = []
    trips = Trips()
    prefix = f"bench-{os.getpid()}-flask:"
    client = redis.Redis.from_url(url, connection_class=trips.sync_class())

    def make(with_sessions: bool, sojourn: bool = False) -> Flask:
        app = Flask(__name__)

        @app.get("/read")
        def read() -> str:
            return str(flask_session.get("n", ""))

        @app.get("/write")
        def write() -> str:
            flask_session["n"] = int(flask_session.get("n", 0)) + 1
            return "ok"

        @app.get("/plain")
        def plain() -> str:
            return ""

        if sojourn:
            app.config.update(SESSION_COOKIE_SECURE=True)
            Sojourn(app, store=RedisStore(client, prefix=prefix + "sojourn."))
        elif with_sessions:
            app.config.update(
                SESSION_TYPE="redis",
                SESSION_REDIS=client,
                SESSION_KEY_PREFIX=prefix,
                SESSION_COOKIE_SECURE=True,
            )
            Session(app)
        return app

    bare = make(False)
    env = wsgi_environ("/plain", None)
    us, t, c = measure_sync(admin, trips, n, repeats, lambda: call_wsgi(bare, env))
    rows.append(Row("Flask, no sessions", "plain", us, t, c))

    for setup, app in (
        ("Flask-Session (redis)", make(True)),
        ("Sojourn Flask (RedisStore)", make(True, sojourn=True)),
    ):
        _, cookies = call_wsgi(app, wsgi_environ("/write", None))
        cookie = cookies[0]
        for path, label in (("/read", "read-only"), ("/write", "write")):
            env = wsgi_environ(path, cookie)
            us, t, c = measure_sync(
                admin, trips, n, repeats, functools.partial(call_wsgi, app, env)
            )
            rows.append(Row(setup, label, us, t, c))

    for key in client.scan_iter(match=prefix + "*"):
        client.delete(key)
    client.close()
    return rows


@contextmanager
def redis_url(url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    from tests.stores.redis_cluster import start_server

    with start_server() as server:
        yield f"redis://127.0.0.1:{server.port}/0"


def table(rows: list[Row]) -> str:
    floor = next(r.us for r in rows if r.request == "HGETALL")
    lines = [
        "| Setup | Request | µs/request | vs floor | round trips/req | server commands/req |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r.setup} | {r.request} | {r.us:.1f} | {r.us / floor:.1f}x | "
            f"{r.trips:.2f} | {r.commands:.2f} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--n", type=int, default=3000, help="requests per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="measurements; the best is kept")
    parser.add_argument("--url", help="an existing Redis (default: a private redis-server)")
    args = parser.parse_args(argv)
    with redis_url(args.url) as url:
        admin = redis.Redis.from_url(url)
        rows = asyncio.run(run_async(url, admin, args.n, args.repeats))
        rows += run_flask(url, admin, args.n, args.repeats)
        admin.close()
    print(table(rows))
    print()
    print(
        "vs floor is relative to one raw HGETALL. Round trips are counted on the client's "
        "connections; server commands include those run inside Lua scripts (INFO commandstats)."
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
