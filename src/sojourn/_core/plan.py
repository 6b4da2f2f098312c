"""The engine: open a session from what a store returned, and plan what a commit must do.

Both steps are pure. :meth:`Engine.open` turns a stored record (or nothing) into a
:class:`Session`; :meth:`Engine.close` turns the session at the end of a request into a
:class:`Commit`: store operations to run in order, and response headers to send. Managers
execute commits; nothing here touches a store, a clock or a socket.

Rules the plan keeps:

- Lazy creation: a session with no data and no principal is never stored and sets no cookie.
- Strict mode: an unknown ID is never adopted; new sessions always get an ID from the factory.
- A request that reads but does not change a session writes nothing (renewal rides on the
  load); a request that never touches it adds no ``Vary``.
- One ``Set-Cookie`` per response at most, and never for an ID that was not stored.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .codec import DEFAULT_LIMITS, JSON, CodecLimits, ValueCodec
from .errors import CorruptSession, SessionTooLarge
from .ids import (
    ID_BYTES,
    IdFactory,
    fingerprint_of_key,
    is_valid_session_id,
    new_session_id,
    store_key,
)
from .policy import Policy
from .records import Changes, Login, Record, Renewal
from .session import Session
from .transport import CookieTransport, Transport

logger = logging.getLogger("sojourn.security")

MAX_CANDIDATES = 3


@dataclass(frozen=True, slots=True)
class Create:
    """Store a new record (``SessionExists`` on a collision: plan again)."""

    record: Record


@dataclass(frozen=True, slots=True)
class Apply:
    """Apply a change set to a live record; ``False`` from the store means it is gone."""

    key: str
    changes: Changes


@dataclass(frozen=True, slots=True)
class Rename:
    """Move a live record to a new key (ID rotation); ``False`` means it is gone."""

    old: str
    new: str
    now: float


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete a record; idempotent."""

    key: str


Op = Create | Apply | Rename | Delete


@dataclass(frozen=True, slots=True)
class Commit:
    """What to do at the end of a request.

    Attributes:
        ops: store operations, in order.
        headers: response headers to add when every operation succeeded.
        headers_if_gone: response headers to add instead when an ``Apply`` or ``Rename``
            found the session gone (revoked or expired meanwhile): the client is told to
            forget its ID, and nothing is resurrected.
        vary: the request header to add to ``Vary``, or ``None`` when the session was not used.
        issued_id: the ID a ``Create`` or ``Rename`` stores, so the session can follow it.
        fields: the session's values as this commit stores them, encoded, when it writes:
            the session's new baseline for change detection (not encoded a second time, and
            not what the data became after planning).
    """

    ops: tuple[Op, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    headers_if_gone: tuple[tuple[str, str], ...] = ()
    vary: str | None = None
    issued_id: str | None = None
    fields: Mapping[str, bytes] | None = None

    @property
    def empty(self) -> bool:
        """True when there is nothing to run and nothing to send."""
        return not (self.ops or self.headers or self.vary)


NOTHING = Commit()


@dataclass(frozen=True, slots=True)
class Engine:
    """The pure core of Sojourn, configured once per application.

    Attributes:
        policy: idle timeout, absolute lifetime and renewal interval.
        transport: where IDs travel (cookie by default).
        limits: size and depth limits for session values.
        codec: how each session value becomes bytes and back (strict JSON by default).
        id_factory: makes new IDs; tests inject a deterministic one.
        id_bytes: how many random bytes an ID carries (validation of incoming IDs).
        no_store: the ``Cache-Control`` value for responses that issue or clear an ID, or
            ``None`` to leave caching headers alone.
    """

    policy: Policy = field(default_factory=Policy)
    transport: Transport = field(default_factory=CookieTransport)
    limits: CodecLimits = DEFAULT_LIMITS
    codec: ValueCodec = JSON
    id_factory: IdFactory = new_session_id
    id_bytes: int = ID_BYTES
    no_store: str | None = "private, no-store"
    _cleared: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # The headers that clear an ID never change for a transport; most commits need them.
        object.__setattr__(self, "_cleared", tuple(self.transport.clear()))

    # -- opening ----------------------------------------------------------------------------

    def candidates(self, raw: Sequence[str]) -> list[tuple[str, str]]:
        """Valid, distinct candidate IDs as ``(id, store key)``, at most three.

        Malformed values are dropped here, before any store call (SEC-43).
        """
        found: list[tuple[str, str]] = []
        for value in raw:
            if is_valid_session_id(value, self.id_bytes) and all(value != i for i, _ in found):
                found.append((value, store_key(value)))
                if len(found) == MAX_CANDIDATES:
                    break
        return found

    def renewal(self, now: float) -> Renewal:
        """The renewal a store should apply on load at ``now``."""
        return Renewal(
            now=now,
            idle_timeout=self.policy.idle_timeout,
            lifetime=self.policy.lifetime,
            interval=self.policy.effective_renew_interval,
        )

    def new(
        self, now: float, *, read_only: bool = False, meta: Mapping[str, str] | None = None
    ) -> Session:
        """A fresh, empty session that will be stored only if something is written."""
        return Session(
            key=None,
            session_id=None,
            data={},
            loaded={},
            principal=None,
            created_at=now,
            renewed_at=now,
            expires_at=self.policy.deadline(now, now),
            authenticated_at=None,
            now=now,
            limits=self.limits,
            read_only=read_only,
            meta=meta,
            codec=self.codec,
        )

    def open(
        self,
        session_id: str | None,
        record: Record | None,
        now: float,
        *,
        read_only: bool = False,
        meta: Mapping[str, str] | None = None,
    ) -> Session:
        """The session for a request, from the record its ID loaded (or ``None``).

        A missing record gives a fresh session (never adopting the ID). A record that is dead
        by this policy, or whose data cannot be decoded, gives a fresh session too, and the
        record is deleted at commit.
        """
        if session_id is None or record is None:
            return self.new(now, read_only=read_only, meta=meta)
        alive = self.policy.is_alive(record.created_at, record.renewed_at, record.expires_at, now)
        try:
            decode = self.codec.decode
            data: dict[str, Any] = {k: decode(v, self.limits) for k, v in record.fields.items()}
        except CorruptSession:
            logger.warning(
                "session.corrupt: undecodable data in session %s", fingerprint_of_key(record.key)
            )
            alive = False
            data = {}
        if not alive:
            session = self.new(now, read_only=read_only, meta=meta)
            session._doomed_key = record.key
            return session
        return Session(
            key=record.key,
            session_id=session_id,
            data=data,
            loaded=record.fields,
            principal=record.principal,
            created_at=record.created_at,
            renewed_at=record.renewed_at,
            expires_at=record.expires_at,
            authenticated_at=record.authenticated_at,
            now=now,
            limits=self.limits,
            read_only=read_only,
            meta=record.meta if meta is None else meta,
            codec=self.codec,
        )

    # -- closing ----------------------------------------------------------------------------

    def close(self, session: Session, now: float) -> Commit:
        """Plan the commit of ``session`` at the end of a request at ``now``.

        One of four cases: untouched (nothing), nothing worth keeping (forget, or delete what
        was stored), new with content (create under a fresh ID), or stored with content
        (rotate and apply what changed).

        Raises:
            SessionTooLarge: the session's encoded data is over ``limits.max_session_bytes``.
            UnencodableValue: a value was changed in place into something that is not JSON.
        """
        s = session
        if not s._accessed and s._doomed_key is None:
            return NOTHING
        ops: list[Op] = [] if s._doomed_key is None else [Delete(s._doomed_key)]
        encoded = s._encoded() if s._accessed else dict(s._loaded)
        size = sum(len(v) for v in encoded.values())
        if size > self.limits.max_session_bytes:
            raise SessionTooLarge(
                f"session data is {size} bytes, over the limit of "
                f"{self.limits.max_session_bytes} bytes"
            )
        if not (encoded or s._principal is not None or s._persist):
            return self._close_empty(s, ops)
        if s._key is None:
            return self._close_new(s, ops, encoded, now)
        return self._close_stored(s, s._key, ops, encoded, now)

    def _close_empty(self, s: Session, ops: list[Op]) -> Commit:
        """Nothing to keep: delete the stored record, if any, and tell the client to forget an
        ID only if one was killed (a new session that stayed empty sends nothing)."""
        if s._key is not None:
            ops.append(Delete(s._key))
        killed = s._key is not None or s._doomed_key is not None
        forget = self._cleared if killed else ()
        return Commit(tuple(ops), self._cache(forget), vary=self.transport.vary)

    def _close_new(
        self, s: Session, ops: list[Op], encoded: dict[str, bytes], now: float
    ) -> Commit:
        """A new session with content: store it under a fresh ID, and hand the client the ID."""
        new_id = self.id_factory()
        record = Record(
            key=store_key(new_id),
            fields=encoded,
            principal=s._principal,
            created_at=s._created_at,
            renewed_at=now,
            expires_at=self.deadline(s, now),
            authenticated_at=s._authenticated_at,
            meta=dict(s._meta),
        )
        ops.append(Create(record))
        issue = tuple(self.transport.issue(new_id, self._max_age(record, now), now))
        return Commit(
            tuple(ops),
            self._cache(issue),
            vary=self.transport.vary,
            issued_id=new_id,
            fields=encoded,
        )

    def _close_stored(
        self, s: Session, key: str, ops: list[Op], encoded: dict[str, bytes], now: float
    ) -> Commit:
        """A stored session with content: rotate if asked, then apply what changed (or the
        renewal or expiry cap that is due); nothing at all when nothing is."""
        changed = {k: v for k, v in encoded.items() if s._loaded.get(k) != v}
        removed = frozenset(k for k in s._loaded if k not in encoded)
        login = None
        if s._logged_in and s._principal is not None:
            login = Login(s._principal, s._authenticated_at or now)
        due = self.policy.renewal_due(s._created_at, s._renewed_at, now)
        over_cap = s._expires_cap is not None and s._expires_at > s._expires_cap
        headers: tuple[tuple[str, str], ...] = ()
        issued: str | None = None
        if s._rotate:
            issued = self.id_factory()
            ops.append(Rename(key, store_key(issued), now))
            key = store_key(issued)
            max_age = self._max_age_at(s._created_at, now)
            headers = tuple(self.transport.issue(issued, max_age, now))
        if changed or removed or login or issued or due or over_cap:
            changes = Changes(
                now=now,
                expires_at=self.deadline(s, now),
                set=changed,
                remove=removed,
                login=login,
                meta=dict(s._meta) if login else None,
            )
            ops.append(Apply(key, changes))
        return Commit(
            tuple(ops),
            self._cache(headers),
            headers_if_gone=self._cache(self._cleared),
            vary=self.transport.vary,
            issued_id=issued,
            fields=encoded,
        )

    def committed(
        self, session: Session, commit: Commit, now: float, *, gone: bool, final: bool
    ) -> None:
        """Bring ``session`` in line with what the store now holds after ``commit`` ran.

        Args:
            now: the time the commit was planned at.
            gone: an ``Apply`` or ``Rename`` reported the session gone.
            final: the response headers are sent; changes that need a new ID are refused.
        """
        s = session
        s._doomed_key = None
        s._rotate = False
        s._logged_in = False
        s._persist = False
        s._committed = s._committed or final
        if gone:
            s._key = None
            s._id = None
            s._data.clear()
            s._loaded.clear()
            s._principal = None
            s._accessed = False
            return
        if commit.issued_id is not None:
            s._id = commit.issued_id
            s._key = store_key(commit.issued_id)
        elif s._key is not None and Delete(s._key) in commit.ops:
            s._key = None  # emptied: its record was deleted, and nothing backs it any more
            s._id = None
        if s._key is not None and commit.ops:
            s._loaded = dict(commit.fields) if commit.fields is not None else s._encoded()
            s._renewed_at = now
            s._expires_at = self.deadline(s, s._renewed_at)
        elif s._key is None:
            s._loaded.clear()
        s._accessed = False

    def deadline(self, session: Session, now: float) -> float:
        """The deadline a write at ``now`` gives ``session``: the policy's, shortened (never
        extended) by the session's :meth:`~Session.cap_expiry`."""
        deadline = self.policy.deadline(session._created_at, now)
        cap = session._expires_cap
        return deadline if cap is None else min(deadline, cap)

    def discard(self, session: Session, key: str) -> None:
        """Delete the stored record ``key`` at ``session``'s next commit (a corrupt record the
        load found; the session itself stays fresh and unsaved)."""
        session._doomed_key = key

    def key_of(self, session: Session) -> str | None:
        """The store key (ID digest) backing ``session``, or ``None`` if nothing is stored."""
        return session._key

    def session_id(self, session: Session) -> str | None:
        """The ID backing ``session`` as of its last load or commit (``None`` if unstored).

        For adapters whose framework writes the cookie itself; application code never needs
        the raw ID (use :attr:`Session.fingerprint` for labels).
        """
        return session._id

    def _max_age(self, record: Record, now: float) -> float:
        return self._max_age_at(record.created_at, now)

    def _max_age_at(self, created_at: float, now: float) -> float:
        # A persistent cookie lives to the absolute deadline; the server enforces idleness.
        return created_at + self.policy.lifetime - now

    def _cache(self, headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        if headers and self.no_store:
            return (*headers, ("cache-control", self.no_store))
        return headers
