"""One exception tree for the whole library.

Each error also subclasses the builtin it resembles, so ``except ValueError`` in existing code
keeps working. Messages never contain session IDs, cookie values or keys.
"""

from __future__ import annotations


class SessionError(Exception):
    """Base class of every error Sojourn raises."""


class ConfigurationError(SessionError, ValueError):
    """A setting is invalid; raised at construction time, never per request."""


class StoreUnavailable(SessionError, ConnectionError):
    """The store could not be reached or did not answer in time.

    Never turned into an empty session: the middleware answers 503 unless told otherwise.
    """


class CorruptSession(SessionError, ValueError):
    """Stored data could not be decoded; the session is treated as absent and logged."""


class SessionTooLarge(SessionError, ValueError):
    """A value, a session or a cookie is over its configured size limit."""


class UnencodableValue(SessionError, TypeError):
    """A value put in the session is not plain JSON; the message names the key."""


class ShapeError(UnencodableValue):
    """A value does not fit the session's declared shape; the message names the key and the
    expected type (never the value)."""


class SessionExists(SessionError, KeyError):
    """``create`` found a live record under the same key (an ID collision); the caller retries."""

    def __str__(self) -> str:  # KeyError would repr() the args, which is noisy
        return "a session with this key already exists"


class ResponseStarted(SessionError, RuntimeError):
    """The session changed in a way that needs a new cookie after the headers were sent."""


class SessionGone(SessionError, RuntimeError):
    """A commit's changes did not land: the session was rotated or ended underneath it.

    Raised to code that commits by hand; the adapters answer it with ``409`` and a
    ``Sojourn-Session`` header naming :attr:`reason`, and never with a cookie, so a retry
    succeeds and no late response deletes a cookie the client was given since.
    """

    reason = "ended"


class SessionRotated(SessionGone):
    """The session's ID was rotated (a login or ``regenerate`` elsewhere) under this request."""

    reason = "rotated"


class SessionEnded(SessionGone):
    """The session was logged out, revoked or expired under this request."""

    reason = "ended"


class ReadOnlySession(SessionError, TypeError):
    """The session was opened read-only (e.g. on a WebSocket) and cannot be changed."""


class TimeoutTooLong(SessionError, ValueError):
    """``Session.set_timeouts`` asked for more than the policy allows the session: its own
    timeouts may only shorten the configured ones, never extend them."""


__all__ = [
    "ConfigurationError",
    "CorruptSession",
    "ReadOnlySession",
    "ResponseStarted",
    "SessionEnded",
    "SessionError",
    "SessionExists",
    "SessionGone",
    "SessionRotated",
    "SessionTooLarge",
    "ShapeError",
    "StoreUnavailable",
    "TimeoutTooLong",
    "UnencodableValue",
]
