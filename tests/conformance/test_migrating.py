"""The conformance suite against MigratingStore: during a cut-over the app runs on it, so it
must keep every contract a store keeps (sync and async; a memory store behind SQLite)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.memory import AsyncMemoryStore, MemoryStore
from sojourn.stores.migrating import AsyncMigratingStore, MigratingStore
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore
from sojourn.testing import (
    AsyncCountContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncScanContract,
    AsyncStoreContract,
    CountContract,
    PrincipalIndexContract,
    PurgeContract,
    ScanContract,
    StoreContract,
)


class TestMigratingStore(
    StoreContract, PrincipalIndexContract, PurgeContract, CountContract, ScanContract
):
    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.path = tmp_path / "new.db"

    def make_store(self) -> Store:
        return MigratingStore(SQLiteStore(self.path), MemoryStore())

    def reopen_store(self, store: Store) -> Store:
        assert isinstance(store, MigratingStore)
        return MigratingStore(SQLiteStore(self.path), store.old)


class TestAsyncMigratingStore(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncCountContract,
    AsyncScanContract,
):
    async def make_store(self) -> AsyncStore:
        return AsyncMigratingStore(AsyncMemoryStore(), AsyncMemoryStore())

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncMigratingStore)
        return store  # both stores' records live in these objects only


class TestAsyncMigratingStoreOnSQLite(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncCountContract,
    AsyncScanContract,
):
    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.new_path, self.old_path = tmp_path / "new.db", tmp_path / "old.db"

    async def make_store(self) -> AsyncStore:
        return AsyncMigratingStore(AsyncSQLiteStore(self.new_path), AsyncSQLiteStore(self.old_path))

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        return AsyncMigratingStore(AsyncSQLiteStore(self.new_path), AsyncSQLiteStore(self.old_path))
