"""What a request hands the manager to open its session, and what it gets back.

Every adapter opens a session the same way: the transport's candidate IDs from the request's
headers and query string, the user agent and client address when the application tracks them,
and whether the connection may write (WebSockets may not). The manager does the rest and tells
the adapter whether to serve the request, serve it without saving, or answer 503; the adapter
only translates its framework's types. Nothing here does I/O.
"""

from __future__ import annotations

from typing import NamedTuple

from .session import Session

UNAVAILABLE_STATUS = 503
UNAVAILABLE_BODY = b"Service unavailable: the session store cannot be reached.\n"
UNAVAILABLE_HEADERS: tuple[tuple[str, str], ...] = (
    ("Content-Type", "text/plain; charset=utf-8"),
    ("Content-Length", str(len(UNAVAILABLE_BODY))),
    ("Cache-Control", "no-store"),
    ("Retry-After", "5"),
)
"""The answer to a request whose session store is down (SEC-48): short, uncached, retryable."""

CONFLICT_STATUS = 409
CONFLICT_BODY = b"Conflict: the session changed during this request; its changes were not saved.\n"
REFUSED_BODY = b"Conflict: this user has the most sessions allowed; the login was refused.\n"
LOST_WRITE_HEADER = "Sojourn-Session"
"""Names why a write did not land: ``rotated`` (retry: the client now holds the new ID),
``ended`` (logged out, revoked or expired: a retry starts anew) or ``refused`` (a login past
``max_sessions_per_user`` with ``on_cap="refuse"``: the session is as it was)."""


def conflict_body(reason: str) -> bytes:
    """The body of the ``409`` a lost write (or a refused login) answers."""
    return REFUSED_BODY if reason == "refused" else CONFLICT_BODY


def conflict_headers(reason: str) -> tuple[tuple[str, str], ...]:
    """The headers of the ``409`` a lost write answers: uncached, no cookie, the reason named."""
    return (
        ("Content-Type", "text/plain; charset=utf-8"),
        ("Content-Length", str(len(conflict_body(reason)))),
        ("Cache-Control", "no-store"),
        (LOST_WRITE_HEADER, reason),
    )


class Opened(NamedTuple):
    """A request's session, as the manager opened it.

    Attributes:
        session: the session to hand the application (a fresh one when the store is down).
        presented: the candidate IDs the request carried, as the transport found them.
        refuse: the store is down and the policy is to fail: answer 503, run nothing.
        save: commit the session at the end of the request (``False`` when the store was down
            and the policy serves the request anonymously: nothing may be saved).
    """

    session: Session
    presented: tuple[str, ...] = ()
    refuse: bool = False
    save: bool = True


class Outcome(NamedTuple):
    """What a commit left behind, for the adapter to tell the client.

    Attributes:
        headers: response headers to add (a new ID, or one cleared).
        vary: the request header to add to ``Vary``, or ``None`` when the session was unused.
        session_id: the ID now backing the session (new after a rotation), or ``None`` when
            nothing is stored (always ``None`` with a client-side store: the sealed token is
            the cookie, and there is no ID). Adapters whose framework writes the cookie itself
            (Flask, Django) hand the client this value.
        gone: the session was found revoked or expired meanwhile; nothing was resurrected.
        previous: ``session_id`` is the previous ID of a session rotated periodically, still
            serving this request in its grace window: the client already holds (or is about to
            receive) the new one, so an adapter that writes the cookie itself must not send it.
    """

    headers: tuple[tuple[str, str], ...] = ()
    vary: str | None = None
    session_id: str | None = None
    gone: bool = False
    previous: bool = False


# Opened and Outcome are made on every request: tuples, which are cheaper to build than frozen
# dataclasses and just as immutable.


def metadata(user_agent: str | None, client_ip: str | None) -> dict[str, str]:
    """The tracked metadata of a request, trimmed to sane lengths."""
    meta: dict[str, str] = {}
    if user_agent:
        meta["user_agent"] = user_agent[:256]
    if client_ip:
        meta["ip"] = client_ip[:64]
    return meta


__all__ = [
    "CONFLICT_BODY",
    "CONFLICT_STATUS",
    "LOST_WRITE_HEADER",
    "REFUSED_BODY",
    "UNAVAILABLE_BODY",
    "UNAVAILABLE_HEADERS",
    "UNAVAILABLE_STATUS",
    "Opened",
    "Outcome",
    "conflict_body",
    "conflict_headers",
    "metadata",
]
