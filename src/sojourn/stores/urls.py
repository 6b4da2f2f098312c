"""Open a store from a URL, for the ``sojourn`` command and quick scripts.

Applications should build their store object and pass it in; this helper exists so that a
command line can say ``--store sqlite:///sessions.db`` or ``--store redis://localhost/0``.

Supported URLs:

- ``memory://`` — an in-process store (lost on exit).
- ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (three slashes, then
  the path; a fourth slash makes it absolute, as in SQLAlchemy).
- ``redis://`` / ``rediss://``, ``postgresql://`` / ``postgres://``, ``mysql://`` /
  ``mariadb://`` — handed whole to the store's ``from_url``. Those stores are imported only
  here, inside their branch, so a missing extra is reported by name.

Every URL but ``memory://`` may carry one option of sojourn's own, ``timeout`` — the store's
bound on each call, in seconds (default 2; see :mod:`sojourn.stores._timeouts`) — as in
``redis://localhost/0?timeout=0.5`` or ``sqlite:///sessions.db?timeout=1``. It is taken out of
the URL before the rest goes to the store; other query options are left as they are.

Nothing connects here: every store connects lazily on first use.
"""

from __future__ import annotations

import importlib
from typing import cast
from urllib.parse import unquote, urlsplit

from .._core.errors import ConfigurationError
from ._timeouts import check_timeout
from .base import AsyncStore, Store
from .memory import AsyncMemoryStore, MemoryStore

# scheme -> (module, async class, sync class, extra)
_SERVER_STORES: dict[str, tuple[str, str, str, str]] = {
    "redis": ("sojourn.stores.redis", "AsyncRedisStore", "RedisStore", "redis"),
    "rediss": ("sojourn.stores.redis", "AsyncRedisStore", "RedisStore", "redis"),
    "postgresql": ("sojourn.stores.postgres", "AsyncPostgresStore", "PostgresStore", "postgres"),
    "postgres": ("sojourn.stores.postgres", "AsyncPostgresStore", "PostgresStore", "postgres"),
    "mysql": ("sojourn.stores.mysql", "AsyncMySQLStore", "MySQLStore", "mysql"),
    "mariadb": ("sojourn.stores.mysql", "AsyncMySQLStore", "MySQLStore", "mysql"),
}

SCHEMES = ("memory", "sqlite", *_SERVER_STORES)


def open_store(url: str) -> AsyncStore:
    """An async store for ``url``; see the module docstring for the URL forms.

    Raises:
        ConfigurationError: the scheme is unknown, the URL is malformed, or the store's extra
            is not installed.
    """
    scheme = _scheme(url)
    if scheme == "memory":
        _memory(url)
        return AsyncMemoryStore()
    url, options = split_options(url)
    if scheme == "sqlite":
        path = sqlite_path(url)
        module = _import("sojourn.stores.sqlite", "sqlite")
        return cast(AsyncStore, _attribute(module, "AsyncSQLiteStore", "sqlite")(path, **options))
    return cast(AsyncStore, _from_url(url, scheme, sync=False, options=options))


def open_sync_store(url: str) -> Store:
    """A sync store for ``url``; the same URLs as :func:`open_store`.

    Raises:
        ConfigurationError: as for :func:`open_store`.
    """
    scheme = _scheme(url)
    if scheme == "memory":
        _memory(url)
        return MemoryStore()
    url, options = split_options(url)
    if scheme == "sqlite":
        path = sqlite_path(url)
        module = _import("sojourn.stores.sqlite", "sqlite")
        return cast(Store, _attribute(module, "SQLiteStore", "sqlite")(path, **options))
    return cast(Store, _from_url(url, scheme, sync=True, options=options))


def split_options(url: str) -> tuple[str, dict[str, float]]:
    """``url`` without sojourn's own query options, and those options as keyword arguments.

    The one option is ``timeout`` (seconds). The rest of the query is kept byte for byte, not
    re-encoded: drivers decode their URLs differently (libpq does not read ``+`` as a space).

    Raises:
        ConfigurationError: ``timeout`` is given twice or is not a positive, finite number.
    """
    base, mark, rest = url.partition("?")
    if not mark:
        return url, {}
    query, hash_, fragment = rest.partition("#")
    kept: list[str] = []
    found: list[str] = []
    for item in query.split("&"):
        name, _, value = item.partition("=")
        if unquote(name) == "timeout":
            found.append(unquote(value))
        else:
            kept.append(item)
    if not found:
        return url, {}
    if len(found) > 1:
        raise ConfigurationError("the store URL gives timeout more than once")
    try:
        seconds = float(found[0])
    except ValueError:
        raise ConfigurationError("the store URL's timeout must be a number of seconds") from None
    stripped = base + ("?" + "&".join(kept) if kept else "") + (hash_ + fragment)
    return stripped, {"timeout": check_timeout(seconds, "the store URL's timeout")}


def sqlite_path(url: str) -> str:
    """The file path in a ``sqlite:///…`` URL (relative with three slashes, absolute with four).

    Raises:
        ConfigurationError: the URL has a host, a query, or no path.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "sqlite":
        raise ConfigurationError("not a sqlite:// URL")
    if parts.netloc or parts.query or parts.fragment:
        raise ConfigurationError(
            "use sqlite:///relative/path.db or sqlite:////absolute/path.db (no host or query)"
        )
    path = unquote(parts.path[1:])  # drop the slash that ends "sqlite://"
    if not path or path.endswith("/"):
        raise ConfigurationError("a sqlite:// URL needs a file path, e.g. sqlite:///sessions.db")
    return path


def _scheme(url: str) -> str:
    if not isinstance(url, str) or "://" not in url:
        raise ConfigurationError(
            f"a store URL looks like scheme://…; supported schemes: {', '.join(SCHEMES)}"
        )
    scheme = url.split("://", 1)[0].lower()
    if scheme not in SCHEMES:
        # Never echo the URL: it may carry a password.
        raise ConfigurationError(
            f"unknown store URL scheme {scheme[:20]!r}; supported: {', '.join(SCHEMES)}"
        )
    return scheme


def _memory(url: str) -> None:
    if url.split("://", 1)[1] not in ("", "/"):
        raise ConfigurationError("a memory store URL is just memory://")


def _from_url(url: str, scheme: str, *, sync: bool, options: dict[str, float]) -> object:
    module_name, async_name, sync_name, extra = _SERVER_STORES[scheme]
    module = _import(module_name, extra)
    factory = _attribute(module, sync_name if sync else async_name, extra)
    from_url = getattr(factory, "from_url", None)
    if from_url is None:
        raise ConfigurationError(f"{factory.__name__} cannot be opened from a URL")
    return from_url(url, **options)


def _import(module_name: str, extra: str) -> object:
    try:
        return importlib.import_module(module_name)
    except ImportError as exc:
        hint = "" if extra == "sqlite" else f"; pip install 'sojourn[{extra}]'"
        raise ConfigurationError(f"cannot import {module_name} ({exc}){hint}") from exc


def _attribute(module: object, name: str, extra: str) -> type:
    factory = getattr(module, name, None)
    if not isinstance(factory, type):
        raise ConfigurationError(f"this version of sojourn has no {name} ({extra} store)")
    return factory


def redact(url: str) -> str:
    """``url`` with any password replaced by ``***``, for printing."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    user = parts.username or ""
    return parts._replace(netloc=f"{user}:***@{host}").geturl()


__all__ = [
    "SCHEMES",
    "open_store",
    "open_sync_store",
    "redact",
    "split_options",
    "sqlite_path",
]
