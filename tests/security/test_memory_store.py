"""SEC-49: the memory store is bounded, evicts the least recently used record, expires lazily."""

from __future__ import annotations

import logging

import pytest

from sojourn import AsyncMemoryStore, ConfigurationError, Manager, MemoryStore
from sojourn.stores.base import Record
from sojourn.stores.memory import LINGER

NOW = 1_000_000.0


def record(key: str, ttl: float = 100.0, principal: str | None = None) -> Record:
    return Record(key, {"k": b'"' + key.encode() + b'"'}, principal, NOW, NOW, NOW + ttl)


@pytest.mark.sec("SEC-49")
def test_the_default_cap_is_ten_thousand() -> None:
    assert MemoryStore().max_sessions == 10_000
    assert AsyncMemoryStore().sync.max_sessions == 10_000
    for bad in (0, -1):
        with pytest.raises(ConfigurationError):
            MemoryStore(max_sessions=bad)


@pytest.mark.sec("SEC-49")
def test_one_past_the_cap_evicts_the_oldest() -> None:
    store = MemoryStore(max_sessions=100)
    for i in range(101):
        store.create(record(f"k{i}"))
    assert store.count(NOW) == 100
    assert len(store._records) == 100
    assert store.load("k0", NOW) is None  # the oldest went
    assert all(store.load(f"k{i}", NOW) is not None for i in range(1, 101))


@pytest.mark.sec("SEC-49")
def test_eviction_is_least_recently_used_not_first_created() -> None:
    store = MemoryStore(max_sessions=3)
    for key in ("a", "b", "c"):
        store.create(record(key))
    assert store.load("a", NOW) is not None  # "a" is now the most recently used
    store.create(record("d"))
    assert store.load("b", NOW) is None
    assert {k for k in "acd" if store.load(k, NOW) is not None} == {"a", "c", "d"}


@pytest.mark.sec("SEC-49")
def test_an_evicted_session_leaves_its_users_index() -> None:
    store = MemoryStore(max_sessions=2)
    store.create(record("a", principal="u"))
    store.create(record("b", principal="u"))
    store.create(record("c", principal="v"))
    assert [r.key for r in store.sessions_of("u", NOW)] == ["b"]
    assert store.delete_sessions_of("u") == 1


@pytest.mark.sec("SEC-49")
def test_expired_records_are_never_returned_and_do_not_count() -> None:
    store = MemoryStore(max_sessions=10)
    store.create(record("short", ttl=5))
    store.create(record("long", ttl=5000))
    assert store.load("short", NOW + 4.9) is not None
    assert store.load("short", NOW + 5) is None
    assert store.count(NOW + 5) == 1
    assert store.sessions_of("nobody", NOW + 5) == []
    assert store.load("long", NOW + 5 + LINGER) is not None
    assert "short" not in store._records  # dropped lazily by a load after the linger


@pytest.mark.sec("SEC-49")
def test_the_memory_store_warns_that_it_is_single_process(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with caplog.at_level(logging.DEBUG, logger="sojourn"):
        Manager(MemoryStore())
        AsyncMemoryStore()
    warnings = [
        r for r in caplog.records if r.name == "sojourn" and "process only" in r.getMessage()
    ]
    assert len(warnings) == 2
    assert all(r.levelno == logging.WARNING for r in warnings)
    assert "not shared between workers" in warnings[0].getMessage()
