"""``sojourn check``: can this machine use the store, and is the store what sojourn expects?

Four checks, each reported on its own line, and exit 1 if any fails:

1. connectivity — a read of a random key (no session has it) answers in time; if it does not,
   the command stops there with the one-line cause, as every command does;
2. schema — the SQL table's recorded layout version is the one this release writes (stores
   without a schema pass with "none needed");
3. clock — this machine's clock against the store server's, within ``--max-skew`` (deadlines
   are written with the application's clock; Redis expires keys by its own);
4. round trip — a throwaway record under a random key is created, loaded, changed, loaded
   and deleted, and each step does what the store contract says. It has no principal (so no
   index entry) and expires in a minute, so even an interrupted check leaves nothing behind
   for long.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass
from typing import Any

import click
from rich.markup import escape
from rich.table import Table

from ..stores._diagnose import describe
from ..stores.base import AsyncStore, Changes, Record
from . import _clock, _render
from ._admin import EXIT_FAILED, emit, fail, json_option, run, store_option

PROBE_FIELD = "sojourn.check"
PROBE_SECONDS = 60.0
MARKS = {True: "[green]ok[/green]", False: "[red]FAIL[/red]", None: "[yellow]n/a[/yellow]"}


@dataclass
class Outcome:
    """One check: ``ok`` is ``True``, ``False``, or ``None`` when the store cannot tell."""

    name: str
    ok: bool | None
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.name, "ok": self.ok, "detail": self.detail}


@click.command()
@store_option
@click.option(
    "--max-skew",
    default=2.0,
    show_default=True,
    type=click.FloatRange(0, min_open=True),
    help="Seconds the store server's clock may differ from this machine's.",
)
@json_option
def check(store_url: str, max_skew: float, as_json: bool) -> None:
    """Verify connectivity, schema version, clock skew and a session round trip."""
    outcomes = run(store_url, lambda store: run_checks(store, store_url, max_skew))
    failed = [o for o in outcomes if o.ok is False]

    def render(_: Any) -> None:
        table = Table(show_header=False, show_edge=False, box=None)
        for column in ("", "check", "detail"):
            table.add_column(column, overflow="fold")
        for o in outcomes:
            table.add_row(MARKS[o.ok], o.name, escape(o.detail))
        _render.console().print(table)

    emit({"ok": not failed, "checks": [o.as_dict() for o in outcomes]}, as_json, render)
    if failed:
        fail(f"{len(failed)} check(s) failed: {', '.join(o.name for o in failed)}", EXIT_FAILED)


async def run_checks(store: AsyncStore, url: str, max_skew: float) -> list[Outcome]:
    """Every check, in order.

    A store that cannot be reached raises, as in every command (one line, exit 1): the other
    checks need it.
    """
    timeout = getattr(store, "timeout", None)
    started = time.perf_counter()
    await store.load(secrets.token_hex(32), time.time())
    elapsed = (time.perf_counter() - started) * 1000
    outcomes = [Outcome("connectivity", True, f"a read answered in {elapsed:.1f} ms")]
    for name, step in (("schema", _schema), ("clock", _skew), ("round trip", _round_trip)):
        try:
            outcomes.append(await step(store, max_skew))
        except Exception as exc:
            outcomes.append(Outcome(name, False, describe(exc, url=url, timeout=timeout)))
    return outcomes


async def _schema(store: AsyncStore, _: float) -> Outcome:
    found = await _clock.schema_version(store)
    if found is None:
        return Outcome("schema", True, "none needed (this store keeps no schema)")
    version, expected = found
    if version == _clock.NO_SCHEMA:
        return Outcome(
            "schema", False, f"the table records no schema version ({expected} expected)"
        )
    if version == expected:
        return Outcome("schema", True, f"version {version}")
    return Outcome("schema", False, f"version {version}, this release expects {expected}")


async def _skew(store: AsyncStore, max_skew: float) -> Outcome:
    before = time.time()
    server = await _clock.server_time(store)
    after = time.time()
    if server is None:
        return Outcome("clock", None, "this store has no server clock to compare")
    skew = server - (before + after) / 2
    detail = f"the store's clock is {abs(skew):.3f} s {'ahead' if skew > 0 else 'behind'}"
    if abs(skew) > max_skew:
        return Outcome("clock", False, f"{detail} (more than {max_skew:g} s)")
    return Outcome("clock", True, detail)


async def _round_trip(store: AsyncStore, _: float) -> Outcome:
    now = time.time()
    key = secrets.token_hex(32)
    record = Record(
        key=key,
        fields={PROBE_FIELD: b'"created"'},
        principal=None,
        created_at=now,
        renewed_at=now,
        expires_at=now + PROBE_SECONDS,
    )
    try:
        await store.create(record)
        loaded = await store.load(key, now)
        if loaded is None or dict(loaded.fields) != {PROBE_FIELD: b'"created"'}:
            return Outcome("round trip", False, "a record just created did not load back")
        changed = Changes(now, now + PROBE_SECONDS, set={PROBE_FIELD: b'"applied"'})
        if not await store.apply(key, changed):
            return Outcome("round trip", False, "a change to a live record was not applied")
        loaded = await store.load(key, now)
        if loaded is None or dict(loaded.fields) != {PROBE_FIELD: b'"applied"'}:
            return Outcome("round trip", False, "an applied change did not load back")
    finally:
        await store.delete(key)
    if await store.load(key, now) is not None:
        return Outcome("round trip", False, "a deleted record still loads")
    return Outcome("round trip", True, "create, load, apply, load, delete")


__all__ = ["PROBE_FIELD", "PROBE_SECONDS", "Outcome", "check", "run_checks"]
