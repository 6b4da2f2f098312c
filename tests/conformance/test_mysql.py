"""The conformance suite against MariaDB/MySQL (127.0.0.1:3306, database ``test``), sync and async.

Every test gets its own randomly named table, dropped afterwards.
"""

from __future__ import annotations

import secrets

import pymysql
import pytest

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.mysql import AsyncMySQLStore, MySQLStore
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

URL = "mysql://root@127.0.0.1:3306/test"

pytestmark = pytest.mark.server


def new_table() -> str:
    return "sojourn_t_" + secrets.token_hex(6)


def drop(table: str) -> None:
    """Drop a test table and its schema row (also checks the server is reachable)."""
    try:
        conn = pymysql.connect(
            host="127.0.0.1", user="root", database="test", autocommit=True, connect_timeout=3
        )
    except pymysql.err.OperationalError as exc:
        require_server("MariaDB", str(exc))
        return
    try:
        with conn.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {table}_fields, {table}")
            cursor.execute("SHOW TABLES LIKE 'sojourn\\_schema'")
            if cursor.fetchone():
                cursor.execute("DELETE FROM sojourn_schema WHERE table_name = %s", (table,))
    finally:
        conn.close()


class TestMySQLStore(
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
        return MySQLStore.from_url(URL, table=table, max_size=25)

    def reopen_store(self, store: Store) -> Store:
        assert isinstance(store, MySQLStore)
        return MySQLStore.from_url(URL, table=store.table, create_schema=False)

    def destroy_store(self, store: Store) -> None:
        store.close()
        assert isinstance(store, MySQLStore)
        drop(store.table)


class TestAsyncMySQLStore(
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
        return AsyncMySQLStore.from_url(URL, table=table, max_size=25)

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncMySQLStore)
        return AsyncMySQLStore.from_url(URL, table=store.table, create_schema=False)

    async def destroy_store(self, store: AsyncStore) -> None:
        await store.aclose()
        assert isinstance(store, AsyncMySQLStore)
        drop(store.table)
