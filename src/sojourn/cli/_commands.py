"""The click commands. Heavy imports (Starlette, uvicorn, drivers) happen inside each command."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import click

from .._core.errors import ConfigurationError, SessionError
from ..stores.base import AsyncStore, AsyncSupportsCount, AsyncSupportsPurge
from ..stores.urls import open_store, redact

if TYPE_CHECKING:
    from starlette.applications import Starlette

DEFAULT_STORE_URL = "sqlite:///sojourn-demo.db"  # also sojourn.demo.DEFAULT_STORE_URL
MISSING_DEMO = "the demo needs Starlette and uvicorn: pip install 'sojourn[demo]'"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="sojourn")
def cli() -> None:
    """Sojourn: server-side sessions. Run the demo or look after a session store."""


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
    help="Send the cookie without Secure, as plain HTTP on localhost needs.",
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
            "Secure cookies: browsers send the '__Host-sid' cookie back only over HTTPS "
            "(or to localhost, in some browsers)."
        )
    serve(app, host, port)


STORE_OPTION = click.option(
    "--store",
    "store_url",
    required=True,
    metavar="URL",
    help="Session store URL (sqlite:///…, redis://…, postgresql://…, mysql://…).",
)


@cli.command()
@STORE_OPTION
def count(store_url: str) -> None:
    """Print how many live sessions the store holds."""
    click.echo(str(_run(store_url, _count)))


@cli.command()
@STORE_OPTION
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1))
def purge(store_url: str, batch_size: int) -> None:
    """Delete expired sessions (for stores that do not expire records by themselves)."""
    deleted = _run(store_url, lambda store: _purge(store, batch_size))
    click.echo(f"purged {deleted} expired session(s)")


async def _count(store: AsyncStore) -> int:
    if not isinstance(store, AsyncSupportsCount):
        raise click.ClickException(f"{type(store).__name__} cannot count its sessions")
    return await store.count(time.time())


async def _purge(store: AsyncStore, batch_size: int) -> int:
    if not isinstance(store, AsyncSupportsPurge):
        raise click.ClickException(
            f"{type(store).__name__} expires sessions by itself; there is nothing to purge"
        )
    return await store.purge_expired(time.time(), batch_size)


def _run(store_url: str, action: Any) -> int:
    try:
        store = open_store(store_url)
    except ConfigurationError as exc:
        raise click.BadParameter(str(exc), param_hint="--store") from exc

    async def run() -> int:
        try:
            result: int = await action(store)
            return result
        except SessionError as exc:
            raise click.ClickException(f"{type(exc).__name__}: {exc}") from exc
        finally:
            await store.aclose()

    return asyncio.run(run())


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
    "cli",
    "count",
    "demo",
    "keygen",
    "purge",
    "serve",
]
