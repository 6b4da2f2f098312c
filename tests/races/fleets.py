"""Several store objects over one store's data: app servers sharing a session store.

Each fleet is isolated (its own SQLite file, Redis key prefix or SQL table) and cleaned up
afterwards. Server-backed fleets skip (or fail under ``CI=true``) when their server is down.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import time
from collections.abc import AsyncIterator, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from sojourn import AsyncMemoryStore, MemoryStore
from sojourn.stores.base import AsyncStore, Store
from sojourn.testing._async.contract import new_key

SERVERS = 3

AsyncFleet = Callable[[Path], contextlib.AbstractAsyncContextManager[list[AsyncStore]]]
SyncFleet = Callable[[Path], contextlib.AbstractContextManager[list[Store]]]


@contextlib.asynccontextmanager
async def async_memory(tmp_path: Path) -> AsyncIterator[list[AsyncStore]]:
    shared = MemoryStore()
    yield [AsyncMemoryStore(shared) for _ in range(SERVERS)]  # one process, several faces


@contextlib.asynccontextmanager
async def async_sqlite(tmp_path: Path) -> AsyncIterator[list[AsyncStore]]:
    from sojourn.stores.sqlite import AsyncSQLiteStore

    stores: list[AsyncStore] = [AsyncSQLiteStore(tmp_path / "s.db") for _ in range(SERVERS)]
    try:
        yield stores
    finally:
        for store in stores:
            await store.aclose()


@contextlib.asynccontextmanager
async def async_redis(tmp_path: Path) -> AsyncIterator[list[AsyncStore]]:
    from sojourn.stores.redis import AsyncRedisStore
    from tests.conformance.test_redis import URL, _prefix, _require_redis

    _require_redis()
    prefix = _prefix()
    stores = [AsyncRedisStore.from_url(URL, prefix=prefix) for _ in range(SERVERS)]
    try:
        yield list(stores)
    finally:
        client = stores[0].client
        async for key in client.scan_iter(match=prefix + "*", count=1000):
            await client.delete(key)
        for store in stores:
            await store.aclose()


@contextlib.asynccontextmanager
async def _async_tables(
    make: Callable[[str], AsyncStore], tests: str
) -> AsyncIterator[list[AsyncStore]]:
    """Store objects over one fresh SQL table; ``tests`` is the conformance module that knows
    the server (``new_table``, ``drop``)."""
    conformance = importlib.import_module(tests)
    table = conformance.new_table()
    conformance.drop(table)
    stores = [make(table) for _ in range(SERVERS)]
    try:
        yield stores
    finally:
        for store in stores:
            await store.aclose()
        conformance.drop(table)


def async_postgres(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[list[AsyncStore]]:
    from sojourn.stores.postgres import AsyncPostgresStore
    from tests.conformance.test_postgres import URL

    return _async_tables(
        lambda table: AsyncPostgresStore.from_url(URL, table=table, max_size=10),
        "tests.conformance.test_postgres",
    )


def async_mysql(tmp_path: Path) -> contextlib.AbstractAsyncContextManager[list[AsyncStore]]:
    from sojourn.stores.mysql import AsyncMySQLStore
    from tests.conformance.test_mysql import URL

    return _async_tables(
        lambda table: AsyncMySQLStore.from_url(URL, table=table), "tests.conformance.test_mysql"
    )


@contextlib.contextmanager
def sync_memory(tmp_path: Path) -> Iterator[list[Store]]:
    shared = MemoryStore()
    yield [shared] * SERVERS  # threads of one process share the object


@contextlib.contextmanager
def sync_sqlite(tmp_path: Path) -> Iterator[list[Store]]:
    from sojourn.stores.sqlite import SQLiteStore

    stores: list[Store] = [SQLiteStore(tmp_path / "s.db") for _ in range(SERVERS)]
    try:
        yield stores
    finally:
        for store in stores:
            store.close()


@contextlib.contextmanager
def sync_redis(tmp_path: Path) -> Iterator[list[Store]]:
    from sojourn.stores.redis import RedisStore
    from tests.conformance.test_redis import URL, _prefix, _require_redis

    _require_redis()
    prefix = _prefix()
    stores = [RedisStore.from_url(URL, prefix=prefix) for _ in range(SERVERS)]
    try:
        yield list(stores)
    finally:
        client = stores[0].client
        for key in client.scan_iter(match=prefix + "*", count=1000):
            client.delete(key)
        for store in stores:
            store.close()


@contextlib.contextmanager
def _sync_tables(make: Callable[[str], Store], tests: str) -> Iterator[list[Store]]:
    """:func:`_async_tables` for sync stores."""
    conformance = importlib.import_module(tests)
    table = conformance.new_table()
    conformance.drop(table)
    stores = [make(table) for _ in range(SERVERS)]
    try:
        yield stores
    finally:
        for store in stores:
            store.close()
        conformance.drop(table)


def sync_postgres(tmp_path: Path) -> contextlib.AbstractContextManager[list[Store]]:
    from sojourn.stores.postgres import PostgresStore
    from tests.conformance.test_postgres import URL

    return _sync_tables(
        lambda table: PostgresStore.from_url(URL, table=table, max_size=10),
        "tests.conformance.test_postgres",
    )


def sync_mysql(tmp_path: Path) -> contextlib.AbstractContextManager[list[Store]]:
    from sojourn.stores.mysql import MySQLStore
    from tests.conformance.test_mysql import URL

    return _sync_tables(
        lambda table: MySQLStore.from_url(URL, table=table), "tests.conformance.test_mysql"
    )


async def warm(stores: list[AsyncStore], calls: int) -> None:
    """Open ``calls`` pooled connections (or the like) in all, as app servers that have been
    serving a while would have: the race tests time logins, not connection set-up."""
    each = -(-calls // len(stores))
    await asyncio.gather(*(s.load(new_key(), time.time()) for s in stores for _ in range(each)))


def warm_sync(stores: list[Store], calls: int) -> None:
    """:func:`warm` for sync stores, from as many threads."""
    each = -(-calls // len(stores))
    jobs = [s for s in stores for _ in range(each)]
    with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
        list(pool.map(lambda s: s.load(new_key(), time.time()), jobs))


ASYNC_FLEETS: dict[str, AsyncFleet] = {
    "memory": async_memory,
    "sqlite": async_sqlite,
    "redis": async_redis,
    "postgres": async_postgres,
    "mysql": async_mysql,
}
SYNC_FLEETS: dict[str, SyncFleet] = {
    "memory": sync_memory,
    "sqlite": sync_sqlite,
    "redis": sync_redis,
    "postgres": sync_postgres,
    "mysql": sync_mysql,
}

__all__ = ["ASYNC_FLEETS", "SERVERS", "SYNC_FLEETS", "AsyncFleet", "SyncFleet", "warm", "warm_sync"]
