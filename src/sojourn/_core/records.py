"""The values that cross the store boundary: records, change sets, renewals, unsealed tokens.

They belong to the core, which defines what a store is asked to do; :mod:`sojourn.stores.base`
holds the store protocols and re-exports these, so a store (ours or a third party's) imports
everything from one place. Pure data with reference semantics for stores written in Python
(``apply_to``); no I/O.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .errors import ConfigurationError
from .timing import own_terms


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(
        self,
        key: str,
        fields: Mapping[str, bytes],
        principal: str | None,
        created_at: float,
        renewed_at: float,
        expires_at: float,
        authenticated_at: float | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        # As the generated one, but each slot is set through its descriptor instead of
        # object.__setattr__: records are built on every load and write (see _slot_setters).
        key_, fields_, principal_, created_, renewed_, expires_, authenticated_, meta_ = _RECORD
        key_(self, key)
        fields_(self, fields)
        principal_(self, principal)
        created_(self, created_at)
        renewed_(self, renewed_at)
        expires_(self, expires_at)
        authenticated_(self, authenticated_at)
        meta_(self, {} if meta is None else meta)


@dataclass(frozen=True, slots=True)
class Login:
    """A login inside a change set: the record's principal and times are reset."""

    principal: str
    at: float


@dataclass(frozen=True, slots=True, init=False)
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

    def __init__(
        self,
        now: float,
        expires_at: float,
        set: Mapping[str, bytes] | None = None,
        remove: frozenset[str] = frozenset(),
        login: Login | None = None,
        meta: Mapping[str, str] | None = None,
    ) -> None:
        now_, expires_, set_, remove_, login_, meta_ = _CHANGES  # as Record: made per write
        now_(self, now)
        expires_(self, expires_at)
        set_(self, {} if set is None else set)
        remove_(self, remove)
        login_(self, login)
        meta_(self, meta)

    def apply_to(self, record: Record) -> Record:
        """The record after this change set: a reference for stores written in Python."""
        remove = self.remove
        if remove:
            fields = {k: v for k, v in record.fields.items() if k not in remove}
        else:
            fields = dict(record.fields)
        fields.update(self.set)
        login = self.login
        # Built directly rather than with dataclasses.replace, which inspects the fields on
        # every call: the memory store applies a change set on every write.
        return Record(
            record.key,
            fields,
            record.principal if login is None else login.principal,
            record.created_at if login is None else login.at,
            self.now,
            self.expires_at,
            record.authenticated_at if login is None else login.at,
            dict(self.meta) if self.meta is not None else record.meta,
        )


@dataclass(frozen=True, slots=True, init=False)
class Renewal:
    """Sliding renewal, done by ``load`` in the same round trip as the read.

    A store applies it to a live record when ``now - renewed_at >= interval`` and the new
    deadline ``min(created_at + lifetime, now + idle_timeout)`` is later than ``expires_at``:
    it then sets ``renewed_at = now`` and ``expires_at`` to that deadline, and returns the
    updated record. Otherwise the record is returned unchanged.

    A record that carries its own timeouts (the reserved ``sojourn:idle`` and
    ``sojourn:lifetime`` metadata entries, see :mod:`sojourn._core.timing`) is renewed with
    those instead of ``idle_timeout`` and ``lifetime``: a renewal never slides a session past
    its own deadline, and a remembered session renews up to its own, longer, lifetime.
    """

    now: float
    idle_timeout: float
    lifetime: float
    interval: float

    def __init__(self, now: float, idle_timeout: float, lifetime: float, interval: float) -> None:
        if idle_timeout <= 0 or lifetime <= 0 or interval < 0:
            raise ConfigurationError("renewal needs positive timeouts")
        now_, idle_, lifetime_, interval_ = _RENEWAL  # as Record: made per load
        now_(self, now)
        idle_(self, idle_timeout)
        lifetime_(self, lifetime)
        interval_(self, interval)

    def terms(self, record: Record) -> tuple[float, float]:
        """The ``(idle timeout, lifetime)`` this renewal applies to ``record``: its own when
        it carries them, else this renewal's."""
        own = own_terms(record.meta) if record.meta else None
        return (self.idle_timeout, self.lifetime) if own is None else own

    def deadline_of(self, record: Record) -> float:
        """The deadline a renewal at ``now`` gives ``record``."""
        idle, lifetime = self.terms(record)
        return min(record.created_at + lifetime, self.now + idle)

    def deadline(self, created_at: float) -> float:
        """The deadline a renewal at ``now`` gives a record created at ``created_at`` that
        carries no timeouts of its own."""
        return min(created_at + self.lifetime, self.now + self.idle_timeout)

    def due(self, record: Record) -> bool:
        """True if this renewal should be applied to ``record``."""
        if self.now - record.renewed_at < self.interval:
            return False  # the usual answer: renewed within the interval
        return self.deadline_of(record) > record.expires_at

    def apply_to(self, record: Record) -> Record:
        """The record after renewal (unchanged when not due): a reference for Python stores."""
        if not self.due(record):
            return record
        r = record
        deadline = self.deadline_of(r)
        return Record(
            r.key, r.fields, r.principal, r.created_at, self.now, deadline, r.authenticated_at,
            r.meta,
        )  # fmt: skip


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


def _slot_setters(cls: type, *names: str) -> tuple[Callable[[Any, Any], None], ...]:
    """The ``__set__`` of each named slot of a frozen slots dataclass.

    Setting a slot through its descriptor skips the instance's (frozen) ``__setattr__``, as the
    generated ``__init__`` does with ``object.__setattr__``, at half its cost; the classes
    whose instances are made on every request use it in their ``__init__``. The names are
    checked against the class's fields, so a renamed field fails at import, not later.
    """
    declared = [f.name for f in dataclasses.fields(cls)]
    if list(names) != declared:
        raise TypeError(f"{cls.__name__}: slot setters for {names}, fields are {declared}")
    return tuple(cls.__dict__[name].__set__ for name in names)


_RECORD = _slot_setters(
    Record, "key", "fields", "principal", "created_at", "renewed_at", "expires_at",
    "authenticated_at", "meta",
)  # fmt: skip
_CHANGES = _slot_setters(Changes, "now", "expires_at", "set", "remove", "login", "meta")
_RENEWAL = _slot_setters(Renewal, "now", "idle_timeout", "lifetime", "interval")


MIN_TOKEN_CHARS = 44
"""No client-side token is shorter: shorter values are dropped before any cryptography."""


__all__ = ["MIN_TOKEN_CHARS", "Changes", "Login", "Record", "Renewal", "Unsealed"]
