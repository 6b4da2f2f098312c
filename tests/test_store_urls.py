"""open_store / open_sync_store: URL forms, lazy dispatch and clear errors."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, ClassVar

import pytest

from sojourn import AsyncMemoryStore, ConfigurationError, MemoryStore
from sojourn.stores.urls import (
    open_admin_store,
    open_store,
    open_sync_admin_store,
    open_sync_store,
    redact,
    split_options,
    sqlite_path,
)


@pytest.mark.parametrize("url", ["memory://", "memory:///", "MEMORY://"])
def test_memory_urls(url: str) -> None:
    assert isinstance(open_store(url), AsyncMemoryStore)
    assert isinstance(open_sync_store(url), MemoryStore)


def test_memory_url_takes_nothing_else() -> None:
    with pytest.raises(ConfigurationError):
        open_store("memory://somewhere")


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("sqlite:///sessions.db", "sessions.db"),
        ("sqlite:///var/sessions.db", "var/sessions.db"),
        ("sqlite:////abs/path.db", "/abs/path.db"),
        ("sqlite:////tmp/with%20space.db", "/tmp/with space.db"),
    ],
)
def test_sqlite_paths(url: str, path: str) -> None:
    assert sqlite_path(url) == path


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///", "sqlite://host/x.db", "sqlite:///x.db?mode=ro", "sqlite:///d/"],
)
def test_malformed_sqlite_urls(url: str) -> None:
    with pytest.raises(ConfigurationError):
        sqlite_path(url)


@pytest.mark.anyio
async def test_sqlite_store_opens_the_file(tmp_path: Path) -> None:
    from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore

    store = open_store(f"sqlite:///{tmp_path}/a.db")
    assert isinstance(store, AsyncSQLiteStore)
    await store.delete("0" * 64)  # first use creates the file
    await store.aclose()
    assert (tmp_path / "a.db").exists()
    sync = open_sync_store(f"sqlite:///{tmp_path}/b.db")
    assert isinstance(sync, SQLiteStore)
    sync.close()


@pytest.mark.parametrize(
    "url", ["ftp://x", "sessions.db", "", "file:///tmp/x.db", "http://redis:6379"]
)
def test_unknown_schemes_are_refused(url: str) -> None:
    with pytest.raises(ConfigurationError):
        open_store(url)
    with pytest.raises(ConfigurationError):
        open_sync_store(url)


@pytest.mark.sec("SEC-55")
def test_errors_never_echo_the_url() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store("bogus://user:hunter2@host/db")
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize(
    ("url", "module", "extra"),
    [
        ("redis://127.0.0.1:6379/0", "sojourn.stores.redis", "redis"),
        ("postgresql://postgres@127.0.0.1/test", "sojourn.stores.postgres", "postgres"),
        ("mysql://root@127.0.0.1/test", "sojourn.stores.mysql", "mysql"),
    ],
)
def test_a_missing_store_module_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, extra: str
) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # makes the import fail
    with pytest.raises(ConfigurationError, match=rf"pip install 'sojourn\[{extra}\]'"):
        open_store(url)


class _FakeStore:
    """Stands in for a server store class, to see what ``from_url`` receives."""

    opened: ClassVar[list[str]] = []

    @classmethod
    def from_url(cls, url: str) -> _FakeStore:
        cls.opened.append(url)
        return cls()


@pytest.mark.parametrize(
    ("url", "module", "async_name", "sync_name"),
    [
        ("redis://127.0.0.1:6379/0", "sojourn.stores.redis", "AsyncRedisStore", "RedisStore"),
        ("rediss://h/1", "sojourn.stores.redis", "AsyncRedisStore", "RedisStore"),
        ("postgresql://p@h/t", "sojourn.stores.postgres", "AsyncPostgresStore", "PostgresStore"),
        ("postgres://p@h/t", "sojourn.stores.postgres", "AsyncPostgresStore", "PostgresStore"),
        ("mysql://root@h/test", "sojourn.stores.mysql", "AsyncMySQLStore", "MySQLStore"),
    ],
)
def test_server_urls_go_whole_to_from_url(
    monkeypatch: pytest.MonkeyPatch, url: str, module: str, async_name: str, sync_name: str
) -> None:
    fake = type(sys)(module)
    setattr(fake, async_name, type(async_name, (_FakeStore,), {"opened": []}))
    setattr(fake, sync_name, type(sync_name, (_FakeStore,), {"opened": []}))
    monkeypatch.setitem(sys.modules, module, fake)
    assert type(open_store(url)).__name__ == async_name
    assert type(open_sync_store(url)).__name__ == sync_name
    assert getattr(fake, async_name).opened == [url]
    assert getattr(fake, sync_name).opened == [url]


def test_a_store_class_without_from_url_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = type(sys)("sojourn.stores.redis")
    fake.AsyncRedisStore = type("AsyncRedisStore", (), {})  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "sojourn.stores.redis", fake)
    with pytest.raises(ConfigurationError, match="from a URL"):
        open_store("redis://h")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("redis://:secret@h:6379/0", "redis://:***@h:6379/0"),
        ("postgresql://u:secret@h/db", "postgresql://u:***@h/db"),
        ("sqlite:///x.db", "sqlite:///x.db"),
        ("mysql://root@h/test", "mysql://root@h/test"),
    ],
)
@pytest.mark.sec("SEC-55")
def test_redact_hides_passwords(url: str, shown: str) -> None:
    assert redact(url) == shown


# -- the timeout option ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "stripped", "timeout"),
    [
        ("redis://h:6379/0?timeout=0.5", "redis://h:6379/0", 0.5),
        ("postgresql://p@h/t?timeout=1&sslmode=disable", "postgresql://p@h/t?sslmode=disable", 1.0),
        # the rest of the query is kept byte for byte (libpq reads no '+' as a space)
        (
            "postgresql://p@h/t?options=-c%20x%3Dy&timeout=2",
            "postgresql://p@h/t?options=-c%20x%3Dy",
            2.0,
        ),
        ("mysql://root@h/test?a=1&timeout=0.25&b=2", "mysql://root@h/test?a=1&b=2", 0.25),
        ("sqlite:///x.db?timeout=3", "sqlite:///x.db", 3.0),
    ],
)
def test_the_timeout_option_is_taken_out_of_the_url(
    url: str, stripped: str, timeout: float
) -> None:
    assert split_options(url) == (stripped, {"timeout": timeout})


@pytest.mark.parametrize("url", ["redis://h/0", "redis://h/0?socket_timeout=1", "sqlite:///x.db"])
def test_a_url_without_the_option_is_left_alone(url: str) -> None:
    assert split_options(url) == (url, {})


@pytest.mark.parametrize(
    "query", ["timeout=0", "timeout=-1", "timeout=nan", "timeout=inf", "timeout=soon", "timeout="]
)
def test_a_timeout_that_bounds_nothing_is_refused_in_a_url(query: str) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        open_store(f"redis://h/0?{query}")


def test_a_timeout_given_twice_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="more than once"):
        split_options("redis://h/0?timeout=1&timeout=2")


@pytest.mark.anyio
async def test_the_timeout_option_reaches_every_store(tmp_path: Path) -> None:
    from sojourn.stores.mysql import AsyncMySQLStore, MySQLStore
    from sojourn.stores.postgres import AsyncPostgresStore, PostgresStore
    from sojourn.stores.redis import AsyncRedisStore, RedisStore
    from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore

    # Nothing connects until first use, so no server is needed to see where the bound went.
    # ... and the table option every SQL store, beside it.
    opened: list[tuple[object, type]] = [
        (open_store(f"sqlite:///{tmp_path}/a.db?timeout=0.75&table=web"), AsyncSQLiteStore),
        (open_sync_store(f"sqlite:///{tmp_path}/a.db?table=web&timeout=0.75"), SQLiteStore),
        (open_store("postgresql://p@127.0.0.1/t?timeout=0.75&table=web"), AsyncPostgresStore),
        (open_sync_store("postgresql://p@127.0.0.1/t?table=web&timeout=0.75"), PostgresStore),
        (open_store("mysql://root@127.0.0.1/t?timeout=0.75&table=web"), AsyncMySQLStore),
        (open_sync_store("mysql://root@127.0.0.1/t?table=web&timeout=0.75"), MySQLStore),
    ]
    for store, kind in opened:
        assert isinstance(store, kind)
        assert getattr(store, "timeout", None) == 0.75
        assert getattr(store, "table", None) == "web"
    redis_store = open_store("redis://127.0.0.1:6379/0?timeout=0.75")
    assert isinstance(redis_store, AsyncRedisStore)
    assert redis_store.timeout == 0.75  # the async store keeps the bound per call itself
    client: Any = redis_store.client
    assert client.connection_pool.connection_kwargs["socket_connect_timeout"] == 0.75
    await redis_store.aclose()
    sync_redis = open_sync_store("redis://127.0.0.1:6379/0?timeout=0.75")
    assert isinstance(sync_redis, RedisStore)
    sync_client: Any = sync_redis.client
    assert sync_client.connection_pool.connection_kwargs["socket_timeout"] == 0.75
    sync_redis.close()


# -- sojourn's other options: table, prefix, cluster ------------------------------------------


@pytest.mark.parametrize(
    ("url", "stripped", "options"),
    [
        ("redis://h:6379/3?prefix=app:", "redis://h:6379/3", {"prefix": "app:"}),
        (
            "redis://h/0?prefix=app%3A&cluster=true",
            "redis://h/0",
            {"prefix": "app:", "cluster": True},
        ),
        (
            "redis://h/0?cluster=0&socket_keepalive=1",
            "redis://h/0?socket_keepalive=1",
            {"cluster": False},
        ),
        (
            "postgresql://p@h/t?sslmode=disable&table=web",
            "postgresql://p@h/t?sslmode=disable",
            {"table": "web"},
        ),
        (
            "mysql://root@h/test?table=web&timeout=1",
            "mysql://root@h/test",
            {"table": "web", "timeout": 1.0},
        ),
        ("sqlite:///x.db?table=web", "sqlite:///x.db", {"table": "web"}),
    ],
)
def test_sojourn_options_are_taken_out_of_the_url(
    url: str, stripped: str, options: dict[str, object]
) -> None:
    assert split_options(url) == (stripped, options)


@pytest.mark.parametrize("query", ["table=a&table=b", "prefix=x&prefix=y", "cluster=1&cluster=0"])
def test_an_option_given_twice_is_refused(query: str) -> None:
    with pytest.raises(ConfigurationError, match="more than once"):
        split_options(f"redis://h/0?{query}")


@pytest.mark.parametrize("value", ["", "maybe", "2", "on"])
def test_a_cluster_flag_is_true_or_false(value: str) -> None:
    with pytest.raises(ConfigurationError, match="cluster"):
        open_store(f"redis://h/0?cluster={value}")


@pytest.mark.parametrize(
    ("url", "option"),
    [
        ("redis://h/0?table=x", "table"),
        ("postgresql://p@h/t?prefix=app:", "prefix"),
        ("mysql://root@h/test?prefix=app:", "prefix"),
        ("mysql://root@h/test?cluster=true", "cluster"),
        ("sqlite:///x.db?prefix=app:", "prefix"),
    ],
)
def test_an_option_for_another_kind_of_store_is_refused(url: str, option: str) -> None:
    for opener in (open_store, open_sync_store, open_admin_store, open_sync_admin_store):
        with pytest.raises(ConfigurationError, match=f"takes no '{option}' option"):
            opener(url)


@pytest.mark.parametrize(
    "url",
    [
        "redis://127.0.0.1:6379/0?tabel=x",  # redis-py used to fail later, with a TypeError
        "redis://127.0.0.1:6379/0?timeout_ms=5",
        "mysql://root@127.0.0.1/test?tabel=x",  # the MySQL store used to drop the query
        "mysql://root@127.0.0.1/test?charset=latin1",
        "postgresql://p@127.0.0.1/t?tabel=x",  # libpq used to refuse it on every connection
        "sqlite:///x.db?tabel=x",
    ],
)
def test_an_unknown_option_is_refused_at_once(url: str) -> None:
    for opener in (open_store, open_sync_store):
        with pytest.raises(ConfigurationError, match=r"tabel|timeout_ms|charset|query"):
            opener(url)


def test_a_driver_option_still_reaches_the_driver() -> None:
    from sojourn.stores.redis import RedisStore

    store = open_sync_store("redis://127.0.0.1:6379/0?socket_keepalive=true&prefix=app:")
    assert isinstance(store, RedisStore)
    client: Any = store.client
    assert client.connection_pool.connection_kwargs["socket_keepalive"] is True
    assert store.prefix == "app:"
    store.close()
    pg = open_sync_store("postgresql://p@127.0.0.1/t?application_name=x&table=web")
    assert getattr(pg, "table", None) == "web"


def test_an_unreachable_cluster_is_store_unavailable_not_a_driver_error() -> None:
    from sojourn import StoreUnavailable

    # The sync Cluster client asks for the slot map at once; port 1 refuses at once.
    with pytest.raises(StoreUnavailable, match="Redis is unavailable"):
        open_sync_store("redis://127.0.0.1:1?cluster=true&timeout=0.5")
    store = open_store("redis://127.0.0.1:1?cluster=true&timeout=0.5")  # async: lazily
    assert type(store).__name__ == "AsyncRedisStore"


@pytest.mark.sec("SEC-55")
def test_a_url_libpq_cannot_parse_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigurationError) as caught:
        open_store("postgresql://u:hun%zzter2@127.0.0.1/t")
    assert "hun" not in str(caught.value)


@pytest.mark.parametrize("table", ["", "1abc", "x;DROP TABLE users", "a b", "s%C3%A9ssions"])
@pytest.mark.sec("SEC-44")
def test_a_table_option_is_validated(tmp_path: Path, table: str) -> None:
    urls = [
        f"sqlite:///{tmp_path}/a.db?table={table}",
        f"postgresql://p@127.0.0.1/t?table={table}",
        f"mysql://root@127.0.0.1/test?table={table}",
    ]
    for url in urls:
        with pytest.raises(ConfigurationError, match="table name"):
            open_store(url)
    assert not (tmp_path / "a.db").exists()


def test_a_prefix_option_is_validated() -> None:
    with pytest.raises(ConfigurationError, match="prefix"):
        open_store("redis://127.0.0.1/0?prefix=a%7Bb")  # a brace breaks Cluster hash tags


@pytest.mark.anyio
async def test_the_prefix_reaches_the_redis_stores_and_the_db_stays_in_the_path() -> None:
    from sojourn.stores.redis import AsyncRedisStore, RedisStore

    redis_store = open_store("redis://127.0.0.1:6379/3?prefix=app:")
    assert isinstance(redis_store, AsyncRedisStore)
    assert redis_store.prefix == "app:"
    client: Any = redis_store.client
    assert client.connection_pool.connection_kwargs["db"] == 3
    await redis_store.aclose()
    sync_redis = open_sync_store("redis://127.0.0.1:6379/3?prefix=app%3A")
    assert isinstance(sync_redis, RedisStore)
    assert sync_redis.prefix == "app:"
    sync_redis.close()


# -- admin stores: never an empty one, never a new one ----------------------------------------


@pytest.mark.parametrize("url", ["memory://", "MEMORY:///"])
def test_an_admin_store_is_never_an_in_process_one(url: str) -> None:
    for opener in (open_admin_store, open_sync_admin_store):
        with pytest.raises(ConfigurationError, match="memory:// is an empty store"):
            opener(url)


def test_an_admin_store_on_a_missing_sqlite_file_is_an_error_and_creates_none(
    tmp_path: Path,
) -> None:
    for opener in (open_admin_store, open_sync_admin_store):
        with pytest.raises(ConfigurationError, match=r"sessions\.db' does not exist"):
            opener(f"sqlite:///{tmp_path}/sessions.db")
        with pytest.raises(ConfigurationError, match="is not a file"):
            opener(f"sqlite:///{tmp_path}")
    assert list(tmp_path.iterdir()) == []


def test_an_admin_store_never_creates_a_sqlite_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "other.db"
    sqlite3.connect(path).close()  # a database, but not the app's
    store = open_sync_admin_store(f"sqlite:///{path}?table=web")
    with pytest.raises(ConfigurationError, match="SQLite table 'web' does not exist"):
        store.delete("0" * 64)
    store.close()
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


@pytest.mark.anyio
async def test_an_admin_store_walks_an_existing_sqlite_store(tmp_path: Path) -> None:
    from sojourn import Manager
    from sojourn.stores.base import AsyncSupportsScan, SupportsScan
    from sojourn.stores.sqlite import SQLiteStore

    app_store = SQLiteStore(tmp_path / "app.db", table="web")
    manager = Manager(app_store)
    session = manager.load([])
    session["cart"] = [1, 2]
    manager.commit(session)
    app_store.close()
    url = f"sqlite:///{tmp_path}/app.db?table=web"
    sync = open_sync_admin_store(url)
    assert isinstance(sync, SupportsScan)
    records, cursor = sync.scan(manager.clock())
    assert (len(records), cursor) == (1, None)
    assert dict(records[0].fields) == {"cart": b"[1,2]"}
    sync.close()
    store = open_admin_store(url)
    assert isinstance(store, AsyncSupportsScan)
    assert len((await store.scan(manager.clock()))[0]) == 1
    await store.aclose()
