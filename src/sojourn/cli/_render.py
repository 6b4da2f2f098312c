"""How the admin commands draw for a person: rich tables, times, durations and histograms.

Only the terminal form lives here; ``--json`` prints the same data as plain values (times as
Unix seconds), so scripts never parse a table.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

BAR_WIDTH = 40

AGE_BUCKETS: tuple[tuple[float, str], ...] = (
    (60, "< 1 min"),
    (5 * 60, "< 5 min"),
    (15 * 60, "< 15 min"),
    (3600, "< 1 h"),
    (6 * 3600, "< 6 h"),
    (86400, "< 1 day"),
    (7 * 86400, "< 7 days"),
    (30 * 86400, "< 30 days"),
    (float("inf"), ">= 30 days"),
)
"""Upper bounds (seconds, exclusive) and labels of the age and idle histograms."""


PIPE_WIDTH = 160
"""Columns drawn when stdout is not a terminal (a pipe, a log): wide enough for the listing."""


def console() -> Console:
    """A console on stdout; plain text (no colour codes) when stdout is not a terminal."""
    terminal = sys.stdout.isatty()
    return Console(highlight=False, soft_wrap=False, width=None if terminal else PIPE_WIDTH)


def when(at: float | None) -> str:
    """A Unix time as ``2026-12-01 16:30:05Z`` (UTC), or ``-``."""
    if at is None:
        return "-"
    return datetime.fromtimestamp(at, UTC).strftime("%Y-%m-%d %H:%M:%SZ")


def duration(seconds: float) -> str:
    """``seconds`` as ``45s``, ``12m``, ``3h05m`` or ``2d04h``."""
    s = max(0, int(seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


def ago(at: float, now: float | None = None) -> str:
    """``at`` relative to now: ``5m ago`` or ``in 2h00m``."""
    delta = (time.time() if now is None else now) - at
    return f"{duration(delta)} ago" if delta >= 0 else f"in {duration(-delta)}"


def moment(at: float, now: float) -> str:
    """``2026-12-01 16:30:05Z (5m ago)``."""
    return f"{when(at)} ({ago(at, now)})"


def bucket_counts(values: Sequence[float]) -> list[tuple[str, int]]:
    """How many ``values`` (seconds) fall in each of :data:`AGE_BUCKETS`."""
    counts = [0] * len(AGE_BUCKETS)
    for value in values:
        for i, (bound, _) in enumerate(AGE_BUCKETS):
            if value < bound:
                counts[i] += 1
                break
    return [(label, counts[i]) for i, (_, label) in enumerate(AGE_BUCKETS)]


def histogram(title: str, buckets: Sequence[tuple[str, int]]) -> Table:
    """A table with one bar per bucket, scaled to the largest."""
    table = Table(title=title, show_edge=False, title_justify="left")
    table.add_column("bucket", justify="right")
    table.add_column("sessions", justify="right")
    table.add_column("", no_wrap=True)
    top = max((n for _, n in buckets), default=0)
    for label, n in buckets:
        width = round(BAR_WIDTH * n / top) if top else 0
        bar = "█" * width if width or not n else "▏"
        table.add_row(label, str(n), f"[cyan]{bar}[/cyan]")
    return table


def sessions_table(rows: Sequence[Mapping[str, Any]], now: float) -> Table:
    """The listing of ``sojourn sessions list``."""
    table = Table(show_edge=False)
    for name in ("fingerprint", "principal", "created", "last seen", "expires", "user agent"):
        table.add_column(name, no_wrap=name != "user agent", overflow="fold")
    table.add_column("IP", no_wrap=True)
    for row in rows:
        table.add_row(
            row["fingerprint"],
            escape(row["principal"]) if row["principal"] else "[dim]anonymous[/dim]",
            when(row["created_at"]),
            ago(row["last_seen_at"], now),
            ago(row["expires_at"], now),
            escape(row["user_agent"] or "-"),
            escape(row["ip"] or "-"),
        )
    return table


def pairs_table(pairs: Sequence[tuple[str, str]]) -> Table:
    """A two-column ``name  value`` table."""
    table = Table(show_header=False, show_edge=False, box=None)
    table.add_column(style="bold")
    table.add_column(overflow="fold")
    for name, value in pairs:
        table.add_row(name, value)
    return table


__all__ = [
    "AGE_BUCKETS",
    "BAR_WIDTH",
    "PIPE_WIDTH",
    "ago",
    "bucket_counts",
    "console",
    "duration",
    "histogram",
    "moment",
    "pairs_table",
    "sessions_table",
    "when",
]
