"""Successor markers: the records a rotation leaves under the old key, told apart in one place.

A rotation (login, ``regenerate``, periodic) leaves an ordinary record under
:func:`~.ids.marker_key` of the old store key, so that a straggler holding the old ID learns
its session was rotated, not ended. Stores keep markers like any record, so a walk over a store
(``scan``) meets them; admin code — listing, counting, migrating — asks :func:`is_marker` and
skips them, and the engine reads what they say with :func:`successor_of`. The shape is fixed
here: no fields, no principal (so never indexed), and ``meta`` naming the kind of rotation and
the successor's store key (never its ID).
"""

from __future__ import annotations

from .records import Record

ROTATION = "rotation"
"""The marker's ``meta`` key holding the kind of rotation (login, regenerate, periodic)."""

SUCCESSOR = "successor"
"""The marker's ``meta`` key holding the successor's store key."""


def marker_meta(kind: str, successor: str) -> dict[str, str]:
    """The ``meta`` of a marker left by a rotation of ``kind`` to the store key ``successor``."""
    return {ROTATION: kind, SUCCESSOR: successor}


def successor_of(record: Record | None) -> tuple[str, str] | None:
    """What a successor marker says: ``(kind of rotation, successor's store key)``.

    ``None`` when ``record`` is missing or is not a marker: a session (it holds data or belongs
    to someone), or a record whose meta lacks either entry.
    """
    if record is None or record.fields or record.principal is not None:
        return None  # markers hold no data and belong to no one
    kind, successor = record.meta.get(ROTATION), record.meta.get(SUCCESSOR)
    if not kind or not successor:
        return None
    return kind, successor


def is_marker(record: Record) -> bool:
    """True if ``record`` is a successor marker rather than a session (admin code skips it)."""
    return successor_of(record) is not None


__all__ = ["ROTATION", "SUCCESSOR", "is_marker", "marker_meta", "successor_of"]
