"""The metrics wrapper: every store call timed by operation, errors by kind, capabilities kept.

Errors are provoked for real: a store behind the fault proxy (``tests/faults``) that goes
silent or resets its connections, and a store pointed at a port nobody listens on.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sojourn import AsyncMemoryStore, Manager, MemoryStore
from sojourn.metrics import AnomalyKind, ErrorKind
from sojourn.stores.base import (
    AsyncSupportsClock,
    AsyncSupportsCount,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsScan,
    AsyncSupportsSchema,
    AsyncSupportsTake,
    AsyncSupportsTakeExpired,
    Changes,
    SupportsClock,
    SupportsCount,
    SupportsPrincipals,
    SupportsPurge,
    SupportsScan,
    SupportsSchema,
    SupportsTake,
    SupportsTakeExpired,
)
from sojourn.stores.observed import AsyncObservedStore, ObservedStore
from sojourn.stores.sqlite import SQLiteStore
from sojourn.stores.threaded import ThreadedStore
from sojourn.testing._async.contract import make_record
from tests.metrics.recording import Recorder, stored
from tests.stores.test_threaded import CoreOnly

SYNC_CAPABILITIES = (
    SupportsPrincipals,
    SupportsPurge,
    SupportsCount,
    SupportsScan,
    SupportsTakeExpired,
    SupportsTake,
    SupportsClock,
    SupportsSchema,
)
ASYNC_CAPABILITIES = (
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsCount,
    AsyncSupportsScan,
    AsyncSupportsTakeExpired,
    AsyncSupportsTake,
    AsyncSupportsClock,
    AsyncSupportsSchema,
)


@pytest.fixture
def sqlite(tmp_path: Path) -> Iterator[SQLiteStore]:
    store = SQLiteStore(tmp_path / "s.db")
    yield store
    store.close()


def test_a_sync_store_keeps_exactly_its_capabilities(sqlite: SQLiteStore) -> None:
    for store in (CoreOnly(), MemoryStore(), sqlite):
        wrapped = ObservedStore(store, Recorder())
        assert isinstance(wrapped, ObservedStore)
        for capability in SYNC_CAPABILITIES:
            assert isinstance(wrapped, capability) == isinstance(store, capability), (
                type(store).__name__,
                capability.__name__,
            )


def test_an_async_store_keeps_exactly_its_capabilities(sqlite: SQLiteStore) -> None:
    for store in (ThreadedStore(CoreOnly()), AsyncMemoryStore(), ThreadedStore(sqlite)):
        wrapped = AsyncObservedStore(store, Recorder())
        assert isinstance(wrapped, AsyncObservedStore)
        for capability in ASYNC_CAPABILITIES:
            assert isinstance(wrapped, capability) == isinstance(store, capability), (
                repr(store),
                capability.__name__,
            )
    assert not isinstance(
        AsyncObservedStore(ThreadedStore(CoreOnly()), Recorder()), AsyncSupportsCount
    )


def test_each_call_is_reported_once_under_its_operation() -> None:
    recorder = Recorder()
    store = ObservedStore(MemoryStore(), recorder)
    now = time.time()
    record = make_record(now, principal="alice")
    store.create(record)
    assert store.load(record.key, now) is not None
    assert store.apply(record.key, Changes(now=now, expires_at=now + 60, set={"a": b"2"}))
    assert store.rename(record.key, record.key[::-1], now)
    assert isinstance(store, SupportsPrincipals)
    assert isinstance(store, SupportsCount)
    assert isinstance(store, SupportsPurge)
    assert [r.principal for r in store.sessions_of("alice", now)] == ["alice"]
    assert store.count(now) == 1
    assert store.purge_expired(now) == 0
    assert store.delete_sessions_of("alice") == 1
    store.delete(record.key)
    assert recorder.operations == [
        "create", "load", "apply", "rename", "sessions_of", "count", "purge_expired",
        "delete_sessions_of", "delete",
    ]  # fmt: skip
    assert all(seconds >= 0 for _, seconds, _ in recorder.calls)
    assert recorder.errors == []


def test_an_existing_key_on_create_is_an_answer_not_an_error() -> None:
    from sojourn import SessionExists

    recorder = Recorder()
    store = ObservedStore(MemoryStore(), recorder)
    record = make_record(time.time())
    store.create(record)
    with pytest.raises(SessionExists):
        store.create(record)
    assert recorder.operations == ["create", "create"]
    assert recorder.errors == []


class Broken(Recorder):
    """An observer with a bug: every report raises."""

    def record_store_call(self, operation: str, seconds: float, error: ErrorKind | None) -> None:
        raise RuntimeError("observer bug")

    def record_anomaly(self, kind: AnomalyKind) -> None:
        raise RuntimeError("observer bug")


def test_an_observer_that_raises_is_logged_and_fails_no_request(
    caplog: pytest.LogCaptureFixture,
) -> None:
    manager = Manager(MemoryStore(), metrics=Broken())
    with caplog.at_level(logging.ERROR, logger="sojourn"):
        ids = [stored(manager), stored(manager)]
        assert manager.load([ids[0]])["n"] == 1
        assert manager.load(ids).is_new  # two live IDs: an anomaly the observer fails on
    failures = [r.getMessage() for r in caplog.records if "session.metrics_failed" in r.msg]
    assert (
        "session.metrics_failed: the metrics observer raised RuntimeError on a create call"
        in failures
    )
    assert (
        "session.metrics_failed: the metrics observer raised RuntimeError on ambiguous_cookie"
        in failures
    )
    for session_id in ids:
        assert session_id not in caplog.text


def test_every_capability_the_store_protocol_defines_is_checked_here() -> None:
    """A capability added to ``stores/base.py`` fails this until the wrapper passes it through
    (and the tests above check it)."""
    import sojourn.stores.base as base

    defined = {
        value
        for name, value in vars(base).items()
        if name.startswith(("Supports", "AsyncSupports")) and isinstance(value, type)
    }
    assert defined == set(SYNC_CAPABILITIES) | set(ASYNC_CAPABILITIES)
