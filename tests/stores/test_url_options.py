"""Store URL options against the real servers: ``?table=`` really uses that table, ``?prefix=``
sees an app's sessions, the Redis db stays in the path; admin stores never create anything;
the SQL stores' DDL, schema version and every store's clock.

Tables and prefixes are random per test, and removed afterwards (never FLUSHDB, never a shared
table dropped).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
import redis

from sojourn import ConfigurationError, Manager
from sojourn.stores._sql import SCHEMA_VERSION
from sojourn.stores.base import AsyncSupportsScan, Store, SupportsCount, SupportsScan
from sojourn.stores.mysql import MySQLStore
from sojourn.stores.postgres import PostgresStore
from sojourn.stores.redis import RedisStore
from sojourn.stores.sqlite import SQLiteStore
from sojourn.stores.urls import (
    open_admin_store,
    open_store,
    open_sync_admin_store,
    open_sync_store,
)
from tests.conformance.test_mysql import URL as MYSQL_URL
from tests.conformance.test_mysql import drop as drop_mysql
from tests.conformance.test_postgres import URL as PG_URL
from tests.conformance.test_postgres import drop as drop_pg
from tests.conformance.test_postgres import new_table
from tests.conformance.test_redis import _require_redis
from tests.stores.redis_cluster import RedisClusterHarness, start_cluster
from tests.stores.test_mysql import query as mysql_query

REDIS = "redis://127.0.0.1:6379"

pytestmark = pytest.mark.server


def write_sessions(store: Store, count: int) -> tuple[Manager, list[str]]:
    """``count`` sessions written the way an app writes them; their store keys."""
    manager = Manager(store)
    keys: list[str] = []
    for i in range(count):
        session = manager.load([])
        session["n"] = i
        manager.commit(session)
        walker = store
        assert isinstance(walker, SupportsScan)
        keys = [r.key for r in walk(walker, manager.clock())]
    assert len(keys) == count
    return manager, keys


def walk(store: SupportsScan, now: float) -> list[Any]:
    found: list[Any] = []
    cursor: str | None = None
    while True:
        page, cursor = store.scan(now, cursor, 2)
        found += page
        if cursor is None:
            return found


@pytest.fixture
def prefix() -> Iterator[str]:
    _require_redis()
    name = f"sojourn-test-{secrets.token_hex(6)}:"
    yield name
    for db in (0, 3):
        client = redis.Redis.from_url(f"{REDIS}/{db}")
        for key in client.scan_iter(match=name + "*", count=1000):
            client.delete(key)
        client.close()


@pytest.fixture
def pg_table() -> Iterator[str]:
    name = new_table()
    drop_pg(name)
    yield name
    drop_pg(name)


@pytest.fixture
def mysql_table() -> Iterator[str]:
    name = new_table()
    drop_mysql(name)
    yield name
    drop_mysql(name)


def pg_rows(table: str) -> list[tuple[Any, ...]]:
    with psycopg.connect(PG_URL) as conn:
        return conn.execute(f"SELECT key FROM {table}").fetchall()


# -- Redis: prefix, db, cluster ----------------------------------------------------------------


def test_the_prefix_option_sees_an_apps_sessions(prefix: str) -> None:
    app = RedisStore.from_url(f"{REDIS}/0", prefix=prefix)
    manager, keys = write_sessions(app, 3)
    app.close()
    # Once the prefix could not be given in a URL (a raw TypeError), and a count through a
    # URL used the default prefix: zero sessions for an app with prefix="app:".
    for opener in (open_sync_store, open_sync_admin_store):
        store = opener(f"{REDIS}/0?prefix={prefix}")
        assert isinstance(store, SupportsCount)
        assert store.count(manager.clock()) == 3
        assert isinstance(store, SupportsScan)
        assert sorted(r.key for r in walk(store, manager.clock())) == sorted(keys)
        store.close()


@pytest.mark.anyio
async def test_the_prefix_option_reaches_the_async_store(prefix: str) -> None:
    app = RedisStore.from_url(f"{REDIS}/0", prefix=prefix)
    manager, keys = write_sessions(app, 2)
    app.close()
    store = open_admin_store(f"{REDIS}/0?prefix={prefix}")
    assert isinstance(store, AsyncSupportsScan)
    records, cursor = await store.scan(manager.clock())
    assert cursor is None
    assert sorted(r.key for r in records) == sorted(keys)
    await store.aclose()


def test_the_redis_db_stays_in_the_path(prefix: str) -> None:
    store = open_sync_store(f"{REDIS}/3?prefix={prefix}")
    _, keys = write_sessions(store, 1)
    store.close()
    on_3 = redis.Redis.from_url(f"{REDIS}/3")
    on_0 = redis.Redis.from_url(f"{REDIS}/0")
    try:
        assert on_3.exists(f"{prefix}{{{keys[0]}}}") == 1
        assert on_0.exists(f"{prefix}{{{keys[0]}}}") == 0
    finally:
        on_3.close()
        on_0.close()


@pytest.fixture(scope="module")
def redis_cluster() -> Iterator[RedisClusterHarness]:
    with start_cluster(masters=3) as harness:
        yield harness


def test_the_cluster_option_walks_every_master(redis_cluster: RedisClusterHarness) -> None:
    prefix = f"sojourn-test-{secrets.token_hex(6)}:"
    url = f"redis://127.0.0.1:{redis_cluster.ports[0]}?cluster=true&prefix={prefix}"
    store = open_sync_store(url)
    assert isinstance(store, RedisStore)
    assert isinstance(store.client, redis.RedisCluster)
    _, keys = write_sessions(store, 12)
    client: Any = store.client
    homes = {client.get_node_from_key(f"{prefix}{{{k}}}").name for k in keys}
    assert len(homes) > 1, "the sessions landed on several masters"
    for key in client.scan_iter(match=prefix + "*", count=1000):
        client.delete(key)
    store.close()


# -- SQL: the table option really picks the table ----------------------------------------------


def test_the_table_option_uses_that_postgresql_table(pg_table: str) -> None:
    store = open_sync_store(f"{PG_URL}?table={pg_table}")
    assert isinstance(store, PostgresStore)
    _, keys = write_sessions(store, 2)
    store.close()
    # Once ?table= reached libpq, which refused it: a 5 s pool timeout on first use.
    assert sorted(row[0] for row in pg_rows(pg_table)) == sorted(keys)


@pytest.mark.anyio
async def test_the_table_option_reaches_the_async_postgresql_store(pg_table: str) -> None:
    app = PostgresStore.from_url(PG_URL, table=pg_table)
    manager, keys = write_sessions(app, 2)
    app.close()
    store = open_store(f"{PG_URL}?table={pg_table}")
    assert isinstance(store, AsyncSupportsScan)
    records, _ = await store.scan(manager.clock())
    assert sorted(r.key for r in records) == sorted(keys)
    await store.aclose()


def test_the_table_option_uses_that_mysql_table(mysql_table: str) -> None:
    store = open_sync_store(f"{MYSQL_URL}?table={mysql_table}")
    assert isinstance(store, MySQLStore)
    _, keys = write_sessions(store, 2)
    store.close()
    # Once the MySQL store dropped the query: the sessions went to sojourn_sessions.
    rows = mysql_query(f"SELECT `key` FROM {mysql_table}")
    assert sorted(row[0].decode() for row in rows) == sorted(keys)
    if mysql_query("SHOW TABLES LIKE 'sojourn\\_sessions'"):
        placeholders = ", ".join(["%s"] * len(keys))
        leaked = f"SELECT COUNT(*) FROM sojourn_sessions WHERE `key` IN ({placeholders})"
        assert mysql_query(leaked, *keys) == [(0,)]


def test_the_table_option_uses_that_sqlite_table(tmp_path: Path) -> None:
    store = open_sync_store(f"sqlite:///{tmp_path}/s.db?table=web")
    assert isinstance(store, SQLiteStore)
    _, keys = write_sessions(store, 2)
    store.close()
    with sqlite3.connect(tmp_path / "s.db") as conn:
        assert sorted(r[0] for r in conn.execute("SELECT key FROM web")) == sorted(keys)
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "sojourn_sessions" not in names


# -- admin stores never create a table; the DDL they print is the DDL the stores run -----------


def test_an_admin_store_reports_a_missing_postgresql_table(pg_table: str) -> None:
    for opener in (open_sync_admin_store, open_admin_store):
        store: Any = opener(f"{PG_URL}?table={pg_table}")
        assert store.create_schema is False
    sync = open_sync_admin_store(f"{PG_URL}?table={pg_table}")
    with pytest.raises(ConfigurationError, match=f"PostgreSQL table '{pg_table}' does not exist"):
        sync.load("0" * 64, time.time())
    sync.close()
    with psycopg.connect(PG_URL) as conn:
        assert conn.execute("SELECT to_regclass(%s)", (pg_table,)).fetchone() == (None,)


def test_an_admin_store_reports_a_missing_mysql_table(mysql_table: str) -> None:
    store = open_sync_admin_store(f"{MYSQL_URL}?table={mysql_table}")
    with pytest.raises(ConfigurationError, match=f"MySQL table '{mysql_table}' does not exist"):
        store.load("0" * 64, time.time())
    store.close()
    assert mysql_query("SHOW TABLES LIKE %s", mysql_table) == []


def test_the_postgresql_ddl_printed_is_the_ddl_run(pg_table: str) -> None:
    admin = open_sync_admin_store(f"{PG_URL}?table={pg_table}")
    assert isinstance(admin, PostgresStore)
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(admin.schema_sql().encode())  # a DBA runs what the tool prints
    assert admin.schema_version() == SCHEMA_VERSION
    assert admin.count(time.time()) == 0
    admin.close()


def test_the_mysql_ddl_printed_is_the_ddl_run(mysql_table: str) -> None:
    admin = open_sync_admin_store(f"{MYSQL_URL}?table={mysql_table}")
    assert isinstance(admin, MySQLStore)
    for statement in admin.schema_sql().split(";\n"):
        if statement.strip():
            mysql_query(statement)
    assert admin.schema_version() == SCHEMA_VERSION
    assert admin.count(time.time()) == 0
    admin.close()


def test_the_sqlite_ddl_printed_is_the_ddl_run(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    sqlite3.connect(path).close()
    admin = open_sync_admin_store(f"sqlite:///{path}?table=web")
    assert isinstance(admin, SQLiteStore)
    with sqlite3.connect(path) as conn:
        conn.executescript(admin.schema_sql())
    assert admin.schema_version() == SCHEMA_VERSION
    assert admin.count(time.time()) == 0
    admin.close()


def test_a_schema_version_is_none_where_none_is_recorded(pg_table: str) -> None:
    store = PostgresStore.from_url(PG_URL, table=pg_table)
    assert store.schema_version() == SCHEMA_VERSION  # first use created and recorded it
    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute("DELETE FROM sojourn_schema WHERE table_name = %s", (pg_table,))
    assert store.schema_version() is None
    store.close()


# -- every store's clock, for the skew check ---------------------------------------------------


@pytest.mark.anyio
async def test_every_store_reads_its_servers_clock(
    tmp_path: Path, prefix: str, pg_table: str, mysql_table: str
) -> None:
    urls = [
        f"sqlite:///{tmp_path}/s.db",
        f"{REDIS}/0?prefix={prefix}",
        f"{PG_URL}?table={pg_table}",
        f"{MYSQL_URL}?table={mysql_table}",
    ]
    for url in urls:
        sync: Any = open_sync_store(url)
        assert abs(sync.server_time() - time.time()) < 5, url
        sync.close()
        store: Any = open_store(url)
        assert abs(await store.server_time() - time.time()) < 5, url
        await store.aclose()
