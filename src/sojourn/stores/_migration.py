"""What a migration reports, and how two copies of a record are compared: pure, no I/O.

Shared by the async copy (:mod:`sojourn.stores._async.copying`) and its generated sync twin,
and by the ``sojourn migrate`` command, which prints these results or their JSON form.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from .._core.markers import is_marker as is_marker
from .base import Record

TIME_TOLERANCE = 1e-6
"""Seconds two timestamps may differ by and still be equal: every store keeps times as
doubles, so a copy is exact; the slack only absorbs a store that rounds the last digit."""

COMPARED = (
    "fields", "principal", "created_at", "renewed_at", "expires_at", "authenticated_at", "meta",
)  # fmt: skip
"""What :func:`differences` compares, in the order it reports."""


@dataclass(frozen=True, slots=True)
class CopyResult:
    """What a copy did (or, in a dry run, would do).

    Attributes:
        copied: records created in the target.
        present: records the target already had (a rerun, or moved there by the app on
            ``MigratingStore``); left as they are.
        markers: rotation markers skipped (see :func:`~sojourn.stores.base.is_marker`): they
            serve only requests in flight during a rotation's grace window, long past by the
            time the app runs on the target alone.
        vanished: records that ended in the source while being copied (a logout, a
            rotation); their copy was deleted from the target again.
        cursor: where the walk of the source resumes; ``None`` once it is done.
        dry_run: nothing was written; ``copied`` counts what would have been.
    """

    copied: int = 0
    present: int = 0
    markers: int = 0
    vanished: int = 0
    cursor: str | None = None
    dry_run: bool = False

    @property
    def seen(self) -> int:
        """Records read from the source."""
        return self.copied + self.present + self.markers + self.vanished

    def plus(self, other: CopyResult) -> CopyResult:
        """The counts of both, with ``other``'s cursor (it came later)."""
        return CopyResult(
            self.copied + other.copied,
            self.present + other.present,
            self.markers + other.markers,
            self.vanished + other.vanished,
            other.cursor,
            self.dry_run or other.dry_run,
        )

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``sojourn migrate --json``)."""
        return {**dataclasses.asdict(self), "seen": self.seen}


@dataclass(frozen=True, slots=True)
class Mismatch:
    """One sampled session whose copy in the target is not what the source holds.

    Attributes:
        fingerprint: the session's label (never its ID or store key).
        problem: ``"missing"`` (the target has no live copy), ``"differs"`` (the copy was not
            used since, yet a compared attribute differs) or ``"stale"`` (the source was
            renewed after the copy was made: something still writes to the source only).
        attributes: the attributes that differ (empty when missing).
    """

    fingerprint: str
    problem: str
    attributes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """What :func:`~sojourn.stores.migrating.verify_copy` found.

    Attributes:
        source_count: live sessions in the source (markers left out).
        target_count: live sessions in the target (markers left out); more than the source
            is normal while the app creates sessions in the target.
        sampled: sessions drawn at random from the source and looked up in the target.
        touched: sampled sessions used on the target since they were copied (renewed or
            written there): they may differ, and rightly.
        mismatches: the sampled sessions that are wrong in the target.
    """

    source_count: int
    target_count: int
    sampled: int
    touched: int = 0
    mismatches: tuple[Mismatch, ...] = field(default_factory=tuple)

    @property
    def ok(self) -> bool:
        """True if no sample is wrong and the target holds at least what the source does."""
        return not self.mismatches and self.target_count >= self.source_count

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (``sojourn migrate --verify --json``)."""
        return {**dataclasses.asdict(self), "ok": self.ok}


def _same(a: object, b: object) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return abs(a - b) <= TIME_TOLERANCE
    return a == b


def _value(record: Record, name: str) -> object:
    value = getattr(record, name)
    return dict(value) if name in ("fields", "meta") else value


def differences(source: Record, target: Record) -> tuple[str, ...]:
    """The attributes (of :data:`COMPARED`) in which ``target`` differs from ``source``."""
    return tuple(name for name in COMPARED if not _same(_value(source, name), _value(target, name)))


def judge(fingerprint: str, source: Record, target: Record | None) -> Mismatch | str:
    """The verdict on one sampled session: a :class:`Mismatch`, ``"same"`` (an exact copy) or
    ``"touched"`` (renewed or written on the target since the copy: differences expected)."""
    if target is None:
        return Mismatch(fingerprint, "missing")
    found = differences(source, target)
    if not found:
        return "same"
    if target.renewed_at > source.renewed_at + TIME_TOLERANCE:
        return "touched"
    if target.renewed_at < source.renewed_at - TIME_TOLERANCE:
        return Mismatch(fingerprint, "stale", found)
    return Mismatch(fingerprint, "differs", found)


__all__ = [
    "COMPARED",
    "TIME_TOLERANCE",
    "CopyResult",
    "Mismatch",
    "VerifyResult",
    "differences",
    "is_marker",
    "judge",
]
