"""What every store's ``scan`` checks first: its page size and the cursor it was handed.

Cursors are plain text so a walk can resume in another process (a migration saves its cursor
and picks up after a crash). The memory and SQL stores paginate by key — the cursor is the
last key returned — so the walk never skips or repeats a record that lives through it, and
costs what it returns, whatever the store holds (keyset pagination, never ``OFFSET``).
"""

from __future__ import annotations

from .._core.errors import ConfigurationError

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


__all__ = ["MAX_SCAN_LIMIT", "check_scan"]
