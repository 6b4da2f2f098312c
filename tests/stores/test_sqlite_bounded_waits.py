"""Every SQLite call is bounded by the store's one timeout, however many calls queue up.

The store shares one connection behind a lock. Calls queued behind a busy one must not each
wait their full timeout in turn (six queued writes once failed after 5, 10, ... 30 s): the
budget covers the wait for the lock and SQLite's busy wait together. The held lock is real:
another connection holds ``BEGIN IMMEDIATE`` on the same file.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from sojourn import ConfigurationError, StoreUnavailable
from sojourn.stores._timeouts import DEFAULT_TIMEOUT
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore
from sojourn.testing._async.contract import make_record

BOUND = 0.5
SLACK = 0.35  # thread start-up and scheduling on a shared, busy machine
QUEUED = 6


@contextmanager
def write_locked(path: Path) -> Iterator[None]:
    """Another connection holding the database's write lock for the duration."""
    blocker = sqlite3.connect(path, isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        yield
        blocker.execute("ROLLBACK")
    finally:
        blocker.close()


def test_the_default_timeout_is_at_most_two_seconds(tmp_path: Path) -> None:
    assert DEFAULT_TIMEOUT <= 2.0
    assert SQLiteStore(tmp_path / "s.db").timeout == DEFAULT_TIMEOUT
    assert AsyncSQLiteStore(tmp_path / "s.db").timeout == DEFAULT_TIMEOUT


def test_busy_timeout_is_still_accepted_as_the_old_name_of_timeout(tmp_path: Path) -> None:
    assert SQLiteStore(tmp_path / "s.db", busy_timeout=0.25).timeout == 0.25


@pytest.mark.parametrize("bad", [-1, 0, float("nan"), float("inf")])
def test_a_timeout_that_bounds_nothing_is_refused(tmp_path: Path, bad: float) -> None:
    with pytest.raises(ConfigurationError):
        SQLiteStore(tmp_path / "s.db", timeout=bad)


def test_six_writes_queued_behind_a_held_lock_all_fail_within_the_bound(tmp_path: Path) -> None:
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path, timeout=BOUND)
    now = time.time()
    store.count(now)  # the schema exists before the other connection takes the lock
    elapsed: list[float] = []
    outcomes: list[str] = []
    start = threading.Barrier(QUEUED)

    def write() -> None:
        start.wait()
        began = time.monotonic()
        try:
            store.create(make_record(now))
            outcomes.append("written")
        except StoreUnavailable:
            outcomes.append("unavailable")
        except Exception as exc:  # counted below: anything but StoreUnavailable is a bug
            outcomes.append(type(exc).__name__)
        elapsed.append(time.monotonic() - began)

    with write_locked(path):
        threads = [threading.Thread(target=write) for _ in range(QUEUED)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    late = [round(seconds, 2) for seconds in elapsed if seconds > BOUND + SLACK]
    assert late == [], f"calls over the {BOUND}s bound: {sorted(elapsed)}"
    assert outcomes.count("unavailable") == QUEUED, outcomes
    # Nothing stays stuck: with the lock released the next write goes through at once.
    record = make_record(now)
    store.create(record)
    assert store.load(record.key, now) is not None
    store.close()


@pytest.mark.anyio
async def test_async_six_writes_queued_behind_a_held_lock_all_fail_within_the_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sessions.db"
    store = AsyncSQLiteStore(path, timeout=BOUND)
    now = time.time()
    await store.count(now)

    async def write() -> tuple[str, float]:
        began = time.monotonic()
        try:
            await store.create(make_record(now))
            outcome = "written"
        except StoreUnavailable:
            outcome = "unavailable"
        except Exception as exc:
            outcome = type(exc).__name__
        return outcome, time.monotonic() - began

    with write_locked(path):
        results = await asyncio.gather(*(write() for _ in range(QUEUED)))
    elapsed = [seconds for _, seconds in results]
    late = [seconds for seconds in elapsed if seconds > BOUND + SLACK]
    assert late == [], f"calls over the {BOUND}s bound: {sorted(elapsed)}"
    assert [outcome for outcome, _ in results] == ["unavailable"] * QUEUED
    record = make_record(now)
    await store.create(record)
    assert await store.load(record.key, now) is not None
    await store.aclose()


def test_a_read_queued_behind_a_blocked_write_is_bounded_too(tmp_path: Path) -> None:
    """WAL readers never wait for the writer, but a read queued behind a blocked write did."""
    path = tmp_path / "sessions.db"
    store = SQLiteStore(path, timeout=BOUND)
    now = time.time()
    record = make_record(now)
    store.create(record)
    times: dict[str, float] = {}

    def timed(name: str, call: Callable[[], object]) -> None:
        began = time.monotonic()
        with contextlib.suppress(StoreUnavailable):
            call()
        times[name] = time.monotonic() - began

    with write_locked(path):
        writer = threading.Thread(target=timed, args=("write", lambda: store.delete(record.key)))
        writer.start()
        time.sleep(0.05)  # the write now holds the store's lock, waiting on SQLite's
        timed("read", lambda: store.load(record.key, now))
        writer.join(timeout=60)
    assert max(times.values()) <= BOUND + SLACK, times
    store.close()
