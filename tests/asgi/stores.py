"""Store factories for the acceptance suite: every store the middleware must work with.

Each factory yields a fresh, isolated async store and cleans it up. Server-backed ones skip
(or fail under CI=true) when their server is unreachable.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sojourn import AsyncMemoryStore
from sojourn.stores.base import AsyncStore

StoreFactory = Callable[[Path], contextlib.AbstractAsyncContextManager[AsyncStore]]


@contextlib.asynccontextmanager
async def memory_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    store = AsyncMemoryStore()
    yield store
    await store.aclose()


@contextlib.asynccontextmanager
async def sqlite_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    from sojourn.stores.sqlite import AsyncSQLiteStore

    store = AsyncSQLiteStore(tmp_path / "sessions.db")
    yield store
    await store.aclose()


@contextlib.asynccontextmanager
async def redis_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    from sojourn.stores.redis import AsyncRedisStore
    from tests.conformance.test_redis import URL, _prefix, _require_redis

    _require_redis()
    store = AsyncRedisStore.from_url(URL, prefix=_prefix())
    try:
        yield store
    finally:
        async for key in store.client.scan_iter(match=store.prefix + "*", count=1000):
            await store.client.delete(key)
        await store.aclose()


@contextlib.asynccontextmanager
async def postgres_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    from sojourn.stores.postgres import AsyncPostgresStore
    from tests.conformance.test_postgres import URL, drop, new_table

    table = new_table()
    drop(table)
    store = AsyncPostgresStore.from_url(URL, table=table, max_size=25)
    try:
        yield store
    finally:
        await store.aclose()
        drop(table)


@contextlib.asynccontextmanager
async def mysql_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    from sojourn.stores.mysql import AsyncMySQLStore
    from tests.conformance.test_mysql import URL, drop, new_table

    table = new_table()
    drop(table)
    store = AsyncMySQLStore.from_url(URL, table=table)
    try:
        yield store
    finally:
        await store.aclose()
        drop(table)


_OPTIONAL: dict[str, tuple[str, StoreFactory]] = {
    "sqlite": ("sojourn.stores.sqlite", sqlite_store),
    "redis": ("sojourn.stores.redis", redis_store),
    "postgres": ("sojourn.stores.postgres", postgres_store),
    "mysql": ("tests.conformance.test_mysql", mysql_store),
}


def available() -> dict[str, StoreFactory]:
    """The factories whose store modules exist in this checkout."""
    factories: dict[str, StoreFactory] = {"memory": memory_store}
    for name, (module, factory) in _OPTIONAL.items():
        if importlib.util.find_spec(module) is not None:
            factories[name] = factory
    return factories


class CountingStore:
    """Wraps a real store and counts the calls made to it (instrumentation, not a fake)."""

    def __init__(self, inner: AsyncStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await target(*args, **kwargs)

        return counted
