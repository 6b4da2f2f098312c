"""``sojourn migrate --from URL --to URL``: copy every live session to another store.

The copy is :func:`sojourn.stores.migrating.async_copy_sessions`: each live session is created
in the target with its deadlines, principal and metadata, a session the target already has is
left alone, so a rerun copies nothing new. ``--state PATH`` saves the walk's cursor after every
page and resumes from it after a crash (the file is removed once the walk is done). The app
runs on ``MigratingStore(new, old)`` meanwhile; ``docs/migration.md`` is the whole recipe.

Both stores are opened as every admin command opens one (never ``memory://``, never created:
the app on ``MigratingStore`` has already created the new store's tables). A failure names the
store it came from, in one line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from .._core.errors import SessionExists
from ..stores._diagnose import describe
from ..stores.base import AsyncStore, AsyncSupportsCount, AsyncSupportsScan
from ..stores.migrating import CopyResult, async_copy_sessions, async_verify_copy
from ._admin import EXIT_FAILED, EXIT_UNSUPPORTED, EXIT_USAGE, AdminError, emit, open_admin, run
from ._maintenance import interactive

T = TypeVar("T")

STATE_VERSION = 1


@click.command()
@click.option("--from", "from_url", required=True, metavar="URL", help="The store to copy from.")
@click.option("--to", "to_url", required=True, metavar="URL", help="The store to copy into.")
@click.option("--batch", default=500, show_default=True, type=click.IntRange(1, 10_000))
@click.option("--verify", is_flag=True, help="Then compare the counts and a random sample.")
@click.option("--sample", default=100, show_default=True, type=click.IntRange(0), help="Verified.")
@click.option("--dry-run", is_flag=True, help="Write nothing; count what would be copied.")
@click.option(
    "--state",
    "state_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Save the cursor here after each page, and resume from it.",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON (for scripts).")
def migrate(
    from_url: str,
    to_url: str,
    batch: int,
    verify: bool,
    sample: int,
    dry_run: bool,
    state_path: Path | None,
    as_json: bool,
) -> None:
    """Copy every live session from one store to another; nobody is logged out.

    Idempotent: a session the target already has is left as it is. Exit codes: 0 done (and
    verified), 1 a store failed or the verification found a problem, 2 bad usage, 3 a store
    cannot walk its sessions.
    """
    if from_url == to_url:
        raise AdminError("--from and --to name the same store", EXIT_USAGE)
    state = _State(state_path, from_url, to_url) if state_path and not dry_run else None
    show = not as_json and interactive()

    async def action(source: AsyncStore) -> dict[str, Any]:
        target = open_admin(to_url)
        try:
            return await _migrate(
                _Side(source, from_url, "the source store"),
                _Side(target, to_url, "the target store"),
                batch, verify, sample, dry_run, state, show,
            )  # fmt: skip
        except _SideFailed as failed:
            raise AdminError(f"{failed.role}: {describe(failed.error, url=failed.url)}") from None
        finally:
            with contextlib.suppress(Exception):
                await target.aclose()

    data = run(from_url, action)
    data.update(source=_redact(from_url), target=_redact(to_url))
    emit(data, as_json, _render)
    if data["verify"] is not None and not data["verify"]["ok"]:
        raise SystemExit(EXIT_FAILED)


async def _migrate(
    source: AsyncStore,
    target: AsyncStore,
    batch: int,
    verify: bool,
    sample: int,
    dry_run: bool,
    state: _State | None,
    show: bool,
) -> dict[str, Any]:
    walkers = [("--from", source), ("--to", target)] if verify else [("--from", source)]
    for option, store in walkers:
        if not isinstance(store, AsyncSupportsScan):
            raise AdminError(
                f"the {option} store cannot walk its sessions (it has no scan)", EXIT_UNSUPPORTED
            )
    earlier = state.load() if state else None
    cursor = earlier.cursor if earlier else None
    total = await _expected(source) if show else None
    with _bar(show, total) as step:

        def progress(result: CopyResult) -> None:
            if state is not None:
                state.save(earlier.plus(result) if earlier else result)
            step((earlier.seen if earlier else 0) + result.seen)

        result = await async_copy_sessions(
            source, target, cursor=cursor, batch=batch, progress=progress, dry_run=dry_run
        )
    if earlier is not None:
        result = earlier.plus(result)
    if state is not None:
        state.done()
    checked = (
        await async_verify_copy(source, target, sample=sample, batch=batch) if verify else None
    )
    return {
        "copy": result.as_dict(),
        "resumed": earlier is not None,
        "verify": checked.as_dict() if checked else None,
    }


async def _expected(source: AsyncStore) -> int | None:
    """The bar's total: the source's own count (markers included), when it has one."""
    if isinstance(source, AsyncSupportsCount):
        import time

        return await source.count(time.time())
    return None


@contextlib.contextmanager
def _bar(show: bool, total: int | None) -> Any:
    """A callable that moves a rich progress bar on stderr (a no-op when nobody watches)."""
    if not show:
        yield lambda seen: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("migrating"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=Console(stderr=True), transient=True,
    )  # fmt: skip
    with bar:
        task = bar.add_task("migrate", total=total)
        yield lambda seen: bar.update(task, completed=seen)


class _State:
    """The ``--state`` file: which migration it belongs to, its cursor and its totals so far.

    Written whole to a temporary file and renamed over the old one, so a crash leaves either
    the previous page's state or this one's, never half a file. It records digests of the two
    URLs (never the URLs: they may carry passwords) to refuse resuming another migration.
    """

    def __init__(self, path: Path, from_url: str, to_url: str) -> None:
        self.path = path
        self.pair = hashlib.sha256(f"{from_url}\0{to_url}".encode()).hexdigest()

    def load(self) -> CopyResult | None:
        try:
            saved = json.loads(self.path.read_text())
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise AdminError(f"cannot read the state file {self.path}: {exc}", EXIT_USAGE) from None
        if not isinstance(saved, dict) or saved.get("version") != STATE_VERSION:
            raise AdminError(f"{self.path} is not a sojourn migrate state file", EXIT_USAGE)
        if saved.get("pair") != self.pair:
            raise AdminError(f"{self.path} belongs to another --from/--to pair", EXIT_USAGE)
        counts = saved.get("totals", {})
        return CopyResult(
            int(counts.get("copied", 0)), int(counts.get("present", 0)),
            int(counts.get("markers", 0)), int(counts.get("vanished", 0)), saved.get("cursor"),
        )  # fmt: skip

    def save(self, result: CopyResult) -> None:
        document = {
            "version": STATE_VERSION,
            "pair": self.pair,
            "cursor": result.cursor,
            "totals": {
                "copied": result.copied,
                "present": result.present,
                "markers": result.markers,
                "vanished": result.vanished,
            },
        }
        partial = self.path.with_name(self.path.name + ".tmp")
        # Owner-only: a cursor of the SQL and memory stores is a store key (never an ID, but
        # admin output shows no keys either).
        descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as file:
            file.write(json.dumps(document))
        os.replace(partial, self.path)

    def done(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()


class _SideFailed(Exception):
    """A store call failed; carries which store (``--from`` or ``--to``) for the message."""

    def __init__(self, role: str, url: str, error: BaseException) -> None:
        super().__init__(role)
        self.role, self.url, self.error = role, url, error


class _Side:
    """A store whose failures say which side of the migration they came from.

    Attributes pass through (``getattr`` raises for a capability the store lacks, so the
    runtime protocol checks still see exactly what it offers); ``SessionExists`` is an
    answer, not a failure, and passes through too.
    """

    def __init__(self, store: AsyncStore, url: str, role: str) -> None:
        self._store, self._url, self._role = store, url, role

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._store, name)
        if not callable(found):
            return found
        return _labelled(found, self)

    def __repr__(self) -> str:
        return repr(self._store)


def _labelled(call: Callable[..., Awaitable[T]], side: _Side) -> Callable[..., Awaitable[T]]:
    async def labelled(*args: Any, **kwargs: Any) -> T:
        try:
            return await call(*args, **kwargs)
        except (SessionExists, AdminError):
            raise
        except Exception as exc:
            raise _SideFailed(side._role, side._url, exc) from exc

    return labelled


def _redact(url: str) -> str:
    from ..stores.urls import redact

    return redact(url)


def _render(data: dict[str, Any]) -> None:
    copy = data["copy"]
    verb = "would copy" if copy["dry_run"] else "copied"
    click.echo(
        f"{verb} {copy['copied']} session(s) from {data['source']} to {data['target']}"
        + (" (resumed)" if data["resumed"] else "")
    )
    click.echo(
        f"  {copy['present']} already there, {copy['markers']} rotation marker(s) skipped, "
        f"{copy['vanished']} ended while being copied"
    )
    checked = data["verify"]
    if checked is None:
        return
    click.echo(
        f"verify: {checked['source_count']} live in the source, {checked['target_count']} in "
        f"the target; {checked['sampled']} sampled, {checked['touched']} used on the target "
        f"since, {len(checked['mismatches'])} wrong"
    )
    for mismatch in checked["mismatches"]:
        attributes = ", ".join(mismatch["attributes"])
        click.echo(f"  {mismatch['fingerprint']}: {mismatch['problem']} {attributes}".rstrip())
    click.echo("verify: ok" if checked["ok"] else "verify: FAILED (run migrate again, see above)")


__all__ = ["STATE_VERSION", "migrate"]
