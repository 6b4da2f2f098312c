"""The conformance suite through the metrics wrapper: timing a store changes none of its contracts.

The wrapper is what a manager given ``metrics=`` calls, so it must keep every promise of the
store it wraps (the capabilities included: the suite's own guard checks that what a store
offers is what is tested). Memory, sync and async, and Redis, on 127.0.0.1:6379.
"""

from __future__ import annotations

import pytest

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.memory import AsyncMemoryStore, MemoryStore
from sojourn.stores.observed import AsyncObservedStore, ObservedStore
from sojourn.testing import (
    AsyncCountContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncStoreContract,
    CountContract,
    PrincipalIndexContract,
    PurgeContract,
    StoreContract,
)
from tests.conformance import test_redis as redis_suite  # a module: its classes not collected twice
from tests.metrics.recording import Recorder


class TestObservedMemoryStore(StoreContract, PrincipalIndexContract, PurgeContract, CountContract):
    def make_store(self) -> Store:
        return ObservedStore(MemoryStore(), Recorder())


class TestAsyncObservedMemoryStore(
    AsyncStoreContract, AsyncPrincipalIndexContract, AsyncPurgeContract, AsyncCountContract
):
    async def make_store(self) -> AsyncStore:
        return AsyncObservedStore(AsyncMemoryStore(), Recorder())


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
