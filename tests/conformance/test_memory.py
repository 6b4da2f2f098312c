"""The conformance suite against the memory store, sync and async."""

from __future__ import annotations

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.memory import AsyncMemoryStore, MemoryStore
from sojourn.testing import (
    AsyncCountContract,
    AsyncLifecycleEventsContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncScanContract,
    AsyncStoreContract,
    CountContract,
    LifecycleEventsContract,
    PrincipalIndexContract,
    PurgeContract,
    ScanContract,
    StoreContract,
)


class TestMemoryStore(
    StoreContract,
    PrincipalIndexContract,
    PurgeContract,
    CountContract,
    ScanContract,
    LifecycleEventsContract,
):
    def make_store(self) -> Store:
        return MemoryStore()

    def reopen_store(self, store: Store) -> Store:
        return store  # its records live in this object only


class TestAsyncMemoryStore(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncCountContract,
    AsyncScanContract,
    AsyncLifecycleEventsContract,
):
    async def make_store(self) -> AsyncStore:
        return AsyncMemoryStore()

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncMemoryStore)
        return AsyncMemoryStore(store.sync)  # a second face over the same records
