"""The conformance suite through the metrics wrapper: timing a store changes none of its contracts.

The wrapper is what a manager given ``metrics=`` calls, so it must keep every promise of the
store it wraps (the capabilities included: the suite's own guard checks that what a store
offers is what is tested). Each class here is a store's own suite, inherited whole, with the
store wrapped: memory and Redis (127.0.0.1:6379), sync and async.
"""

from __future__ import annotations

import pytest

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.observed import AsyncObservedStore, ObservedStore

# Modules, not classes: a class imported by name would be collected, and run, twice.
from tests.conformance import test_memory as memory_suite
from tests.conformance import test_redis as redis_suite
from tests.metrics.recording import Recorder


class Observed:
    """Wraps the store of the sync suite it is mixed before; unwraps it for the suite's own
    reopening and cleaning up."""

    def make_store(self) -> Store:
        return ObservedStore(super().make_store(), Recorder())  # type: ignore[misc]

    def reopen_store(self, store: Store) -> Store:
        assert isinstance(store, ObservedStore)
        other: Store = super().reopen_store(store.store)  # type: ignore[misc]
        return store if other is store.store else ObservedStore(other, Recorder())

    def destroy_store(self, store: Store) -> None:
        assert isinstance(store, ObservedStore)
        super().destroy_store(store.store)  # type: ignore[misc]


class AsyncObserved:
    """:class:`Observed` for the async suites."""

    async def make_store(self) -> AsyncStore:
        return AsyncObservedStore(await super().make_store(), Recorder())  # type: ignore[misc]

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncObservedStore)
        other: AsyncStore = await super().reopen_store(store.store)  # type: ignore[misc]
        return store if other is store.store else AsyncObservedStore(other, Recorder())

    async def destroy_store(self, store: AsyncStore) -> None:
        assert isinstance(store, AsyncObservedStore)
        await super().destroy_store(store.store)  # type: ignore[misc]


class TestObservedMemoryStore(Observed, memory_suite.TestMemoryStore):
    pass


class TestAsyncObservedMemoryStore(AsyncObserved, memory_suite.TestAsyncMemoryStore):
    pass


@pytest.mark.server
class TestObservedRedisStore(Observed, redis_suite.TestRedisStore):
    pass


@pytest.mark.server
class TestAsyncObservedRedisStore(AsyncObserved, redis_suite.TestAsyncRedisStore):
    pass
