"""The store protocol: what every store promises, in a sync and an async flavour.

Stores see digests, encoded bytes and timestamps — never session IDs, cookies, requests or
framework objects. Each session key's value is encoded on its own (:class:`Record.fields`), so a
store applies a change set key by key and two concurrent requests that change different keys
never lose each other's writes.

The contracts (proved for every store by :mod:`sojourn.testing`):

1. No lost updates across keys: ``apply`` sets and removes only the keys it names.
2. No resurrection: ``apply`` and ``rename`` on a missing or expired record change nothing and
   return ``False``; nothing but ``create`` makes a record.
3. Expiry is enforced by the store on every read: a record whose ``expires_at <= now`` is never
   returned, whether or not it has been reaped.
4. Principal index: ``sessions_of`` never returns expired or deleted sessions.
5. Bounded cost: ``load`` (with renewal when due) is one round trip.
6. Failures are loud and typed: an unreachable or timed-out backend raises
   :class:`~sojourn.StoreUnavailable`; undecodable stored data raises
   :class:`~sojourn.CorruptSession` (the manager treats it as no session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol, runtime_checkable

# The types that cross the store boundary belong to the core, which owns that boundary; they
# are re-exported here so that stores (ours and third parties') import them in one place, with
# the one rule that tells a rotation's successor marker from a session (admin code skips them).
from .._core.markers import is_marker as is_marker
from .._core.records import MIN_TOKEN_CHARS as MIN_TOKEN_CHARS
from .._core.records import Changes as Changes
from .._core.records import Login as Login
from .._core.records import Record as Record
from .._core.records import Renewal as Renewal
from .._core.records import Unsealed as Unsealed

OnExpired = Callable[[Record], None]
"""What a purge calls for each record it removed (see :meth:`AsyncSupportsPurge.purge_expired`)."""


class AsyncStore(Protocol):
    """A session store for async code. Every method may raise ``StoreUnavailable``."""

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """Return the live record under ``key``, renewing it first when ``renewal`` is due.

        Returns:
            The record (after renewal), or ``None`` if it is missing or ``expires_at <= now``.
            Never creates anything. One round trip.

        Raises:
            CorruptSession: the stored data cannot be decoded.
        """
        ...

    async def create(self, record: Record) -> None:
        """Store a new record.

        Raises:
            SessionExists: a live record already has this key (an expired one is replaced).
        """
        ...

    async def apply(self, key: str, changes: Changes) -> bool:
        """Apply a change set to the live record under ``key``, atomically.

        Returns:
            ``True`` if applied; ``False`` if the record is missing or expired at
            ``changes.now``, in which case nothing was written (no resurrection).
        """
        ...

    async def rename(self, old: str, new: str, now: float) -> bool:
        """Move the live record under ``old`` to ``new`` atomically (ID rotation).

        Returns:
            ``True`` if moved; ``False`` if ``old`` is missing or expired at ``now`` (nothing
            is written). Afterwards nothing is left under ``old``.
        """
        ...

    async def delete(self, key: str) -> None:
        """Delete the record under ``key``. Idempotent: a missing key is not an error."""
        ...

    async def aclose(self) -> None:
        """Release connections. Idempotent."""
        ...


class Store(Protocol):
    """The sync twin of :class:`AsyncStore`; the same contracts, method for method."""

    def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`AsyncStore.load`."""
        ...

    def create(self, record: Record) -> None:
        """See :meth:`AsyncStore.create`."""
        ...

    def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`AsyncStore.apply`."""
        ...

    def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`AsyncStore.rename`."""
        ...

    def delete(self, key: str) -> None:
        """See :meth:`AsyncStore.delete`."""
        ...

    def close(self) -> None:
        """See :meth:`AsyncStore.aclose`."""
        ...


@runtime_checkable
class AsyncSupportsPrincipals(Protocol):
    """The per-principal index ("your devices", "sign out everywhere")."""

    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        """The live sessions of ``principal``, oldest first; ``fields`` may be left empty.

        Never returns expired or deleted sessions; a store may prune stale index entries here.
        """
        ...

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """Delete every session of ``principal`` except the one keyed ``keep``.

        Returns:
            How many records were deleted.
        """
        ...


@runtime_checkable
class SupportsPrincipals(Protocol):
    """The sync twin of :class:`AsyncSupportsPrincipals`."""

    def sessions_of(self, principal: str, now: float) -> list[Record]:
        """See :meth:`AsyncSupportsPrincipals.sessions_of`."""
        ...

    def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`AsyncSupportsPrincipals.delete_sessions_of`."""
        ...


@runtime_checkable
class AsyncSupportsPurge(Protocol):
    """Stores whose expired records must be removed by a job (SQL, SQLite)."""

    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """Delete records with ``expires_at <= now`` in batches of at most ``batch_size``.

        Each batch is its own short transaction, so a purge never locks the table for long.

        Args:
            on_expired: called once per record this purge removed (``fields`` may be empty),
                after the batch that removed it was committed, so a record two purges race
                for is reported by the one that removed it. The manager passes it only when
                the application has hooks (``expired/purge`` events).

        Returns:
            How many records were deleted.
        """
        ...


@runtime_checkable
class SupportsPurge(Protocol):
    """The sync twin of :class:`AsyncSupportsPurge`."""

    def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """See :meth:`AsyncSupportsPurge.purge_expired`."""
        ...


@runtime_checkable
class AsyncSupportsTakeExpired(Protocol):
    """Stores that still hold a record after its deadline and can hand it over once.

    SQL and SQLite keep expired rows until a purge, memory until it is touched, Redis for a
    *linger* after the deadline. The manager asks only when the application has hooks, and only
    after a load of a well-formed ID missed: the ``expired/load`` event.
    """

    async def take_expired(self, key: str, now: float) -> Record | None:
        """Remove and return the record under ``key`` if it is expired at ``now``, atomically.

        Returns:
            The record as it was (``fields`` may be empty), or ``None`` if there is no record
            or it is still live (nothing is changed then). Of two concurrent calls for one
            expired record, exactly one gets it.

        Raises:
            CorruptSession: never; a record whose data cannot be decoded is still returned
                (its fields left empty), since it is removed either way.
        """
        ...


@runtime_checkable
class SupportsTakeExpired(Protocol):
    """The sync twin of :class:`AsyncSupportsTakeExpired`."""

    def take_expired(self, key: str, now: float) -> Record | None:
        """See :meth:`AsyncSupportsTakeExpired.take_expired`."""
        ...


@runtime_checkable
class AsyncSupportsTake(Protocol):
    """Stores whose delete can say what it removed: a ``delete`` that hands the record over.

    The manager uses it instead of ``delete`` only when the application has hooks, so that a
    session two requests end at once (a double-clicked logout, two revocations) is one
    ``destroyed`` event, not two.
    """

    async def take(self, key: str) -> Record | None:
        """Delete the record under ``key``, live or expired, and return it as it was,
        atomically.

        Returns:
            The record (``fields`` may be empty), or ``None`` if there was none. Of two
            concurrent calls for one record, exactly one gets it. A record whose data cannot
            be decoded is still removed, and returned with what could be read.
        """
        ...


@runtime_checkable
class SupportsTake(Protocol):
    """The sync twin of :class:`AsyncSupportsTake`."""

    def take(self, key: str) -> Record | None:
        """See :meth:`AsyncSupportsTake.take`."""
        ...


@runtime_checkable
class AsyncSupportsCount(Protocol):
    """Stores that can count their live sessions without listing them."""

    async def count(self, now: float) -> int:
        """How many live (unexpired) records the store holds."""
        ...


@runtime_checkable
class SupportsCount(Protocol):
    """The sync twin of :class:`AsyncSupportsCount`."""

    def count(self, now: float) -> int:
        """See :meth:`AsyncSupportsCount.count`."""
        ...


@runtime_checkable
class AsyncSupportsScan(Protocol):
    """Stores that can walk every live record: the admin tool's listing, stats and migration."""

    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """One page of at most ``limit`` live records (``fields`` included), and the cursor of
        the next page (``None``: the walk is done).

        Pass the returned cursor to resume, in this process or another (a cursor is plain
        text, so a migration can save it and resume after a crash). Every record live for the
        whole walk is returned at least once; a record created or deleted during the walk may
        or may not be. Never returns an expired record.
        """
        ...


@runtime_checkable
class SupportsScan(Protocol):
    """The sync twin of :class:`AsyncSupportsScan`."""

    def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """See :meth:`AsyncSupportsScan.scan`."""
        ...


@runtime_checkable
class AsyncSupportsClock(Protocol):
    """Stores whose server has a clock of its own (the admin tool's clock-skew check).

    Expiry is decided by the app servers' clocks (every store call is given ``now``), but
    Redis also expires keys by its own clock: a skew between them shortens or stretches
    sessions, so ``sojourn check`` compares the two.
    """

    async def server_time(self) -> float:
        """The server's current time, in seconds since the epoch."""
        ...


@runtime_checkable
class SupportsClock(Protocol):
    """The sync twin of :class:`AsyncSupportsClock`."""

    def server_time(self) -> float:
        """See :meth:`AsyncSupportsClock.server_time`."""
        ...


@runtime_checkable
class AsyncSupportsSchema(Protocol):
    """Stores with a schema of their own (the SQL stores): its DDL and its recorded version."""

    def schema_sql(self) -> str:
        """The DDL of this store's tables: the very text the store runs to create them, so
        what the admin tool prints can never differ from what the store creates."""
        ...

    async def schema_version(self) -> int | None:
        """The layout version the database records for this store's table (``None``: none).

        Raises:
            ConfigurationError: the store does not create its schema and the table is
                missing or at a version this release does not use.
        """
        ...


@runtime_checkable
class SupportsSchema(Protocol):
    """The sync twin of :class:`AsyncSupportsSchema`."""

    def schema_sql(self) -> str:
        """See :meth:`AsyncSupportsSchema.schema_sql`."""
        ...

    def schema_version(self) -> int | None:
        """See :meth:`AsyncSupportsSchema.schema_version`."""
        ...


@runtime_checkable
class ClientSideStore(Protocol):
    """A "store" that keeps nothing on the server: the whole record travels sealed in the cookie.

    The managers recognise it and carry the sealed token in the cookie value instead of an ID.
    There is no ``delete`` to call and no index to query: a sealed token stays valid until its
    sealed deadline, which is why the store is told to ``unseal`` with the current time, and why
    it offers an application hook for revocation (see :mod:`sojourn.stores.cookie`).
    """

    def seal(self, record: Record, context: str) -> str:
        """The token carrying ``record``, authenticated and bound to ``context`` (cookie name)."""
        ...

    def unseal(self, token: str, context: str, now: float) -> Unsealed | None:
        """The record in ``token``, or ``None`` if it is forged, damaged, expired or revoked.

        Never raises for bad input: every failure is the same ``None``.

        Raises:
            StoreUnavailable: a revocation check the store depends on failed.
        """
        ...


__all__ = [
    "MIN_TOKEN_CHARS",
    "AsyncStore",
    "AsyncSupportsClock",
    "AsyncSupportsCount",
    "AsyncSupportsPrincipals",
    "AsyncSupportsPurge",
    "AsyncSupportsScan",
    "AsyncSupportsSchema",
    "AsyncSupportsTake",
    "AsyncSupportsTakeExpired",
    "Changes",
    "ClientSideStore",
    "Login",
    "OnExpired",
    "Record",
    "Renewal",
    "Store",
    "SupportsClock",
    "SupportsCount",
    "SupportsPrincipals",
    "SupportsPurge",
    "SupportsScan",
    "SupportsSchema",
    "SupportsTake",
    "SupportsTakeExpired",
    "Unsealed",
    "is_marker",
]
