"""PostgreSQL-specific behaviour beyond the conformance suite (real server, own tables)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import anyio
import psycopg
import pytest

from sojourn import StoreUnavailable
from sojourn._core.errors import ConfigurationError, UnencodableValue
from sojourn.stores._sql import SCHEMA_VERSION
from sojourn.stores.base import Changes
from sojourn.stores.postgres import AsyncPostgresStore, PostgresStore, schema_sql
from sojourn.testing._async.contract import make_record
from tests.conformance.test_postgres import URL, drop, new_table

pytestmark = pytest.mark.server


@pytest.fixture
def table() -> Iterator[str]:
    name = new_table()
    drop(name)
    yield name
    drop(name)


def test_first_use_creates_the_schema_and_records_its_version(table: str) -> None:
    store = PostgresStore.from_url(URL, table=table)
    try:
        assert store.count(time.time()) == 0
    finally:
        store.close()
    with psycopg.connect(URL) as conn:
        row = conn.execute(
            "SELECT version FROM sojourn_schema WHERE table_name = %s", (table,)
        ).fetchone()
        indexes = {
            r[0]
            for r in conn.execute("SELECT indexname FROM pg_indexes WHERE tablename = %s", (table,))
        }
    assert row == (SCHEMA_VERSION,)
    assert {f"{table}_expires_at", f"{table}_principal"} <= indexes


def test_schema_sql_applies_cleanly_and_serves_a_store_without_ddl(table: str) -> None:
    ddl = schema_sql(table)
    assert f"CREATE TABLE IF NOT EXISTS {table} (" in ddl
    assert "fields JSONB" in ddl
    with psycopg.connect(URL, autocommit=True) as conn:
        conn.execute(ddl.encode())
        conn.execute(ddl.encode())  # idempotent
    store = PostgresStore.from_url(URL, table=table, create_schema=False)
    try:
        now = time.time()
        record = make_record(now)
        store.create(record)
        loaded = store.load(record.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == dict(record.fields)
    finally:
        store.close()


def test_a_store_without_ddl_rights_fails_loudly_on_a_missing_table(table: str) -> None:
    store = PostgresStore.from_url(URL, table=table, create_schema=False)
    try:
        # Once a raw UndefinedTable from the first query; now the first use names the table.
        with pytest.raises(ConfigurationError, match=f"table '{table}' does not exist"):
            store.load("k", time.time())
    finally:
        store.close()
    with psycopg.connect(URL) as conn:
        row = conn.execute("SELECT to_regclass(%s)", (table,)).fetchone()
    assert row == (None,), "nothing was created"


@pytest.mark.parametrize(
    "name", ["", "1abc", "x; DROP TABLE users", "sessions-1", "a" * 49, "s\u00e9ssions", 7]
)
@pytest.mark.sec("SEC-44")
def test_invalid_table_names_are_rejected(name: object) -> None:
    with pytest.raises(ConfigurationError):
        PostgresStore.from_url(URL, table=name)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        schema_sql(name)  # type: ignore[arg-type]


@pytest.mark.sec("SEC-44")
def test_hostile_keys_and_field_names_are_plain_data(table: str) -> None:
    store = PostgresStore.from_url(URL, table=table)
    try:
        now = time.time()
        hostile = "x'); DELETE FROM " + table + "; --"
        fields = {"'; DROP TABLE x; --": b'"1"', "%(key)s": b"2", "%s": b"3", "\\": b"4"}
        store.create(make_record(now, hostile, fields=fields, principal="' OR 1=1 --"))
        store.create(make_record(now))
        loaded = store.load(hostile, now)
        assert loaded is not None
        assert dict(loaded.fields) == fields
        assert store.load("x'); DELETE FROM", now) is None
        changes = Changes(
            now=now, expires_at=now + 60, set={"%(now)s": b"5"}, remove=frozenset({"%s"})
        )
        assert store.apply(hostile, changes) is True
        assert store.count(now) == 2
        assert [r.key for r in store.sessions_of("' OR 1=1 --", now)] == [hostile]
    finally:
        store.close()


def test_values_are_stored_byte_for_byte_not_reserialised(table: str) -> None:
    store = PostgresStore.from_url(URL, table=table)
    try:
        now = time.time()
        fields = {
            "spaced": b'{ "b" : 1,  "a":[1 ,2] }',
            "float": b"1.0e0",
            "escaped": b'"\\u00e9 \\u0000 \\n"',
            "unicode": '"\u00e9\U0001f600"'.encode(),
            "": b"null",
        }
        record = make_record(now, fields=fields)
        store.create(record)
        changes = Changes(now=now, expires_at=now + 60, set={"float": b"2.50"})
        assert store.apply(record.key, changes) is True
        loaded = store.load(record.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == {**fields, "float": b"2.50"}
    finally:
        store.close()


def test_a_value_that_is_not_utf8_is_refused(table: str) -> None:
    store = PostgresStore.from_url(URL, table=table)
    try:
        now = time.time()
        with pytest.raises(UnencodableValue):
            store.create(make_record(now, fields={"a": b"\xff"}))
    finally:
        store.close()


@pytest.mark.sec("SEC-24")
def test_purge_deletes_only_expired_rows_in_bounded_batches(
    table: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = PostgresStore.from_url(URL, table=table)
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
        with psycopg.connect(URL) as conn:
            left = conn.execute(f"SELECT count(*) FROM {table}").fetchone()
        assert left == (3,)
    finally:
        store.close()


@pytest.mark.sec("SEC-48")
def test_an_unreachable_server_raises_store_unavailable() -> None:
    store = PostgresStore.from_url("postgresql://postgres@127.0.0.1:9/test", connect_timeout=1)
    try:
        with pytest.raises(StoreUnavailable):
            store.load("k", time.time())
    finally:
        store.close()


@pytest.mark.anyio
async def test_an_unreachable_server_raises_store_unavailable_async() -> None:
    store = AsyncPostgresStore.from_url("postgresql://postgres@127.0.0.1:9/test", connect_timeout=1)
    try:
        with anyio.fail_after(30), pytest.raises(StoreUnavailable):  # a hang guard only
            await store.load("k", time.time())
    finally:
        await store.aclose()


def test_the_pool_recovers_after_its_connections_are_killed(table: str) -> None:
    app = "sojourn_" + table
    store = PostgresStore.from_url(f"{URL}?application_name={app}", table=table, min_size=2)
    try:
        now = time.time()
        record = make_record(now)
        store.create(record)
        with psycopg.connect(URL, autocommit=True) as conn:
            killed = conn.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                (app,),
            ).fetchone()
        assert killed is not None
        assert killed[0] >= 1
        outcomes: list[bool] = []
        for _ in range(4):
            try:
                outcomes.append(store.load(record.key, now) is not None)
            except StoreUnavailable:
                outcomes.append(False)
        assert outcomes[-1] is True
    finally:
        store.close()
