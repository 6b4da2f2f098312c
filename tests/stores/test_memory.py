"""MemoryStore internals that the conformance suite cannot see: bounded bookkeeping."""

from __future__ import annotations

import pytest

from sojourn.stores.base import Changes, Record
from sojourn.stores.memory import LINGER, MemoryStore

NOW = 1_000_000.0


def test_the_deadline_heap_stays_bounded_under_renewals() -> None:
    # Every write moves the deadline and pushes a heap entry; stale ones must be compacted
    # even when nothing ever expires (no load finds a due entry to trigger a pass).
    store = MemoryStore()
    store.create(Record("k", {"a": b"1"}, None, NOW, NOW, NOW + 100))
    for i in range(1, 10_001):
        assert store.apply("k", Changes(now=NOW + i * 0.001, expires_at=NOW + 100 + i))
        assert store.load("k", NOW + i * 0.001) is not None
    assert len(store._deadlines) <= 2 * len(store._records) + 65
    record = store.load("k", NOW + 20)
    assert record is not None
    assert record.expires_at == NOW + 10_100


@pytest.mark.sec("SEC-24", "SEC-49")
def test_expired_records_are_dropped_by_the_next_load_after_the_linger() -> None:
    store = MemoryStore()
    store.create(Record("old", {}, None, NOW, NOW, NOW + 1))
    store.create(Record("new", {}, None, NOW, NOW, NOW + 1000))
    assert store.load("new", NOW + 2) is not None
    assert store.load("old", NOW + 2) is None  # kept for the linger, never returned
    assert "old" in store._records
    assert store.load("new", NOW + 2 + LINGER) is not None
    assert "old" not in store._records
