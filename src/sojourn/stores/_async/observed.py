"""A store seen through a metrics observer: each call timed by operation, errors by kind.

The manager wraps its store in :class:`AsyncObservedStore` only when it is given ``metrics=``;
without it nothing here runs. The wrapper offers the optional capabilities — the per-user
index, purge, count, scan, take_expired, take, the session cap, and the admin tool's server
clock and schema — exactly when the wrapped store has them, as
:class:`~sojourn.stores.threaded.ThreadedStore` does: the managers and the admin tools test
them with ``isinstance`` against the runtime protocols, and a wrapper that claimed one its
store lacks would turn a clear ``TypeError`` into an ``AttributeError`` mid-request.

Each call is reported once, when it returns or raises (the exception propagates unchanged);
``SessionExists`` from ``create`` is an answer, not a failure, and is reported as no error. A
call cancelled mid-way is not reported. An observer that raises is logged
(``session.metrics_failed``) and never fails the call.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from time import perf_counter
from typing import Any, TypeVar

from ..._core.errors import SessionExists
from ..._core.observe import Observer, error_kind
from .._capabilities import composed
from ..base import (
    AsyncStore,
    AsyncSupportsClock,
    AsyncSupportsCount,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsScan,
    AsyncSupportsSchema,
    AsyncSupportsSessionCap,
    AsyncSupportsTake,
    AsyncSupportsTakeExpired,
    Cap,
    Changes,
    OnExpired,
    Record,
    Renewal,
)

T = TypeVar("T")

logger = logging.getLogger("sojourn")


class AsyncObservedStore:
    """Times every call to ``store`` and reports it to ``observer``.

    ``AsyncObservedStore(store, observer)`` returns an instance of a subclass that adds
    exactly the capabilities ``store`` has.
    """

    store: AsyncStore

    def __new__(cls, store: AsyncStore, observer: Observer) -> AsyncObservedStore:
        if cls is AsyncObservedStore:
            cls = composed(cls, tuple(m for kind, m in _CAPABILITIES if isinstance(store, kind)))
        return super().__new__(cls)

    def __init__(self, store: AsyncStore, observer: Observer) -> None:
        self.store = store
        self._record = observer.record_store_call
        # The store's own bound on a call (ours all have one): a failure that took all of it
        # is a timeout, whatever the driver called it.
        bound = getattr(store, "timeout", None)
        self._bound = float(bound) if isinstance(bound, (int, float)) else None

    async def _timed(
        self,
        operation: str,
        call: Callable[..., Awaitable[T]],  # unasync: call: Callable[..., T],
        *args: Any,
    ) -> T:
        start = perf_counter()
        try:
            result = await call(*args)
        except SessionExists:
            self._report(operation, start, None)
            raise
        except Exception as exc:
            self._report(operation, start, exc)
            raise
        self._report(operation, start, None)
        return result

    def _report(self, operation: str, start: float, exc: Exception | None) -> None:
        """Tell the observer; an observer that raises is logged, and fails no request."""
        seconds = perf_counter() - start
        try:
            kind = None if exc is None else error_kind(exc, seconds, self._bound)
            self._record(operation, seconds, kind)
        except Exception as failed:
            logger.error(
                "session.metrics_failed: the metrics observer raised %s on a %s call",
                type(failed).__name__,
                operation,
            )

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        return await self._timed("load", self.store.load, key, now, renewal)

    async def create(self, record: Record) -> None:
        await self._timed("create", self.store.create, record)

    async def apply(self, key: str, changes: Changes) -> bool:
        return await self._timed("apply", self.store.apply, key, changes)

    async def rename(self, old: str, new: str, now: float) -> bool:
        return await self._timed("rename", self.store.rename, old, new, now)

    async def delete(self, key: str) -> None:
        await self._timed("delete", self.store.delete, key)

    async def aclose(self) -> None:
        await self.store.aclose()  # not timed: closing is not a session operation

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.store!r})"


class _Principals(AsyncObservedStore):
    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        index: AsyncSupportsPrincipals = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("sessions_of", index.sessions_of, principal, now)

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        index: AsyncSupportsPrincipals = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("delete_sessions_of", index.delete_sessions_of, principal, keep)


class _Purge(AsyncObservedStore):
    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        purging: AsyncSupportsPurge = self.store  # type: ignore[assignment]  # by __new__
        # on_expired is passed only when given, as the manager does without hooks.
        extra = () if on_expired is None else (on_expired,)
        return await self._timed("purge_expired", purging.purge_expired, now, batch_size, *extra)


class _Count(AsyncObservedStore):
    async def count(self, now: float) -> int:
        counting: AsyncSupportsCount = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("count", counting.count, now)


class _Scan(AsyncObservedStore):
    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        walking: AsyncSupportsScan = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("scan", walking.scan, now, cursor, limit)


class _TakeExpired(AsyncObservedStore):
    async def take_expired(self, key: str, now: float) -> Record | None:
        taking: AsyncSupportsTakeExpired = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("take_expired", taking.take_expired, key, now)


class _Take(AsyncObservedStore):
    async def take(self, key: str) -> Record | None:
        taking: AsyncSupportsTake = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("take", taking.take, key)


class _SessionCap(AsyncObservedStore):
    @property
    def supports_session_cap(self) -> bool:
        return bool(getattr(self.store, "supports_session_cap", True))

    async def apply_capped(self, key: str, changes: Changes, cap: Cap) -> list[Record] | None:
        capping: AsyncSupportsSessionCap = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("apply", capping.apply_capped, key, changes, cap)

    async def create_capped(self, record: Record, cap: Cap) -> list[Record]:
        capping: AsyncSupportsSessionCap = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("create", capping.create_capped, record, cap)


class _Clock(AsyncObservedStore):
    async def server_time(self) -> float:
        clock: AsyncSupportsClock = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("server_time", clock.server_time)


class _Schema(AsyncObservedStore):
    def schema_sql(self) -> str:
        schema: AsyncSupportsSchema = self.store  # type: ignore[assignment]  # by __new__
        return schema.schema_sql()  # text built in memory: not a store call

    async def schema_version(self) -> int | None:
        schema: AsyncSupportsSchema = self.store  # type: ignore[assignment]  # by __new__
        return await self._timed("schema_version", schema.schema_version)


# Each capability, and the mixin that offers it, timed.
_CAPABILITIES: tuple[tuple[type, type[AsyncObservedStore]], ...] = (
    (AsyncSupportsPrincipals, _Principals),
    (AsyncSupportsPurge, _Purge),
    (AsyncSupportsCount, _Count),
    (AsyncSupportsScan, _Scan),
    (AsyncSupportsClock, _Clock),
    (AsyncSupportsSchema, _Schema),
    (AsyncSupportsTakeExpired, _TakeExpired),
    (AsyncSupportsTake, _Take),
    (AsyncSupportsSessionCap, _SessionCap),
)


__all__ = ["AsyncObservedStore"]
