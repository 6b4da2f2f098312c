"""Which lifecycle events a commit, a load or an admin call produced: pure, built on demand.

The managers call these only when the application registered hooks, and only once the store
confirmed the transition, so an application without hooks builds no event at all. An event
names a session by its fingerprint (a digest of its store key), never by its ID, and carries
the principal and tracked metadata (Sojourn's reserved entries left out), never the data.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Sequence

from .binding import visible_meta
from .events import CREATED, ROTATED, EventKind, SessionEvent
from .ids import fingerprint_of_key
from .plan import Create, Delete, Op, Rename
from .records import Record
from .timing import user_meta

security_logger = logging.getLogger("sojourn.security")


def events_of(ops: Sequence[Op], now: float, *, skip: Collection[str] = ()) -> list[SessionEvent]:
    """The events of a plan whose operations all landed.

    A ``Create`` is ``created``; a ``Rename`` is ``rotated`` (its kind: login, regenerate or
    periodic); a ``Delete`` is what the engine planned it as (``destroyed`` for a logout or a
    corrupt record, ``expired`` for a record dead by policy). Successor markers (``Mark``) and
    change sets (``Apply``) are not transitions.

    Args:
        skip: keys whose ``Delete`` ended nothing (another request had removed the record, or
            a login had moved the session away meanwhile): no event for them.
    """
    events: list[SessionEvent] = []
    for op in ops:
        if isinstance(op, Create):
            record = op.record
            events.append(of_record(CREATED, None, record, now))
        elif isinstance(op, Rename):
            events.append(
                SessionEvent(
                    ROTATED,
                    fingerprint_of_key(op.old),
                    op.principal,
                    op.kind,
                    now,
                    successor=fingerprint_of_key(op.new),
                    meta=user_meta(visible_meta(op.meta)),
                )
            )
        elif isinstance(op, Delete) and op.key not in skip:
            events.append(
                SessionEvent(
                    op.kind, fingerprint_of_key(op.key), op.principal, op.reason, now,
                    meta=user_meta(visible_meta(op.meta)),
                )
            )  # fmt: skip
    return events


def of_record(kind: EventKind, reason: str | None, record: Record, now: float) -> SessionEvent:
    """The event ``kind`` (with ``reason``) of the session stored as ``record``."""
    # Tracked metadata only: never a binding's marks or the session's own timing entries.
    label, meta = fingerprint_of_key(record.key), user_meta(visible_meta(record.meta))
    return SessionEvent(kind, label, record.principal, reason, now, meta=meta)


def of_records(
    kind: EventKind, reason: str | None, records: Iterable[Record], now: float
) -> list[SessionEvent]:
    """One event ``kind`` (with ``reason``) per record."""
    return [of_record(kind, reason, record, now) for record in records]


def log_event(event: SessionEvent) -> None:
    """Log ``event`` on ``sojourn.security`` at INFO (SEC-54: created, rotated, destroyed,
    expired), by fingerprint only. Off unless the application enables INFO for that logger; the
    managers then build events for it even without hooks."""
    security_logger.info(
        "session.%s: session %s%s%s",
        event.kind,
        event.fingerprint,
        "" if event.reason is None else f" ({event.reason})",
        "" if event.successor is None else f" -> {event.successor}",
    )


__all__ = ["events_of", "log_event", "of_record", "of_records"]
