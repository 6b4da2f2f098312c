"""What every admin command shares: the ``--store`` and ``--json`` options, opening the store,
running the command against it, and failing in one line.

A command is an ``async`` function of the open store; :func:`run` opens the store with
:func:`open_admin`, runs the function, closes the store and turns any failure into one line on
stderr and an exit code (:data:`EXIT_CODES`) — never a traceback. A new command (``migrate``)
needs only::

    @cli.command()
    @store_option
    @json_option
    def mycommand(store_url: str, as_json: bool) -> None:
        result = run(store_url, lambda store: work(store))
        emit(result, as_json, render)

Admin commands never create a store: :func:`open_admin` refuses ``memory://`` (a fresh process
would see an empty store and report nothing wrong) and never creates a SQLite file or table.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any, NoReturn, TypeVar

import click

from .._core.errors import ConfigurationError, SessionError
from .._core.ids import fingerprint_of_key
from ..stores._diagnose import capture_driver_warnings, describe
from ..stores.base import AsyncStore, AsyncSupportsScan, Record, is_marker
from ..stores.urls import open_admin_store

T = TypeVar("T")

EXIT_OK = 0
EXIT_FAILED = 1  # the store failed, a check failed, or nothing matched
EXIT_USAGE = 2  # bad options or URL, a store that does not exist, memory:// (click uses 2 too)
EXIT_UNSUPPORTED = 3  # the store cannot do this (no scan, no per-user index)
EXIT_INTERRUPTED = 130  # Ctrl-C

EXIT_CODES = {
    EXIT_OK: "success (purge on a store that expires records itself is a success too)",
    EXIT_FAILED: "the store failed or timed out, a check failed, or no session matched",
    EXIT_USAGE: "bad options or URL, memory://, a missing SQLite file or table, a schema mismatch",
    EXIT_UNSUPPORTED: "the store cannot do this (it has no scan or no per-user index)",
    EXIT_INTERRUPTED: "interrupted",
}

ENV_STORE_URL = "SOJOURN_STORE_URL"
ENV_DEBUG = "SOJOURN_DEBUG"  # set: an unexpected error shows its traceback (for bug reports)
SCAN_PAGE = 500


class AdminError(click.ClickException):
    """A failure the command reports in one line, with its own exit code."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        # click declares exit_code on the class; each failure here carries its own.
        self.exit_code = exit_code  # type: ignore[misc]

    def show(self, file: Any = None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


store_option = click.option(
    "--store",
    "store_url",
    required=True,
    envvar=ENV_STORE_URL,
    show_envvar=True,
    metavar="URL",
    help="Session store URL (sqlite:///…, redis://…, postgresql://…, mysql://…).",
)

json_option = click.option(
    "--json", "as_json", is_flag=True, help="Print JSON (for scripts) instead of tables."
)


def open_admin(url: str) -> AsyncStore:
    """The store at ``url`` for an admin command: never ``memory://``, never created here.

    Raises:
        AdminError: the URL is malformed, names a store that does not exist, or memory://
            (exit code :data:`EXIT_USAGE`).
    """
    try:
        return open_admin_store(url)
    except ConfigurationError as exc:
        raise AdminError(str(exc), EXIT_USAGE) from exc


def run(url: str, action: Callable[[AsyncStore], Awaitable[T]]) -> T:
    """Open the store, run ``action`` on it, close it; every failure becomes one line.

    Raises:
        AdminError: with the real cause ("connection refused at 127.0.0.1:5432").
    """
    store = open_admin(url)
    timeout = getattr(store, "timeout", None)

    async def body() -> T:
        try:
            return await action(store)
        finally:
            # Closing a store that never connected may fail too; the first error is the news.
            with contextlib.suppress(Exception):
                await store.aclose()

    with capture_driver_warnings() as notes, library_warnings():
        try:
            return asyncio.run(body())
        except click.ClickException:
            raise
        except KeyboardInterrupt:
            raise AdminError("interrupted", EXIT_INTERRUPTED) from None
        except ConfigurationError as exc:
            raise AdminError(describe(exc, url=url), EXIT_USAGE) from None
        except (SessionError, OSError, TimeoutError) as exc:
            raise AdminError(describe(exc, url=url, timeout=timeout, notes=notes)) from None
        except Exception as exc:  # a driver's own error: one line, no traceback
            if os.environ.get(ENV_DEBUG):
                raise  # the whole traceback, for a bug report
            line = describe(exc, url=url, timeout=timeout, notes=notes)
            raise AdminError(f"{type(exc).__name__}: {line}") from None


@contextlib.contextmanager
def library_warnings() -> Iterator[None]:
    """Sojourn's own warnings (a corrupt record skipped by a walk) as ``warning: …`` lines on
    stderr, instead of Python's bare last-resort output; only while a command runs."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING)
    handler.setFormatter(logging.Formatter("warning: %(message)s"))
    library = logging.getLogger("sojourn")
    saved = library.propagate
    library.addHandler(handler)
    library.propagate = False
    try:
        yield
    finally:
        library.removeHandler(handler)
        library.propagate = saved


def scanner(store: AsyncStore) -> AsyncSupportsScan:
    """``store`` as a store that can walk its records.

    Raises:
        AdminError: it cannot (exit code :data:`EXIT_UNSUPPORTED`).
    """
    if not isinstance(store, AsyncSupportsScan):
        raise AdminError(
            f"{type(store).__name__} cannot list its sessions (it has no scan); "
            "use --user to go through the per-user index",
            EXIT_UNSUPPORTED,
        )
    return store


async def walk(store: AsyncStore, now: float, page: int = SCAN_PAGE) -> AsyncIterator[Record]:
    """Every live session in ``store`` (successor markers left out), page by page."""
    scan = scanner(store)
    cursor: str | None = None
    while True:
        records, cursor = await scan.scan(now, cursor, page)
        for record in records:
            if not is_marker(record):
                yield record
        if cursor is None:
            return


def session_summary(record: Record) -> dict[str, Any]:
    """What an admin may see of a session in a listing: never its key, ID or data."""
    return {
        "fingerprint": fingerprint_of_key(record.key),
        "principal": record.principal,
        "created_at": record.created_at,
        "last_seen_at": record.renewed_at,
        "expires_at": record.expires_at,
        "authenticated_at": record.authenticated_at,
        "user_agent": record.meta.get("user_agent"),
        "ip": record.meta.get("ip"),
    }


def emit(data: Any, as_json: bool, render: Callable[[Any], None]) -> None:
    """Print ``data`` as JSON (one document on stdout) or with ``render`` (rich tables)."""
    if as_json:
        click.echo(json.dumps(data, indent=2, sort_keys=True, default=_jsonable))
    else:
        render(data)


def fail(message: str, exit_code: int = EXIT_FAILED) -> NoReturn:
    """Stop the command with one line on stderr."""
    raise AdminError(message, exit_code)


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


__all__ = [
    "ENV_DEBUG",
    "ENV_STORE_URL",
    "EXIT_CODES",
    "EXIT_FAILED",
    "EXIT_INTERRUPTED",
    "EXIT_OK",
    "EXIT_UNSUPPORTED",
    "EXIT_USAGE",
    "SCAN_PAGE",
    "AdminError",
    "emit",
    "fail",
    "json_option",
    "library_warnings",
    "open_admin",
    "run",
    "scanner",
    "session_summary",
    "store_option",
    "walk",
]
