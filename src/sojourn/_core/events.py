"""Lifecycle events: what the manager tells an application's hooks about sessions.

The manager fires them itself, in the process that made the transition, after the store has
confirmed it — never from Redis keyspace notifications, so they behave the same on every store,
Redis Cluster and managed Redis included. An event carries what an operator may log: the
session's fingerprint, its principal and its tracked metadata, never the session ID or the
session's data. Pure values; no I/O.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Literal

EventKind = Literal["created", "rotated", "destroyed", "expired"]

CREATED: EventKind = "created"
ROTATED: EventKind = "rotated"
DESTROYED: EventKind = "destroyed"
EXPIRED: EventKind = "expired"

# Why a session was destroyed.
LOGOUT = "logout"  # the application ended it (logout, flush, ``delete``)
REVOKED = "revoked"  # an administrator or the user ended one session ("your devices")
REVOKED_ALL = "revoked_all"  # "sign out everywhere"
EVICTED = "evicted"  # pushed out by a cap on sessions per user
CORRUPT = "corrupt"  # its stored data could not be decoded, and it was discarded
BINDING = "binding"  # presented from another user-agent family or IP prefix than it is bound to

# How an expired session was found.
SEEN_ON_LOAD = "load"  # a request presented it after its deadline
PURGED = "purge"  # a purge job removed it

# The rotation kinds are the successor marker's: login, regenerate, periodic.


@dataclass(frozen=True, slots=True)
class SessionEvent:
    """One transition of one session.

    Attributes:
        kind: ``created``, ``rotated``, ``destroyed`` or ``expired``.
        fingerprint: the session's label (:func:`sojourn.fingerprint`); for ``rotated``, the
            label of the ID it was rotated away from.
        principal: the user it belongs to, if any (after a login: the new one).
        reason: ``rotated``: ``login``, ``regenerate`` or ``periodic``; ``destroyed``:
            ``logout``, ``revoked``, ``revoked_all``, ``evicted``, ``corrupt`` or ``binding``;
            ``expired``:
            ``load`` or ``purge``; ``created``: ``None``.
        at: when the manager saw the transition (the request's clock).
        successor: for ``rotated``, the fingerprint of the new ID; otherwise ``None``.
        meta: the session's tracked metadata (user agent, IP), if any.
    """

    kind: EventKind
    fingerprint: str
    principal: str | None
    reason: str | None
    at: float
    successor: str | None = None
    meta: Mapping[str, str] = field(default_factory=dict)


EventHook = Callable[[SessionEvent], None]
"""A sync hook. Its exceptions are logged (``session.hook_failed``) and never fail a request."""

AsyncEventHook = Callable[[SessionEvent], Awaitable[None] | None]
"""A hook for the async manager: a plain function, or one returning an awaitable."""


__all__ = [
    "BINDING",
    "CORRUPT",
    "CREATED",
    "DESTROYED",
    "EVICTED",
    "EXPIRED",
    "LOGOUT",
    "PURGED",
    "REVOKED",
    "REVOKED_ALL",
    "ROTATED",
    "SEEN_ON_LOAD",
    "AsyncEventHook",
    "EventHook",
    "EventKind",
    "SessionEvent",
]
