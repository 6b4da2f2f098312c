"""Every store's default bound on a call is at most 2 s, and one ``timeout`` sets it.

Built from URLs without connecting (every store connects lazily), so no server is needed:
what is checked is where the bound ends up — the store's own ``timeout``, the pool's wait,
the driver's connect, read and statement timeouts.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from sojourn import ConfigurationError
from sojourn.stores._timeouts import DEFAULT_TIMEOUT, check_timeout
from sojourn.stores.mysql import AsyncMySQLPool, AsyncMySQLStore, MySQLPool, MySQLStore
from sojourn.stores.postgres import AsyncPostgresStore, PostgresStore
from sojourn.stores.redis import AsyncRedisStore, RedisStore
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore

PG = "postgresql://postgres@127.0.0.1:5432/test"
MY = "mysql://root@127.0.0.1:3306/test"
REDIS = "redis://127.0.0.1:6379/0"


def pg_args(store: PostgresStore | AsyncPostgresStore) -> dict[str, Any]:
    """The connection arguments the store's pool passes to psycopg."""
    kwargs = store._pool.kwargs
    assert isinstance(kwargs, dict)
    return kwargs


def test_the_shared_default_is_at_most_two_seconds() -> None:
    assert 0 < DEFAULT_TIMEOUT <= 2.0


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), True, "2"])
def test_check_timeout_refuses_what_bounds_nothing(bad: object) -> None:
    with pytest.raises(ConfigurationError):
        check_timeout(bad)


def test_sqlite_defaults(tmp_path: Path) -> None:
    assert SQLiteStore(tmp_path / "a.db").timeout == DEFAULT_TIMEOUT
    assert AsyncSQLiteStore(tmp_path / "a.db").timeout == DEFAULT_TIMEOUT


@pytest.mark.parametrize("kind", [PostgresStore, AsyncPostgresStore])
def test_postgres_defaults(kind: type[PostgresStore] | type[AsyncPostgresStore]) -> None:
    store = kind.from_url(PG)
    assert store.timeout == DEFAULT_TIMEOUT
    pool = store._pool
    assert pool.timeout == DEFAULT_TIMEOUT
    assert pool.reconnect_timeout == DEFAULT_TIMEOUT
    assert pg_args(store)["connect_timeout"] == 2  # libpq's minimum, in whole seconds
    assert pg_args(store)["options"] == "-c statement_timeout=2000"
    assert pg_args(store)["tcp_user_timeout"] == 2000


@pytest.mark.parametrize("kind", [PostgresStore, AsyncPostgresStore])
def test_postgres_one_timeout_sets_them_all(
    kind: type[PostgresStore] | type[AsyncPostgresStore],
) -> None:
    store = kind.from_url(PG, timeout=0.5)
    assert store.timeout == 0.5
    assert store._pool.timeout == 0.5
    assert pg_args(store)["options"] == "-c statement_timeout=500"
    # A long maintenance statement may be allowed more server time; each call stays bounded.
    longer = kind.from_url(PG, timeout=0.5, command_timeout=600)
    assert longer.timeout == 0.5
    assert pg_args(longer)["options"] == "-c statement_timeout=600000"


@pytest.mark.parametrize(("kind", "pool_kind"), [(MySQLStore, MySQLPool)])
def test_mysql_sync_defaults(kind: type[MySQLStore], pool_kind: type[MySQLPool]) -> None:
    store = kind.from_url(MY)
    assert store.timeout == DEFAULT_TIMEOUT
    pool = store._pool
    assert isinstance(pool, pool_kind)
    assert pool.timeout == DEFAULT_TIMEOUT
    args = pool._connect_args
    assert args["connect_timeout"] == DEFAULT_TIMEOUT
    assert args["read_timeout"] == DEFAULT_TIMEOUT
    assert args["write_timeout"] == DEFAULT_TIMEOUT


def test_mysql_async_defaults() -> None:
    store = AsyncMySQLStore.from_url(MY)
    assert store.timeout == DEFAULT_TIMEOUT
    assert isinstance(store._pool, AsyncMySQLPool)
    assert store._pool.timeout == DEFAULT_TIMEOUT
    assert store._pool._connect_args["connect_timeout"] == DEFAULT_TIMEOUT
    assert AsyncMySQLStore.from_url(MY, timeout=0.5).timeout == 0.5


@pytest.mark.anyio
async def test_redis_defaults() -> None:
    for store in (AsyncRedisStore.from_url(REDIS), RedisStore.from_url(REDIS)):
        client: Any = store.client
        kwargs = client.connection_pool.connection_kwargs
        assert store.timeout == DEFAULT_TIMEOUT
        if isinstance(store, AsyncRedisStore):
            # The async store bounds each whole call itself (asyncio.timeout), so redis-py's
            # per-read timeouts, a task per command, are off.
            assert kwargs["socket_timeout"] is None
        else:
            assert kwargs["socket_timeout"] == DEFAULT_TIMEOUT
        assert kwargs["socket_connect_timeout"] == DEFAULT_TIMEOUT
        assert "retry" not in kwargs  # no retries: each call is one attempt, in the bound
        assert kwargs["driver_info"] is None  # nothing sent on connecting
        assert not client.connection_pool.maint_notifications_enabled()
    sync = RedisStore.from_url(REDIS, timeout=0.5)
    sync_client: Any = sync.client
    assert sync_client.connection_pool.connection_kwargs["socket_timeout"] == 0.5
    sync.close()
