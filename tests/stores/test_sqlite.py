"""What the SQLite store promises beyond the conformance suite: files, schema, WAL, failures."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import pytest

from sojourn import ConfigurationError, CorruptSession, StoreUnavailable
from sojourn.stores._sql import SCHEMA_TABLE, SCHEMA_VERSION
from sojourn.stores.base import Changes, Login
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore, schema_sql
from sojourn.testing._async.contract import IDLE, make_record
from sojourn.testing._concurrency import sync_concurrently

HOSTILE = [
    "' OR '1'='1",
    "x'; DROP TABLE sojourn_sessions;--",
    'x"; DROP TABLE sojourn_sessions_fields;--',
    "%",
    "\x00",
]


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "sessions.db"


@pytest.fixture
def store(path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(path)
    try:
        yield store
    finally:
        store.close()


@contextmanager
def raw(path: Path) -> Iterator[sqlite3.Connection]:
    """A plain connection to inspect the file behind the store's back (closed afterwards)."""
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        yield conn
    finally:
        conn.close()


def tables(path: Path) -> set[str]:
    with raw(path) as conn:
        return {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}


# -- construction ---------------------------------------------------------------------------


def test_the_constructor_touches_nothing(tmp_path: Path) -> None:
    SQLiteStore(tmp_path / "lazy.db")
    AsyncSQLiteStore(tmp_path / "lazy.db")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    "table",
    ["sessions; DROP", "sessions; DROP TABLE x", "1sessions", "", "a" * 64, "x-y", 'x"', "t\n"],
)
@pytest.mark.sec("SEC-44")
def test_invalid_table_names_raise(path: Path, table: str) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteStore(path, table=table)
    with pytest.raises(ConfigurationError):
        AsyncSQLiteStore(path, table=table)
    with pytest.raises(ConfigurationError):
        schema_sql(table)


def test_a_negative_busy_timeout_raises(path: Path) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteStore(path, busy_timeout=-1)


def test_a_custom_table_name_is_used(path: Path) -> None:
    store = SQLiteStore(path, table="my_sessions")
    now = time.time()
    store.create(make_record(now))
    store.close()
    assert {"my_sessions", "my_sessions_fields", SCHEMA_TABLE} <= tables(path)
    assert "sojourn_sessions" not in tables(path)


# -- the file ----------------------------------------------------------------------------------


def test_data_survives_closing_and_reopening(path: Path) -> None:
    now = time.time()
    record = make_record(now, principal="alice", meta={"ip": "127.0.0.1"})
    first = SQLiteStore(path)
    first.create(record)
    first.close()
    first.close()  # idempotent
    second = SQLiteStore(path)
    try:
        loaded = second.load(record.key, now)
    finally:
        second.close()
    assert loaded is not None
    assert dict(loaded.fields) == dict(record.fields)
    assert loaded.principal == "alice"
    assert dict(loaded.meta) == {"ip": "127.0.0.1"}


@pytest.mark.anyio
async def test_async_data_survives_closing_and_reopening_and_is_shared_with_sync(
    path: Path,
) -> None:
    now = time.time()
    record = make_record(now)
    first = AsyncSQLiteStore(path)
    await first.create(record)
    await first.aclose()
    second = AsyncSQLiteStore(path)
    loaded = await second.load(record.key, now)
    await second.aclose()
    assert loaded is not None
    assert dict(loaded.fields) == dict(record.fields)
    sync = SQLiteStore(path)
    try:
        assert sync.load(record.key, now) is not None
    finally:
        sync.close()


def test_the_schema_version_is_recorded(store: SQLiteStore, path: Path) -> None:
    store.count(time.time())
    with raw(path) as conn:
        rows = conn.execute(f"SELECT table_name, version FROM {SCHEMA_TABLE}").fetchall()
    assert rows == [("sojourn_sessions", SCHEMA_VERSION)]


def test_the_database_is_in_wal_mode_with_normal_sync(store: SQLiteStore, path: Path) -> None:
    store.count(time.time())
    with raw(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    # synchronous is per connection: look at the store's own.
    assert store._conn is not None
    assert store._conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL


def test_two_stores_on_one_file_applying_distinct_keys_all_survive(path: Path) -> None:
    now = time.time()
    stores = [SQLiteStore(path), SQLiteStore(path)]
    try:
        record = make_record(now, fields={})
        stores[0].create(record)
        writes = [
            partial(
                stores[i % 2].apply,
                record.key,
                Changes(now=now, expires_at=now + IDLE, set={f"k{i}": str(i).encode()}),
            )
            for i in range(20)
        ]
        assert sync_concurrently(writes) == [True] * 20
        for store in stores:
            loaded = store.load(record.key, now)
            assert loaded is not None
            assert dict(loaded.fields) == {f"k{i}": str(i).encode() for i in range(20)}
    finally:
        for store in stores:
            store.close()


def test_create_schema_false_needs_the_tables(path: Path) -> None:
    store = SQLiteStore(path, create_schema=False)
    with pytest.raises(ConfigurationError, match="schema_sql"):
        store.count(time.time())
    with raw(path) as conn:
        conn.executescript(schema_sql())
    assert store.count(time.time()) == 0
    store.close()


def test_a_newer_schema_version_is_refused(store: SQLiteStore, path: Path) -> None:
    store.count(time.time())
    store.close()
    with raw(path) as conn:
        conn.execute(f"UPDATE {SCHEMA_TABLE} SET version = ?", (SCHEMA_VERSION + 1,))
    with pytest.raises(ConfigurationError, match="schema version"):
        store.count(time.time())


# -- records -----------------------------------------------------------------------------------


def test_create_replaces_an_expired_record_entirely(store: SQLiteStore) -> None:
    now = time.time()
    old = make_record(now, fields={"a": b"1", "b": b"2"}, principal="alice", idle=1)
    store.create(old)
    new = make_record(now + 2, old.key, fields={"c": b"3"})
    store.create(new)
    loaded = store.load(old.key, now + 2)
    assert loaded is not None
    assert dict(loaded.fields) == {"c": b"3"}
    assert loaded.principal is None
    assert store.sessions_of("alice", now + 2) == []


def test_delete_removes_the_fields_rows_too(store: SQLiteStore, path: Path) -> None:
    now = time.time()
    record = make_record(now)
    store.create(record)
    store.delete(record.key)
    with raw(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sojourn_sessions_fields").fetchone()[0] == 0


def test_rename_moves_the_fields_rows(store: SQLiteStore, path: Path) -> None:
    now = time.time()
    record = make_record(now)
    store.create(record)
    assert store.rename(record.key, "new-key", now)
    with raw(path) as conn:
        keys = {row[0] for row in conn.execute("SELECT key FROM sojourn_sessions_fields")}
    assert keys == {"new-key"}


@pytest.mark.sec("SEC-44")
def test_hostile_keys_names_and_principals_are_stored_as_plain_data(
    store: SQLiteStore, path: Path
) -> None:
    now = time.time()
    bystander = make_record(now, principal="bob")
    store.create(bystander)
    for key in HOSTILE:
        assert store.load(key, now) is None
        assert store.apply(key, Changes(now=now, expires_at=now + IDLE)) is False
        assert store.rename(key, bystander.key, now) is False
        store.delete(key)
        assert store.sessions_of(key, now) == []
        assert store.delete_sessions_of(key) == 0
    hostile = make_record(now, HOSTILE[1], fields=dict.fromkeys(HOSTILE, b"1"))
    store.create(hostile)
    store.apply(hostile.key, Changes(now=now, expires_at=now + IDLE, login=Login(HOSTILE[0], now)))
    loaded = store.load(hostile.key, now)
    assert loaded is not None
    assert dict(loaded.fields) == dict.fromkeys(HOSTILE, b"1")
    assert [r.key for r in store.sessions_of(HOSTILE[0], now)] == [hostile.key]
    assert store.load(bystander.key, now) is not None
    assert store.count(now) == 2
    assert {"sojourn_sessions", "sojourn_sessions_fields"} <= tables(path)


# -- corrupt rows ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("table", "column", "value"),
    [
        ("sojourn_sessions", "meta", "{not json"),
        ("sojourn_sessions", "meta", '{"ip": 1}'),
        ("sojourn_sessions", "principal", b"\xff"),
        ("sojourn_sessions", "created_at", "yesterday"),
        ("sojourn_sessions_fields", "value", "text, not a blob"),
    ],
)
@pytest.mark.sec("SEC-39")
def test_undecodable_rows_raise_corrupt_session(
    store: SQLiteStore, path: Path, table: str, column: str, value: object
) -> None:
    now = time.time()
    record = make_record(now)
    store.create(record)
    with raw(path) as conn:
        conn.execute(f"UPDATE {table} SET {column} = ?", (value,))
    with pytest.raises(CorruptSession):
        store.load(record.key, now)


# -- maintenance -------------------------------------------------------------------------------


@pytest.mark.sec("SEC-24")
def test_purge_deletes_only_expired_rows_in_batches(store: SQLiteStore, path: Path) -> None:
    now = time.time()
    live = [make_record(now, idle=100) for _ in range(3)]
    dead = [make_record(now, idle=1) for _ in range(25)]
    for record in [*live, *dead]:
        store.create(record)
    assert store._conn is not None
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    assert store.purge_expired(now + 2, batch_size=10) == 25
    store._conn.set_trace_callback(None)
    assert sum(s.startswith("DELETE FROM sojourn_sessions WHERE") for s in statements) == 3
    assert statements.count("BEGIN IMMEDIATE") == 3  # one short transaction per batch
    assert store.count(now + 2) == 3
    assert all(store.load(r.key, now + 2) is not None for r in live)
    with raw(path) as conn:
        owners = {row[0] for row in conn.execute("SELECT key FROM sojourn_sessions_fields")}
    assert owners == {r.key for r in live}
    assert store.purge_expired(now + 2, batch_size=10) == 0


def test_purge_needs_a_positive_batch_size(store: SQLiteStore) -> None:
    with pytest.raises(ConfigurationError):
        store.purge_expired(time.time(), batch_size=0)


# -- failures ----------------------------------------------------------------------------------


def test_a_path_in_a_missing_directory_is_unavailable_until_it_exists(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "missing" / "sessions.db")
    with pytest.raises(StoreUnavailable):
        store.load("k", time.time())
    with pytest.raises(StoreUnavailable):
        store.create(make_record(time.time()))
    (tmp_path / "missing").mkdir()  # the outage ends: the store opens the file on next use
    record = make_record(time.time())
    store.create(record)
    assert store.load(record.key, time.time()) is not None
    store.close()


@pytest.mark.anyio
async def test_async_a_path_in_a_missing_directory_is_unavailable(tmp_path: Path) -> None:
    store = AsyncSQLiteStore(tmp_path / "missing" / "sessions.db")
    with pytest.raises(StoreUnavailable):
        await store.load("k", time.time())
    await store.aclose()


def test_a_file_that_is_not_a_database_is_unavailable(path: Path) -> None:
    path.write_bytes(b"this is not an SQLite database, just some text" * 100)
    store = SQLiteStore(path)
    with pytest.raises(StoreUnavailable):
        store.count(time.time())


@pytest.mark.sec("SEC-48")
def test_a_locked_database_is_unavailable_then_recovers(store: SQLiteStore, path: Path) -> None:
    now = time.time()
    store.count(now)  # the schema exists before another connection takes the lock
    impatient = SQLiteStore(path, busy_timeout=0.05)
    with raw(path) as blocker:
        blocker.execute("BEGIN EXCLUSIVE")
        with pytest.raises(StoreUnavailable, match="locked"):
            impatient.create(make_record(now))
        blocker.execute("ROLLBACK")
    record = make_record(now)
    impatient.create(record)  # the failed transaction left nothing behind
    assert impatient.load(record.key, now) is not None
    impatient.close()


@pytest.mark.anyio
async def test_async_a_locked_database_is_unavailable(path: Path) -> None:
    now = time.time()
    store = AsyncSQLiteStore(path, busy_timeout=0.05)
    assert await store.count(now) == 0
    try:
        with raw(path) as blocker:
            blocker.execute("BEGIN EXCLUSIVE")
            with pytest.raises(StoreUnavailable):
                await store.create(make_record(now))
    finally:
        await store.aclose()
