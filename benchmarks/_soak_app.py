"""The Starlette app :mod:`benchmarks.soak` serves through uvicorn: the benchmark routes plus
login, logout and revocation, on the store named in the environment.

uvicorn imports ``benchmarks._soak_app:app`` in a fresh process, so the configuration travels
in the environment:

- ``SOJOURN_SOAK_STORE``: ``sqlite:<path>`` or ``redis:<url>``;
- ``SOJOURN_SOAK_PREFIX``: the Redis key prefix (unique per run, so the soak deletes exactly
  what it made).

Routes: ``GET /read`` and ``POST /write`` are :data:`benchmarks.asgi_bench.ROUTES` (the session's
``n``, and one added to it), so the soak loads the app the benchmarks measure. Added here:
``POST /login?user=<name>`` (``Session.login``: a new ID, data kept), ``POST /logout``
(``Session.invalidate``), ``POST /revoke`` (the manager's ``revoke_all`` for the current
principal, keeping the current session; answers the count) and ``GET /whoami``.

The cookie is the default secure ``__Host-sid``: the soak's client sends it by hand over plain
loopback HTTP, as a TLS-terminating proxy would.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sojourn.asgi import SessionMiddleware, get_manager, get_session
from sojourn.stores.base import AsyncStore

from .asgi_bench import ROUTES


async def login(request: Request) -> PlainTextResponse:
    get_session(request).login(request.query_params["user"])
    return PlainTextResponse("ok")


async def logout(request: Request) -> PlainTextResponse:
    get_session(request).invalidate()
    return PlainTextResponse("ok")


async def revoke(request: Request) -> PlainTextResponse:
    session = get_session(request)
    principal = session.principal
    if principal is None:
        return PlainTextResponse("not logged in", status_code=403)
    count = await get_manager(request.scope).revoke_all(principal, keep=session)
    return PlainTextResponse(str(count))


async def whoami(request: Request) -> PlainTextResponse:
    return PlainTextResponse(str(get_session(request).principal))


SOAK_ROUTES = [
    *ROUTES,
    Route("/login", login, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
    Route("/revoke", revoke, methods=["POST"]),
    Route("/whoami", whoami, methods=["GET"]),
]


def open_store(spec: str, prefix: str) -> AsyncStore:
    """The store ``spec`` names: ``sqlite:<path>`` or ``redis:<url>``."""
    kind, _, where = spec.partition(":")
    if kind == "sqlite":
        from sojourn.stores.sqlite import AsyncSQLiteStore

        return AsyncSQLiteStore(where)
    if kind == "redis":
        from sojourn.stores.redis import AsyncRedisStore

        return AsyncRedisStore.from_url(where, prefix=prefix)
    raise SystemExit(f"SOJOURN_SOAK_STORE must be sqlite:<path> or redis:<url>, not {spec!r}")


def build(spec: str, prefix: str) -> Starlette:
    store = open_store(spec, prefix)
    closers: list[Callable[[], Awaitable[Any]]] = [store.aclose]

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for close in closers:
            await close()

    return Starlette(
        routes=SOAK_ROUTES,
        middleware=[Middleware(SessionMiddleware, store=store)],
        lifespan=lifespan,
    )


app = build(
    os.environ.get("SOJOURN_SOAK_STORE", "sqlite:sojourn-soak.db"),
    os.environ.get("SOJOURN_SOAK_PREFIX", "sojourn-soak:"),
)
