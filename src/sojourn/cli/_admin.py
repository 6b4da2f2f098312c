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
import math
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import click

from .._core.errors import ConfigurationError, SessionError
from .._core.ids import fingerprint_of_key
from ..stores._diagnose import capture_driver_warnings, describe
from ..stores.base import AsyncStore, AsyncSupportsScan, Record
from ..stores.urls import redact

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
        return _open_admin_store(url)
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

    with capture_driver_warnings() as notes:
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
            line = describe(exc, url=url, timeout=timeout, notes=notes)
            raise AdminError(f"{type(exc).__name__}: {line}") from None


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


def is_marker(record: Record) -> bool:
    """True for a successor marker (left under a rotated ID's key), not a session."""
    return _is_marker(record)


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


def where(url: str) -> str:
    """The store URL as it may be printed (no password)."""
    return redact(url)


def _jsonable(value: object) -> object:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return str(value)


# -- what the store branch provides, with a stand-in until it is there ---------------------------
# ``open_admin_store`` (stores/urls.py) and ``is_marker`` (_core) belong to the store side; until
# they exist this module makes do with the same rules, so the commands work either way.


def _open_admin_store(url: str) -> AsyncStore:
    from ..stores import urls

    opener = getattr(urls, "open_admin_store", None)
    if opener is not None:
        return opener(url)  # type: ignore[no-any-return]
    return _open_admin_fallback(url)


def _open_admin_fallback(url: str) -> AsyncStore:
    import os

    from ..stores.urls import open_store, split_options, sqlite_path

    scheme = url.split("://", 1)[0].lower() if isinstance(url, str) and "://" in url else ""
    if scheme == "memory":
        raise ConfigurationError(
            "memory:// lives inside one process: an admin command would see an empty store"
        )
    if scheme == "sqlite":
        path = sqlite_path(split_options(url)[0])
        if not os.path.isfile(path):
            raise ConfigurationError(f"no SQLite database at {path!r} (not creating one)")
    store = open_store(url)
    if hasattr(store, "create_schema"):
        store.create_schema = False
    return store


def _is_marker(record: Record) -> bool:
    try:
        from .._core import records

        found = getattr(records, "is_marker", None)
    except ImportError:  # pragma: no cover
        found = None
    if callable(found):
        return bool(found(record))
    return (
        not record.fields
        and record.principal is None
        and bool(record.meta.get("rotation"))
        and bool(record.meta.get("successor"))
    )


__all__ = [
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
    "is_marker",
    "json_option",
    "open_admin",
    "run",
    "scanner",
    "session_summary",
    "store_option",
    "walk",
]
