"""The session object handed to application code: a mapping of values its codec can store.

Change detection compares each key's encoded bytes with what was loaded, so in-place edits
(``session["cart"].append(x)``) are saved, and a request that only reads writes nothing. Every
read or write marks the session *accessed*, which is what decides ``Vary: Cookie`` (Flask's
CVE-2023-30861 and CVE-2026-27205 were reads that forgot to).

The session never holds store handles or does I/O. Its lifecycle requests (``regenerate``,
``login``, ``invalidate``) are recorded on its :class:`~sojourn._core.state.SessionState` and
turned into store operations by :mod:`sojourn._core.plan`.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any

from .binding import visible_meta
from .codec import DEFAULT_LIMITS, JSON, CodecLimits, ValueCodec
from .errors import ReadOnlySession, ResponseStarted, TimeoutTooLong, UnencodableValue
from .ids import fingerprint_of_key
from .state import SessionState

Duration = Any
"""Seconds, as a number or anything with ``total_seconds()`` (a ``timedelta``): the core does
not import :mod:`datetime`, a clock."""

MAX_KEY_LENGTH = 200

_IMMUTABLE = frozenset({str, int, float, bool, type(None)})
"""Value types that cannot change in place: reading one never makes its key dirty."""

_MISSING: Any = object()


class Session(MutableMapping[str, Any]):
    """One user's session for the duration of a request.

    Use it like a dict of JSON values. Lifecycle methods: :meth:`login` (after
    authentication: new ID, principal recorded), :meth:`regenerate` (new ID, same data) and
    :meth:`invalidate` (logout: the record is deleted and the cookie cleared).

    The engine builds sessions (:meth:`sojourn.Engine.new`, :meth:`sojourn.Engine.open`); the
    state it plans from is one :class:`~sojourn._core.state.SessionState`, which nothing
    outside the core reads.
    """

    __slots__ = ("_codec", "_data", "_limits", "_read_only", "_state")

    def __init__(
        self,
        state: SessionState,
        data: dict[str, Any],
        limits: CodecLimits = DEFAULT_LIMITS,
        read_only: bool = False,
        codec: ValueCodec = JSON,
    ) -> None:
        self._state = state
        self._data = data
        self._limits = limits
        self._codec = codec
        self._read_only = read_only

    # -- the mapping ----------------------------------------------------------------------
    # A value handed out that is not an immutable scalar may be changed in place
    # (``session["cart"].append(x)``): its key is marked touched, so the commit encodes it
    # and compares. Keys only set are touched too; nothing else is encoded at commit.

    def __getitem__(self, key: str) -> Any:
        state = self._state
        state.accessed = True
        value = self._data[key]
        if type(value) not in _IMMUTABLE:
            state.touched.add(key)
        return value

    def get(self, key: str, default: Any = None) -> Any:
        """``session[key]``, or ``default`` when the key is absent."""
        state = self._state
        state.accessed = True
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            return default
        if type(value) not in _IMMUTABLE:
            state.touched.add(key)
        return value

    def __setitem__(self, key: str, value: Any) -> None:
        self._writable()
        if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH:
            raise UnencodableValue(
                f"session keys must be non-empty str of at most {MAX_KEY_LENGTH} characters"
            )
        self._codec.check(key, value, self._limits)
        state = self._state
        state.accessed = True
        state.touched.add(key)
        self._data[key] = value

    def __delitem__(self, key: str) -> None:
        self._writable()
        self._state.accessed = True
        del self._data[key]

    def __iter__(self) -> Iterator[str]:
        self._state.accessed = True
        return iter(list(self._data))

    def __len__(self) -> int:
        self._state.accessed = True
        return len(self._data)

    def __contains__(self, key: object) -> bool:
        self._state.accessed = True
        return key in self._data

    def clear(self) -> None:
        """Remove every key (the session itself lives on; see :meth:`invalidate`)."""
        self._writable()
        self._state.accessed = True
        self._data.clear()

    def __repr__(self) -> str:
        # Never the ID: only the fingerprint and the keys.
        return f"<Session {self.fingerprint or 'new'} keys={sorted(self._data)!r}>"

    # -- read-only facts --------------------------------------------------------------------

    @property
    def fingerprint(self) -> str | None:
        """A short, non-secret label for pages and logs; ``None`` until the session is stored."""
        key = self._state.key
        return fingerprint_of_key(key) if key else None

    @property
    def principal(self) -> str | None:
        """The logged-in user, as given to :meth:`login`."""
        state = self._state
        state.accessed = True
        return state.principal

    @property
    def authenticated_at(self) -> float | None:
        """When :meth:`login` was last called for this session (epoch seconds)."""
        state = self._state
        state.accessed = True
        return state.authenticated_at

    @property
    def created_at(self) -> float:
        """When the session was created or last logged in (epoch seconds)."""
        return self._state.created_at

    @property
    def expires_at(self) -> float:
        """When the session ends if left idle (epoch seconds, as of this request)."""
        return self._state.expires_at

    @property
    def is_new(self) -> bool:
        """True if no stored record backs this session (yet)."""
        return self._state.key is None

    @property
    def accessed(self) -> bool:
        """True once the application read or wrote anything."""
        return self._state.accessed

    @property
    def read_only(self) -> bool:
        """True where changes are refused (WebSocket connections)."""
        return self._read_only

    @property
    def meta(self) -> Mapping[str, str]:
        """Tracked metadata (user agent, IP) when the application enabled tracking (Sojourn's
        reserved entries, such as a binding's marks, left out)."""
        return visible_meta(self._state.meta)

    @property
    def remembered(self) -> bool | None:
        """What :meth:`remember` last said for this session (``None``: never asked)."""
        return self._state.remember

    @property
    def timeouts(self) -> tuple[float, float]:
        """The session's own ``(idle timeout, lifetime)`` in seconds, as of now."""
        return self._state.terms()

    @property
    def lifetime_ends_at(self) -> float:
        """When the session ends whatever its activity: its absolute deadline (epoch s)."""
        state = self._state
        return state.created_at + state.terms()[1]

    # -- lifecycle --------------------------------------------------------------------------

    def remember(self, remember: bool | None = True) -> None:
        """Remember-me for this session alone, stored with it.

        ``True``: the cookie becomes persistent up to the session's own absolute deadline, and
        the session gets the policy's remembered timeouts (``remember_idle_timeout``,
        ``remember_lifetime``). ``False``: a browser-session cookie and the ordinary timeouts,
        whatever the cookie settings say. ``None``: back to the cookie settings.

        It survives rotation (a login, :meth:`regenerate`) and ends with :meth:`invalidate`.
        A new session is still created only if something is written.
        """
        if remember is not None and not isinstance(remember, bool):
            raise TypeError("remember() takes True, False or None")
        self._timing_change()
        self._state.request_remember(remember)

    def set_timeouts(
        self,
        idle: Duration = None,
        lifetime: Duration = None,
    ) -> None:
        """Shorten this session's own idle timeout and/or absolute lifetime, stored with it.

        ``None`` leaves that timeout at the policy's; each call replaces the previous one's
        caps. The absolute lifetime counts from the session's creation or last login.

        Raises:
            TimeoutTooLong: a value exceeds what the policy gives this session (its class's
                timeouts: remembered, signed in or anonymous); timeouts never extend.
            ValueError: a value is not a positive number of seconds.
        """
        idle_s = _positive_seconds(idle, "idle")
        lifetime_s = _positive_seconds(lifetime, "lifetime")
        state = self._state
        most_idle, most_lifetime = state.policy.terms(state.principal is not None, state.remember)
        if (idle_s is not None and idle_s > most_idle) or (
            lifetime_s is not None and lifetime_s > most_lifetime
        ):
            raise TimeoutTooLong(
                f"set_timeouts may only shorten this session's timeouts (idle {most_idle:g} s, "
                f"lifetime {most_lifetime:g} s), never extend them"
            )
        self._timing_change()
        state.request_timeouts(idle_s, lifetime_s)

    def regenerate(self) -> None:
        """Give the session a new ID at commit, keeping its data; the old ID stops working.

        Call it whenever the user's privileges change; :meth:`login` calls it for you.
        """
        self._lifecycle()
        self._state.request_rotation()

    def login(self, principal: str) -> None:
        """Record that ``principal`` authenticated: new ID, principal and time recorded.

        Data is kept. The absolute lifetime restarts from now.
        """
        if not isinstance(principal, str) or not principal or len(principal) > MAX_KEY_LENGTH:
            raise UnencodableValue("principal must be a non-empty str of at most 200 characters")
        self._lifecycle()
        self._state.request_login(principal)

    def persist(self) -> None:
        """Store the session at the next commit even if it holds no data and no principal.

        Sessions are created lazily and an emptied one is deleted; a framework whose API
        stores empty sessions on request (Django's ``save()`` and ``create()``) calls this
        before that commit. It lasts for one commit.
        """
        self._writable()
        state = self._state
        state.accessed = True
        state.persist = True

    def cap_expiry(self, at: float | None) -> None:
        """Never let the stored record outlive ``at`` (epoch seconds); ``None`` lifts the cap.

        The cap only shortens: each commit stores ``min(policy deadline, at)``, and rewrites a
        stored deadline later than ``at`` (as a renewal on load may have made it). It is not
        stored: set it on every request that needs it (Django's ``set_expiry``).
        """
        self._state.expires_cap = at

    def follow_principal(self, principal: str | None) -> None:
        """Follow who the framework says is logged in (Flask-Login's ``_user_id``, Django's
        ``_auth_user_id``), so the principal index and rotation stay right without app code.

        A different user is a :meth:`login` (new ID, principal recorded). ``None`` where a
        principal was recorded is a logout that keeps the data: the logged-in ID is ended and
        what remains (a flashed "signed out" message, a CSRF token) moves to a new ID with no
        principal. The same user changes nothing.
        """
        current = self._state.principal
        if principal is not None and principal != current:
            self.login(principal)
        elif principal is None and current is not None:
            kept = dict(self._data)
            self.invalidate()
            self._data.update(kept)  # new keys of a new session: all encoded at commit

    def invalidate(self) -> None:
        """End the session: its record is deleted and the client told to forget the ID.

        The object stays usable as a fresh, empty session: anything written afterwards (a
        "you have been logged out" message) goes into a new session with a new ID.
        """
        self._lifecycle()
        self._state.end()
        self._data.clear()

    # -- guards -----------------------------------------------------------------------------

    def _timing_change(self) -> None:
        self._writable()
        state = self._state
        state.accessed = True
        if state.committed and state.key is not None and not state.sealed:
            # A stored session's timing is stored by a later commit, but the cookie (its
            # persistence and Max-Age) went out already.
            raise ResponseStarted(
                "a session's remember-me and timeouts cannot change after the response "
                "headers were sent"
            )

    def _writable(self) -> None:
        if self._read_only:
            raise ReadOnlySession("this session is read-only here (WebSocket connections)")
        state = self._state
        if state.committed and (state.key is None or state.sealed):
            raise ResponseStarted(
                "a new session, or any change to a client-side session, cannot be saved after "
                "the response headers were sent"
            )

    def _lifecycle(self) -> None:
        self._state.accessed = True
        if self._read_only:
            raise ReadOnlySession("this session is read-only here (WebSocket connections)")
        if self._state.committed:
            raise ResponseStarted(
                "the session ID cannot change after the response headers were sent"
            )


def _positive_seconds(value: Duration, what: str) -> float | None:
    if value is None:
        return None
    if callable(getattr(value, "total_seconds", None)):
        value = value.total_seconds()
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{what} must be seconds (a number or a timedelta)")
    seconds = float(value)
    if not (seconds > 0 and math.isfinite(seconds)):
        raise ValueError(f"{what} must be a positive number of seconds")
    return seconds


class SessionInfo:
    """One session as listed on a "your devices" page: metadata only, never the ID or data.

    Attributes:
        fingerprint: the session's label; pass it to ``Manager.revoke``.
        principal: the user it belongs to.
        created_at: when it was created or last logged in.
        last_seen_at: the last renewal (accurate to the renewal interval).
        expires_at: when it ends if left idle.
        authenticated_at: when its user logged in.
        meta: tracked user agent / IP, if tracking is on.
        current: True for the session of the request that asked.
    """

    __slots__ = (
        "authenticated_at",
        "created_at",
        "current",
        "expires_at",
        "fingerprint",
        "last_seen_at",
        "meta",
        "principal",
    )

    def __init__(
        self,
        *,
        fingerprint: str,
        principal: str | None,
        created_at: float,
        last_seen_at: float,
        expires_at: float,
        authenticated_at: float | None,
        meta: Mapping[str, str],
        current: bool,
    ) -> None:
        self.fingerprint = fingerprint
        self.principal = principal
        self.created_at = created_at
        self.last_seen_at = last_seen_at
        self.expires_at = expires_at
        self.authenticated_at = authenticated_at
        self.meta = visible_meta(meta)  # never a binding's marks
        self.current = current

    def __repr__(self) -> str:
        return f"<SessionInfo {self.fingerprint} principal={self.principal!r}>"


__all__ = [
    "MAX_KEY_LENGTH",
    "Session",
    "SessionInfo",
]
