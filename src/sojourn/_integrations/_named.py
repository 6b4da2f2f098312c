"""Several named sessions in one application: the rules every adapter shares.

An application may run more than one manager side by side (an admin session with a short idle
timeout beside the shop's), each with its own cookie, store and policy. The unnamed one stays
where each framework expects its session (ASGI ``scope["session"]``, Flask's ``session``,
Django's ``request.session``); named ones live in a per-request mapping under
:data:`SESSIONS_KEY`, their managers under :data:`MANAGERS_KEY`.

Two managers reading the same cookie (or header, or query parameter) would each take the other's
ID for their own, and the later ``Set-Cookie`` would overwrite the earlier: that is refused with
a :class:`ConfigurationError` when the second one is set up, never left to clobber silently.
Nothing here does I/O; the rules of each session stay in its manager.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from typing import Any, TypeVar

from .._core.errors import ConfigurationError
from .._core.transport import CookieTransport, HeaderTransport, QueryTransport, Transport

T = TypeVar("T")

SESSIONS_KEY = "sojourn.sessions"
"""Where a request keeps its named sessions, by name (an ASGI scope, a WSGI environ)."""
MANAGERS_KEY = "sojourn.managers"
"""Where a request keeps the managers of its named sessions, by name."""
ISSUED_KEY = "sojourn.issued"
"""The ``Set-Cookie`` (or token) headers sessions have already committed on this response, so
that another session that must replace the response (503, 409) carries them on: their records
are saved, and dropping their cookies would orphan them."""


def place(request: MutableMapping[str, Any], name: str, session: object, manager: object) -> None:
    """Put a named session and its manager in a request's mapping (a scope, an environ).

    Raises:
        ConfigurationError: the request already holds a session of that name (two
            middlewares of one name that the start-up check could not see).
    """
    sessions = request.get(SESSIONS_KEY)
    if sessions is None:
        sessions = request[SESSIONS_KEY] = {}
        request[MANAGERS_KEY] = {}
    elif name in sessions:
        raise ConfigurationError(f"two Sojourn sessions named {name!r} in one application")
    sessions[name] = session
    request[MANAGERS_KEY][name] = manager


def check_name(name: str | None) -> str | None:
    """``name`` as given, once it is a usable session name (``None``: the unnamed session).

    Raises:
        ConfigurationError: an empty name, or one that is not text.
    """
    if name is not None and (not isinstance(name, str) or not name.strip()):
        raise ConfigurationError("a session name must be non-empty text (or None)")
    return name


def cookie_slot(cookie_name: str) -> str:
    """The label of a cookie, as :func:`slot` gives it (for a framework's own cookie)."""
    return f"cookie {cookie_name!r}"


def slot(transport: Transport) -> str | None:
    """Where a transport reads its ID, as one comparable label (``cookie 'sid'``); ``None``
    for a transport of the application's own, which cannot be compared."""
    if isinstance(transport, CookieTransport):
        return cookie_slot(transport.cookie_name)
    if isinstance(transport, HeaderTransport):
        return f"header {transport.header!r}"
    if isinstance(transport, QueryTransport):
        return f"query parameter {transport.parameter!r}"
    return None


def check_apart(
    name: str | None,
    transport: Transport | str | None,
    others: Iterable[tuple[str | None, Transport | str | None]],
) -> None:
    """Refuse a session that would share its name or its cookie with one already set up.

    Args:
        name: the new session's name (``None``: the unnamed one).
        transport: where the new session's ID travels (a transport, or its :func:`slot`).
        others: ``(name, transport or slot)`` of the sessions the application already has.

    Raises:
        ConfigurationError: two sessions with one name, or reading one cookie (or header, or
            query parameter).
    """
    mine = _slot(transport)
    for other_name, other_transport in others:
        if other_name == name:
            what = "unnamed" if name is None else f"named {name!r}"
            raise ConfigurationError(
                f"two Sojourn sessions {what} in one application: give each its own name="
            )
        if mine is not None and _slot(other_transport) == mine:
            raise ConfigurationError(
                f"the sessions {_label(name)} and {_label(other_name)} both use the {mine}: "
                "give each its own cookie (CookieSettings(name=...)), or one would overwrite "
                "the other"
            )


def stacked(app: object, kind: type[T]) -> list[T]:
    """The middlewares of ``kind`` already wrapping inside ``app``, found through the ``app``
    attribute ASGI and WSGI middlewares commonly keep (Starlette's, Litestar's, Quart's,
    Sojourn's own). Bounded, and a chain that hides the attribute ends the search: the
    middleware then checks again on its first request what it can see there."""
    found: list[T] = []
    for _ in range(64):
        if isinstance(app, kind):
            found.append(app)
        try:
            app = getattr(app, "app", None)
        except Exception:  # an object's own property may raise anything
            return found
        if app is None:
            break
    return found


def _slot(where: Transport | str | None) -> str | None:
    return where if where is None or isinstance(where, str) else slot(where)


def _label(name: str | None) -> str:
    return "(unnamed)" if name is None else repr(name)


__all__ = [
    "ISSUED_KEY",
    "MANAGERS_KEY",
    "SESSIONS_KEY",
    "check_apart",
    "check_name",
    "cookie_slot",
    "place",
    "slot",
    "stacked",
]
