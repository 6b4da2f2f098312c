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

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol, runtime_checkable

from .._core.errors import ConfigurationError


@dataclass(frozen=True, slots=True)
class Record:
    """What a store keeps for one session.

    Attributes:
        key: the SHA-256 hex digest of the session ID (never the ID).
        fields: each session key mapped to its JSON-encoded value.
        principal: the user this session belongs to, if any; indexed.
        created_at: when the session was created, or last logged in (the absolute timeout
            counts from here).
        renewed_at: when the idle deadline was last slid forward ("last seen", to within the
            renewal interval).
        expires_at: ``min(created_at + lifetime, renewed_at + idle_timeout)`` when written.
        authenticated_at: when ``principal`` logged in, if anyone did.
        meta: optional metadata for "your devices" pages (user agent, IP), only when the app
            asks to track it. Kept beside the user's data, never inside it.
    """

    key: str
    fields: Mapping[str, bytes]
    principal: str | None
    created_at: float
    renewed_at: float
    expires_at: float
    authenticated_at: float | None = None
    meta: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Login:
    """A login inside a change set: the record's principal and times are reset."""

    principal: str
    at: float


@dataclass(frozen=True, slots=True)
class Changes:
    """A change set for one live session, applied atomically.

    Attributes:
        now: the request's time. A record with ``expires_at <= now`` counts as gone. The
            record's ``renewed_at`` becomes ``now``.
        expires_at: the record's new deadline.
        set: keys to set, with their encoded values; other keys are left as they are.
        remove: keys to remove (missing keys are ignored).
        login: if given, ``principal`` and ``authenticated_at`` are set from it and
            ``created_at`` is reset to ``login.at``.
        meta: if given, replaces the record's metadata.
    """

    now: float
    expires_at: float
    set: Mapping[str, bytes] = field(default_factory=dict)
    remove: frozenset[str] = frozenset()
    login: Login | None = None
    meta: Mapping[str, str] | None = None

    def apply_to(self, record: Record) -> Record:
        """The record after this change set: a reference for stores written in Python."""
        fields = {k: v for k, v in record.fields.items() if k not in self.remove}
        fields.update(self.set)
        updated = replace(
            record,
            fields=fields,
            renewed_at=self.now,
            expires_at=self.expires_at,
            meta=dict(self.meta) if self.meta is not None else record.meta,
        )
        if self.login is not None:
            updated = replace(
                updated,
                principal=self.login.principal,
                authenticated_at=self.login.at,
                created_at=self.login.at,
            )
        return updated


@dataclass(frozen=True, slots=True)
class Renewal:
    """Sliding renewal, done by ``load`` in the same round trip as the read.

    A store applies it to a live record when ``now - renewed_at >= interval`` and the new
    deadline ``min(created_at + lifetime, now + idle_timeout)`` is later than ``expires_at``:
    it then sets ``renewed_at = now`` and ``expires_at`` to that deadline, and returns the
    updated record. Otherwise the record is returned unchanged.
    """

    now: float
    idle_timeout: float
    lifetime: float
    interval: float

    def __post_init__(self) -> None:
        if self.idle_timeout <= 0 or self.lifetime <= 0 or self.interval < 0:
            raise ConfigurationError("renewal needs positive timeouts")

    def deadline(self, created_at: float) -> float:
        """The deadline a renewal at ``now`` gives a record created at ``created_at``."""
        return min(created_at + self.lifetime, self.now + self.idle_timeout)

    def due(self, record: Record) -> bool:
        """True if this renewal should be applied to ``record``."""
        return (
            self.now - record.renewed_at >= self.interval
            and self.deadline(record.created_at) > record.expires_at
        )

    def apply_to(self, record: Record) -> Record:
        """The record after renewal (unchanged when not due): a reference for Python stores."""
        if not self.due(record):
            return record
        return replace(record, renewed_at=self.now, expires_at=self.deadline(record.created_at))


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

    async def purge_expired(self, now: float, batch_size: int = 1000) -> int:
        """Delete records with ``expires_at <= now`` in batches of at most ``batch_size``.

        Each batch is its own short transaction, so a purge never locks the table for long.

        Returns:
            How many records were deleted.
        """
        ...


@runtime_checkable
class SupportsPurge(Protocol):
    """The sync twin of :class:`AsyncSupportsPurge`."""

    def purge_expired(self, now: float, batch_size: int = 1000) -> int:
        """See :meth:`AsyncSupportsPurge.purge_expired`."""
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


@dataclass(frozen=True, slots=True)
class Unsealed:
    """A record read back from a client-side token.

    Attributes:
        record: the session as it was sealed.
        stale_key: the token was sealed with a key that is no longer the newest, so the
            manager re-seals it with the newest key on this response (key rotation converges
            after one request per client, and the old key can then be retired).
    """

    record: Record
    stale_key: bool = False


MIN_TOKEN_CHARS = 44
"""No client-side token is shorter: shorter values are dropped before any cryptography."""


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
