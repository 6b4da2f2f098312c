"""An in-process store for tests, development and single-process apps.

Thread-safe (one lock), bounded (least-recently-used eviction past ``max_sessions``), and
expiring in proportion to what expired: a heap ordered by deadline is popped only while its
head is due, never a scan of everything. An expired record is never returned, but is kept for a
*linger* after its deadline so that a request presenting it can still be told it expired (the
``expired`` lifecycle event, :meth:`MemoryStore.take_expired`). Sessions die with the process
and are not shared between workers; use SQLite or a server store for anything else.
"""

from __future__ import annotations

import heapq
import logging
import threading
from collections import OrderedDict, defaultdict
from dataclasses import replace

from .._core.errors import ConfigurationError, SessionExists
from ._scan import check_scan
from .base import Changes, OnExpired, Record, Renewal

logger = logging.getLogger("sojourn")

LINGER = 300.0
"""Seconds an expired record is kept (never returned) so that its expiry can be reported."""


class MemoryStore:
    """A bounded, thread-safe, in-process store (sync API; see :class:`AsyncMemoryStore`).

    Args:
        max_sessions: the most records kept; the least recently used one is evicted past it.
        linger: seconds an expired record is kept (never returned) after its deadline, so
            :meth:`take_expired` can report it.
    """

    blocking = False  # every method is a few dict operations: safe to call on an event loop

    def __init__(self, max_sessions: int = 10_000, *, linger: float = LINGER) -> None:
        if max_sessions <= 0:
            raise ConfigurationError("max_sessions must be positive")
        if linger < 0:
            raise ConfigurationError("linger must not be negative")
        self.max_sessions = max_sessions
        self.linger = linger
        self._records: OrderedDict[str, Record] = OrderedDict()
        self._deadlines: list[tuple[float, str]] = []
        self._by_principal: defaultdict[str, set[str]] = defaultdict(set)
        self._lock = threading.Lock()
        logger.warning(
            "MemoryStore keeps sessions in this process only: they are lost on restart and "
            "not shared between workers; use SQLite or a server store in production"
        )

    # -- internals (call with the lock held) ---------------------------------------------------

    def _expire(self, before: float) -> list[Record]:
        """Drop the records whose deadline is ``<= before``; the records dropped."""
        heap = self._deadlines
        dropped: list[Record] = []
        while heap and heap[0][0] <= before:
            deadline, key = heapq.heappop(heap)
            record = self._records.get(key)
            if record is not None and record.expires_at == deadline:
                self._drop(key)
                dropped.append(record)
        self._compact()
        return dropped

    def _compact(self) -> None:
        """Rebuild the heap once stale entries (left by renewals) outnumber the records."""
        if len(self._deadlines) > 2 * len(self._records) + 64:
            self._deadlines = [(r.expires_at, k) for k, r in self._records.items()]
            heapq.heapify(self._deadlines)

    def _put(self, record: Record, old: Record | None = None) -> None:
        """Store ``record``; ``old`` is the record it replaces when the caller holds it."""
        records, key = self._records, record.key
        if old is None:
            old = records.get(key)
        if old is not None and old.principal != record.principal and old.principal is not None:
            self._by_principal[old.principal].discard(key)
        records[key] = record
        records.move_to_end(key)
        if old is None or old.expires_at != record.expires_at:
            heapq.heappush(self._deadlines, (record.expires_at, key))
            self._compact()
        if record.principal is not None:
            self._by_principal[record.principal].add(key)
        while len(self._records) > self.max_sessions:
            evicted, _ = self._records.popitem(last=False)
            self._unindex(evicted)

    def _drop(self, key: str) -> Record | None:
        record = self._records.pop(key, None)
        if record is not None:
            self._unindex(key, record)
        return record

    def _unindex(self, key: str, record: Record | None = None) -> None:
        for principal in [record.principal] if record else list(self._by_principal):
            if principal is not None and principal in self._by_principal:
                keys = self._by_principal[principal]
                keys.discard(key)
                if not keys:
                    del self._by_principal[principal]

    def _live(self, key: str, now: float) -> Record | None:
        heap = self._deadlines
        if heap and heap[0][0] <= now - self.linger:  # most calls: nothing is due
            self._expire(now - self.linger)
        record = self._records.get(key)
        if record is None or record.expires_at <= now:
            return None
        return record

    # -- the store protocol ---------------------------------------------------------------------

    def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load`."""
        with self._lock:
            record = self._live(key, now)
            if record is None:
                return None
            if renewal is not None and renewal.due(record):
                record = renewal.apply_to(record)
                self._put(record)
            else:
                self._records.move_to_end(key)
            return record

    def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create`."""
        with self._lock:
            if self._live(record.key, record.renewed_at) is not None:
                raise SessionExists(record.key)
            self._put(replace(record, fields=dict(record.fields), meta=dict(record.meta)))

    def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply`."""
        with self._lock:
            record = self._live(key, changes.now)
            if record is None:
                return False
            self._put(changes.apply_to(record), record)
            return True

    def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename`."""
        with self._lock:
            record = self._live(old, now)
            if record is None:
                return False
            self._drop(old)
            self._put(replace(record, key=new))
            return True

    def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`."""
        with self._lock:
            self._drop(key)

    def close(self) -> None:
        """Nothing to release; present for the protocol."""

    # -- capabilities ---------------------------------------------------------------------------

    def sessions_of(self, principal: str, now: float) -> list[Record]:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.sessions_of`."""
        with self._lock:
            self._expire(now - self.linger)
            keys = self._by_principal.get(principal, set())
            records = [r for k in keys if (r := self._records.get(k)) and r.expires_at > now]
        return sorted(records, key=lambda r: (r.created_at, r.key))

    def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.delete_sessions_of`."""
        with self._lock:
            doomed = [k for k in self._by_principal.get(principal, set()) if k != keep]
            for key in doomed:
                self._drop(key)
        return len(doomed)

    def count(self, now: float) -> int:
        """How many live records are held."""
        with self._lock:
            self._expire(now - self.linger)
            return sum(1 for r in self._records.values() if r.expires_at > now)

    def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """See :meth:`sojourn.stores.base.AsyncSupportsScan.scan`.

        Keyset pagination in key order: the cursor is the last key returned, so a walk
        resumes after it whatever was created or deleted meanwhile. Each page sorts the keys
        (an admin walk, never on the request path).

        Raises:
            ConfigurationError: ``limit`` is not positive or ``cursor`` is not text.
        """
        after = check_scan(cursor, limit)
        with self._lock:
            self._expire(now - self.linger)
            keys = sorted(k for k, r in self._records.items() if k > after and r.expires_at > now)
            page = [self._records[k] for k in keys[:limit]]
        return page, (page[-1].key if len(keys) > limit else None)

    def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """Drop expired records now (they are dropped lazily anyway, a linger after expiry).

        See :meth:`sojourn.stores.base.AsyncSupportsPurge.purge_expired`.
        """
        with self._lock:
            dropped = self._expire(now)
        if on_expired is not None:  # outside the lock: the callback may take its time
            for record in dropped:
                on_expired(record)
        return len(dropped)

    def take_expired(self, key: str, now: float) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTakeExpired.take_expired`."""
        with self._lock:
            record = self._records.get(key)
            if record is None or record.expires_at > now:
                return None
            self._drop(key)
            return record

    def take(self, key: str) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTake.take`."""
        with self._lock:
            return self._drop(key)


class AsyncMemoryStore:
    """The async face of a :class:`MemoryStore` (the same records, no threads involved).

    Args:
        store: the sync store to share; a new one by default. Sharing lets sync and async
            parts of one process see the same sessions.
    """

    def __init__(
        self,
        store: MemoryStore | None = None,
        *,
        max_sessions: int = 10_000,
        linger: float = LINGER,
    ) -> None:
        self.sync = store if store is not None else MemoryStore(max_sessions, linger=linger)

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        return self.sync.load(key, now, renewal)

    async def create(self, record: Record) -> None:
        self.sync.create(record)

    async def apply(self, key: str, changes: Changes) -> bool:
        return self.sync.apply(key, changes)

    async def rename(self, old: str, new: str, now: float) -> bool:
        return self.sync.rename(old, new, now)

    async def delete(self, key: str) -> None:
        self.sync.delete(key)

    async def aclose(self) -> None:
        self.sync.close()

    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        return self.sync.sessions_of(principal, now)

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        return self.sync.delete_sessions_of(principal, keep)

    async def count(self, now: float) -> int:
        return self.sync.count(now)

    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        return self.sync.purge_expired(now, batch_size, on_expired)

    async def take_expired(self, key: str, now: float) -> Record | None:
        return self.sync.take_expired(key, now)

    async def take(self, key: str) -> Record | None:
        return self.sync.take(key)

    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        return self.sync.scan(now, cursor, limit)


__all__ = [
    "LINGER",
    "AsyncMemoryStore",
    "MemoryStore",
]
