"""``sojourn stats``: what a store holds, in figures and two histograms, and how fast it answers.

One walk of the store (``scan``) gives the live sessions, signed-in versus anonymous, the users
with the most sessions, and the age (since creation or login) and idle time (since the last
renewal, so accurate to the renewal interval) of each. The round-trip latency is measured by a
few ``load`` calls of random keys that no session has, so the figure is one read, timed here.
"""

from __future__ import annotations

import secrets
import statistics
import time
from collections import Counter
from typing import Any

import click
from rich.markup import escape

from ..stores.base import AsyncStore
from . import _render
from ._admin import emit, json_option, run, store_option, walk

PROBES = 5


@click.command()
@store_option
@click.option("--top", default=10, show_default=True, type=click.IntRange(0), help="Users shown.")
@click.option(
    "--probes",
    default=PROBES,
    show_default=True,
    type=click.IntRange(1, 100),
    help="Loads timed for the latency figure.",
)
@json_option
def stats(store_url: str, top: int, probes: int, as_json: bool) -> None:
    """Live sessions, signed-in vs anonymous, sessions per user, age and idle histograms."""
    now = time.time()
    data = run(store_url, lambda store: gather(store, now, top, probes))
    emit(data, as_json, _render_stats)


async def gather(store: AsyncStore, now: float, top: int, probes: int) -> dict[str, Any]:
    """The figures of ``sojourn stats``, as plain values (also its ``--json`` output)."""
    latencies = await latency(store, now, probes)
    per_user: Counter[str] = Counter()
    ages: list[float] = []
    idles: list[float] = []
    anonymous = 0
    async for record in walk(store, now):
        if record.principal is None:
            anonymous += 1
        else:
            per_user[record.principal] += 1
        ages.append(now - record.created_at)
        idles.append(now - record.renewed_at)
    live = len(ages)
    return {
        "live": live,
        "signed_in": live - anonymous,
        "anonymous": anonymous,
        "users": len(per_user),
        "top_users": [{"principal": p, "sessions": n} for p, n in per_user.most_common(top)],
        "age": dict(_render.bucket_counts(ages)),
        "idle": dict(_render.bucket_counts(idles)),
        "latency_ms": {
            "probes": len(latencies),
            "min": min(latencies),
            "median": statistics.median(latencies),
            "max": max(latencies),
        },
    }


async def latency(store: AsyncStore, now: float, probes: int) -> list[float]:
    """Milliseconds each of ``probes`` loads of a random (absent) key took."""
    times: list[float] = []
    for _ in range(probes):
        started = time.perf_counter()
        await store.load(secrets.token_hex(32), now)
        times.append((time.perf_counter() - started) * 1000)
    return times


def _render_stats(data: dict[str, Any]) -> None:
    out = _render.console()
    lat = data["latency_ms"]
    out.print(
        _render.pairs_table(
            [
                ("live sessions", str(data["live"])),
                ("signed in", str(data["signed_in"])),
                ("anonymous", str(data["anonymous"])),
                ("users", str(data["users"])),
                (
                    "round trip",
                    f"{lat['median']:.2f} ms median ({lat['min']:.2f} to {lat['max']:.2f} ms, "
                    f"{lat['probes']} loads)",
                ),
            ]
        )
    )
    if data["top_users"]:
        from rich.table import Table

        table = Table(title="sessions per user", show_edge=False, title_justify="left")
        table.add_column("principal")
        table.add_column("sessions", justify="right")
        for row in data["top_users"]:
            table.add_row(escape(row["principal"]), str(row["sessions"]))
        out.print(table)
    out.print(_render.histogram("age (since created or login)", list(data["age"].items())))
    out.print(_render.histogram("idle (since last seen)", list(data["idle"].items())))


__all__ = ["PROBES", "gather", "latency", "stats"]
