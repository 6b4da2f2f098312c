"""Copy every live session from one store to another, and check the copy.

:func:`copy_sessions` walks the source with ``scan`` and ``create``s each live record in the
target — ``create`` keeps the record as it is: its deadlines, its principal (so the target's
per-user index) and its metadata. A key the target already has is left alone (``create``
raises ``SessionExists``; the target's copy is the newer one, written by the app), so a rerun
copies nothing new and a crash resumes from the last cursor, or from the start, harmlessly.

After creating a record the copy reads the source again: a session logged out or rotated
while it was being copied is deleted from the target, so the copy never brings it back. The
re-check follows each record's ``create`` at once, to keep the window a rotation could fall
into to one round trip (see :mod:`sojourn.stores.migrating`).

:func:`verify_copy` counts both sides and compares a random sample field by field.
"""

from __future__ import annotations

import dataclasses
import secrets
import time
from collections.abc import Callable

from ..._core.errors import ConfigurationError, SessionExists
from ..._core.ids import fingerprint_of_key
from .._migration import CopyResult, Mismatch, VerifyResult, is_marker, judge
from ..base import AsyncStore, AsyncSupportsScan, Record


def _walker(store: AsyncStore, role: str) -> AsyncSupportsScan:
    if not isinstance(store, AsyncSupportsScan):
        raise TypeError(f"the {role} store ({type(store).__name__}) cannot walk its sessions")
    return store


async def copy_sessions(
    source: AsyncStore,
    target: AsyncStore,
    *,
    cursor: str | None = None,
    batch: int = 500,
    progress: Callable[[CopyResult], object] | None = None,
    dry_run: bool = False,
    max_pages: int | None = None,
    clock: Callable[[], float] = time.time,
) -> CopyResult:
    """Copy every live session of ``source`` that ``target`` lacks.

    Args:
        source: the store to copy from; it must offer ``scan``. Only read.
        target: the store to copy into.
        cursor: resume the walk here (a ``CopyResult.cursor`` saved by an earlier run).
        batch: records per page of the walk.
        progress: called after each page with the totals so far; their ``cursor`` is where a
            later run would resume.
        dry_run: write nothing; count what would be copied (the target is read instead).
        max_pages: stop after this many pages (the result's ``cursor`` says where to go on).
        clock: the time source; a page's records are live at the time it was read.

    Returns:
        The totals; ``cursor`` is ``None`` once the whole source was walked.

    Raises:
        TypeError: ``source`` cannot walk its sessions.
        ConfigurationError: ``batch`` or ``max_pages`` is not positive.
        StoreUnavailable: either store failed; the last ``progress`` cursor is safe to
            resume from.
    """
    walker = _walker(source, "source")
    if batch <= 0 or (max_pages is not None and max_pages <= 0):
        raise ConfigurationError("batch and max_pages must be positive")
    total = CopyResult(cursor=cursor, dry_run=dry_run)
    pages = 0
    while True:
        now = clock()
        records, cursor = await walker.scan(now, cursor, batch)
        page = CopyResult(dry_run=dry_run)
        for record in records:
            page = page.plus(await _copy_one(source, target, record, now, dry_run))
        total = total.plus(dataclasses.replace(page, cursor=cursor))
        pages += 1
        if progress is not None:
            progress(total)
        if cursor is None or (max_pages is not None and pages >= max_pages):
            return total


async def _copy_one(
    source: AsyncStore, target: AsyncStore, record: Record, now: float, dry_run: bool
) -> CopyResult:
    """One record's part of the totals (its cursor is left ``None``)."""
    if is_marker(record):
        return CopyResult(markers=1)
    if dry_run:
        if await target.load(record.key, now) is not None:
            return CopyResult(present=1)
        return CopyResult(copied=1)
    try:
        await target.create(record)
    except SessionExists:
        return CopyResult(present=1)
    if await source.load(record.key, now) is None:
        await target.delete(record.key)  # it ended while we copied: do not bring it back
        return CopyResult(vanished=1)
    return CopyResult(copied=1)


async def verify_copy(
    source: AsyncStore,
    target: AsyncStore,
    *,
    sample: int = 100,
    batch: int = 500,
    randbelow: Callable[[int], int] = secrets.randbelow,
    clock: Callable[[], float] = time.time,
) -> VerifyResult:
    """Count both stores' live sessions and compare a random sample of the source's.

    Each sampled session is read afresh from both stores (none renewed) and compared field by
    field: data, principal, metadata, and every timestamp. One used on the target since it
    was copied (renewed or written there) is counted as ``touched``, not as wrong; one that
    ended in the source meanwhile is not judged.

    Args:
        source: the store copied from; it must offer ``scan``.
        target: the store copied into; it must offer ``scan``.
        sample: how many sessions to compare (all of them if the source holds fewer).
        batch: records per page of each walk.
        randbelow: the random source for the sample, ``randbelow(n)`` in ``range(n)``
            (``secrets`` by default; pass a seeded one for a repeatable check).
        clock: the time source.

    Raises:
        TypeError: a store cannot walk its sessions.
        ConfigurationError: ``sample`` is negative or ``batch`` not positive.
        StoreUnavailable: either store failed.
    """
    if sample < 0 or batch <= 0:
        raise ConfigurationError("sample must not be negative, and batch must be positive")
    keys: list[str] = []
    source_count = 0
    cursor: str | None = None
    walker = _walker(source, "source")
    target_walker = _walker(target, "target")
    while True:
        records, cursor = await walker.scan(clock(), cursor, batch)
        for record in records:
            if is_marker(record):
                continue
            source_count += 1  # reservoir sampling: each session equally likely to be drawn
            if len(keys) < sample:
                keys.append(record.key)
            elif (slot := randbelow(source_count)) < sample:
                keys[slot] = record.key
        if cursor is None:
            break
    target_count = await _count(target_walker, clock, batch)
    touched = 0
    mismatches: list[Mismatch] = []
    for key in keys:
        now = clock()
        original = await source.load(key, now)
        if original is None:
            continue  # ended since it was drawn: nothing to judge
        verdict = judge(fingerprint_of_key(key), original, await target.load(key, now))
        if isinstance(verdict, Mismatch):
            if verdict.problem == "missing" and await source.load(key, now) is None:
                continue  # ended between the two reads
            mismatches.append(verdict)
        elif verdict == "touched":
            touched += 1
    return VerifyResult(source_count, target_count, len(keys), touched, tuple(mismatches))


async def _count(walker: AsyncSupportsScan, clock: Callable[[], float], batch: int) -> int:
    """Live sessions in a store, markers left out: a walk (a store's own count includes
    markers, which the copy skips)."""
    count = 0
    cursor: str | None = None
    while True:
        records, cursor = await walker.scan(clock(), cursor, batch)
        count += sum(1 for record in records if not is_marker(record))
        if cursor is None:
            return count


__all__ = ["copy_sessions", "verify_copy"]
