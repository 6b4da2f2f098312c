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


class TestObservedMemoryStore(memory_suite.TestMemoryStore):
    def make_store(self) -> Store:
        return ObservedStore(super().make_store(), Recorder())


class TestAsyncObservedMemoryStore(memory_suite.TestAsyncMemoryStore):
    async def make_store(self) -> AsyncStore:
        return AsyncObservedStore(await super().make_store(), Recorder())


@pytest.mark.server
class TestObservedRedisStore(redis_suite.TestRedisStore):
    def make_store(self) -> Store:
        return ObservedStore(super().make_store(), Recorder())

    def destroy_store(self, store: Store) -> None:
        assert isinstance(store, ObservedStore)
        super().destroy_store(store.store)


@pytest.mark.server
class TestAsyncObservedRedisStore(redis_suite.TestAsyncRedisStore):
    async def make_store(self) -> AsyncStore:
        return AsyncObservedStore(await super().make_store(), Recorder())

    async def destroy_store(self, store: AsyncStore) -> None:
        assert isinstance(store, AsyncObservedStore)
        await super().destroy_store(store.store)
