"""Scan beyond the conformance suite: bad limits and cursors, corrupt records, Redis steps.

The contract (every live record once, never an expired one, resumable elsewhere) is proved for
every store in ``tests/conformance``; these pin what the contract leaves to each store.
"""

from __future__ import annotations

import secrets
import signal
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from sojourn import ConfigurationError, MemoryStore, StoreUnavailable
from sojourn.stores._scan import MAX_SCAN_LIMIT
from sojourn.stores.base import Record, SupportsScan
from sojourn.stores.redis import AsyncRedisStore, RedisStore
from sojourn.stores.sqlite import SQLiteStore
from sojourn.testing._async.contract import make_record
from tests.conformance.test_redis import URL as REDIS_URL
from tests.conformance.test_redis import _require_redis
from tests.stores.redis_cluster import start_server


def walk(store: SupportsScan, now: float, limit: int) -> tuple[list[Record], int]:
    found: list[Record] = []
    cursor: str | None = None
    pages = 0
    while True:
        page, cursor = store.scan(now, cursor, limit)
        pages += 1
        assert len(page) <= limit
        found += page
        if cursor is None:
            return found, pages


@pytest.fixture
def redis_store() -> Iterator[RedisStore]:
    _require_redis()
    store = RedisStore.from_url(REDIS_URL, prefix=f"sojourn-test-{secrets.token_hex(6)}:")
    yield store
    for key in store.client.scan_iter(match=store.prefix + "*", count=1000):
        store.client.delete(key)
    store.close()


@pytest.mark.parametrize("limit", [0, -1, MAX_SCAN_LIMIT + 1, 1.5, True, "10"])
def test_a_limit_out_of_range_is_refused(tmp_path: Path, limit: Any) -> None:
    for store in (MemoryStore(), SQLiteStore(tmp_path / "s.db")):
        assert isinstance(store, SupportsScan)
        with pytest.raises(ConfigurationError, match="limit"):
            store.scan(time.time(), None, limit)


@pytest.mark.parametrize("cursor", ["", 7, b"abc"])
def test_a_cursor_that_is_not_text_is_refused(tmp_path: Path, cursor: Any) -> None:
    for store in (MemoryStore(), SQLiteStore(tmp_path / "s.db")):
        assert isinstance(store, SupportsScan)
        with pytest.raises(ConfigurationError, match="cursor"):
            store.scan(time.time(), cursor)


@pytest.mark.server
@pytest.mark.parametrize("cursor", ["", "x", "0", "0:", "a:0:", "0:b:", "-1:0:", "9:0:", "٣:0:"])
def test_a_redis_cursor_it_did_not_return_is_refused(redis_store: RedisStore, cursor: str) -> None:
    with pytest.raises(ConfigurationError, match="cursor"):
        redis_store.scan(time.time(), cursor)


def test_a_corrupt_sqlite_record_is_skipped_and_logged(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    now = time.time()
    good = [make_record(now) for _ in range(3)]
    bad = make_record(now)
    for record in [*good, bad]:
        store.create(record)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute("UPDATE sojourn_sessions SET meta = 'not json' WHERE key = ?", (bad.key,))
    found, _ = walk(store, now, 1)
    assert sorted(r.key for r in found) == sorted(r.key for r in good)
    assert "scan skipped a corrupt session record" in caplog.text
    store.close()


@pytest.mark.server
def test_a_corrupt_or_foreign_redis_key_is_skipped(
    redis_store: RedisStore, caplog: pytest.LogCaptureFixture
) -> None:
    now = time.time()
    good = [make_record(now) for _ in range(3)]
    for record in good:
        redis_store.create(record)
    client: Any = redis_store.client
    client.set(f"{redis_store.prefix}{{{'f' * 64}}}", "a string, not a hash", ex=60)
    client.hset(f"{redis_store.prefix}{{{'e' * 64}}}", mapping={"m:c": "soon"})
    client.expire(f"{redis_store.prefix}{{{'e' * 64}}}", 60)
    found, _ = walk(redis_store, now, 2)
    assert sorted(r.key for r in found) == sorted(r.key for r in good)
    assert "scan skipped a corrupt session record" in caplog.text


@pytest.mark.server
def test_a_redis_page_ending_inside_a_scan_step_resumes_after_its_last_key() -> None:
    """A SCAN step returns several sessions when the keyspace holds little else (a private
    server here); a page still holds exactly ``limit``, and the next one resumes inside the
    step, after the last key returned: nothing lost, nothing returned twice."""
    with start_server() as server:
        store = RedisStore.from_url(f"redis://127.0.0.1:{server.port}", prefix="t:")
        now = time.time()
        records = [make_record(now) for _ in range(60)]
        for record in records:
            store.create(record)
        found: list[Record] = []
        sizes: list[int] = []
        inside = 0
        cursor: str | None = None
        while True:
            page, cursor = store.scan(now, cursor, 3)
            found += page
            sizes.append(len(page))
            if cursor is None:
                break
            if not cursor.endswith(":"):
                inside += 1
                assert cursor.endswith(":" + page[-1].key)
        store.close()
    keys = [r.key for r in found]
    assert sorted(keys) == sorted(r.key for r in records)
    assert sizes[:20] == [3] * 20  # every page full until the records run out
    assert inside > 0, "no page ended inside a SCAN step"


@pytest.mark.server
def test_a_redis_walk_skips_other_keys_under_the_prefix(redis_store: RedisStore) -> None:
    now = time.time()
    record = make_record(now, principal="erin")  # also writes the principal's index
    redis_store.create(record)
    client: Any = redis_store.client
    assert len(list(client.scan_iter(match=redis_store.prefix + "*"))) == 2
    found, _ = walk(redis_store, now, 10)
    assert [r.key for r in found] == [record.key]
    assert dict(found[0].fields) == dict(record.fields)


@pytest.mark.server
def test_a_redis_walk_through_a_crowded_database_returns_each_session_once() -> None:
    """Among many keys of other prefixes, SCAN steps return few or no sessions each; the walk
    still returns every session once and ends (a private server: no resizing under it)."""
    with start_server() as server:
        client = redis.Redis(port=server.port)
        pipe = client.pipeline(transaction=False)
        for i in range(5000):
            pipe.set(f"other:{i}", 1)
        pipe.execute()
        store = RedisStore(client, prefix="app:")
        now = time.time()
        records = [make_record(now) for _ in range(30)]
        for record in records:
            store.create(record)
        found, pages = walk(store, now, 7)
        client.close()
    keys = [r.key for r in found]
    assert len(keys) == len(set(keys))
    assert set(keys) == {r.key for r in records}
    assert pages >= 5


@pytest.mark.server
@pytest.mark.sec("SEC-48")
def test_a_scan_of_a_frozen_redis_fails_within_the_timeout() -> None:
    with start_server() as server:
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{server.port}", prefix="sojourn-test:", timeout=0.5
        )
        now = time.time()
        for _ in range(3):
            store.create(make_record(now))
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                store.scan(now)
            assert time.monotonic() - started < 3
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert len(store.scan(now)[0]) == 3
        store.close()


@pytest.mark.server
@pytest.mark.sec("SEC-48")
@pytest.mark.anyio
async def test_an_async_scan_of_a_frozen_redis_fails_within_the_timeout() -> None:
    with start_server() as server:
        store = AsyncRedisStore.from_url(
            f"redis://127.0.0.1:{server.port}", prefix="sojourn-test:", timeout=0.5
        )
        now = time.time()
        for _ in range(3):
            await store.create(make_record(now))
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                await store.scan(now)
            assert time.monotonic() - started < 1.5
        finally:
            server.process.send_signal(signal.SIGCONT)
        assert len((await store.scan(now))[0]) == 3
        await store.aclose()


@pytest.mark.server
def test_a_redis_walk_misses_no_session_when_the_keyspace_is_resized_under_it() -> None:
    """Pages that end inside a SCAN step repeat that step on resume; if the table grew or
    shrank meanwhile (other applications' keys come and go on a shared server) the repeated
    step covers other buckets, and skipping by the last key used to lose sessions a
    migration then never copied. Every session is returned at least once."""
    with start_server() as server:
        client = redis.Redis(port=server.port)
        store = RedisStore(client, prefix="app:")
        now = time.time()
        records = [make_record(now) for _ in range(300)]
        for record in records:
            store.create(record)
        for _ in range(3):
            found: list[Record] = []
            cursor: str | None = None
            pages = 0
            while True:
                page, cursor = store.scan(now, cursor, 7)
                found += page
                pages += 1
                others = [f"other:{i}" for i in range(3000)]
                if pages % 2:
                    client.mset(dict.fromkeys(others, 1))  # the table grows ...
                else:
                    client.delete(*others)  # ... and shrinks again
                if cursor is None:
                    break
                assert pages < 10_000, "the walk does not end"
            assert {r.key for r in records} <= {r.key for r in found}
        client.close()
