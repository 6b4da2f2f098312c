"""What a metrics observer is told: the manager's side of ``metrics=``.

An observer (``sojourn.metrics.prometheus``, ``sojourn.metrics.otel``, or an application's
own) hears three things: every store call the manager makes, timed, with the kind of error it
raised if any; the anomalies the manager otherwise only logs (a corrupt record, a request with
several live session cookies); and the lifecycle events, as a hook. The manager only calls it
when one was given: without ``metrics=`` the request path has no wrapper, no clock reads and
no event objects. Pure: the kinds are plain strings, no I/O.
"""

from __future__ import annotations

from typing import Literal, Protocol, runtime_checkable

from .errors import CorruptSession
from .events import SessionEvent

ErrorKind = Literal["unavailable", "timeout", "corrupt", "other"]

UNAVAILABLE: ErrorKind = "unavailable"  # the store could not be reached, or refused to serve
TIMEOUT: ErrorKind = "timeout"  # the driver gave up waiting (the store's ``timeout`` bound)
CORRUPT: ErrorKind = "corrupt"  # stored data could not be decoded
OTHER: ErrorKind = "other"  # anything else: a bug or a data problem, to be looked at

AnomalyKind = Literal["corrupt_record", "ambiguous_cookie"]

CORRUPT_RECORD: AnomalyKind = "corrupt_record"  # a presented session's record did not decode
AMBIGUOUS_COOKIE: AnomalyKind = "ambiguous_cookie"  # several live session IDs in one request

# The operations a store call is labelled with are the store's method names: load, create,
# apply, rename, delete, sessions_of, delete_sessions_of, purge_expired, count, scan.


@runtime_checkable
class Observer(Protocol):
    """Receives what the manager measures. Called on the request path: keep each call cheap
    (a counter increment), never block, never raise."""

    def record_store_call(self, operation: str, seconds: float, error: ErrorKind | None) -> None:
        """One store call finished: ``operation`` (the store method's name) took ``seconds``;
        ``error`` is the kind of exception it raised (see :func:`error_kind`), else ``None``.

        A ``create`` refused because the key exists is not an error (the manager retries, or
        keeps the marker that is already there), so it is reported with ``error=None``.
        """
        ...

    def record_anomaly(self, kind: AnomalyKind) -> None:
        """Something the manager logged as a warning and survived: ``corrupt_record`` (the
        request is served a fresh session) or ``ambiguous_cookie`` (no session at all)."""
        ...

    def record_event(self, event: SessionEvent) -> None:
        """A lifecycle event; the manager registers this method as one of its hooks."""
        ...

    def watch(self, store: object) -> None:
        """The manager's store, handed over once when the manager is built, so the observer
        can report how many sessions it holds (its ``count``), if it can count."""
        ...


def _timed_out(exc: BaseException) -> bool:
    """True if ``exc`` or what caused it is a timeout (the builtin, or a driver's ``…Timeout``
    class: redis-py's ``TimeoutError``, psycopg-pool's ``PoolTimeout``)."""
    seen = 0
    current: BaseException | None = exc
    while current is not None and seen < 8:  # a cause chain is short; never loop on a cycle
        if isinstance(current, TimeoutError) or "Timeout" in type(current).__name__:
            return True
        suppressed = current.__suppress_context__
        current = current.__cause__ or (None if suppressed else current.__context__)
        seen += 1
    return False


def error_kind(
    exc: BaseException, seconds: float | None = None, bound: float | None = None
) -> ErrorKind:
    """The kind a store call's exception is counted under.

    A store reports every outage as :class:`~sojourn.StoreUnavailable`. The kind is
    ``timeout`` when what it wraps (its ``__cause__``) was a timeout, or when the call took
    its whole time bound (``seconds >= bound``: a store that cuts a silent connection at its
    deadline reports the cut, not the wait); otherwise ``unavailable``. A raw driver
    ``OSError`` (a store that does not translate) counts the same way.
    """
    if isinstance(exc, CorruptSession):
        return CORRUPT
    if _timed_out(exc):
        return TIMEOUT
    if isinstance(exc, OSError):  # StoreUnavailable is a ConnectionError, so an OSError
        late = seconds is not None and bound is not None and seconds >= bound
        return TIMEOUT if late else UNAVAILABLE
    return OTHER


__all__ = [
    "AMBIGUOUS_COOKIE",
    "CORRUPT",
    "CORRUPT_RECORD",
    "OTHER",
    "TIMEOUT",
    "UNAVAILABLE",
    "AnomalyKind",
    "ErrorKind",
    "Observer",
    "error_kind",
]
