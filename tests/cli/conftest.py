"""Fixtures for the admin command tests: a store at a URL, seeded with known sessions.

Each backend yields the URL the command is given and a sync store on the same place, used to
seed records and to look at what the command left. Every backend is private to the test: a
temporary SQLite file, a random Redis key prefix, a random SQL table.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from sojourn import Record
from sojourn._core.ids import fingerprint_of_key
from sojourn.stores.base import Store, SupportsCount
from sojourn.stores.mysql import MySQLStore
from sojourn.stores.postgres import PostgresStore
from sojourn.stores.redis import RedisStore
from sojourn.stores.sqlite import SQLiteStore
from tests.stores.redis_cluster import (
    RedisClusterHarness,
    RedisServer,
    start_cluster,
    start_server,
)


@dataclass
class Backend:
    """A store under test: ``url`` for the command, ``store`` for the test's own calls."""

    name: str
    url: str
    store: Store
    keys: list[str] = field(default_factory=list)

    def add(
        self,
        principal: str | None,
        *,
        age: float = 0.0,
        idle: float = 0.0,
        ttl: float = 3600.0,
        fields: dict[str, bytes] | None = None,
        meta: dict[str, str] | None = None,
    ) -> str:
        """Create a session; its fingerprint."""
        now = time.time()
        key = secrets.token_hex(32)
        self.store.create(
            Record(
                key=key,
                fields={"n": b"1"} if fields is None else fields,
                principal=principal,
                created_at=now - age,
                renewed_at=now - idle,
                expires_at=now + ttl,
                authenticated_at=None if principal is None else now - age,
                meta=meta or {},
            )
        )
        self.keys.append(key)
        return fingerprint_of_key(key)

    def add_marker(self) -> str:
        """A successor marker, as a rotation leaves (no fields, no principal)."""
        now = time.time()
        key = secrets.token_hex(32)
        meta = {"rotation": "login", "successor": secrets.token_hex(32)}
        self.store.create(Record(key, {}, None, now, now, now + 600, None, meta))
        self.keys.append(key)
        return fingerprint_of_key(key)

    def stored(self) -> int:
        """How many records the store holds, expired ones included (every deadline is > 0)."""
        assert isinstance(self.store, SupportsCount)
        return self.store.count(0.0)

    def live(self, fingerprint: str) -> bool:
        now = time.time()
        return any(
            fingerprint_of_key(k) == fingerprint and self.store.load(k, now) is not None
            for k in self.keys
        )


def sqlite_backend(tmp_path: Path) -> Iterator[Backend]:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path)
    store.count(time.time())  # creates the file and its schema, as an application would
    yield Backend("sqlite", f"sqlite:///{path}", store)
    store.close()


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[Backend]:
    yield from sqlite_backend(tmp_path)


def unique(name: str) -> str:
    """A principal no other test run uses (server tests share their servers)."""
    return f"{name}-{secrets.token_hex(4)}"


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A private ``redis-server`` (the shared one on 6379 is never walked or cleared)."""
    with start_server() as server:
        yield server


def redis_backend(server: RedisServer) -> Iterator[Backend]:
    url = f"redis://127.0.0.1:{server.port}/0"
    store = RedisStore.from_url(url)
    yield Backend("redis", url, store)
    for key in store.client.scan_iter(match=store.prefix + "*"):
        store.client.delete(key)
    store.close()


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterHarness]:
    with start_cluster(masters=3) as harness:
        yield harness


def cluster_backend(cluster: RedisClusterHarness) -> Iterator[Backend]:
    prefix = f"cli{secrets.token_hex(4)}:"
    url = f"redis://127.0.0.1:{cluster.ports[0]}?cluster=true&prefix={prefix}"
    store = RedisStore.from_url(
        f"redis://127.0.0.1:{cluster.ports[1]}", cluster=True, prefix=prefix
    )
    yield Backend("cluster", url, store)
    for key in store.client.scan_iter(match=prefix + "*", count=1000):
        store.client.delete(key)
    store.close()


def sql_backend(name: str) -> Iterator[Backend]:
    """A random table on the shared server, dropped afterwards (with its schema row)."""
    if name == "postgres":
        from tests.conformance import test_postgres as server
    else:
        from tests.conformance import test_mysql as server  # type: ignore[no-redef]
    table = server.new_table()
    server.drop(table)
    opened: Store
    if name == "postgres":
        opened = PostgresStore.from_url(server.URL, table=table)
    else:
        opened = MySQLStore.from_url(server.URL, table=table)
    opened.load("0" * 64, time.time())  # creates the table, as the application would
    yield Backend(name, f"{server.URL}?table={table}", opened)
    opened.close()
    server.drop(table)


BACKENDS = [
    "sqlite",
    *(pytest.param(name, marks=pytest.mark.server) for name in ("redis", "cluster")),
    *(pytest.param(name, marks=pytest.mark.server) for name in ("postgres", "mysql")),
]
"""The stores every command test runs against: SQLite, Redis (a private server and a private
Cluster), PostgreSQL and MariaDB (a random table each)."""


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Backend]:
    if request.param == "sqlite":
        yield from sqlite_backend(tmp_path)
    elif request.param == "redis":
        yield from redis_backend(request.getfixturevalue("redis_server"))
    elif request.param == "cluster":
        yield from cluster_backend(request.getfixturevalue("redis_cluster"))
    else:
        yield from sql_backend(request.param)
