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
- One ``Set-Cookie`` per response at most, and never for an ID that was not stored; a commit
  that finds its session gone sends none (a later response may have given the client a new ID).
- A rotation leaves a successor marker under the old key's :func:`~.ids.marker_key`: the
  successor's store key and the kind of rotation, so that stragglers can be told apart from
  logouts (see "Rotation and the races around it" in the design).
- Each session lives by its own timeouts (:meth:`Policy.terms`: remembered, signed in or
  anonymous, shortened by ``set_timeouts``), checked on every load and used for every deadline
  a write gives; when they are not the application's ordinary ones they travel with the record
  in reserved metadata entries (:mod:`~.timing`), written with the change that made them, so a
  store's renewal follows them too.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from .binding import Binding, carried
from .clearing import CLEAR_SITE_DATA, directives, header_value
from .codec import DEFAULT_LIMITS, JSON, CodecLimits, ValueCodec
from .errors import (
    ConfigurationError,
    CorruptSession,
    SessionTooLarge,
    ShapeError,
    UnencodableValue,
)
from .events import CORRUPT, DESTROYED, EXPIRED, LOGOUT, SEEN_ON_LOAD, EventKind
from .ids import (
    ID_BYTES,
    IdFactory,
    fingerprint_of_key,
    id_pattern,
    marker_key,
    new_session_id,
    store_key,
)
from .markers import marker_meta, successor_of
from .opening import Outcome
from .policy import Policy
from .records import Cap, Changes, Login, Record, Renewal
from .session import Session
from .shape import Shape, ShapedCodec
from .state import SessionState
from .timing import CAPS, IDLE, REMEMBER, caps, entries, remembered, user_meta
from .transport import CookieTransport, Transport

logger = logging.getLogger("sojourn.security")

MAX_CANDIDATES = 3
MARKER_SECONDS = 30.0
"""The least time a successor marker is kept: long enough to tell a straggler that its ID was
rotated (not ended), whatever the periodic grace window."""
_NONE_REMOVED: frozenset[str] = frozenset()

EVICT_OLDEST = "evict_oldest"  # on_cap: make room by ending the principal's oldest sessions
REFUSE = "refuse"  # on_cap: refuse a login past the cap

ROTATED_BY_LOGIN = "login"
ROTATED_BY_REGENERATE = "regenerate"
ROTATED_PERIODICALLY = "periodic"
_UNUSED = Outcome()


@dataclass(frozen=True, slots=True)
class Create:
    """Store a new record (``SessionExists`` on a collision: plan again); with ``cap``, a
    login's record, counted against its principal's cap in the same atomic step."""

    record: Record
    cap: Cap | None = None


class Apply(NamedTuple):
    """Apply a change set to a live record; ``False`` from the store means it is gone. With
    ``cap``, the change set is a login counted against its principal's cap atomically.

    A tuple, as :class:`Commit`: one is made per write, and a frozen dataclass costs twice as
    much to build."""

    key: str
    changes: Changes
    cap: Cap | None = None


@dataclass(frozen=True, slots=True)
class Rename:
    """Move a live record to a new key (ID rotation); ``False`` means it is gone.

    ``kind``, ``principal`` and ``meta`` describe the rotation for lifecycle events (the
    principal after a login is the new one); they are not compared.
    """

    old: str
    new: str
    now: float
    kind: str = field(default=ROTATED_BY_REGENERATE, compare=False)
    principal: str | None = field(default=None, compare=False)
    meta: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Delete:
    """Delete a record; idempotent.

    ``kind`` and ``reason`` say what the deletion means for lifecycle events (a logout, a
    corrupt record discarded, one found dead by policy), with the record's ``principal`` and
    ``meta`` as they were; they are not compared.
    """

    key: str
    kind: EventKind = field(default=DESTROYED, compare=False)
    reason: str = field(default=LOGOUT, compare=False)
    principal: str | None = field(default=None, compare=False)
    meta: Mapping[str, str] = field(default_factory=dict, compare=False)


@dataclass(frozen=True, slots=True)
class Mark:
    """Leave a successor marker (``create`` it; one already there is left as it is)."""

    record: Record


Op = Create | Apply | Rename | Delete | Mark
ROTATED_AT = "rotated_at"
"""The metadata entry holding when a session's current ID was issued (periodic rotation)."""


class Commit(NamedTuple):
    """What to do at the end of a request (a tuple: one is made per write, and a frozen
    dataclass costs twice as much to build).

    Attributes:
        ops: store operations, in order.
        headers: response headers to add when every operation succeeded (none at all when
            an ``Apply`` or ``Rename`` finds the session gone: nothing is resurrected, and no
            late response clears or replaces a cookie the client was given since).
        vary: the request header to add to ``Vary``, or ``None`` when the session was not used.
        issued_id: the ID a ``Create`` or ``Rename`` stores, so the session can follow it.
        fields: the session's values as this commit stores them, encoded, when it writes:
            the session's new baseline for change detection (not encoded a second time, and
            not what the data became after planning).
        writes: the commit stores what the request asked for (keys set or removed, a login, a
            new session): if it does not land, the request must be told its changes were lost
            (``SessionGone``), never answered as saved. A renewal alone is not a write.
        ends: the store key this request's own logout deletes; its clearing headers are sent
            unless that session had been rotated away by a login meanwhile.
    """

    ops: tuple[Op, ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    vary: str | None = None
    issued_id: str | None = None
    fields: dict[str, bytes] | None = None
    writes: bool = False
    ends: str | None = None

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
        shape: what the session holds (:mod:`~.shape`): checked on write, at commit and on
            load, where a record that does not fit is migrated or treated as corrupt.
            ``None`` (default): untyped, and none of it runs.
        id_factory: makes new IDs; tests inject a deterministic one.
        id_bytes: how many random bytes an ID carries (validation of incoming IDs).
        no_store: the ``Cache-Control`` value for responses that issue or clear an ID, or
            ``None`` to leave caching headers alone.
        max_sessions_per_user: the most live sessions one principal may hold (SEC-63);
            ``None``: no cap. The store enforces it at each login, atomically with the login;
            the manager refuses a store that cannot (see ``docs/session-cap.md``).
        on_cap: what a login past the cap does: ``"evict_oldest"`` (default) deletes the
            principal's oldest sessions (by login time) and fires ``destroyed`` with reason
            ``evicted`` for each; ``"refuse"`` raises :class:`~sojourn.TooManySessions` and
            the login does not happen.
        clear_site_data: ``Clear-Site-Data`` directives (``"cache"``, ``"cookies"``,
            ``"storage"``, ``"executionContexts"`` or ``"*"``) sent on a logout's response
            (SEC-29); none by default.
        binding: what a session is bound to (user-agent family, IP prefix), or ``None``
            (the default): see :class:`~sojourn._core.binding.Binding`. The managers check it.
    """

    policy: Policy = field(default_factory=Policy)
    transport: Transport = field(default_factory=CookieTransport)
    limits: CodecLimits = DEFAULT_LIMITS
    codec: ValueCodec = JSON
    shape: Shape | None = None
    id_factory: IdFactory = new_session_id
    id_bytes: int = ID_BYTES
    no_store: str | None = "private, no-store"
    max_sessions_per_user: int | None = None
    on_cap: str = EVICT_OLDEST
    clear_site_data: str | Iterable[str] = ()
    binding: Binding | None = None
    _cleared: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)
    _logout: tuple[tuple[str, str], ...] = field(default=(), init=False, repr=False, compare=False)
    _vary_only: Commit = field(default=NOTHING, init=False, repr=False, compare=False)
    _rotate_every: float = field(default=math.inf, init=False, repr=False, compare=False)
    _renewal_terms: tuple[float, float, float] = field(
        default=(0.0, 0.0, 0.0), init=False, repr=False, compare=False
    )
    _vary: str | None = field(default=None, init=False, repr=False, compare=False)
    _used: Outcome = field(default=Outcome(), init=False, repr=False, compare=False)
    _terms: tuple[tuple[float, float], tuple[float, float]] = field(
        default=((0.0, 0.0), (0.0, 0.0)), init=False, repr=False, compare=False
    )
    _persistent: bool = field(default=False, init=False, repr=False, compare=False)
    _issue_exact: Any = field(default=None, init=False, repr=False, compare=False)
    _codec: ValueCodec = field(default=JSON, init=False, repr=False, compare=False)
    _valid: Callable[[str], object] = field(
        default=lambda value: None, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        cap = self.max_sessions_per_user
        if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap < 1):
            raise ConfigurationError("max_sessions_per_user must be a positive integer or None")
        if self.on_cap not in (EVICT_OLDEST, REFUSE):
            raise ConfigurationError("on_cap must be 'evict_oldest' or 'refuse'")
        # Decided once per application: the headers that clear an ID never change for a
        # transport, and the commits of a read and of an empty new session are constants.
        cleared = tuple(self.transport.clear())
        vary = self.transport.vary
        object.__setattr__(self, "_cleared", cleared)
        chosen = directives(self.clear_site_data)
        object.__setattr__(self, "clear_site_data", chosen)  # checked, as a tuple
        logout = (*cleared, (CLEAR_SITE_DATA, header_value(chosen))) if chosen else cleared
        object.__setattr__(self, "_logout", logout)
        object.__setattr__(self, "_vary_only", Commit(vary=vary))  # a read, or an unused new one
        policy = self.policy
        if policy.rotate_every is not None:
            object.__setattr__(self, "_rotate_every", policy.rotate_every)
        terms = (policy.idle_timeout, policy.lifetime, policy.effective_renew_interval)
        object.__setattr__(self, "_renewal_terms", terms)
        object.__setattr__(self, "_vary", vary)
        object.__setattr__(self, "_used", Outcome(vary=vary))
        # (signed in, anonymous): the timeouts of a session with no timing of its own.
        object.__setattr__(self, "_terms", (policy.terms(True), policy.terms(False)))
        cookie = getattr(self.transport, "cookie", None)
        object.__setattr__(self, "_persistent", bool(getattr(cookie, "persistent", False)))
        # A transport that can be told per session whether its cookie is persistent.
        object.__setattr__(self, "_issue_exact", getattr(self.transport, "issue_exact", None))
        # A shape checks each value before the codec sees it; without one, the codec alone.
        if self.shape is not None and not isinstance(self.shape, Shape):
            raise ConfigurationError(
                "Engine(shape=...) takes a Shape: sojourn.typed.shape_of(YourClass)"
            )
        shaped = self.codec if self.shape is None else ShapedCodec(self.shape, self.codec)
        object.__setattr__(self, "_codec", shaped)
        # is_valid_session_id for this ID size, held: looked up once, not per request.
        object.__setattr__(self, "_valid", id_pattern(self.id_bytes).fullmatch)

    # -- opening ----------------------------------------------------------------------------

    def candidates(self, raw: Sequence[str]) -> list[tuple[str, str]]:
        """Valid, distinct candidate IDs as ``(id, store key)``, at most three.

        Malformed values are dropped here, before any store call (SEC-43).
        """
        valid = self._valid
        if len(raw) == 1:  # the usual request: one cookie
            value = raw[0]
            return [(value, store_key(value))] if valid(value) else []
        found: list[tuple[str, str]] = []
        for value in raw:
            if valid(value) and all(value != i for i, _ in found):
                found.append((value, store_key(value)))
                if len(found) == MAX_CANDIDATES:
                    break
        return found

    def renewal(self, now: float) -> Renewal:
        """The renewal a store should apply on load at ``now``."""
        idle_timeout, lifetime, interval = self._renewal_terms
        return Renewal(now, idle_timeout, lifetime, interval)

    def new(
        self, now: float, *, read_only: bool = False, meta: Mapping[str, str] | None = None
    ) -> Session:
        """A fresh, empty session that will be stored only if something is written."""
        # policy.deadline(now, now) is now + idle_timeout: the idle timeout never exceeds the
        # lifetime (Policy refuses it).
        state = SessionState(
            None, None, {}, None, now, now, now + self._terms[1][0], None, now,
            dict(meta) if meta else {}, self.policy,
        )  # fmt: skip
        return Session(state, {}, self.limits, read_only, self._codec)

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
        by this policy, whose data cannot be decoded, or that does not fit the shape (and its
        ``migrate`` could not make it fit) gives a fresh session too, and the record is deleted
        at commit. A migrated record is served as migrated and written back at commit.
        """
        if session_id is None or record is None:
            return self.new(now, read_only=read_only, meta=meta)
        stored = record.meta
        timed = bool(stored) and (REMEMBER in stored or IDLE in stored or CAPS in stored)
        if timed:  # a session with timing of its own (remember-me, set_timeouts)
            remember = remembered(stored)
            idle_cap, lifetime_cap = caps(stored)
            idle, lifetime = self.policy.terms(
                record.principal is not None, remember, idle_cap, lifetime_cap
            )
        else:
            idle, lifetime = self._terms[record.principal is None]
        alive = now < min(record.expires_at, record.created_at + lifetime, record.renewed_at + idle)
        try:
            decode, limits = self.codec.decode, self.limits
            data: dict[str, Any] = {k: decode(v, limits) for k, v in record.fields.items()}
        except CorruptSession:
            logger.warning(
                "session.corrupt: undecodable data in session %s", fingerprint_of_key(record.key)
            )
            alive = False
            data = {}
            corrupt = True
        else:
            corrupt = False
        migrated = False
        if alive and self.shape is not None:
            fitted = self._fitted(self.shape, record.key, data)
            if fitted is None:  # treated as a corrupt record: destroyed, reason "corrupt"
                alive = False
                corrupt = True
            else:
                migrated = fitted is not data
                data = fitted
        if not alive:
            session = self.new(now, read_only=read_only, meta=meta)
            s = session._state
            s.doomed_key = record.key
            s.doomed_why = (
                (DESTROYED, CORRUPT, None, {})
                if corrupt
                else (EXPIRED, SEEN_ON_LOAD, record.principal, record.meta)
            )
            return session
        # The request's metadata (tracked, with the record's binding marks carried), else the
        # record's; never the timing entries, which the state holds apart (see below).
        if meta is None:
            meta = user_meta(stored) if timed else dict(stored)
        else:
            meta = carried(stored, meta)
        state = SessionState(
            record.key, session_id, dict(record.fields), record.principal, record.created_at,
            record.renewed_at, record.expires_at, record.authenticated_at, now, meta,
            self.policy,
        )  # fmt: skip
        if timed:
            state.remember, state.idle_cap, state.lifetime_cap = remember, idle_cap, lifetime_cap
        if self._rotate_every != math.inf:
            state.rotated_at = rotated_at(record)
        session = Session(state, data, self.limits, read_only, self._codec)
        if migrated:
            # Written back at commit, even by a request that only reads: every key is compared.
            state.touched.update(data)
            state.accessed = True
        return session

    def _fitted(self, shape: Shape, key: str, data: dict[str, Any]) -> dict[str, Any] | None:
        """``data`` if it fits the shape, else what the shape's ``migrate`` made of it (a new
        dict), else ``None`` (logged: the session's fingerprint, the shape, which key failed
        and how, never a value)."""
        reason = shape.mismatch(data)
        if reason is None:
            return data
        migrate = shape.migrate
        if migrate is not None:
            try:
                migrated = migrate(dict(data))
                again = _unfit(shape, self.codec, migrated, self.limits)
            except Exception as exc:  # the user's function: whatever it raises, no 500
                again = f"migration raised {type(exc).__name__}"
            if again is None:
                logger.info(
                    "session.migrated: session %s migrated to %s (%s)",
                    fingerprint_of_key(key),
                    shape.name,
                    reason,
                )
                return migrated
            reason = f"{reason}; {again}"
        logger.warning(
            "session.shape_mismatch: session %s does not fit %s (%s); a fresh session is used",
            fingerprint_of_key(key),
            shape.name,
            reason,
        )
        return None

    def missed(self, session: Session, key: str) -> None:
        """``session`` stands in for the ID behind ``key``, which the store did not know."""
        session._state.missed_key = key

    def missed_key_of(self, session: Session) -> str | None:
        """The key of the unknown ID ``session`` stands in for (see :meth:`missed`)."""
        return session._state.missed_key

    def follow_marker(self, session: Session) -> None:
        """``session`` was loaded through the successor marker of its previous ID (periodic
        rotation's grace window): it keeps that ID, is never sent the new one, and never
        rotates again from it."""
        session._state.via_marker = True

    def successor(self, marker: Record | None) -> tuple[str, str] | None:
        """What a successor marker says: ``(kind of rotation, successor's store key)``, or
        ``None`` when there is no marker (the session was ended, not rotated); see
        :mod:`~.markers`."""
        return successor_of(marker)

    def forwards(self, marker: Record, now: float) -> bool:
        """True if the previous ID behind ``marker`` still serves its session at ``now``: only
        after a periodic rotation, and only within the grace window."""
        found = self.successor(marker)
        return (
            found is not None
            and found[0] == ROTATED_PERIODICALLY
            and now - marker.created_at < self.policy.rotation_grace
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
        s = session._state
        constant = self.settled(session, now)
        if constant is not None:
            return constant
        ops: list[Op] = [] if s.doomed_key is None else [Delete(s.doomed_key, *s.doomed_why)]
        encoded = self._encoded(session, s) if s.accessed else s.loaded
        if not (encoded or s.principal is not None or s.persist):
            return self._close_empty(s, ops)
        if self.shape is not None and (missing := self.shape.missing(encoded)) is not None:
            raise ShapeError(
                f"session key {missing!r} is required by {self.shape.name} and was not set"
            )
        if s.key is None:
            return self._close_new(s, ops, encoded, now)
        return self._close_stored(s, s.key, ops, encoded, now)

    def settled(self, session: Session, now: float) -> Commit | None:
        """The commit of ``session`` when it needs no store operation and none is planned:
        untouched, a new session used but left empty, or a read (nothing set, removed or asked
        of it, no renewal due). ``None``: plan it with :meth:`close`.

        The common requests end here, before anything is encoded or compared, so a manager can
        finish them without a store call or a coroutine.
        """
        s = session._state
        if s.doomed_key is not None:
            return None
        if not s.accessed:
            return NOTHING
        data = session._data
        if s.key is None:
            if not data and s.principal is None and not s.persist:
                return self._vary_only  # a new session, used but left empty
            return None
        if (
            not s.touched
            and data  # an empty stored session is deleted (by close)
            and len(data) == len(s.loaded)
            and not (s.rotate or s.logged_in or s.persist or s.retime)
            and s.expires_cap is None
            and now - s.renewed_at < self.policy._interval
            and (now - s.rotated_at < self._rotate_every or s.via_marker)
        ):
            return self._vary_only  # a read: nothing set or removed, no renewal or rotation due
        return None

    def settle(self, session: Session, now: float, *, final: bool) -> Outcome | None:
        """Finish the commit of ``session`` when it needs no store operation (see
        :meth:`settled`): the session follows it as after :meth:`committed`, whose outcome
        is returned. ``None``: nothing was done; plan with :meth:`close` and run the plan.
        """
        s = session._state
        if s.doomed_key is not None or s.rotate or s.logged_in:
            plan = self.settled(session, now)
            return (
                None
                if plan is None
                else self.committed(session, plan, now, gone=False, final=final)
            )
        # The commonest requests, decided here without settled() where the answer is plain: a
        # session never used, a new one used but left empty (an anonymous request that only
        # looked); then a read. None of them moves the session.
        if not s.accessed:
            plan = NOTHING
        elif s.key is None and not session._data and s.principal is None and not s.persist:
            plan = self._vary_only
        else:
            found = self.settled(session, now)
            if found is None:
                return None
            plan = found
        return self._finish_unmoved(s, plan, final)

    def _finish_unmoved(self, s: SessionState, plan: Commit, final: bool) -> Outcome:
        """Finish a commit with no operation and nothing to move (see :meth:`committed`)."""
        s.committed = s.committed or final
        s.accessed = False
        s.persist = False
        if s.session_id is None and not s.via_marker and not plan.headers:
            return self._used if plan.vary else _UNUSED  # as _outcome: constants
        return self._told(plan, s)

    def _outcome(self, plan: Commit, session_id: str | None) -> Outcome:
        """What a commit that ran ``plan`` (the session not found gone) tells the adapter."""
        if session_id is None and not plan.headers:
            return self._used if plan.vary else _UNUSED  # nothing stored or sent: constants
        return Outcome(plan.headers, plan.vary, session_id, False)

    def _encoded(self, session: Session, s: SessionState) -> dict[str, bytes]:
        """Every value's bytes: the loaded bytes where the value cannot have changed (never set,
        and immutable or never handed out), a fresh encoding elsewhere; size-checked."""
        loaded, touched = s.loaded, s.touched
        data = session._data
        if not touched and len(data) == len(loaded):
            encoded = loaded  # nothing set, nothing mutable handed out, nothing removed
        else:
            encode, limits = self._codec.encode, self.limits
            encoded = {
                key: stored
                if key not in touched and (stored := loaded.get(key)) is not None
                else encode(key, value, limits)
                for key, value in data.items()
            }
        size = 0
        for value in encoded.values():
            size += len(value)
        if size > self.limits.max_session_bytes:
            raise SessionTooLarge(
                f"session data is {size} bytes, over the limit of "
                f"{self.limits.max_session_bytes} bytes"
            )
        return encoded

    def _close_empty(self, s: SessionState, ops: list[Op]) -> Commit:
        """Nothing to keep: delete the stored record, if any, and tell the client to forget an
        ID only if one was killed (a new session that stayed empty sends nothing)."""
        if s.key is None and s.doomed_key is None:
            return self._vary_only
        # A logout (or a stored session emptied) sends Clear-Site-Data too, when configured; a
        # dead or corrupt record found on load only has the client forget its ID.
        cleared = self._logout if s.key is not None or _logged_out(s) else self._cleared
        if s.key is not None:
            ops.append(Delete(s.key, DESTROYED, LOGOUT, s.principal, s.meta))
        ends = s.doomed_key if s.key is None else s.key
        return Commit(tuple(ops), self._cache(cleared), vary=self._vary, ends=ends)

    def _close_new(
        self, s: SessionState, ops: list[Op], encoded: dict[str, bytes], now: float
    ) -> Commit:
        """A new session with content: store it under a fresh ID, and hand the client the ID."""
        new_id = self.id_factory()
        timing = self._timing(s)
        record = s.record(
            store_key(new_id),
            encoded,
            renewed_at=now,
            expires_at=self.deadline_of(s, now),
            meta={**s.meta, **timing} if timing else None,
        )
        cap = self._cap(None) if record.principal is not None else None
        ops.append(Create(record, cap))
        issue = self.issue(s, new_id, now)
        if _logged_out(s):  # a logout, then a fresh session (a "signed out" message)
            issue = (*issue, *self.logout_headers)
        return Commit(
            tuple(ops),
            self._cache(issue),
            vary=self._vary,
            issued_id=new_id,
            fields=encoded,
            writes=True,
        )

    def _close_stored(
        self, s: SessionState, key: str, ops: list[Op], encoded: dict[str, bytes], now: float
    ) -> Commit:
        """A stored session with content: rotate if asked, then apply what changed (or the
        renewal or expiry cap that is due); nothing at all when nothing is."""
        loaded = s.loaded
        changed: dict[str, bytes] = {}
        removed: frozenset[str] = _NONE_REMOVED
        if encoded is not loaded:
            changed = {k: v for k, v in encoded.items() if loaded.get(k) != v}
            gone = loaded.keys() - encoded.keys()
            if gone:
                removed = frozenset(gone)
        # Renewal is asked only once the interval has passed: is the deadline a write now
        # gives (by the session's own timeouts) later than the one it has?
        due = now - s.renewed_at >= self.policy._interval and self._renewal_due(s, now)
        over_cap = s.expires_cap is not None and s.expires_at > s.expires_cap
        periodic = now - s.rotated_at >= self._rotate_every and not s.via_marker
        writes = bool(changed or removed)
        retime = s.retime
        if not (s.rotate or s.logged_in or ops or periodic or retime):
            if not (writes or due or over_cap):
                return self._vary_only  # a read: renewal, if due, rode on the load
            # The usual write: one change set, nothing to send but Vary.
            changes = Changes(now, self.deadline_of(s, now), changed, removed)
            return Commit((Apply(key, changes),), (), self._vary, None, encoded, writes)
        login = None
        if s.logged_in and s.principal is not None:
            login = Login(s.principal, s.authenticated_at or now)
        headers: tuple[tuple[str, str], ...] = ()
        issued: str | None = None
        meta = dict(s.meta) if login or retime else None
        renamed_from: str | None = None
        if s.rotate or periodic:
            issued = self.id_factory()
            kind = (
                ROTATED_BY_LOGIN
                if login
                else ROTATED_BY_REGENERATE
                if s.rotate
                else ROTATED_PERIODICALLY
            )
            new_key = store_key(issued)
            ops.append(Rename(key, new_key, now, kind, s.principal, s.meta))
            ops.append(self._marker(key, new_key, kind, now))
            renamed_from, key = key, new_key
            headers = self.issue(s, issued, now)
            if self._rotate_every != math.inf:  # the new ID's age, for the next rotation
                meta = {**s.meta, ROTATED_AT: repr(now)}
        elif retime and not login:
            if self._rotate_every != math.inf:  # keep the ID's age (tracked meta lacks it)
                meta = {**s.meta, ROTATED_AT: repr(s.rotated_at)}
            if s.session_id is not None and not s.via_marker:
                # The cookie's persistence and Max-Age follow the new timing.
                headers = self.issue(s, s.session_id, now)
        if meta is not None:  # a write of the metadata carries the session's own timing
            meta.update(self._timing(s))
        if changed or removed or login or issued or due or over_cap or retime:
            changes = Changes(
                now=now,
                expires_at=self.deadline_of(s, now),
                set=changed,
                remove=removed,
                login=login,
                meta=meta,
            )
            ops.append(Apply(key, changes, None if login is None else self._cap(renamed_from)))
        return Commit(
            tuple(ops),
            self._cache(headers),
            vary=self._vary,
            issued_id=issued,
            fields=encoded,
            writes=writes or login is not None or retime,
        )

    def _cap(self, renamed_from: str | None) -> Cap | None:
        """The cap a login is stored under (SEC-63), ``None`` when the policy sets none."""
        limit = self.max_sessions_per_user
        if limit is None:
            return None
        return Cap(limit, self.on_cap == REFUSE, renamed_from)

    def _marker(self, old: str, new: str, kind: str, now: float) -> Mark:
        """The successor marker a rotation from ``old`` to ``new`` leaves (see :class:`Mark`):
        no data, no principal (never indexed), the successor's key and not its ID."""
        until = now + max(self.policy.rotation_grace, MARKER_SECONDS)
        meta = marker_meta(kind, new)
        return Mark(Record(marker_key(old), {}, None, now, now, until, None, meta))

    def rejoin(self, session: Session, successor: str) -> bool:
        """Make ``session``, whose periodic rotation found its ID already rotated by another
        request (inside the grace window), commit to the ``successor`` key instead, keeping the
        previous ID as :meth:`follow_marker` does. ``False`` (nothing changed) when the
        session was rotating for a login or ``regenerate``, which must never land elsewhere.
        """
        s = session._state
        if s.rotate or s.logged_in or s.key is None:
            return False
        s.key = successor
        s.via_marker = True
        return True

    def restart_login(self, session: Session, plan: Commit) -> bool:
        """Make a login whose session ended meanwhile (``plan``'s rename found it gone) a fresh
        authenticated session: the principal and what this request set, none of the ended
        session's data. Plan it again with :meth:`close`; it is created under a new ID.

        Returns:
            ``False`` (nothing changed) when ``session`` is not logging in: a ``regenerate``
            whose session ended is a loss like any other, never a new session.
        """
        s = session._state
        if not (s.logged_in and s.principal is not None):
            return False
        data = session._data
        mine: set[str] = set()
        for op in plan.ops:
            if isinstance(op, Apply):
                mine.update(op.changes.set)
        kept = {key: data[key] for key in mine if key in data}
        principal, authenticated_at = s.principal, s.authenticated_at
        s.forget()
        data.clear()
        data.update(kept)
        s.principal, s.authenticated_at = principal, authenticated_at
        s.doomed_key = None
        s.rotate = False
        s.logged_in = True
        s.accessed = True
        return True

    def committed(
        self, session: Session, commit: Commit, now: float, *, gone: bool, final: bool
    ) -> Outcome:
        """Bring ``session`` in line with what the store now holds after ``commit`` ran.

        Args:
            now: the time the commit was planned at.
            gone: an ``Apply`` or ``Rename`` reported the session gone.
            final: the response headers are sent; changes that need a new ID are refused.

        Returns:
            What the adapter tells the client: the commit's headers (the clearing ones when the
            session was gone) and the ID now backing the session, ``None`` if nothing does.
        """
        s = session._state
        if not commit.ops and s.doomed_key is None and not (s.rotate or s.logged_in):
            return self._finish_unmoved(s, commit, final)  # a read, or an empty new one
        s.committed = s.committed or final
        s.accessed = False
        s.doomed_key = None
        s.rotate = False
        s.logged_in = False
        s.persist = False
        s.retime = False
        if gone:
            s.forget()
            session._data.clear()
            return Outcome((), commit.vary, None, True)
        if commit.issued_id is not None:
            s.session_id = commit.issued_id
            s.key = store_key(commit.issued_id)
            s.via_marker = False  # a new ID of its own (a login through the previous one)
            s.missed_key = None
        elif s.key is not None and _deletes(commit.ops, s.key):
            s.key = None  # emptied: its record was deleted, and nothing backs it any more
            s.session_id = None
        # ``touched`` stays: a value set while the store call ran, or a mutable value handed
        # out before it, may still differ from what was stored, and a later commit must look.
        if s.key is not None and commit.ops:
            # The plan's own dict, made for it (or the loaded one, unchanged): no copy needed.
            s.loaded = commit.fields if commit.fields is not None else {}
            s.renewed_at = now
            s.expires_at = self.deadline_of(s, now)
        elif s.key is None:
            s.loaded = {}
        return self._told(commit, s)

    def _told(self, commit: Commit, s: SessionState) -> Outcome:
        """The outcome of a commit that ran ``commit`` (the session not found gone); a session
        served through its previous ID says so, so that no adapter hands that ID back."""
        outcome = self._outcome(commit, s.session_id)
        return outcome._replace(previous=True) if s.via_marker else outcome

    def deadline_of(self, state: SessionState, now: float) -> float:
        """The deadline a write at ``now`` gives a session: its own timeouts' (see
        :meth:`Policy.terms`), shortened (never extended) by :meth:`~Session.cap_expiry`."""
        idle, lifetime = self._own_terms(state)
        deadline = min(state.created_at + lifetime, now + idle)
        cap = state.expires_cap
        return deadline if cap is None else min(deadline, cap)

    def discard(self, session: Session, key: str) -> None:
        """Delete the stored record ``key`` at ``session``'s next commit (a corrupt record the
        load found; the session itself stays fresh and unsaved)."""
        s = session._state
        s.doomed_key = key
        s.doomed_why = (DESTROYED, CORRUPT, None, {})

    @property
    def logout_headers(self) -> tuple[tuple[str, str], ...]:
        """The headers a logout adds besides clearing the ID (``Clear-Site-Data``, when
        configured): for adapters whose framework clears the cookie itself (Django)."""
        return self._logout[len(self._cleared) :]

    def key_of(self, session: Session) -> str | None:
        """The store key (ID digest) backing ``session``, or ``None`` if nothing is stored."""
        return session._state.key

    def _renewal_due(self, s: SessionState, now: float) -> bool:
        idle, lifetime = self._own_terms(s)
        end = s.created_at + lifetime
        return min(end, now + idle) > min(end, s.renewed_at + idle)

    def _own_terms(self, s: SessionState) -> tuple[float, float]:
        """The session's own ``(idle timeout, lifetime)``; the precomputed ones when it has
        no timing of its own (the usual session)."""
        if s.remember is None and s.idle_cap is None and s.lifetime_cap is None:
            return self._terms[s.principal is None]
        return s.terms()

    def _timing(self, s: SessionState) -> dict[str, str]:
        """The reserved metadata entries that store the session's own timing (none for a
        session with the application's default timeouts and no remember-me)."""
        if (s.remember is None and s.idle_cap is None and s.lifetime_cap is None) and (
            s.principal is not None or self._terms[1] == self._terms[0]
        ):
            return {}
        default = (self.policy.idle_timeout, self.policy.lifetime)
        return entries(s.remember, s.idle_cap, s.lifetime_cap, self._own_terms(s), default)

    def persistent(self, session: Session) -> bool:
        """Whether ``session``'s cookie is persistent: its :meth:`~Session.remember` when it
        said so, else the cookie settings' ``persistent``."""
        remember = session._state.remember
        return self._persistent if remember is None else remember

    def issue(self, s: SessionState, session_id: str, now: float) -> tuple[tuple[str, str], ...]:
        """The headers that hand the client ``session_id``: a persistent cookie lives to the
        session's own absolute deadline (the server enforces idleness), a browser-session
        cookie has no ``Max-Age``."""
        max_age = s.created_at + self._own_terms(s)[1] - now
        exact = self._issue_exact
        if exact is None:
            return tuple(self.transport.issue(session_id, max_age, now))
        remember = s.remember
        persistent = self._persistent if remember is None else remember
        return tuple(exact(session_id, max_age if persistent else None, now))

    def _cache(self, headers: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
        if headers and self.no_store:
            return (*headers, ("cache-control", self.no_store))
        return headers


def _deletes(ops: tuple[Op, ...], key: str) -> bool:
    """True if ``ops`` delete ``key`` (a loop: building a ``Delete`` to look for with ``in``
    cost more than the rest of a write's bookkeeping)."""
    for op in ops:  # noqa: SIM110 (a generator for any() costs more than this loop)
        if type(op) is Delete and op.key == key:
            return True
    return False


def _logged_out(s: SessionState) -> bool:
    """The record the commit deletes is there because the application ended the session (a
    logout), not because the load found it dead or corrupt: the logout's headers go out."""
    return s.doomed_key is not None and s.doomed_why[1] == LOGOUT


def _unfit(shape: Shape, codec: ValueCodec, data: object, limits: CodecLimits) -> str | None:
    """Why what a migration returned cannot be served (``None``: it can): not a dict of str
    keys, not fitting the shape, or a value the codec cannot store."""
    if not isinstance(data, dict) or not all(isinstance(key, str) for key in data):
        return "migration returned no dict of str keys"
    reason = shape.mismatch(data)
    if reason is not None:
        return f"migrated data: {reason}"
    for key, value in data.items():
        try:
            codec.check(key, value, limits)
        except UnencodableValue:
            return f"migrated key {key!r} cannot be stored"
    return None


def rotated_at(record: Record) -> float:
    """When ``record``'s current ID was issued: its last rotation, else its creation or login."""
    try:
        at = float(record.meta.get(ROTATED_AT, "0"))
    except ValueError:
        at = 0.0
    return max(at, record.created_at)


__all__ = [
    "EVICT_OLDEST",
    "MARKER_SECONDS",
    "MAX_CANDIDATES",
    "NOTHING",
    "REFUSE",
    "ROTATED_AT",
    "ROTATED_BY_LOGIN",
    "ROTATED_BY_REGENERATE",
    "ROTATED_PERIODICALLY",
    "Apply",
    "Commit",
    "Create",
    "Delete",
    "Engine",
    "Mark",
    "Op",
    "Rename",
    "rotated_at",
]
