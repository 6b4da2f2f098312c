"""The conformance suite against PostgreSQL (127.0.0.1:5432, database ``test``), sync and async.

Every test gets its own randomly named table, dropped afterwards.
"""

from __future__ import annotations

import secrets

import psycopg
import pytest

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.postgres import AsyncPostgresStore, PostgresStore
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
from tests.conftest import require_server

URL = "postgresql://postgres@127.0.0.1:5432/test"

pytestmark = pytest.mark.server


def new_table() -> str:
    return "sojourn_t_" + secrets.token_hex(6)


def drop(table: str) -> None:
    """Drop a test table and its schema row (also checks the server is reachable)."""
    try:
        with psycopg.connect(URL, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {table}_fields, {table}")
            conn.execute(
                "DELETE FROM sojourn_schema WHERE table_name = %s"
                " AND to_regclass('sojourn_schema') IS NOT NULL",
                (table,),
            )
    except psycopg.errors.UndefinedTable:
        pass
    except psycopg.OperationalError as exc:
        require_server("PostgreSQL", str(exc))


class TestPostgresStore(
    StoreContract,
    PrincipalIndexContract,
    PurgeContract,
    CountContract,
    ScanContract,
    LifecycleEventsContract,
):
    def make_store(self) -> Store:
        table = new_table()
        drop(table)
        return PostgresStore.from_url(URL, table=table, max_size=25)

    def reopen_store(self, store: Store) -> Store:
        assert isinstance(store, PostgresStore)
        return PostgresStore.from_url(URL, table=store.table, create_schema=False)

    def destroy_store(self, store: Store) -> None:
        store.close()
        assert isinstance(store, PostgresStore)
        drop(store.table)


class TestAsyncPostgresStore(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncPurgeContract,
    AsyncCountContract,
    AsyncScanContract,
    AsyncLifecycleEventsContract,
):
    async def make_store(self) -> AsyncStore:
        table = new_table()
        drop(table)
        return AsyncPostgresStore.from_url(URL, table=table, max_size=25)

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncPostgresStore)
        return AsyncPostgresStore.from_url(URL, table=store.table, create_schema=False)

    async def destroy_store(self, store: AsyncStore) -> None:
        await store.aclose()
        assert isinstance(store, AsyncPostgresStore)
        drop(store.table)
