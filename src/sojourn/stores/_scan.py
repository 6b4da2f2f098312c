"""What every store's ``scan`` checks first: its page size and the cursor it was handed.

Cursors are plain text so a walk can resume in another process (a migration saves its cursor
and picks up after a crash). The memory and SQL stores paginate by key — the cursor is the
last key returned — so the walk never skips or repeats a record that lives through it, and
costs what it returns, whatever the store holds (keyset pagination, never ``OFFSET``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TypeVar

from .._core.errors import ConfigurationError, CorruptSession
from .base import Record

logger = logging.getLogger("sojourn")

Row = TypeVar("Row")

MAX_SCAN_LIMIT = 10_000
"""The largest page a scan returns: bounded so one call stays within the store's timeout."""


def check_scan(cursor: object, limit: object) -> str:
    """The key a keyset scan starts after (``""``: the beginning) for ``cursor`` and ``limit``.

    Raises:
        ConfigurationError: ``limit`` is not an integer from 1 to :data:`MAX_SCAN_LIMIT`, or
            ``cursor`` is neither ``None`` nor non-empty text.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 0 < limit <= MAX_SCAN_LIMIT:
        raise ConfigurationError(f"a scan's limit must be an integer from 1 to {MAX_SCAN_LIMIT}")
    if cursor is None:
        return ""
    if not isinstance(cursor, str) or not cursor:
        raise ConfigurationError("a scan cursor is the text a previous scan returned")
    return cursor


def keyset_page(
    rows: Sequence[Row], limit: int, build: Callable[[Row], Record], key_of: Callable[[Row], str]
) -> tuple[list[Record], str | None]:
    """One page of a keyset scan from ``rows``, in key order, of which at most ``limit + 1``.

    The query asks for one row more than ``limit``: if it came, the walk goes on after the
    last row kept, and the extra row is not returned. A row that does not decode is skipped
    (and logged): it is no session to the manager either, and one bad row must not stop an
    admin walk or a migration.
    """
    more = len(rows) > limit
    kept = rows[:limit]
    records: list[Record] = []
    for row in kept:
        try:
            records.append(build(row))
        except CorruptSession as exc:
            logger.warning("scan skipped a corrupt session record: %s", exc)
    return records, (key_of(kept[-1]) if more else None)


__all__ = ["MAX_SCAN_LIMIT", "check_scan", "keyset_page"]
