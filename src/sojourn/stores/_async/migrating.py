"""The store an app runs on while its sessions move to another store: new first, old behind.

During a cut-over the app is deployed on ``AsyncMigratingStore(new, old)`` while ``sojourn
migrate`` copies every live session from ``old`` to ``new``. Nobody is logged out: a session
the copy has not reached yet is read from ``old`` and moved over on first touch, and from then
on lives in ``new``. The rules, each for a reason:

- ``load`` reads ``new``; on a miss it moves the record from ``old`` (``create`` in ``new``)
  and then loads it from ``new`` with the renewal, so the request continues on ``new``.
- ``apply`` and ``rename`` go to ``new``, moving the record over first if only ``old`` has it.
  ``create`` goes to ``new`` only. Nothing is ever written to ``old`` but deletions.
- Whatever takes a key out of ``new`` takes it out of ``old`` first (``delete``,
  ``delete_sessions_of``, and the old key of a ``rename``): ``old`` still holds the copy made
  when the session moved, and a fallback read must never find that stale copy and bring the
  session — or a pre-rotation ID — back.
- A move re-checks, after creating in ``new``, that ``old`` still has the record; if not (a
  logout or rotation ran while it copied), it deletes what it created: no resurrection. A move
  that finds the key already in ``new`` (another process moved it) leaves it as it is.

One window stays open, and it fails closed: a move (or ``sojourn migrate``) that created a
record in ``new`` and has not yet re-checked ``old``, while another process rotates that very
session, may see the rotation's removal from ``old`` as a logout and delete the record; the
rotation then reports the session gone (a re-login), never a resurrected or forked session.

Capabilities are offered as the two stores allow (one subclass per combination, as
:class:`~sojourn.stores.threaded.ThreadedStore` does): the per-user index when both keep one
(listings merged, each session once), purge when either needs it, scan when both can walk
(``new``, then what only ``old`` holds), count when ``new`` counts and ``old`` can walk.
It offers neither ``take`` nor ``take_expired``: across two stores neither can be atomic (of
two concurrent calls, each could take the session from a different store), so during the
cut-over the manager ends sessions with ``delete``; with hooks, a session two requests end at
the same instant may fire ``destroyed`` twice, and ``expired`` is reported by purges only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ..._core.errors import SessionExists
from .._capabilities import composed
from ..base import (
    AsyncStore,
    AsyncSupportsCount,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsScan,
    Changes,
    OnExpired,
    Record,
    Renewal,
)

_NEW, _OLD = "new:", "old:"  # the two phases of a scan's cursor


class AsyncMigratingStore:
    """``new`` in front, ``old`` behind: the store an app runs on during a migration.

    ``AsyncMigratingStore(new, old)`` returns an instance of a subclass that adds exactly the
    capabilities the pair allows (see the module docstring).

    Args:
        new: the store sessions are moving to; every write lands here.
        old: the store they are moving from; only read, and deleted from.
        clock: the time source of the calls whose protocol takes no ``now``
            (``delete_sessions_of`` counts the sessions it ended).
    """

    new: AsyncStore
    old: AsyncStore

    def __new__(
        cls, new: AsyncStore, old: AsyncStore, *, clock: Callable[[], float] = time.time
    ) -> AsyncMigratingStore:
        if cls is AsyncMigratingStore:
            scans = (isinstance(new, AsyncSupportsScan), isinstance(old, AsyncSupportsScan))
            offered = (
                (_Principals, all(isinstance(s, AsyncSupportsPrincipals) for s in (new, old))),
                (_Purge, any(isinstance(s, AsyncSupportsPurge) for s in (new, old))),
                (_Scan, all(scans)),
                (_Count, isinstance(new, AsyncSupportsCount) and scans[1]),
            )
            cls = composed(cls, tuple(mixin for mixin, yes in offered if yes))
        return super().__new__(cls)

    def __init__(
        self, new: AsyncStore, old: AsyncStore, *, clock: Callable[[], float] = time.time
    ) -> None:
        self.new = new
        self.old = old
        self.clock = clock

    # -- the store protocol ---------------------------------------------------------------------

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load`: ``new``, else moved from ``old``.

        One round trip when ``new`` has the session; a miss in both costs two.
        """
        record = await self.new.load(key, now, renewal)
        if record is not None or not await self.move(key, now):
            return record
        return await self.new.load(key, now, renewal)  # renewed on new, where it now lives

    async def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create`: in ``new`` only."""
        await self.new.create(record)

    async def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply`: on ``new``, after a move if only
        ``old`` has the session."""
        if await self.new.apply(key, changes):
            return True
        if not await self.move(key, changes.now):
            return False
        return await self.new.apply(key, changes)

    async def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename`: on ``new``, after a move if only
        ``old`` has the session; ``old``'s copy under the previous key is deleted first, so no
        fallback read can find the pre-rotation ID there."""
        if await self.new.load(old, now) is None and not await self.move(old, now):
            return False
        await self.old.delete(old)
        return await self.new.rename(old, new, now)

    async def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`: from ``old``, then from ``new``."""
        await self.old.delete(key)
        await self.new.delete(key)

    async def aclose(self) -> None:
        """Close both stores."""
        try:
            await self.new.aclose()
        finally:
            await self.old.aclose()

    # -- moving one session ---------------------------------------------------------------------

    async def move(self, key: str, now: float) -> bool:
        """Copy the live record under ``key`` from ``old`` to ``new``.

        Returns:
            ``True`` if ``new`` holds the session now (moved here, or by another process);
            ``False`` if ``old`` has no live record, or it ended while being copied (then what
            was created in ``new`` is deleted again).
        """
        record = await self.old.load(key, now)
        if record is None:
            return False
        try:
            await self.new.create(record)
        except SessionExists:
            return True  # moved by someone else; theirs is the copy that counts
        if await self.old.load(key, now) is None:
            await self.new.delete(key)  # logged out or rotated while we copied
            return False
        return True

    def __repr__(self) -> str:
        return f"{type(self).__name__}(new={self.new!r}, old={self.old!r})"


class _Principals(AsyncMigratingStore):
    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        """The sessions of ``principal`` in either store, each once: ``new``'s copy of a moved
        session, and ``old``'s only for a session ``new`` does not hold (a stale copy in
        ``old`` may name a principal the session no longer has)."""
        new: AsyncSupportsPrincipals = self.new  # type: ignore[assignment]  # chosen by __new__
        old: AsyncSupportsPrincipals = self.old  # type: ignore[assignment]  # chosen by __new__
        found = {r.key: r for r in await new.sessions_of(principal, now)}
        for record in await old.sessions_of(principal, now):
            if record.key not in found and await self.new.load(record.key, now) is None:
                found[record.key] = record
        return sorted(found.values(), key=lambda r: (r.created_at, r.key))

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """Delete them from ``old``, then from ``new``; returns how many sessions ended (a
        session held by both stores counts once)."""
        new: AsyncSupportsPrincipals = self.new  # type: ignore[assignment]  # chosen by __new__
        old: AsyncSupportsPrincipals = self.old  # type: ignore[assignment]  # chosen by __new__
        ending = {r.key for r in await self.sessions_of(principal, self.clock())}
        if keep is not None:
            ending.discard(keep)
        await old.delete_sessions_of(principal, keep)
        await new.delete_sessions_of(principal, keep)
        return len(ending)


class _Purge(AsyncMigratingStore):
    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """Purge each store that needs it (Redis expires keys by itself), ``new`` first.

        ``on_expired`` hears of each session once: a record purged from ``old`` is the stale
        copy of a moved session when ``new`` purged that key too, or still holds it live
        (renewed there since), and is not reported again.
        """
        purged = 0
        reported: set[str] = set()

        def from_new(record: Record) -> None:
            reported.add(record.key)
            if on_expired is not None:
                on_expired(record)

        hearing = on_expired is not None
        if isinstance(self.new, AsyncSupportsPurge):
            purged += await self.new.purge_expired(now, batch_size, from_new if hearing else None)
        if isinstance(self.old, AsyncSupportsPurge):
            removed: list[Record] = []
            purged += await self.old.purge_expired(
                now, batch_size, removed.append if hearing else None
            )
            for record in removed:
                if record.key in reported or await self.new.load(record.key, now) is not None:
                    continue
                if on_expired is not None:
                    on_expired(record)
        return purged


class _Scan(AsyncMigratingStore):
    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """Walk ``new``, then the records only ``old`` holds (one ``new`` read per record of
        ``old``). The cursor names its phase, ``new:…`` or ``old:…``."""
        new: AsyncSupportsScan = self.new  # type: ignore[assignment]  # chosen by __new__
        old: AsyncSupportsScan = self.old  # type: ignore[assignment]  # chosen by __new__
        if cursor is None or cursor.startswith(_NEW):
            inner = cursor[len(_NEW) :] if cursor else None
            records, following = await new.scan(now, inner or None, limit)
            return records, _NEW + following if following is not None else _OLD
        if not cursor.startswith(_OLD):
            raise ValueError("not a cursor of this store's scan")
        records, following = await old.scan(now, cursor[len(_OLD) :] or None, limit)
        only_old = [r for r in records if await self.new.load(r.key, now) is None]
        return only_old, _OLD + following if following is not None else None


class _Count(AsyncMigratingStore):
    async def count(self, now: float) -> int:
        """``new``'s live records and those only ``old`` holds: a walk of ``old``."""
        new: AsyncSupportsCount = self.new  # type: ignore[assignment]  # chosen by __new__
        old: AsyncSupportsScan = self.old  # type: ignore[assignment]  # chosen by __new__
        total = await new.count(now)
        cursor: str | None = None
        while True:
            records, cursor = await old.scan(now, cursor)
            total += sum([await self.new.load(r.key, now) is None for r in records])
            if cursor is None:
                return total


__all__ = ["AsyncMigratingStore"]
