"""Sync stores under async code: each call runs in a worker thread, capabilities passed through.

:class:`ThreadedStore` wraps a blocking sync store (SQLite, a sync driver) so an async manager
can use it without blocking the event loop. It offers the optional capabilities — the per-user
index, purge, count, scan, the server's clock, the schema, the handovers of lifecycle events —
exactly when the wrapped store has them: the managers and the CLI test capabilities with
``isinstance`` against the runtime protocols, so a wrapper that claimed one its store lacks
would turn a clear ``TypeError`` ("keeps no per-user index") into a raw ``AttributeError`` in
the middle of a request.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

from ._capabilities import composed
from .base import (
    AsyncStore,
    Cap,
    Changes,
    ClientSideStore,
    OnExpired,
    Record,
    Renewal,
    Store,
    SupportsClock,
    SupportsCount,
    SupportsPrincipals,
    SupportsPurge,
    SupportsScan,
    SupportsSchema,
    SupportsSessionCap,
    SupportsTake,
    SupportsTakeExpired,
)
from .memory import AsyncMemoryStore, MemoryStore

T = TypeVar("T")


class ThreadedStore:
    """Runs a blocking sync store in worker threads, so async apps can use it.

    The event loop never blocks on SQLite or a sync driver; each call is one thread hop.
    ``ThreadedStore(store)`` returns an instance of a subclass that adds the async twins of
    exactly the capabilities ``store`` has.
    """

    sync: Store

    def __new__(cls, store: Store) -> ThreadedStore:
        if cls is ThreadedStore:
            cls = composed(cls, tuple(m for kind, m in _CAPABILITIES if isinstance(store, kind)))
        return super().__new__(cls)

    def __init__(self, store: Store) -> None:
        self.sync = store

    async def _run(self, fn: Callable[..., T], *args: Any) -> T:
        return await asyncio.to_thread(fn, *args)

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        return await self._run(self.sync.load, key, now, renewal)

    async def create(self, record: Record) -> None:
        await self._run(self.sync.create, record)

    async def apply(self, key: str, changes: Changes) -> bool:
        return await self._run(self.sync.apply, key, changes)

    async def rename(self, old: str, new: str, now: float) -> bool:
        return await self._run(self.sync.rename, old, new, now)

    async def delete(self, key: str) -> None:
        await self._run(self.sync.delete, key)

    async def aclose(self) -> None:
        await self._run(self.sync.close)

    def __repr__(self) -> str:
        return f"ThreadedStore({self.sync!r})"


class _Principals(ThreadedStore):
    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        index: SupportsPrincipals = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(index.sessions_of, principal, now)

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        index: SupportsPrincipals = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(index.delete_sessions_of, principal, keep)


class _Purge(ThreadedStore):
    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        purging: SupportsPurge = self.sync  # type: ignore[assignment]  # chosen by __new__
        if on_expired is None:  # a store of before the report knows no third argument
            return await self._run(purging.purge_expired, now, batch_size)
        return await self._run(purging.purge_expired, now, batch_size, on_expired)


class _Count(ThreadedStore):
    async def count(self, now: float) -> int:
        counting: SupportsCount = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(counting.count, now)


class _TakeExpired(ThreadedStore):
    async def take_expired(self, key: str, now: float) -> Record | None:
        taking: SupportsTakeExpired = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(taking.take_expired, key, now)


class _Take(ThreadedStore):
    async def take(self, key: str) -> Record | None:
        taking: SupportsTake = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(taking.take, key)


class _Scan(ThreadedStore):
    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        walking: SupportsScan = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(walking.scan, now, cursor, limit)


class _Clock(ThreadedStore):
    async def server_time(self) -> float:
        clock: SupportsClock = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(clock.server_time)


class _Schema(ThreadedStore):
    def schema_sql(self) -> str:
        schema: SupportsSchema = self.sync  # type: ignore[assignment]  # chosen by __new__
        return schema.schema_sql()  # text built in memory: no thread needed

    async def schema_version(self) -> int | None:
        schema: SupportsSchema = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(schema.schema_version)


class _SessionCap(ThreadedStore):
    @property
    def supports_session_cap(self) -> bool:
        return bool(getattr(self.sync, "supports_session_cap", True))

    async def apply_capped(self, key: str, changes: Changes, cap: Cap) -> list[Record] | None:
        capping: SupportsSessionCap = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(capping.apply_capped, key, changes, cap)

    async def create_capped(self, record: Record, cap: Cap) -> list[Record]:
        capping: SupportsSessionCap = self.sync  # type: ignore[assignment]  # chosen by __new__
        return await self._run(capping.create_capped, record, cap)


# Each sync capability, and the mixin that offers its async twin.
_CAPABILITIES: tuple[tuple[type, type[ThreadedStore]], ...] = (
    (SupportsPrincipals, _Principals),
    (SupportsPurge, _Purge),
    (SupportsCount, _Count),
    (SupportsScan, _Scan),
    (SupportsClock, _Clock),
    (SupportsSchema, _Schema),
    (SupportsSessionCap, _SessionCap),
    (SupportsTakeExpired, _TakeExpired),
    (SupportsTake, _Take),
)


def as_async_store(store: AsyncStore | Store | ClientSideStore) -> AsyncStore | ClientSideStore:
    """An async view of ``store``: async stores as they are, sync ones adapted.

    A client-side store does no I/O, so it is used as it is.
    """
    if isinstance(store, ClientSideStore):
        return store
    if isinstance(store, MemoryStore):
        return AsyncMemoryStore(store)  # dict operations: no thread needed
    if hasattr(store, "aclose"):
        return store  # type: ignore[return-value]
    return ThreadedStore(store)


__all__ = ["ThreadedStore", "as_async_store"]
