"""SEC-20, SEC-21: the timeouts are enforced from the record's timestamps, not the store's expiry.

Each store's own expiry is defeated by hand after every request (Redis: ``PERSIST`` the hash and
push its stored deadline out; SQL: push the ``expires_at`` column out), so the store would hand
the record back; the manager must still refuse it from ``renewed_at`` and ``created_at``, serve
a fresh session and delete the old record.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from sojourn import CookieSettings, CookieTransport, Engine, Manager, Policy
from sojourn._core.ids import store_key
from sojourn.stores._redis_layout import EXPIRES, session_key
from sojourn.stores.base import Store
from sojourn.stores.redis import RedisStore
from sojourn.testing import FakeClock

FAR = 4_000_000_000.0  # year 2096
ENGINE = Engine(
    policy=Policy(idle_timeout=60, lifetime=300),
    transport=CookieTransport(CookieSettings(name="sid", secure=False)),
)


class Harness(NamedTuple):
    store: Store
    defeat_expiry: Callable[[str], None]  # store key -> the store's own expiry is gone
    present: Callable[[str], bool]  # store key -> a record is physically there


@contextlib.contextmanager
def sqlite_harness(tmp_path: Path) -> Iterator[Harness]:
    from sojourn.stores.sqlite import SQLiteStore

    store = SQLiteStore(tmp_path / "s.db")
    conn = sqlite3.connect(tmp_path / "s.db", isolation_level=None)

    def defeat(key: str) -> None:
        conn.execute(f"UPDATE {store.table} SET expires_at = ? WHERE key = ?", (FAR, key))

    def present(key: str) -> bool:
        row = conn.execute(f"SELECT count(*) FROM {store.table} WHERE key = ?", (key,))
        return bool(row.fetchone()[0])

    try:
        yield Harness(store, defeat, present)
    finally:
        conn.close()
        store.close()


@contextlib.contextmanager
def redis_harness(tmp_path: Path) -> Iterator[Harness]:
    from tests.integrations.stores import redis_store

    with redis_store(tmp_path) as store:
        assert isinstance(store, RedisStore)
        client = store.client

        def defeat(key: str) -> None:
            name = session_key(store.prefix, key)
            client.persist(name)
            client.hset(name, EXPIRES, str(FAR))
            assert client.pttl(name) == -1

        def present(key: str) -> bool:
            return bool(client.exists(session_key(store.prefix, key)))

        yield Harness(store, defeat, present)


@contextlib.contextmanager
def postgres_harness(tmp_path: Path) -> Iterator[Harness]:
    import psycopg

    from sojourn.stores.postgres import PostgresStore
    from tests.conformance.test_postgres import URL, drop, new_table

    table = new_table()
    drop(table)
    store = PostgresStore.from_url(URL, table=table, max_size=2)
    conn = psycopg.connect(URL, autocommit=True)

    def defeat(key: str) -> None:
        conn.execute(f"UPDATE {table} SET expires_at = %s WHERE key = %s", (FAR, key))

    def present(key: str) -> bool:
        row = conn.execute(f"SELECT count(*) FROM {table} WHERE key = %s", (key,)).fetchone()
        return row is not None and bool(row[0])

    try:
        yield Harness(store, defeat, present)
    finally:
        conn.close()
        store.close()
        drop(table)


@contextlib.contextmanager
def mysql_harness(tmp_path: Path) -> Iterator[Harness]:
    import pymysql

    from sojourn.stores.mysql import MySQLStore
    from tests.conformance.test_mysql import URL, drop, new_table

    table = new_table()
    drop(table)
    store = MySQLStore.from_url(URL, table=table, max_size=2)
    conn = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)

    def defeat(key: str) -> None:
        with conn.cursor() as cur:
            cur.execute(f"UPDATE {table} SET expires_at = %s WHERE `key` = %s", (FAR, key))

    def present(key: str) -> bool:
        with conn.cursor() as cur:
            cur.execute(f"SELECT count(*) FROM {table} WHERE `key` = %s", (key,))
            row = cur.fetchone()
        return row is not None and bool(row[0])

    try:
        yield Harness(store, defeat, present)
    finally:
        conn.close()
        store.close()
        drop(table)


HARNESSES: dict[str, Callable[[Path], contextlib.AbstractContextManager[Harness]]] = {
    "sqlite": sqlite_harness,
    "redis": redis_harness,
    "postgres": postgres_harness,
    "mysql": mysql_harness,
}


@pytest.fixture(
    params=[
        pytest.param(name, marks=[] if name == "sqlite" else [pytest.mark.server])
        for name in HARNESSES
    ]
)
def harness(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Harness]:
    with HARNESSES[request.param](tmp_path) as opened:
        yield opened


def cookie(session_id: str) -> list[tuple[str, str]]:
    return [("cookie", f"sid={session_id}")]


def start(manager: Manager, h: Harness) -> tuple[str, str]:
    session = manager.open([]).session
    session["cart"] = [1, 2]
    session_id = manager.commit(session).session_id
    assert session_id is not None
    key = store_key(session_id)
    if isinstance(h.store, RedisStore):
        assert h.store.client.pttl(session_key(h.store.prefix, key)) > 0  # there was a TTL
    h.defeat_expiry(key)
    return session_id, key


def visit(manager: Manager, session_id: str) -> tuple[bool, list[tuple[str, str]]]:
    """One request that reads the session; whether it was alive, and the response headers."""
    session = manager.open(cookie(session_id)).session
    alive = session.get("cart") == [1, 2]
    assert alive != session.is_new
    return alive, list(manager.commit(session).headers)


@pytest.mark.sec("SEC-20")
def test_the_idle_timeout_holds_without_the_stores_expiry(harness: Harness) -> None:
    clock = FakeClock()
    manager = Manager(harness.store, ENGINE, clock=clock)
    session_id, key = start(manager, harness)
    clock.advance(59)
    assert visit(manager, session_id) == (True, [])  # alive just inside the idle timeout
    record = harness.store.load(key, clock.now)
    assert record is not None
    assert record.renewed_at == clock.now  # last_seen moved on
    harness.defeat_expiry(key)
    clock.advance(61)
    alive, headers = visit(manager, session_id)
    assert not alive
    assert not harness.present(key), "the dead record is deleted"
    assert session_id not in str(headers)


@pytest.mark.sec("SEC-21")
def test_the_absolute_lifetime_holds_without_the_stores_expiry(harness: Harness) -> None:
    clock = FakeClock()
    manager = Manager(harness.store, ENGINE, clock=clock)
    session_id, key = start(manager, harness)
    for _ in range(9):  # a read every idle/2 keeps the session busy up to 270 s
        clock.advance(30)
        assert visit(manager, session_id)[0]
        harness.defeat_expiry(key)
    clock.advance(31)  # 301 s after creation
    assert not visit(manager, session_id)[0]
    assert not harness.present(key)
