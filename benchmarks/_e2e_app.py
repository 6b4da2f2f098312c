"""The Starlette app that :mod:`benchmarks.e2e_bench` serves through uvicorn, one configuration
per server process.

uvicorn imports ``benchmarks._e2e_app:app`` in a fresh process, so the configuration travels in
the environment, not in arguments:

- ``SOJOURN_E2E_CONFIG``: one of :data:`CONFIGS`;
- ``SOJOURN_E2E_REDIS``: the Redis URL for the Redis-backed configurations;
- ``SOJOURN_E2E_PREFIX``: the key prefix they write under (unique per run, so the benchmark can
  delete exactly what it made).

Routes: ``GET /read`` returns the session's ``n`` (one key read), ``POST /write`` adds one to it
(one key changed), both the same handlers as :mod:`benchmarks.asgi_bench`. Stores made here are
closed by the app's lifespan when uvicorn shuts down.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware

from .asgi_bench import ROUTES  # the same handlers, so both benchmarks measure one app

BARE = "bare"
COOKIE = "starlette-cookie"
SOJOURN_MEMORY = "sojourn-memory"
SOJOURN_REDIS = "sojourn-redis"
STARSESSIONS_REDIS = "starsessions-redis"
CONFIGS = (BARE, COOKIE, SOJOURN_MEMORY, SOJOURN_REDIS, STARSESSIONS_REDIS)
REDIS_CONFIGS = (SOJOURN_REDIS, STARSESSIONS_REDIS)


def build(config: str, redis_url: str, prefix: str) -> Starlette:
    """The app for ``config``; Redis configurations get a store of their own under ``prefix``."""
    closers: list[Callable[[], Awaitable[Any]]] = []
    middleware: list[Middleware] = []
    if config == COOKIE:
        middleware = [
            Middleware(
                StarletteSessionMiddleware,
                secret_key="benchmark-secret-key-benchmark-secret-key",
                https_only=True,
            )
        ]
    elif config in (SOJOURN_MEMORY, SOJOURN_REDIS):
        from sojourn import AsyncMemoryStore
        from sojourn.asgi import SessionMiddleware
        from sojourn.stores.redis import AsyncRedisStore

        store: AsyncMemoryStore | AsyncRedisStore
        if config == SOJOURN_MEMORY:
            store = AsyncMemoryStore()
        else:
            store = AsyncRedisStore.from_url(redis_url, prefix=prefix)
        closers.append(store.aclose)
        middleware = [Middleware(SessionMiddleware, store=store)]
    elif config == STARSESSIONS_REDIS:
        import redis.asyncio
        from starsessions import SessionAutoloadMiddleware
        from starsessions import SessionMiddleware as StarSessionMiddleware
        from starsessions.stores.redis import RedisStore

        client = redis.asyncio.Redis.from_url(redis_url)
        closers.append(client.aclose)
        middleware = [
            # lifetime: sojourn's default idle timeout, so both set a 30-minute cookie and TTL
            Middleware(
                StarSessionMiddleware,
                store=RedisStore(connection=client, prefix=prefix + "star."),
                lifetime=1800,
            ),
            Middleware(SessionAutoloadMiddleware),
        ]
    elif config != BARE:
        raise SystemExit(f"SOJOURN_E2E_CONFIG must be one of {', '.join(CONFIGS)}: {config!r}")

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        for close in closers:
            await close()

    return Starlette(routes=ROUTES, middleware=middleware, lifespan=lifespan)


app = build(
    os.environ.get("SOJOURN_E2E_CONFIG", BARE),
    os.environ.get("SOJOURN_E2E_REDIS", "redis://127.0.0.1:6379/0"),
    os.environ.get("SOJOURN_E2E_PREFIX", "sojourn-e2e:"),
)
