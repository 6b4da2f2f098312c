"""The conformance suite against the SQLite store, sync and async; one database file per test."""

from __future__ import annotations

from pathlib import Path

import pytest

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore
from sojourn.stores.threaded import ThreadedStore
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


class TestSQLiteStore(
    StoreContract,
    PrincipalIndexContract,
    PurgeContract,
    CountContract,
    ScanContract,
    LifecycleEventsContract,
):
    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.path = tmp_path / "sessions.db"

    def make_store(self) -> Store:
        return SQLiteStore(self.path)

    def reopen_store(self, store: Store) -> Store:
        return SQLiteStore(self.path)


class TestAsyncSQLiteStore(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncCountContract,
    AsyncScanContract,
    AsyncLifecycleEventsContract,
):
    @pytest.fixture(autouse=True)
    def _database(self, tmp_path: Path) -> None:
        self.path = tmp_path / "sessions.db"

    async def make_store(self) -> AsyncStore:
        return AsyncSQLiteStore(self.path)

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        return AsyncSQLiteStore(self.path)


class TestThreadedSQLiteStore(TestAsyncSQLiteStore):
    """The sync store under async code: every capability passed through, and proved."""

    async def make_store(self) -> AsyncStore:
        return ThreadedStore(SQLiteStore(self.path))

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        return ThreadedStore(SQLiteStore(self.path))
