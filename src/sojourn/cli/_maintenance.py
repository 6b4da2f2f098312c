"""``sojourn purge`` and ``sojourn schema``: the jobs and the DDL a deployment needs.

``purge`` is meant for cron: it prints one line, shows progress on a terminal only (on stderr,
so stdout stays the figure), and exits 0 on success — also on a store that expires records by
itself (Redis), where there is nothing to do — and nonzero on any failure (see
:data:`~sojourn.cli._admin.EXIT_CODES`). ``--dry-run`` counts what would go: the records a
count at time 0 sees minus those live now (``count(0) - count(now)``), markers included, as
the purge removes both.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .._core.errors import ConfigurationError
from ..stores.base import AsyncStore, AsyncSupportsCount, AsyncSupportsPurge, AsyncSupportsSchema
from ._admin import (
    EXIT_UNSUPPORTED,
    EXIT_USAGE,
    AdminError,
    emit,
    fail,
    json_option,
    run,
    store_option,
)

POLL_SECONDS = 0.25


@click.command()
@store_option
@click.option("--dry-run", is_flag=True, help="Count what would be purged; delete nothing.")
@click.option(
    "--batch",
    "--batch-size",
    "batch",
    default=1000,
    show_default=True,
    type=click.IntRange(1, 100_000),
    help="Records deleted per transaction (each batch is short; requests run between).",
)
@json_option
def purge(store_url: str, dry_run: bool, batch: int, as_json: bool) -> None:
    """Delete expired sessions (SQL and SQLite; a no-op on Redis, which expires them itself).

    Exit codes: 0 success (nothing to do included), 1 the store failed, 2 bad options or a
    store that does not exist.
    """
    now = time.time()
    show = not as_json and not dry_run and interactive()
    result = run(store_url, lambda store: _purge(store, now, batch, dry_run, show))

    def render(data: dict[str, Any]) -> None:
        if data["self_expiring"]:
            click.echo(f"{data['store']} expires sessions by itself: nothing to purge")
        elif dry_run:
            click.echo(f"would purge {data['expired']} expired session(s)")
        else:
            click.echo(f"purged {data['purged']} expired session(s)")

    emit(result, as_json, render)


def interactive() -> bool:
    """Whether a person watches stderr (the progress bar is drawn only then)."""
    return sys.stderr.isatty()


async def _purge(
    store: AsyncStore, now: float, batch: int, dry_run: bool, show: bool
) -> dict[str, Any]:
    data: dict[str, Any] = {"store": type(store).__name__, "dry_run": dry_run}
    if not isinstance(store, AsyncSupportsPurge):
        return {**data, "self_expiring": True, "expired": 0, "purged": 0}
    data["self_expiring"] = False
    expired = await _expired(store, now)
    data["expired"] = expired
    if dry_run:
        if expired is None:
            fail(f"{type(store).__name__} cannot count its records", EXIT_UNSUPPORTED)
        data["purged"] = 0
        return data
    if not show or expired is None or not isinstance(store, AsyncSupportsCount):
        data["purged"] = await store.purge_expired(now, batch)
        return data
    data["purged"] = await _with_progress(store, now, batch, expired)
    return data


async def _expired(store: AsyncStore, now: float) -> int | None:
    """How many records have ``expires_at <= now`` (every deadline is after time 0)."""
    if not isinstance(store, AsyncSupportsCount):
        return None
    return max(0, await store.count(0.0) - await store.count(now))


async def _with_progress(store: Any, now: float, batch: int, expired: int) -> int:
    """Purge while a bar on stderr follows what is left (polled between the store's batches)."""
    progress = Progress(
        TextColumn("purging"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=Console(stderr=True),
        transient=True,
    )
    with progress:
        task = progress.add_task("purge", total=expired)
        job = asyncio.ensure_future(store.purge_expired(now, batch))
        while not job.done():
            await asyncio.wait({job}, timeout=POLL_SECONDS)
            if not job.done():
                left = await _expired(store, now) or 0
                progress.update(task, completed=max(0, expired - left))
        purged: int = job.result()
        progress.update(task, completed=expired)
    return purged


@click.command()
@store_option
@json_option
def schema(store_url: str, as_json: bool) -> None:
    """Print the DDL that creates the store's tables (for a DBA to run ahead of time).

    Connects to nothing: the DDL follows from the URL (dialect and table).
    """
    ddl = schema_text(store_url).rstrip("\n")
    emit({"ddl": ddl}, as_json, lambda data: click.echo(data["ddl"]))


def schema_text(url: str) -> str:
    """The DDL for the store ``url`` names.

    Raises:
        AdminError: memory://, a store with no schema (Redis), or a malformed URL.
    """
    from ..stores.urls import open_store

    if url.split("://", 1)[0].lower() == "memory":
        fail("memory:// keeps no schema (and an admin command refuses it)", EXIT_USAGE)
    try:
        store = open_store(url)  # lazy: nothing connects, nothing is created
    except ConfigurationError as exc:
        raise AdminError(str(exc), EXIT_USAGE) from exc
    if not isinstance(store, AsyncSupportsSchema):
        fail(f"{type(store).__name__} keeps no schema: there is no DDL to run", EXIT_UNSUPPORTED)
    return store.schema_sql()


__all__ = ["POLL_SECONDS", "interactive", "purge", "schema", "schema_text"]
