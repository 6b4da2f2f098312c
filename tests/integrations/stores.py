"""Sync store factories for the WSGI, Flask and Django adapter tests.

Each factory yields a fresh, isolated sync store and closes it afterwards. The SQLite store joins
the list as soon as its module exists in the checkout.
"""

from __future__ import annotations

import contextlib
import importlib.util
import secrets
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sojourn import MemoryStore
from sojourn._core.ids import store_key
from sojourn.stores.base import Record, Store

StoreFactory = Callable[[Path], contextlib.AbstractContextManager[Store]]


@contextlib.contextmanager
def memory_store(tmp_path: Path) -> Iterator[Store]:
    store = MemoryStore()
    yield store
    store.close()


@contextlib.contextmanager
def sqlite_store(tmp_path: Path) -> Iterator[Store]:
    from sojourn.stores.sqlite import SQLiteStore

    store: Store = SQLiteStore(tmp_path / "sessions.db")
    yield store
    store.close()


@contextlib.contextmanager
def redis_store(tmp_path: Path) -> Iterator[Store]:
    """A RedisStore on 127.0.0.1:6379 under a random prefix, its keys deleted afterwards."""
    import redis

    from sojourn.stores.redis import RedisStore
    from tests.conftest import require_server

    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        client.close()
        require_server("Redis", str(exc))
    store = RedisStore(client, prefix=f"sojourn-test-{secrets.token_hex(6)}:")
    try:
        yield store
    finally:
        for key in client.scan_iter(match=store.prefix + "*", count=1000):
            client.delete(key)
        store.close()
        client.close()


REDIS_URL = "redis://127.0.0.1:6379/0"


@contextlib.contextmanager
def postgres_store(tmp_path: Path) -> Iterator[Store]:
    """A PostgresStore on 127.0.0.1:5432 in a table of its own, dropped afterwards (not in
    :func:`available`: the adapter suites stay on the embedded stores and Redis)."""
    from sojourn.stores.postgres import PostgresStore
    from tests.conformance.test_postgres import URL, drop, new_table

    table = new_table()
    drop(table)  # also skips (or fails under CI) when the server is down
    store = PostgresStore.from_url(URL, table=table, max_size=4)
    try:
        yield store
    finally:
        store.close()
        drop(table)


def available() -> dict[str, StoreFactory]:
    """The factories whose store modules exist in this checkout."""
    factories: dict[str, StoreFactory] = {"memory": memory_store}
    if importlib.util.find_spec("sojourn.stores.sqlite") is not None:
        factories["sqlite"] = sqlite_store
    if importlib.util.find_spec("redis") is not None:
        factories["redis"] = redis_store
    return factories


SERVER_STORES = frozenset({"redis"})


def store_params() -> list[Any]:
    """Fixture params for every available store; server-backed ones carry the server mark."""
    import pytest

    return [
        pytest.param(name, marks=pytest.mark.server) if name in SERVER_STORES else name
        for name in sorted(available())
    ]


def record_of(store: Store, session_id: str, now: float | None = None) -> Record | None:
    """The live record behind a session ID, read straight from the store."""
    return store.load(store_key(session_id), time.time() if now is None else now)


class CountingStore:
    """Wraps a real store and counts the calls made to it (instrumentation, not a fake)."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return target(*args, **kwargs)

        return counted


class BrokenStore:
    """A store whose backend is down: every call fails like a refused connection."""

    def __init__(self, inner: Store, *, fail_on: frozenset[str] = frozenset()) -> None:
        self.inner = inner
        self.fail_on = fail_on

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in self.fail_on:
            return target

        def broken(*args: Any, **kwargs: Any) -> Any:
            raise ConnectionRefusedError(111, "Connection refused")

        return broken
