"""The server stores the fault tests run against, each reachable directly or through a proxy.

A :class:`Server` builds a store on any port, so a test can point one store at a
:class:`~tests.faults.proxy.FaultProxy` and inspect the same data through a second store
connected directly. Every store is built with a short ``timeout`` (:data:`BOUND`) so a fault
test takes seconds. Servers that are down skip the test, or fail it under ``CI=true``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field

from sojourn.stores.base import AsyncStore, Store

BOUND = 0.5
"""The ``timeout`` every store under test is built with, in seconds."""


@dataclass
class Server:
    """One server store: its port and how to build, check and clean up stores on it."""

    name: str
    port: int
    require: Callable[[], None]
    make_async: Callable[[int, str], AsyncStore]
    make_sync: Callable[[int, str], Store]
    cleanup: Callable[[str], None]
    namespace: str = field(default_factory=lambda: "sojourn_f_" + secrets.token_hex(5))


def _redis() -> Server:
    from sojourn.stores.redis import AsyncRedisStore, RedisStore
    from tests.conformance.test_redis import _require_redis

    def url(port: int) -> str:
        return f"redis://127.0.0.1:{port}/0"

    def cleanup(namespace: str) -> None:
        import redis

        client = redis.Redis(port=6379, socket_timeout=5)
        for key in client.scan_iter(match=namespace + ":*", count=1000):
            client.delete(key)
        client.close()

    return Server(
        "redis",
        6379,
        _require_redis,
        lambda port, ns: AsyncRedisStore.from_url(url(port), prefix=ns + ":", timeout=BOUND),
        lambda port, ns: RedisStore.from_url(url(port), prefix=ns + ":", timeout=BOUND),
        cleanup,
    )


def _postgres() -> Server:
    from sojourn.stores.postgres import AsyncPostgresStore, PostgresStore
    from tests.conformance.test_postgres import drop

    def url(port: int) -> str:
        return f"postgresql://postgres@127.0.0.1:{port}/test"

    return Server(
        "postgres",
        5432,
        lambda: drop("sojourn_f_probe"),
        lambda port, table: AsyncPostgresStore.from_url(url(port), table=table, timeout=BOUND),
        lambda port, table: PostgresStore.from_url(url(port), table=table, timeout=BOUND),
        drop,
    )


def _mysql() -> Server:
    from sojourn.stores.mysql import AsyncMySQLStore, MySQLStore
    from tests.conformance.test_mysql import drop

    def url(port: int) -> str:
        return f"mysql://root@127.0.0.1:{port}/test"

    return Server(
        "mysql",
        3306,
        lambda: drop("sojourn_f_probe"),
        lambda port, table: AsyncMySQLStore.from_url(url(port), table=table, timeout=BOUND),
        lambda port, table: MySQLStore.from_url(url(port), table=table, timeout=BOUND),
        drop,
    )


SERVERS: dict[str, Callable[[], Server]] = {
    "redis": _redis,
    "postgres": _postgres,
    "mysql": _mysql,
}
