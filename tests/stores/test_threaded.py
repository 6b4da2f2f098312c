"""ThreadedStore offers the async twin of a capability exactly when the sync store has it.

A wrapper that claimed an index its store lacks made ``Manager.sessions_of`` fail with a raw
``AttributeError`` mid-request; now the manager's own ``TypeError`` names the missing index.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from sojourn import AsyncManager, MemoryStore, Session
from sojourn.stores._sql import SCHEMA_VERSION
from sojourn.stores.base import (
    AsyncSupportsClock,
    AsyncSupportsCount,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsScan,
    AsyncSupportsSchema,
    Changes,
    Record,
    Renewal,
)
from sojourn.stores.sqlite import SQLiteStore
from sojourn.stores.threaded import ThreadedStore, as_async_store


class CoreOnly:
    """A real store (MemoryStore) seen through the core protocol alone: no index, purge, count."""

    def __init__(self) -> None:
        self._inner = MemoryStore()

    def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        return self._inner.load(key, now, renewal)

    def create(self, record: Record) -> None:
        self._inner.create(record)

    def apply(self, key: str, changes: Changes) -> bool:
        return self._inner.apply(key, changes)

    def rename(self, old: str, new: str, now: float) -> bool:
        return self._inner.rename(old, new, now)

    def delete(self, key: str) -> None:
        self._inner.delete(key)

    def close(self) -> None:
        self._inner.close()


def test_a_core_only_store_gets_no_capabilities() -> None:
    wrapped = ThreadedStore(CoreOnly())
    assert not isinstance(wrapped, AsyncSupportsPrincipals)
    assert not isinstance(wrapped, AsyncSupportsPurge)
    assert not isinstance(wrapped, AsyncSupportsCount)
    assert not isinstance(wrapped, AsyncSupportsScan)
    assert not isinstance(wrapped, AsyncSupportsClock)
    assert not isinstance(wrapped, AsyncSupportsSchema)
    assert isinstance(wrapped, ThreadedStore)


def test_the_manager_names_the_missing_index_instead_of_an_attribute_error() -> None:
    manager = AsyncManager(as_async_store(CoreOnly()))
    with pytest.raises(TypeError, match="keeps no per-user index"):
        asyncio.run(manager.sessions_of("alice"))


def test_sqlite_keeps_its_index_purge_and_count_through_the_thread(tmp_path: Path) -> None:
    sync = SQLiteStore(tmp_path / "s.db")
    wrapped = as_async_store(sync)
    assert isinstance(wrapped, ThreadedStore)
    assert isinstance(wrapped, AsyncSupportsPrincipals)
    assert isinstance(wrapped, AsyncSupportsPurge)
    assert isinstance(wrapped, AsyncSupportsCount)
    assert isinstance(wrapped, AsyncSupportsScan)

    async def scenario() -> tuple[int, int, int]:
        manager = AsyncManager(wrapped)
        session: Session = await manager.load([])
        session.login("alice")
        await manager.commit(session)
        listed = len(await manager.sessions_of("alice"))
        counted = await wrapped.count(manager.clock())
        purged = await wrapped.purge_expired(manager.clock())
        await wrapped.aclose()
        return listed, counted, purged

    assert asyncio.run(scenario()) == (1, 1, 0)


def test_each_combination_of_capabilities_is_one_class() -> None:
    assert type(ThreadedStore(CoreOnly())) is type(ThreadedStore(CoreOnly()))


def test_scan_walks_the_wrapped_store_through_the_thread(tmp_path: Path) -> None:
    wrapped = ThreadedStore(SQLiteStore(tmp_path / "s.db"))
    assert isinstance(wrapped, AsyncSupportsScan)

    async def scenario() -> tuple[int, int]:
        manager = AsyncManager(wrapped)
        for _ in range(3):
            session: Session = await manager.load([])
            session["n"] = 1
            await manager.commit(session)
        page, cursor = await wrapped.scan(manager.clock(), None, 2)
        rest, end = await wrapped.scan(manager.clock(), cursor, 2)
        await wrapped.aclose()
        assert end is None
        return len(page), len(rest)

    assert asyncio.run(scenario()) == (2, 1)


def test_the_clock_and_the_schema_pass_through_the_thread(tmp_path: Path) -> None:
    sync = SQLiteStore(tmp_path / "s.db", table="web")
    wrapped = ThreadedStore(sync)
    assert isinstance(wrapped, AsyncSupportsClock)
    assert isinstance(wrapped, AsyncSupportsSchema)
    assert wrapped.schema_sql() == sync.schema_sql()
    assert "CREATE TABLE IF NOT EXISTS web (" in wrapped.schema_sql()

    async def scenario() -> tuple[float, int | None]:
        clock = await wrapped.server_time()
        version = await wrapped.schema_version()
        await wrapped.aclose()
        return clock, version

    clock, version = asyncio.run(scenario())
    assert abs(clock - time.time()) < 5
    assert version == SCHEMA_VERSION
