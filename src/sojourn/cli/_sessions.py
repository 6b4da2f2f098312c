"""``sojourn sessions list | show | revoke``: look at and end sessions from the command line.

Sessions are named by fingerprint (:func:`sojourn.fingerprint`), the label the library puts in
logs and on "your devices" pages; the command never prints a session ID or a store key.
With ``--user`` a command goes through the store's per-user index (cheap); without it, it
walks the store with ``scan`` (every record, page by page). Successor markers are skipped.

``show`` prints the names and encoded sizes of the session's keys, not their values: session
data is the application's (CSRF tokens, OAuth tokens, personal data) and a terminal's output
ends up in scrollback, tickets and chat. ``--values`` prints them when an operator means to.
"""

from __future__ import annotations

import heapq
import re
import time
from typing import Any

import click
from rich.markup import escape

from .._core.binding import visible_meta
from .._core.ids import fingerprint_of_key
from .._core.timing import PREFIX, reserved, user_meta
from ..stores.base import AsyncStore, AsyncSupportsPrincipals, Record
from . import _render
from ._admin import (
    EXIT_UNSUPPORTED,
    EXIT_USAGE,
    emit,
    fail,
    json_option,
    run,
    session_summary,
    store_option,
    walk,
)

FINGERPRINT = re.compile(r"[0-9a-f]{12}")
DEFAULT_LIMIT = 100


@click.group()
def sessions() -> None:
    """List, inspect and revoke sessions (by fingerprint, never by ID)."""


def _fingerprint(value: str | None, what: str = "FINGERPRINT") -> str | None:
    if value is None:
        return None
    value = value.strip().lower()
    if not FINGERPRINT.fullmatch(value):
        raise click.BadParameter("a fingerprint is 12 hexadecimal characters", param_hint=what)
    return value


def _index(store: AsyncStore) -> AsyncSupportsPrincipals:
    if not isinstance(store, AsyncSupportsPrincipals):
        fail(f"{type(store).__name__} keeps no per-user index", EXIT_UNSUPPORTED)
    return store


# -- list ---------------------------------------------------------------------------------------


@sessions.command("list")
@store_option
@click.option("--user", "principal", metavar="USER", help="Only this user's sessions (index).")
@click.option(
    "--limit",
    default=DEFAULT_LIMIT,
    show_default=True,
    type=click.IntRange(0),
    help="At most this many, the most recently seen first; 0 for all.",
)
@json_option
def list_sessions(store_url: str, principal: str | None, limit: int, as_json: bool) -> None:
    """List live sessions: fingerprint, user, created, last seen, expires, user agent, IP."""
    now = time.time()
    total, records = run(store_url, lambda store: _list(store, principal, limit, now))
    rows = [session_summary(r) for r in records]

    def render(_: Any) -> None:
        out = _render.console()
        if not rows:
            out.print("no live sessions" + (f" for {principal!r}" if principal else ""))
            return
        out.print(_render.sessions_table(rows, now))
        shown = f"{len(rows)} of {total}" if len(rows) < total else str(total)
        out.print(f"{shown} live session(s)")

    emit({"total": total, "sessions": rows}, as_json, render)


async def _list(
    store: AsyncStore, principal: str | None, limit: int, now: float
) -> tuple[int, list[Record]]:
    if principal is not None:
        found = [r for r in await _index(store).sessions_of(principal, now) if r.expires_at > now]
    else:
        found = [r async for r in walk(store, now)]
    total = len(found)
    if limit and total > limit:
        found = heapq.nlargest(limit, found, key=lambda r: r.renewed_at)
    else:
        found.sort(key=lambda r: r.renewed_at, reverse=True)
    return total, found


# -- show ---------------------------------------------------------------------------------------


@sessions.command("show")
@store_option
@click.argument("fingerprint")
@click.option("--user", "principal", metavar="USER", help="Look in this user's index (fast).")
@click.option("--values", is_flag=True, help="Also print each key's stored (JSON) value.")
@json_option
def show(
    store_url: str, fingerprint: str, principal: str | None, values: bool, as_json: bool
) -> None:
    """Show one session: deadlines, user, metadata and its keys (names and sizes)."""
    label = _fingerprint(fingerprint) or ""  # the argument is required: never empty
    now = time.time()
    record = run(store_url, lambda store: _find(store, label, principal, now))
    if record is None:
        where = f" among {principal!r}'s sessions" if principal else ""
        fail(f"no live session with fingerprint {label}{where}")
    data = session_summary(record)
    data["meta"] = user_meta(visible_meta(record.meta))  # a binding's marks are not the user's
    data["timing"] = reserved(record.meta)  # remember-me and the session's own timeouts
    data["keys"] = {name: len(value) for name, value in sorted(record.fields.items())}
    if values:
        data["values"] = {
            name: value.decode("utf-8", "replace") for name, value in sorted(record.fields.items())
        }

    def render(_: Any) -> None:
        out = _render.console()
        pairs = [
            ("fingerprint", data["fingerprint"]),
            ("principal", data["principal"] or "anonymous"),
            ("created", _render.when(record.created_at)),
            ("authenticated", _render.when(record.authenticated_at)),
            ("last seen", _render.moment(record.renewed_at, now)),
            ("expires", _render.moment(record.expires_at, now)),
        ]
        pairs += [(f"meta {k}", v) for k, v in sorted(data["meta"].items())]
        pairs += [(k.removeprefix(PREFIX), v) for k, v in sorted(data["timing"].items())]
        out.print(_render.pairs_table([(k, escape(v)) for k, v in pairs]))
        out.print(f"{len(data['keys'])} key(s), {sum(data['keys'].values())} bytes encoded:")
        for name, size in data["keys"].items():
            shown = f" = {escape(data['values'][name])}" if values else ""
            out.print(f"  {escape(name)} ({size} B){shown}")

    emit(data, as_json, render)


async def _find(store: AsyncStore, label: str, principal: str | None, now: float) -> Record | None:
    if principal is not None:
        for record in await _index(store).sessions_of(principal, now):
            if fingerprint_of_key(record.key) == label:
                # The index may leave fields out; a plain load (no renewal) has them all.
                return await store.load(record.key, now)
        return None
    async for record in walk(store, now):
        if fingerprint_of_key(record.key) == label:
            return record
    return None


# -- revoke -------------------------------------------------------------------------------------


@sessions.command("revoke")
@store_option
@click.argument("fingerprint", required=False)
@click.option("--user", "principal", required=True, metavar="USER", help="Whose sessions.")
@click.option("--all", "everything", is_flag=True, help="Every session of the user.")
@click.option("--except", "keep", metavar="FINGERPRINT", help="With --all: keep this one.")
@json_option
def revoke(
    store_url: str,
    fingerprint: str | None,
    principal: str,
    everything: bool,
    keep: str | None,
    as_json: bool,
) -> None:
    """End one session of a user (FINGERPRINT), or all of them (--all [--except FINGERPRINT]).

    With --except, a fingerprint that matches none of the user's sessions revokes nothing:
    a typo must not sign the user out everywhere.
    """
    label = _fingerprint(fingerprint)
    kept = _fingerprint(keep, "--except")
    if (label is None) == (not everything):
        fail("give either a FINGERPRINT or --all", EXIT_USAGE)
    if kept is not None and not everything:
        fail("--except goes with --all", EXIT_USAGE)
    now = time.time()
    if label is not None:
        revoked = run(store_url, lambda store: _revoke_one(store, principal, label, now))
        if not revoked:
            fail(f"no live session with fingerprint {label} among {principal!r}'s sessions")
        count = 1
    else:
        count = run(store_url, lambda store: _revoke_all(store, principal, kept, now))

    def render(_: Any) -> None:
        click.echo(f"revoked {count} session(s) of {principal!r}")

    emit({"principal": principal, "revoked": count, "kept": kept}, as_json, render)


async def _revoke_one(store: AsyncStore, principal: str, label: str, now: float) -> bool:
    for record in await _index(store).sessions_of(principal, now):
        if fingerprint_of_key(record.key) == label:
            await store.delete(record.key)
            return True
    return False


async def _revoke_all(store: AsyncStore, principal: str, kept: str | None, now: float) -> int:
    index = _index(store)
    keep_key: str | None = None
    if kept is not None:
        matches = [r.key for r in await index.sessions_of(principal, now)]
        keep_key = next((k for k in matches if fingerprint_of_key(k) == kept), None)
        if keep_key is None:
            fail(
                f"no live session with fingerprint {kept} among {principal!r}'s sessions; "
                "nothing revoked"
            )
    return await index.delete_sessions_of(principal, keep=keep_key)


__all__ = ["DEFAULT_LIMIT", "FINGERPRINT", "list_sessions", "revoke", "sessions", "show"]
