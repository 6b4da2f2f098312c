"""MySQL/MariaDB-specific behaviour beyond the conformance suite (real server, own tables)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import anyio
import pymysql
import pytest

from sojourn import StoreUnavailable
from sojourn._core.errors import ConfigurationError
from sojourn.stores._sql import SCHEMA_VERSION
from sojourn.stores.base import Changes
from sojourn.stores.mysql import AsyncMySQLStore, MySQLStore, schema_sql
from sojourn.testing._async.contract import make_record
from tests.conformance.test_mysql import URL, drop, new_table

pytestmark = pytest.mark.server


def connect() -> Any:
    return pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)


def query(sql: str, *args: object) -> list[tuple[Any, ...]]:
    conn = connect()
    try:
        with conn.cursor() as cursor:
            cursor.execute(sql, args or None)
            return list(cursor.fetchall())
    finally:
        conn.close()


@pytest.fixture
def table() -> Iterator[str]:
    name = new_table()
    drop(name)
    yield name
    drop(name)


def test_first_use_creates_the_schema_and_records_its_version(table: str) -> None:
    store = MySQLStore.from_url(URL, table=table)
    try:
        assert store.count(time.time()) == 0
    finally:
        store.close()
    assert query("SELECT version FROM sojourn_schema WHERE table_name = %s", table) == [
        (SCHEMA_VERSION,)
    ]
    indexes = {row[2] for row in query(f"SHOW INDEX FROM {table}")}
    assert {f"{table}_expires_at", f"{table}_principal"} <= indexes


@pytest.mark.anyio
async def test_reopening_an_existing_table_raises_no_driver_warning(table: str) -> None:
    # aiomysql turns server notes and warnings into Python warnings (errors under pytest).
    for _ in range(2):
        store = AsyncMySQLStore.from_url(URL, table=table)
        try:
            assert await store.count(time.time()) == 0
        finally:
            await store.aclose()


def test_schema_sql_applies_cleanly_and_serves_a_store_without_ddl(table: str) -> None:
    ddl = schema_sql(table)
    assert f"CREATE TABLE IF NOT EXISTS {table}_fields" in ddl
    conn = connect()
    try:
        with conn.cursor() as cursor:
            for _ in range(2):  # idempotent
                for statement in ddl.split(";\n"):
                    if statement.strip():
                        cursor.execute(statement)
    finally:
        conn.close()
    store = MySQLStore.from_url(URL, table=table, create_schema=False)
    try:
        now = time.time()
        record = make_record(now)
        store.create(record)
        loaded = store.load(record.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == dict(record.fields)
    finally:
        store.close()


@pytest.mark.parametrize(
    "name", ["", "1abc", "x; DROP TABLE users", "sessions-1", "a" * 49, "s\u00e9ssions", 7]
)
@pytest.mark.sec("SEC-44")
def test_invalid_table_names_are_rejected(name: object) -> None:
    with pytest.raises(ConfigurationError):
        MySQLStore.from_url(URL, table=name)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        schema_sql(name)  # type: ignore[arg-type]


@pytest.mark.parametrize("url", ["postgresql://h/db", "mysql://127.0.0.1:3306/", "mysql://h"])
def test_bad_urls_are_rejected(url: str) -> None:
    with pytest.raises(ConfigurationError):
        MySQLStore.from_url(url)


@pytest.mark.sec("SEC-44")
def test_hostile_keys_and_field_names_are_plain_data(table: str) -> None:
    store = MySQLStore.from_url(URL, table=table)
    try:
        now = time.time()
        hostile = "x'); DELETE FROM " + table + "; --"
        fields = {"'; DROP TABLE x; --": b'"1"', "%(key)s": b"2", "%s": b"3", "\\": b"\x00\xff"}
        store.create(make_record(now, hostile, fields=fields, principal="' OR 1=1 --"))
        store.create(make_record(now))
        loaded = store.load(hostile, now)
        assert loaded is not None
        assert dict(loaded.fields) == fields
        assert store.load("x'); DELETE FROM", now) is None
        # Binary columns: no case folding, no trailing-space padding.
        assert store.load(hostile.upper(), now) is None
        assert store.load(hostile + " ", now) is None
        changes = Changes(
            now=now, expires_at=now + 60, set={"%(now)s": b"5"}, remove=frozenset({"%s"})
        )
        assert store.apply(hostile, changes) is True
        assert store.count(now) == 2
        assert [r.key for r in store.sessions_of("' OR 1=1 --", now)] == [hostile]
    finally:
        store.close()


@pytest.mark.sec("SEC-24")
def test_purge_deletes_only_expired_rows_in_bounded_batches(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = MySQLStore.from_url(URL, table=table)
    try:
        now = time.time()
        live = [make_record(now, idle=100) for _ in range(3)]
        dead = [make_record(now - 50, idle=10) for _ in range(7)]
        for record in [*live, *dead]:
            store.create(record)
        batches: list[int] = []
        real = store._connection

        def counting():  # type: ignore[no-untyped-def]
            batches.append(1)
            return real()

        monkeypatch.setattr(store, "_connection", counting)
        assert store.purge_expired(now, batch_size=3) == 7
        assert len(batches) == 3  # 3 + 3 + 1, each its own statement and transaction
        monkeypatch.undo()
        assert store.count(now) == 3
        assert all(store.load(r.key, now) is not None for r in live)
        assert query(f"SELECT COUNT(*) FROM {table}_fields") == [(2 * 3,)]
    finally:
        store.close()


@pytest.mark.sec("SEC-48")
def test_an_unreachable_server_raises_store_unavailable() -> None:
    store = MySQLStore.from_url("mysql://root@127.0.0.1:9/test", connect_timeout=1)
    try:
        with pytest.raises(StoreUnavailable):
            store.load("k", time.time())
    finally:
        store.close()


@pytest.mark.anyio
async def test_an_unreachable_server_raises_store_unavailable_async() -> None:
    store = AsyncMySQLStore.from_url("mysql://root@127.0.0.1:9/test", connect_timeout=1)
    try:
        with anyio.fail_after(30), pytest.raises(StoreUnavailable):  # a hang guard only
            await store.load("k", time.time())
    finally:
        await store.aclose()


def test_the_pool_recovers_after_its_connections_are_killed(table: str) -> None:
    store = MySQLStore.from_url(URL, table=table)
    try:
        now = time.time()
        record = make_record(now)
        store.create(record)
        idle = list(store._pool._idle)
        assert idle
        for conn in idle:
            query(f"KILL {int(conn.thread_id())}")
        outcomes: list[bool] = []
        for _ in range(3):
            try:
                outcomes.append(store.load(record.key, now) is not None)
            except StoreUnavailable:
                outcomes.append(False)
        assert outcomes[-1] is True
    finally:
        store.close()


@pytest.mark.anyio
async def test_concurrent_creates_of_one_key_answer_session_exists_not_a_deadlock(
    table: str,
) -> None:
    # Two app processes moving one session during a migration both create it: each losing
    # insert holds a shared lock, and an exclusive lock taken next deadlocked them (1213).
    import asyncio

    from sojourn import SessionExists

    store = AsyncMySQLStore.from_url(URL, table=table)
    try:
        for _ in range(5):
            record = make_record(time.time())
            outcomes = await asyncio.gather(
                *(store.create(record) for _ in range(6)), return_exceptions=True
            )
            failures = [o for o in outcomes if o is not None]
            assert len(failures) == 5, outcomes
            assert all(isinstance(o, SessionExists) for o in failures), failures
            assert await store.load(record.key, time.time()) is not None
    finally:
        await store.aclose()
