"""The ``sojourn`` command group: ``demo`` and ``keygen`` here, the admin commands from their
modules (``_sessions``, ``_stats``, ``_maintenance``, ``_check``; shared helpers in ``_admin``).

Heavy imports (Starlette, uvicorn, drivers) happen inside each command.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

import click

from .._core.errors import ConfigurationError
from ..stores.base import AsyncStore, AsyncSupportsCount
from ..stores.urls import redact
from ._admin import EXIT_UNSUPPORTED, emit, fail, json_option, run, store_option
from ._check import check
from ._maintenance import purge, schema
from ._migrate import migrate
from ._sessions import sessions
from ._stats import stats

if TYPE_CHECKING:
    from starlette.applications import Starlette

DEFAULT_STORE_URL = "sqlite:///sojourn-demo.db"  # also sojourn.demo.DEFAULT_STORE_URL
MISSING_DEMO = "the demo needs Starlette and uvicorn: pip install 'sojourn[demo]'"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sojourn")
def cli() -> None:
    """Sojourn: server-side sessions. Run the demo or look after a session store.

    Admin commands take the store from --store or SOJOURN_STORE_URL. Exit codes: 0 success,
    1 the store failed, a check failed or nothing matched, 2 bad usage or a store that does
    not exist (memory:// included), 3 the store cannot do this, 130 interrupted.
    """


def build_app(store_url: str, secure_cookies: bool) -> Starlette:
    """The demo app for these options: separate from serving, so tests can check it."""
    try:
        from ..demo import build_demo
    except ImportError as exc:
        raise click.ClickException(MISSING_DEMO) from exc
    try:
        return build_demo(store_url, secure_cookies=secure_cookies)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from exc


def serve(app: Any, host: str, port: int) -> None:
    """Run ``app`` with uvicorn until interrupted."""
    try:
        import uvicorn
    except ImportError as exc:
        raise click.ClickException(MISSING_DEMO) from exc
    uvicorn.run(app, host=host, port=port, log_level="info")


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to bind.")
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535))
@click.option(
    "--store",
    "store_url",
    default=DEFAULT_STORE_URL,
    show_default=True,
    metavar="URL",
    help="Session store: sqlite:///relative.db, sqlite:////absolute.db, memory:// …",
)
@click.option(
    "--insecure-cookies/--secure-cookies",
    default=True,
    show_default=True,
    help="Send the cookie without Secure, named 'sid'. Only plain HTTP on a host other than "
    "localhost and 127.0.0.1 needs it: Chromium sends Secure cookies to http://localhost and "
    "http://127.0.0.1.",
)
def demo(host: str, port: int, store_url: str, insecure_cookies: bool) -> None:
    """Serve the demo web application (plain HTTP, for your machine only)."""
    app = build_app(store_url, secure_cookies=not insecure_cookies)
    click.echo(f"Sojourn demo on http://{host}:{port}/ with sessions in {redact(store_url)}")
    if insecure_cookies:
        click.echo(
            "Plain HTTP: the session cookie 'sid' is sent WITHOUT the Secure flag "
            "(development only; never do this in production)."
        )
    else:
        click.echo(
            "Secure cookies: the '__Host-sid' cookie is sent back over HTTPS, and over plain "
            "HTTP to localhost and 127.0.0.1 (Chromium does; other host names need HTTPS)."
        )
    serve(app, host, port)


STORE_OPTION = store_option  # the old name, kept for code that imported it


@cli.command()
@store_option
@json_option
def count(store_url: str, as_json: bool) -> None:
    """Print how many live sessions the store holds (``stats`` has the breakdown)."""
    now = time.time()
    live = run(store_url, lambda store: _count(store, now))
    emit({"live": live}, as_json, lambda data: click.echo(str(data["live"])))


async def _count(store: AsyncStore, now: float) -> int:
    if not isinstance(store, AsyncSupportsCount):
        fail(f"{type(store).__name__} cannot count its sessions", EXIT_UNSUPPORTED)
    return await store.count(now)


cli.add_command(sessions)
cli.add_command(stats)
cli.add_command(purge)
cli.add_command(schema)
cli.add_command(check)
cli.add_command(migrate)


@cli.command()
@click.option("-n", "count", default=1, show_default=True, type=click.IntRange(1, 100))
def keygen(count: int) -> None:
    """Print new keys for CookieStore, one per line (256 random bits each).

    Put the newest first in the store's key list; keep older keys after it until every
    cookie sealed with them has expired, then remove them.
    """
    try:
        from ..stores.cookie import generate_key
    except ImportError as exc:
        raise click.ClickException(
            "keygen needs cryptography: pip install 'sojourn[cookie]'"
        ) from exc
    for _ in range(count):
        click.echo(generate_key())


__all__ = [
    "DEFAULT_STORE_URL",
    "MISSING_DEMO",
    "STORE_OPTION",
    "build_app",
    "check",
    "cli",
    "count",
    "demo",
    "keygen",
    "purge",
    "schema",
    "serve",
    "sessions",
    "stats",
]
