"""The soak harness (``make soak``): a few seconds of the real thing, and proof that its checks
catch a server that breaks the session invariants.

The short run starts the real uvicorn servers on SQLite and Redis and fails on any error, so the
harness cannot rot between long runs. The broken-server tests drive the harness's client
against an in-process app whose logout or write does not do its job: the client must count it.
"""

from __future__ import annotations

import httpx
import pytest
import redis
from benchmarks import soak
from benchmarks._soak_app import SOAK_ROUTES
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sojourn import AsyncMemoryStore
from sojourn.asgi import SessionMiddleware

from .conftest import require_server


@pytest.mark.server
def test_a_short_soak_passes_on_sqlite_and_redis(capsys: pytest.CaptureFixture[str]) -> None:
    client = redis.Redis.from_url(soak.REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.RedisError as exc:
        require_server("Redis", str(exc))
    finally:
        client.close()
    assert soak.run(4, clients=3) == []
    out = capsys.readouterr().out
    assert "soak: PASS" in out
    for store in ("sqlite", "redis"):
        line = next(line for line in out.splitlines() if line.startswith(store))
        requests, errors = (int(v) for v in line.split()[1:3])
        assert requests > 50
        assert errors == 0


def app_with(path: str, method: str) -> Starlette:
    """The soak app on a memory store, with ``path`` replaced by a handler that does nothing."""

    async def nothing(request: Request) -> PlainTextResponse:
        return PlainTextResponse("ok")

    routes = [r for r in SOAK_ROUTES if getattr(r, "path", None) != path]
    routes.append(Route(path, nothing, methods=[method]))
    return Starlette(
        routes=routes, middleware=[Middleware(SessionMiddleware, store=AsyncMemoryStore())]
    )


async def steps(app: Starlette, *names: str) -> soak.Tally:
    tally = soak.Tally()
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://soak") as http:
        user = soak.User(http, tally, "alice", seed=1)
        for name in names:
            try:
                await getattr(user, name)()
            except soak.Unexpected as exc:
                tally.error(str(exc))
    return tally


@pytest.mark.anyio
async def test_the_client_passes_a_correct_app() -> None:
    app = Starlette(
        routes=SOAK_ROUTES, middleware=[Middleware(SessionMiddleware, store=AsyncMemoryStore())]
    )
    tally = await steps(app, "create", "write", "read", "login", "revoke", "logout", "create")
    assert tally.errors == 0, tally.samples
    assert tally.requests >= 12


@pytest.mark.anyio
async def test_a_logout_that_ends_nothing_is_an_error() -> None:
    tally = await steps(app_with("/logout", "POST"), "create", "logout")
    assert tally.errors == 1
    assert "logout did not clear" in tally.samples[0]


@pytest.mark.anyio
async def test_a_write_that_stores_nothing_is_an_error() -> None:
    tally = await steps(app_with("/write", "POST"), "create")
    assert tally.errors == 1
    assert "issued no session cookie" in tally.samples[0]


def test_a_conflict_needs_the_sojourn_header() -> None:
    def response(status: int, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers=headers)

    assert soak.conflict(response(409, **{"Sojourn-Session": "rotated"}))
    assert soak.conflict(response(409, **{"Sojourn-Session": "ended"}))
    assert not soak.conflict(response(409))
    assert not soak.conflict(response(409, **{"Sojourn-Session": "other"}))
    assert not soak.conflict(response(200, **{"Sojourn-Session": "ended"}))


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert soak.percentile(values, 0.5) == 50.0
    assert soak.percentile(values, 0.99) == 99.0
    assert soak.percentile([], 0.5) == 0.0
