"""The conformance suite against the memory store, sync and async."""

from __future__ import annotations

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.memory import AsyncMemoryStore, MemoryStore
from sojourn.testing import (
    AsyncCountContract,
    AsyncLifecycleEventsContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncStoreContract,
    CountContract,
    LifecycleEventsContract,
    PrincipalIndexContract,
    PurgeContract,
    StoreContract,
)


class TestMemoryStore(
    StoreContract, PrincipalIndexContract, PurgeContract, CountContract, LifecycleEventsContract
):
    def make_store(self) -> Store:
        return MemoryStore()


class TestAsyncMemoryStore(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncCountContract,
    AsyncLifecycleEventsContract,
):
    async def make_store(self) -> AsyncStore:
        return AsyncMemoryStore()
