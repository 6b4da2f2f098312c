"""µs per store operation for the SQL stores, µs per request through the ASGI middleware, and
the cost of purging expired sessions from a large table.

Servers: PostgreSQL 127.0.0.1:5432 (database ``test``), MariaDB/MySQL 127.0.0.1:3306 (database
``test``), Redis 127.0.0.1:6379 (middleware comparison only). A server that is down is skipped
with a note. Every run works in its own randomly named tables (and Redis key prefix) and drops
them afterwards.

Sections:
    store operations: sequential ``create``, ``load``, ``load`` with a due renewal, and
        ``apply`` (one key set) on the sync and async stores; best of ``--repeat`` runs.
    middleware: GET/POST with a session cookie through ``sojourn.asgi.SessionMiddleware`` over
        each async store (the in-process ASGI caller of :mod:`benchmarks.asgi_bench`).
    purge: ``purge_expired(now, batch_size=1000)`` removing ``--expired`` expired rows (one
        field each) among ``--live`` live ones, loaded in bulk with server-side SQL.

Run: ``python -m benchmarks.sql_bench`` (``--live 1000000`` for the full-size purge).
"""

from __future__ import annotations

import argparse
import asyncio
import platform
import secrets
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from sojourn.stores.base import AsyncStore, Changes, Record, Renewal, Store
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore

PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
MYSQL_URL = "mysql://root@127.0.0.1:3306/test"
REDIS_URL = "redis://127.0.0.1:6379/15"
OPS = ("create", "load", "load+renew", "apply")


def new_key() -> str:
    return secrets.token_hex(32)


def record(now: float) -> Record:
    return Record(
        key=new_key(),
        fields={"user": b'"alice"', "cart": b"[1,2,3]", "n": b"1"},
        principal=None,
        created_at=now,
        renewed_at=now,
        expires_at=now + 1800,
    )


# -- store operations -------------------------------------------------------------------------


def sync_ops(store: Store, n: int, repeat: int) -> dict[str, float]:
    """Best µs per operation for each of ``OPS`` on a sync store."""
    best = dict.fromkeys(OPS, float("inf"))
    for _ in range(repeat):
        now = time.time()
        records = [record(now) for _ in range(n)]
        start = time.perf_counter()
        for r in records:
            store.create(r)
        best["create"] = min(best["create"], time.perf_counter() - start)
        start = time.perf_counter()
        for r in records:
            store.load(r.key, now)
        best["load"] = min(best["load"], time.perf_counter() - start)
        later = now + 120
        renewal = Renewal(now=later, idle_timeout=1800, lifetime=86400, interval=60)
        start = time.perf_counter()
        for r in records:
            store.load(r.key, later, renewal)
        best["load+renew"] = min(best["load+renew"], time.perf_counter() - start)
        changes = Changes(now=later, expires_at=later + 1800, set={"n": b"2"})
        start = time.perf_counter()
        for r in records:
            store.apply(r.key, changes)
        best["apply"] = min(best["apply"], time.perf_counter() - start)
    return {op: seconds / n * 1e6 for op, seconds in best.items()}


async def async_ops(store: AsyncStore, n: int, repeat: int) -> dict[str, float]:
    """Best µs per operation for each of ``OPS`` on an async store."""
    best = dict.fromkeys(OPS, float("inf"))
    for _ in range(repeat):
        now = time.time()
        records = [record(now) for _ in range(n)]
        start = time.perf_counter()
        for r in records:
            await store.create(r)
        best["create"] = min(best["create"], time.perf_counter() - start)
        start = time.perf_counter()
        for r in records:
            await store.load(r.key, now)
        best["load"] = min(best["load"], time.perf_counter() - start)
        later = now + 120
        renewal = Renewal(now=later, idle_timeout=1800, lifetime=86400, interval=60)
        start = time.perf_counter()
        for r in records:
            await store.load(r.key, later, renewal)
        best["load+renew"] = min(best["load+renew"], time.perf_counter() - start)
        changes = Changes(now=later, expires_at=later + 1800, set={"n": b"2"})
        start = time.perf_counter()
        for r in records:
            await store.apply(r.key, changes)
        best["apply"] = min(best["apply"], time.perf_counter() - start)
    return {op: seconds / n * 1e6 for op, seconds in best.items()}


# -- servers and their cleanup ------------------------------------------------------------------


def table_name() -> str:
    return "sojourn_bench_" + secrets.token_hex(4)


def pg_drop(table: str) -> None:
    import psycopg

    with psycopg.connect(PG_URL, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {table}_fields, {table}")
        conn.execute("DELETE FROM sojourn_schema WHERE table_name = %s", (table,))


def mysql_execute(*statements: tuple[str, tuple[object, ...]]) -> None:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", database="test", autocommit=True)
    try:
        with conn.cursor() as cursor:
            for sql, args in statements:
                cursor.execute(sql, args or None)
    finally:
        conn.close()


def mysql_drop(table: str) -> None:
    mysql_execute(
        (f"DROP TABLE IF EXISTS {table}_fields, {table}", ()),
        ("DELETE FROM sojourn_schema WHERE table_name = %s", (table,)),
    )


def reachable(name: str, probe: Callable[[], object]) -> bool:
    try:
        probe()
    except Exception as exc:
        print(f"  skipping {name}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return False
    return True


def pg_probe() -> None:
    import psycopg

    psycopg.connect(PG_URL, connect_timeout=2).close()


def redis_probe() -> None:
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    finally:
        client.close()


def mysql_probe() -> None:
    mysql_execute(("SELECT 1", ()))


# -- the sections -------------------------------------------------------------------------------


def store_section(n: int, repeat: int, tmp: Path, have_pg: bool, have_my: bool) -> str:
    results: dict[str, dict[str, float]] = {}
    sqlite = SQLiteStore(tmp / "ops.db")
    results["SQLiteStore"] = sync_ops(sqlite, n, repeat)
    sqlite.close()
    asqlite = AsyncSQLiteStore(tmp / "aops.db")
    results["AsyncSQLiteStore"] = asyncio.run(_closing(asqlite, async_ops(asqlite, n, repeat)))
    if have_pg:
        from sojourn.stores.postgres import AsyncPostgresStore, PostgresStore

        table = table_name()
        try:
            pg = PostgresStore.from_url(PG_URL, table=table)
            results["PostgresStore"] = sync_ops(pg, n, repeat)
            pg.close()
            apg = AsyncPostgresStore.from_url(PG_URL, table=table)
            results["AsyncPostgresStore"] = asyncio.run(_closing(apg, async_ops(apg, n, repeat)))
        finally:
            pg_drop(table)
    if have_my:
        from sojourn.stores.mysql import AsyncMySQLStore, MySQLStore

        table = table_name()
        try:
            my = MySQLStore.from_url(MYSQL_URL, table=table)
            results["MySQLStore"] = sync_ops(my, n, repeat)
            my.close()
            amy = AsyncMySQLStore.from_url(MYSQL_URL, table=table)
            results["AsyncMySQLStore"] = asyncio.run(_closing(amy, async_ops(amy, n, repeat)))
        finally:
            mysql_drop(table)
    head = "| store | " + " | ".join(f"{op} µs" for op in OPS) + " |"
    rule = "| --- |" + " ---: |" * len(OPS)
    rows = [
        f"| {name} | " + " | ".join(f"{cells[op]:.0f}" for op in OPS) + " |"
        for name, cells in results.items()
    ]
    return "\n".join([head, rule, *rows])


async def _closing(store: AsyncStore, work: Awaitable[dict[str, float]]) -> dict[str, float]:
    try:
        return await work
    finally:
        await store.aclose()


async def middleware_section(
    requests: int, repeat: int, tmp: Path, have_pg: bool, have_my: bool
) -> str:
    from benchmarks.asgi_bench import measure, session_cookie, sojourn_app

    stores: dict[str, AsyncStore] = {"AsyncSQLiteStore": AsyncSQLiteStore(tmp / "mw.db")}
    cleanup: list[Callable[[], None]] = []
    prefix = f"sojourn-bench-{secrets.token_hex(4)}:"
    if reachable("Redis", redis_probe):
        from sojourn.stores.redis import AsyncRedisStore

        stores["AsyncRedisStore"] = AsyncRedisStore.from_url(REDIS_URL, prefix=prefix)
    if have_pg:
        from sojourn.stores.postgres import AsyncPostgresStore

        pg_table = table_name()
        stores["AsyncPostgresStore"] = AsyncPostgresStore.from_url(PG_URL, table=pg_table)
        cleanup.append(lambda: pg_drop(pg_table))
    if have_my:
        from sojourn.stores.mysql import AsyncMySQLStore

        my_table = table_name()
        stores["AsyncMySQLStore"] = AsyncMySQLStore.from_url(MYSQL_URL, table=my_table)
        cleanup.append(lambda: mysql_drop(my_table))
    results: dict[str, dict[str, float]] = {}
    try:
        for name, store in stores.items():
            app = sojourn_app(store)
            cookie = await session_cookie(app)
            results[name] = {
                scenario: await measure(app, scenario, cookie, requests, repeat)
                for scenario in ("read", "write")
            }
            print(f"  measured middleware + {name}", file=sys.stderr, flush=True)
    finally:
        for store in stores.values():
            await store.aclose()
        for drop in cleanup:
            drop()
        if "AsyncRedisStore" in stores:
            await _redis_cleanup(prefix)
    head = "| store behind SessionMiddleware | GET (read) µs | POST (write) µs |"
    rule = "| --- | ---: | ---: |"
    rows = [f"| {n} | {c['read']:.0f} | {c['write']:.0f} |" for n, c in results.items()]
    return "\n".join([head, rule, *rows])


async def _redis_cleanup(prefix: str) -> None:
    import redis.asyncio

    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        keys = [key async for key in client.scan_iter(match=prefix + "*", count=1000)]
        if keys:
            await client.delete(*keys)
    finally:
        await client.aclose()


def purge_section(live: int, expired: int, have_pg: bool, have_my: bool) -> str:
    rows: list[str] = []
    if have_pg:
        rows.append(_purge_pg(live, expired))
    if have_my:
        rows.append(_purge_mysql(live, expired))
    head = (
        "| store | live rows | expired rows | bulk load s | purge s | batches "
        "| ms per batch (mean) | µs per purged row |"
    )
    rule = "| --- |" + " ---: |" * 7
    return "\n".join([head, rule, *rows])


def _purge_row(name: str, live: int, expired: int, load: float, purge: Callable[[], int]) -> str:
    start = time.perf_counter()
    purged = purge()
    seconds = time.perf_counter() - start
    if purged != expired:
        raise RuntimeError(f"{name}: purged {purged}, expected {expired}")
    batches = -(-expired // 1000) + 1  # the last, short batch confirms nothing is left
    return (
        f"| {name} | {live:,} | {expired:,} | {load:.1f} | {seconds:.2f} | {batches} "
        f"| {seconds / batches * 1000:.1f} | {seconds / expired * 1e6:.1f} |"
    )


def _purge_pg(live: int, expired: int) -> str:
    import psycopg

    from sojourn.stores.postgres import PostgresStore

    table = table_name()
    store = PostgresStore.from_url(PG_URL, table=table, timeout=600)  # a maintenance job
    now = time.time()
    try:
        store.count(now)  # creates the schema
        start = time.perf_counter()
        with psycopg.connect(PG_URL, autocommit=True) as conn:
            conn.execute("SET statement_timeout = 0")
            for first, count, deadline in ((1, live, now + 3600), (live + 1, expired, now - 60)):
                conn.execute(
                    f"INSERT INTO {table} (key, principal, created_at, renewed_at, expires_at, "
                    "meta, fields) SELECT encode(sha256(i::text::bytea), 'hex'), NULL, %s, %s, "
                    """%s, '{}', '{"user": "\\"alice\\""}' """
                    "FROM generate_series(%s::int, %s::int) AS i",
                    (now - 600, now - 600, deadline, first, first + count - 1),
                )
            conn.execute(f"ANALYZE {table}")
        load = time.perf_counter() - start
        return _purge_row(
            "PostgresStore", live, expired, load, lambda: store.purge_expired(now, 1000)
        )
    finally:
        store.close()
        pg_drop(table)


def _purge_mysql(live: int, expired: int) -> str:
    from sojourn.stores.mysql import MySQLStore

    table = table_name()
    store = MySQLStore.from_url(MYSQL_URL, table=table, timeout=600)  # a maintenance job
    now = time.time()
    try:
        store.count(now)  # creates the schema
        start = time.perf_counter()
        statements: list[tuple[str, tuple[object, ...]]] = []
        for first, count, deadline in ((1, live, now + 3600), (live + 1, expired, now - 60)):
            # seq_1_to_N is MariaDB's Sequence engine.
            seq = f"(SELECT seq + {first - 1} AS i FROM seq_1_to_{count}) AS s"
            statements.append(
                (
                    f"INSERT INTO {table} (`key`, principal, created_at, renewed_at, "
                    "expires_at, meta) SELECT SHA2(i, 256), NULL, %s, %s, %s, '{}' "
                    f"FROM {seq}",
                    (now - 600, now - 600, deadline),
                )
            )
            statements.append(
                (
                    f"INSERT INTO {table}_fields (`key`, name, value) "
                    f"SELECT SHA2(i, 256), 'user', '\"alice\"' FROM {seq}",
                    (),
                )
            )
        statements.append((f"ANALYZE TABLE {table}, {table}_fields", ()))
        mysql_execute(*statements)
        load = time.perf_counter() - start
        return _purge_row(
            "MySQLStore (MariaDB)", live, expired, load, lambda: store.purge_expired(now, 1000)
        )
    finally:
        store.close()
        mysql_drop(table)


def ops_and_middleware(
    args: argparse.Namespace, tmp: Path, env: str, have_pg: bool, have_my: bool
) -> None:
    """Print the store-operation and middleware tables."""
    ops = store_section(args.ops, args.repeat, tmp, have_pg, have_my)
    print(f"\n### SQL stores: µs per operation (best of {args.repeat} x {args.ops}; {env})\n")
    print(ops, flush=True)
    mw = asyncio.run(middleware_section(args.requests, args.repeat, tmp, have_pg, have_my))
    print(
        f"\n### Through sojourn.asgi.SessionMiddleware (Starlette): µs per request "
        f"(best of {args.repeat} x {args.requests})\n"
    )
    print(mw, flush=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.sql_bench", description=__doc__)
    parser.add_argument("--ops", type=int, default=1000, help="operations per run and kind")
    parser.add_argument("--requests", type=int, default=1000, help="requests per middleware run")
    parser.add_argument("--repeat", type=int, default=3, help="runs per cell (best is kept)")
    parser.add_argument("--live", type=int, default=200_000, help="live rows for the purge")
    parser.add_argument("--expired", type=int, default=100_000, help="expired rows to purge")
    parser.add_argument("--skip-purge", action="store_true", help="leave out the purge section")
    parser.add_argument("--skip-ops", action="store_true", help="only the purge section")
    parser.add_argument(
        "--purge-stores", default="postgres,mysql", help="comma-separated: postgres, mysql"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    have_pg = reachable("PostgreSQL", pg_probe)
    have_my = reachable("MySQL", mysql_probe)
    env = f"Python {platform.python_version()}, {platform.machine()}, servers on loopback"
    with tempfile.TemporaryDirectory() as tmp:
        if not args.skip_ops:
            ops_and_middleware(args, Path(tmp), env, have_pg, have_my)
    if not args.skip_purge:
        chosen = {name.strip() for name in args.purge_stores.split(",")}
        purge = purge_section(
            args.live, args.expired, have_pg and "postgres" in chosen, have_my and "mysql" in chosen
        )
        print("\n### purge_expired(now, batch_size=1000)\n")
        print(purge)
    print(f"\n(total {time.perf_counter() - started:.1f} s)")


if __name__ == "__main__":
    main()
