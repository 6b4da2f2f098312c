"""Open a store from a URL: one parser for the library, the ``sojourn`` command and scripts.

Applications usually build their store object and pass it in; a URL lets a command line or a
config file say ``--store sqlite:///sessions.db`` or ``SOJOURN_STORE=redis://cache/0?prefix=app:``.

Supported URLs:

- ``memory://`` — an in-process store (lost on exit; takes no options).
- ``sqlite:///relative/path.db`` and ``sqlite:////absolute/path.db`` (three slashes, then
  the path; a fourth slash makes it absolute, as in SQLAlchemy).
- ``redis://`` / ``rediss://`` (the database number in the path: ``redis://h:6379/3``),
  ``postgresql://`` / ``postgres://``, ``mysql://`` / ``mariadb://`` — handed to the store's
  ``from_url`` once sojourn's options are taken out. Those stores are imported only here,
  inside their branch, so a missing extra is reported by name.

Sojourn's own query options, taken out of the URL before the driver sees it (values are
percent-decoded; each may appear once):

=========== ========================== ==================================================
option      stores                     meaning
=========== ========================== ==================================================
``timeout`` all but memory             the bound on each store call, in seconds (default
                                       2; see :mod:`sojourn.stores._timeouts`)
``table``   SQLite, PostgreSQL, MySQL  the session table (default ``sojourn_sessions``;
                                       validated as an identifier by the store)
``prefix``  Redis                      the key prefix (default ``sojourn:``; ``app%3A``
                                       or ``app:`` for ``app:``)
``cluster`` Redis                      ``true`` to talk to a Redis Cluster
``linger``  Redis                      seconds a key outlives its session's deadline, so
                                       an expiry can be reported (default 300; ``0``: none)
=========== ========================== ==================================================

For example ``redis://cache:6379/0?prefix=app:&timeout=0.5`` or
``postgresql://app@db/app?table=web_sessions&sslmode=require``. An option a store does not
take is an error, never dropped: a dropped ``table`` or ``prefix`` would act on other data
than the one meant (an app's sessions counted as zero, a default table purged). The rest of
the query goes to the driver untouched, and each store refuses what its driver would not
read: redis-py's own options (``socket_keepalive``, ``ssl_cert_reqs`` …) pass, libpq's
parameters pass (``sslmode``, ``application_name`` …), and a MySQL URL takes none.

:func:`open_admin_store` / :func:`open_sync_admin_store` open the same URLs for an admin
command, which must act on the application's existing store: they refuse ``memory://`` and
never create anything (a missing SQLite file, or a missing SQL table, is an error naming it).

Nothing connects here: every store connects lazily on first use.
"""

from __future__ import annotations

import importlib
import math
import os
from collections.abc import Callable, Mapping
from typing import cast
from urllib.parse import unquote, urlsplit

from .._core.errors import ConfigurationError
from ._timeouts import check_timeout
from .base import AsyncStore, Store
from .memory import AsyncMemoryStore, MemoryStore

_FAMILIES = {
    "sqlite": "sqlite",
    "redis": "redis",
    "rediss": "redis",
    "postgresql": "postgres",
    "postgres": "postgres",
    "mysql": "mysql",
    "mariadb": "mysql",
}

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
    """An async store for ``url``; see the module docstring for the URL forms and options.

    Raises:
        ConfigurationError: the scheme is unknown, the URL is malformed, an option is unknown
            to that store or has a bad value, or the store's extra is not installed.
    """
    return cast(AsyncStore, _open(url, sync=False, admin=False))


def open_sync_store(url: str) -> Store:
    """A sync store for ``url``; the same URLs as :func:`open_store`.

    Raises:
        ConfigurationError: as for :func:`open_store`.
    """
    return cast(Store, _open(url, sync=True, admin=False))


def open_admin_store(url: str) -> AsyncStore:
    """An async store for an admin command on ``url``: the app's existing store, never a new one.

    Beside what :func:`open_store` does, it refuses ``memory://`` (a store inside this process
    is empty: a command would list, count or purge nothing and say so with confidence), and
    it never creates anything: a SQLite file that does not exist is an error (and no file is
    made), and a missing SQL table is reported, naming it, on first use (the SQL stores are
    opened with ``create_schema=False``, and SQLite with ``create_file=False``).

    Raises:
        ConfigurationError: as for :func:`open_store`; or the URL is ``memory://``; or the
            SQLite file does not exist.
    """
    return cast(AsyncStore, _open(url, sync=False, admin=True))


def open_sync_admin_store(url: str) -> Store:
    """The sync twin of :func:`open_admin_store`.

    Raises:
        ConfigurationError: as for :func:`open_admin_store`.
    """
    return cast(Store, _open(url, sync=True, admin=True))


def _open(url: str, *, sync: bool, admin: bool) -> object:
    scheme = _scheme(url)
    if scheme == "memory":
        if admin:
            raise ConfigurationError(
                "memory:// is an empty store inside this command's own process: an admin "
                "command would act on nothing; name the application's store "
                "(sqlite:///…, redis://…, postgresql://…, mysql://…)"
            )
        _memory(url)
        return MemoryStore() if sync else AsyncMemoryStore()
    url, options = split_options(url)
    family = _FAMILIES[scheme]
    check_options(scheme, options)
    if family == "sqlite":
        path = sqlite_path(url)
        if admin:
            _existing_file(path)
            options.update(create_file=False, create_schema=False)
        module = _import("sojourn.stores.sqlite", "sqlite")
        name = "SQLiteStore" if sync else "AsyncSQLiteStore"
        return _attribute(module, name, "sqlite")(path, **options)
    if admin and family in ("postgres", "mysql"):
        options["create_schema"] = False
    return _from_url(url, scheme, sync=sync, options=options)


def check_options(scheme: str, options: Mapping[str, object]) -> None:
    """Refuse sojourn options that the store ``scheme`` names does not read.

    An option for another kind of store is a mistake that would otherwise be dropped, and a
    dropped ``table`` or ``prefix`` means acting on other data than the user meant.

    Raises:
        ConfigurationError: ``options`` holds one that store does not take.
    """
    family = _FAMILIES.get(scheme.lower())
    accepted = STORE_OPTIONS.get(family or "", ())
    for name in options:
        if name not in accepted:
            takes = ", ".join(accepted) or "no options"
            raise ConfigurationError(
                f"a {scheme.lower()}:// store URL takes no {name!r} option (it takes: {takes})"
            )


def split_options(url: str) -> tuple[str, dict[str, object]]:
    """``url`` without sojourn's own query options, and those options as keyword arguments.

    The options are those of :data:`SOJOURN_OPTIONS`: ``timeout`` (seconds, a float),
    ``table`` and ``prefix`` (text, percent-decoded; the stores validate them) and
    ``cluster`` (``true``/``false``, ``1``/``0``, ``yes``/``no``). The rest of the query is
    kept byte for byte, not re-encoded: drivers decode their URLs differently (libpq does not
    read ``+`` as a space). Which options a given store takes is :func:`check_options`'s call.

    Raises:
        ConfigurationError: an option is given twice or has a value of the wrong kind.
    """
    base, mark, rest = url.partition("?")
    if not mark:
        return url, {}
    query, hash_, fragment = rest.partition("#")
    kept: list[str] = []
    found: dict[str, str] = {}
    for item in query.split("&"):
        name, _, value = item.partition("=")
        name = unquote(name)
        if name not in SOJOURN_OPTIONS:
            kept.append(item)
        elif name in found:
            raise ConfigurationError(f"the store URL gives {name} more than once")
        else:
            found[name] = unquote(value)
    if not found:
        return url, {}
    stripped = base + ("?" + "&".join(kept) if kept else "") + (hash_ + fragment)
    return stripped, {name: _OPTION_PARSERS[name](value) for name, value in found.items()}


def _seconds(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        raise ConfigurationError("the store URL's timeout must be a number of seconds") from None
    return check_timeout(seconds, "the store URL's timeout")


def _linger(value: str) -> float:
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (0 <= seconds < math.inf):
        raise ConfigurationError("the store URL's linger must be a number of seconds, at least 0")
    return seconds


def _flag(value: str) -> bool:
    flag = _FLAGS.get(value.lower())
    if flag is None:
        raise ConfigurationError("the store URL's cluster option is true or false")
    return flag


_FLAGS = {"true": True, "1": True, "yes": True, "false": False, "0": False, "no": False}
_OPTION_PARSERS: dict[str, Callable[[str], object]] = {
    "cluster": _flag,
    "linger": _linger,
    "prefix": str,
    "table": str,
    "timeout": _seconds,
}
SOJOURN_OPTIONS = frozenset(_OPTION_PARSERS)
"""The query options sojourn reads itself (and takes out of the URL before the driver sees it)."""

STORE_OPTIONS: dict[str, tuple[str, ...]] = {
    "sqlite": ("table", "timeout"),
    "redis": ("cluster", "linger", "prefix", "timeout"),
    "postgres": ("table", "timeout"),
    "mysql": ("table", "timeout"),
}
"""The sojourn options each kind of store takes (keyword arguments of its constructor)."""


def _existing_file(path: str) -> None:
    if not os.path.isfile(path):
        what = "is not a file" if os.path.exists(path) else "does not exist"
        raise ConfigurationError(
            f"the SQLite database {path!r} {what}; an admin command never creates one "
            "(check the path: sqlite:///relative.db, sqlite:////absolute.db)"
        )


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


def _from_url(url: str, scheme: str, *, sync: bool, options: dict[str, object]) -> object:
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
    "SOJOURN_OPTIONS",
    "STORE_OPTIONS",
    "check_options",
    "open_admin_store",
    "open_store",
    "open_sync_admin_store",
    "open_sync_store",
    "redact",
    "split_options",
    "sqlite_path",
]
