"""The engine's state of one session: what backs it, what was loaded, and what was asked of it.

A :class:`~sojourn.Session` is the user's mapping; everything the engine needs to plan its
commit lives here, in one object that only the engine (:mod:`sojourn._core.plan` and
:mod:`sojourn._core.client_side`) reads and moves from state to state. The session's own
methods only *record* requests on it (:meth:`SessionState.request_rotation`,
:meth:`SessionState.end`, …); what they mean for the store is decided at commit.

Turning the state into a stored :class:`~sojourn._core.records.Record` happens in one place,
:meth:`SessionState.record`, for server stores and sealed cookies alike.
"""

from __future__ import annotations

from collections.abc import Mapping

from .events import DESTROYED, LOGOUT, EventKind
from .policy import Policy
from .records import Record

_DEFAULT_POLICY = Policy()

Doomed = tuple[EventKind, str, str | None, Mapping[str, str]]
"""What deleting a session's doomed record means: the lifecycle event's kind and reason, and
the record's principal and metadata as they were."""
LOGGED_OUT: Doomed = (DESTROYED, LOGOUT, None, {})


class SessionState:
    """Where a session stands with its store, for the engine alone.

    Attributes:
        key: the store key (ID digest) backing the session; ``None`` while nothing is stored.
        session_id: the ID behind ``key``, for adapters that write the cookie themselves.
        loaded: each stored value's bytes as of the last load or commit: the change-detection
            baseline.
        touched: keys whose value may differ from ``loaded``: set, or read and mutable (a list
            or dict handed out can be changed in place). Only these are encoded at commit.
        principal: the logged-in user, if any.
        created_at: creation or last login (epoch seconds): the absolute lifetime starts here.
        renewed_at: the last renewal or write.
        expires_at: the idle deadline as of this request.
        authenticated_at: the last login.
        now: when the request opened the session (a login records it).
        meta: tracked metadata (user agent, IP).
        accessed: the application read or wrote something (decides ``Vary``).
        rotate: a new ID is due at commit.
        logged_in: a login happened in this request (the store records principal and time).
        doomed_key: a loaded record to delete at commit (logout, corrupt, dead by policy).
        doomed_why: what deleting ``doomed_key`` means, for lifecycle events: ``(kind,
            reason, principal, meta)`` of the record as it was (set with ``doomed_key``).
        committed: the response headers went out; changes needing a new ID are refused.
        persist: store at the next commit even if empty (Django's ``save()``).
        expires_cap: the record never outlives this instant (Django's ``set_expiry``).
        sealed: a client-side session: every change needs a new cookie.
        reseal: client-side: seal again even if unchanged (renewal, retired key).
        sealed_meta: client-side: the metadata as unsealed.
        rotated_at: when the session's current ID was issued (periodic rotation's clock).
        missed_key: the store key of the ID the request presented and the store did not know
            (a fresh session stands in): before creating a session for it, the manager asks
            whether that ID was rotated meanwhile, so a straggler cannot replace the cookie of
            the rotation with one of its own.
        via_marker: loaded through the successor marker of an ID rotated periodically, in its
            grace window: the request holds the previous ID, which it keeps (it is never sent
            the new one) and which never rotates again.
        policy: the application's timeouts, of which the session's own are derived.
        remember: ``Session.remember``: ``True`` / ``False``, or ``None`` (the cookie
            settings decide); stored with the session (:mod:`~.timing`).
        idle_cap: ``Session.set_timeouts``'s idle timeout, if any (stored).
        lifetime_cap: ``Session.set_timeouts``'s lifetime, if any (stored).
        retime: the session's own timing changed in this request: the next commit stores it.
    """

    __slots__ = (
        "accessed",
        "authenticated_at",
        "committed",
        "created_at",
        "doomed_key",
        "doomed_why",
        "expires_at",
        "expires_cap",
        "idle_cap",
        "key",
        "lifetime_cap",
        "loaded",
        "logged_in",
        "meta",
        "missed_key",
        "now",
        "persist",
        "policy",
        "principal",
        "remember",
        "renewed_at",
        "reseal",
        "retime",
        "rotate",
        "rotated_at",
        "sealed",
        "sealed_meta",
        "session_id",
        "touched",
        "via_marker",
    )

    def __init__(
        self,
        key: str | None,
        session_id: str | None,
        loaded: dict[str, bytes],
        principal: str | None,
        created_at: float,
        renewed_at: float,
        expires_at: float,
        authenticated_at: float | None,
        now: float,
        meta: dict[str, str],
        policy: Policy = _DEFAULT_POLICY,
    ) -> None:
        self.key = key
        self.session_id = session_id
        self.loaded = loaded
        self.touched: set[str] = set()
        self.principal = principal
        self.created_at = created_at
        self.renewed_at = renewed_at
        self.expires_at = expires_at
        self.authenticated_at = authenticated_at
        self.now = now
        self.meta = meta
        self.accessed = False
        self.rotate = False
        self.logged_in = False
        self.doomed_key: str | None = None
        self.doomed_why: Doomed = LOGGED_OUT
        self.committed = False
        self.persist = False
        self.expires_cap: float | None = None
        self.sealed = False
        self.reseal = False
        self.sealed_meta: dict[str, str] | None = None
        self.rotated_at = created_at
        self.via_marker = False
        self.missed_key: str | None = None
        self.policy = policy
        self.remember: bool | None = None
        self.idle_cap: float | None = None
        self.lifetime_cap: float | None = None
        self.retime = False

    def terms(self) -> tuple[float, float]:
        """The session's own ``(idle timeout, lifetime)`` (see :meth:`Policy.terms`)."""
        signed_in = self.principal is not None
        return self.policy.terms(signed_in, self.remember, self.idle_cap, self.lifetime_cap)

    # -- requests recorded by the session's lifecycle methods ---------------------------------

    def request_rotation(self) -> None:
        """A new ID at the next commit, same data."""
        self.rotate = True

    def request_login(self, principal: str) -> None:
        """A login at the next commit: new ID, ``principal`` recorded, lifetime restarted."""
        self.rotate = True
        self.principal = principal
        self.authenticated_at = self.now
        self.created_at = self.now
        self.logged_in = True

    def request_remember(self, remember: bool | None) -> None:
        """Remember-me at the next commit (see ``Session.remember``)."""
        if remember != self.remember:
            self.remember = remember
            self.retime = True

    def request_timeouts(self, idle: float | None, lifetime: float | None) -> None:
        """Own timeout caps at the next commit (see ``Session.set_timeouts``)."""
        if (idle, lifetime) != (self.idle_cap, self.lifetime_cap):
            self.idle_cap, self.lifetime_cap = idle, lifetime
            self.retime = True

    def end(self) -> None:
        """Logout: the backing record is deleted at commit and the state starts afresh (its
        own timing too: the next session is an ordinary one)."""
        if self.key is not None:
            self.doomed_key = self.key
            self.doomed_why = (DESTROYED, LOGOUT, self.principal, self.meta)
        self.forget()
        self.remember = self.idle_cap = self.lifetime_cap = None
        self.retime = False
        self.created_at = self.now
        self.rotate = False
        self.logged_in = False

    def forget(self) -> None:
        """Nothing backs the session any more (ended, or found gone by the store)."""
        self.key = None
        self.session_id = None
        self.loaded = {}
        self.touched.clear()
        self.principal = None
        self.authenticated_at = None

    # -- the one way to a record ----------------------------------------------------------------

    def record(
        self,
        key: str,
        fields: Mapping[str, bytes],
        *,
        renewed_at: float,
        expires_at: float,
        meta: Mapping[str, str] | None = None,
    ) -> Record:
        """The record this state stores under ``key`` with ``fields`` (copied)."""
        return Record(
            key=key,
            fields=dict(fields),
            principal=self.principal,
            created_at=self.created_at,
            renewed_at=renewed_at,
            expires_at=expires_at,
            authenticated_at=self.authenticated_at,
            meta=dict(self.meta if meta is None else meta),
        )


__all__ = ["LOGGED_OUT", "Doomed", "SessionState"]
