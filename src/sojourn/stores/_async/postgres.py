"""The PostgreSQL store on psycopg 3 and psycopg-pool (one source for the sync and async pair).

Layout: one row per session in ``<table>``; the session's keys live in its ``fields`` column,
a ``jsonb`` object mapping each key to its encoded value as a JSON string (byte-exact: the
encoded values are UTF-8 JSON text, stored verbatim as strings, never re-serialised). A change
set is ``fields = (fields - removed) || set`` in the same ``UPDATE`` that re-checks expiry, so it
touches only the keys it names; measured against the per-key ``<table>_fields`` layout the
other SQL stores use, it halves the cost of ``apply`` and cuts ``load`` by a third here (see
docs/stores/sql.md).

Every operation is one statement, hence one round trip and one implicit transaction:

- ``load`` with renewal is a data-modifying CTE (``UPDATE ... RETURNING``);
- ``apply`` is one ``UPDATE ... WHERE key = ? AND expires_at > now``. It takes the row lock;
  a concurrent writer makes it wait and then re-evaluate both the ``WHERE`` and the new
  ``fields`` against the committed row, so concurrent change sets on distinct keys all land
  and a change set racing a delete either finds no row (nothing written, ``False``) or commits
  before the delete removes the row (no resurrection);
- ``purge_expired`` deletes ``LIMIT n ... FOR UPDATE SKIP LOCKED`` batches, each its own
  short transaction.

Driver and pool errors become :class:`~sojourn.StoreUnavailable` in :meth:`_connection`, the
one place that talks to the pool. It also bounds each call by the store's ``timeout``: the
wait for a pooled connection takes part of the budget, and a statement still unanswered when
the budget runs out has its connection's socket shut down (see :mod:`sojourn.stores._deadline`
for why neither ``statement_timeout``, TCP timeouts nor cancelling the coroutine suffice), so
the call fails with ``StoreUnavailable`` and the pool discards that connection.
"""

from __future__ import annotations

import asyncio  # unasync: import threading
import json
import math
import re
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import psycopg
import psycopg.conninfo
from psycopg_pool import AsyncConnectionPool

from ..._core.errors import (
    ConfigurationError,
    CorruptSession,
    SessionExists,
    StoreUnavailable,
    UnencodableValue,
)
from .._deadline import arm, cut_socket, remaining
from .._scan import check_scan, keyset_page
from .._sql import (
    DEFAULT_TABLE,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    check_schema_version,
    encode_meta,
    record_from_row,
    record_from_session_row,
    removed_record,
    renewal_deadline,
    validate_sql_table,
)
from .._timeouts import DEFAULT_TIMEOUT, check_timeout
from ..base import Changes, OnExpired, Record, Renewal

_COLUMNS = "key, principal, created_at, renewed_at, expires_at, authenticated_at, meta"


def schema_statements(table: str) -> list[str]:
    """The DDL for ``table``, one statement per item (all idempotent)."""
    t = validate_sql_table(table)
    return [
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (\n"
        "    table_name TEXT PRIMARY KEY,\n"
        "    version INTEGER NOT NULL\n"
        ")",
        f"CREATE TABLE IF NOT EXISTS {t} (\n"
        "    key TEXT PRIMARY KEY,\n"
        "    principal TEXT,\n"
        "    created_at DOUBLE PRECISION NOT NULL,\n"
        "    renewed_at DOUBLE PRECISION NOT NULL,\n"
        "    expires_at DOUBLE PRECISION NOT NULL,\n"
        "    authenticated_at DOUBLE PRECISION,\n"
        "    meta TEXT NOT NULL DEFAULT '{}',\n"
        "    fields JSONB NOT NULL DEFAULT '{}'\n"
        ")",
        f"CREATE INDEX IF NOT EXISTS {t}_expires_at ON {t} (expires_at)",
        f"CREATE INDEX IF NOT EXISTS {t}_principal ON {t} (principal) WHERE principal IS NOT NULL",
        f"INSERT INTO {SCHEMA_TABLE} (table_name, version) VALUES ('{t}', {SCHEMA_VERSION}) "
        "ON CONFLICT (table_name) DO NOTHING",
    ]


def schema_sql(table: str = DEFAULT_TABLE) -> str:
    """The DDL a DBA can run to create the tables for ``table`` ahead of time."""
    return ";\n\n".join(schema_statements(table)) + ";\n"


def _encode_fields(fields: Mapping[str, bytes]) -> str:
    """The ``jsonb`` text for some fields: each encoded value kept verbatim as a string."""
    try:
        values = {name: bytes(value).decode() for name, value in fields.items()}
    except UnicodeDecodeError as exc:
        raise UnencodableValue("a session value's encoding is not UTF-8") from exc
    return json.dumps(values, ensure_ascii=False, separators=(",", ":"))


def _decode_fields(value: object) -> dict[str, bytes]:
    """The ``fields`` mapping from the ``jsonb`` column (psycopg hands back a dict)."""
    if not isinstance(value, dict):
        raise CorruptSession("stored session fields are not a JSON object")
    fields: dict[str, bytes] = {}
    for name, text in value.items():
        if not isinstance(text, str):
            raise CorruptSession("a stored session value is not a JSON string")
        fields[name] = text.encode()
    return fields


def _record(row: Sequence[object]) -> Record:
    return record_from_row(row[:-1], _decode_fields(row[-1]))


def _own_term(name: str) -> str:
    # jsonb parsing only for a row whose meta names the entry (most have none).
    return (
        f"CASE WHEN position('\"{name}\"' IN meta) > 0 THEN (meta::jsonb ->> '{name}')::float8 END"
    )


class _Queries:
    """The SQL text for one table, built once (the table name is validated first)."""

    def __init__(self, table: str) -> None:
        t = validate_sql_table(table)
        self._table = t
        self.load = (
            f"SELECT {_COLUMNS}, fields FROM {t} WHERE key = %(key)s AND expires_at > %(now)s"
        )
        deadline = renewal_deadline(_own_term)
        self.load_renewing = (
            f"WITH renewed AS (UPDATE {t} SET renewed_at = %(now)s, expires_at = {deadline} "
            "WHERE key = %(key)s AND expires_at > %(now)s "
            f"AND %(now)s - renewed_at >= %(interval)s AND {deadline} > expires_at "
            f"RETURNING {_COLUMNS}, fields) "
            f"SELECT {_COLUMNS}, fields FROM renewed UNION ALL "
            f"SELECT {_COLUMNS}, fields FROM {t} WHERE key = %(key)s AND expires_at > %(now)s "
            "AND NOT EXISTS (SELECT 1 FROM renewed)"
        )
        # An expired row under the same key is replaced; a live one is left alone (rowcount 0).
        self.create = (
            f"INSERT INTO {t} ({_COLUMNS}, fields) VALUES (%(key)s, %(principal)s, "
            "%(created_at)s, %(renewed_at)s, %(expires_at)s, %(authenticated_at)s, %(meta)s, "
            "%(fields)s::jsonb) "
            "ON CONFLICT (key) DO UPDATE SET principal = EXCLUDED.principal, "
            "created_at = EXCLUDED.created_at, renewed_at = EXCLUDED.renewed_at, "
            "expires_at = EXCLUDED.expires_at, authenticated_at = EXCLUDED.authenticated_at, "
            f"meta = EXCLUDED.meta, fields = EXCLUDED.fields "
            f"WHERE {t}.expires_at <= EXCLUDED.renewed_at"
        )
        self._apply: dict[tuple[bool, bool, bool, bool], str] = {}
        self.rename = f"UPDATE {t} SET key = %s WHERE key = %s AND expires_at > %s"
        self.delete = f"DELETE FROM {t} WHERE key = %s"
        self.sessions_of = (
            f"SELECT {_COLUMNS} FROM {t} WHERE principal = %s AND expires_at > %s "
            "ORDER BY created_at, key"
        )
        self.delete_sessions_of = f"DELETE FROM {t} WHERE principal = %s"
        self.delete_sessions_of_keeping = f"DELETE FROM {t} WHERE principal = %s AND key <> %s"
        self.purge = (
            f"DELETE FROM {t} WHERE key IN (SELECT key FROM {t} WHERE expires_at <= %s "
            "ORDER BY expires_at LIMIT %s FOR UPDATE SKIP LOCKED)"
        )
        self.purge_reporting = f"{self.purge} RETURNING {_COLUMNS}"
        # One statement: of two requests taking the same expired row, the second finds none.
        self.take_expired = (
            f"DELETE FROM {t} WHERE key = %s AND expires_at <= %s RETURNING {_COLUMNS}"
        )
        self.take = f"DELETE FROM {t} WHERE key = %s RETURNING {_COLUMNS}"
        self.count = f"SELECT count(*) FROM {t} WHERE expires_at > %s"
        self.version = f"SELECT version FROM {SCHEMA_TABLE} WHERE table_name = %s"
        # Keyset pagination on the primary key (never OFFSET): one row more than the page.
        self.scan = (
            f"SELECT {_COLUMNS}, fields FROM {t} WHERE key > %s AND expires_at > %s "
            "ORDER BY key LIMIT %s"
        )
        self.exists = "SELECT to_regclass(%s) IS NOT NULL, to_regclass(%s) IS NOT NULL"

    def apply(self, login: bool, meta: bool, remove: bool, set_: bool) -> str:
        """The one-statement change set, with only the assignments it needs."""
        shape = (login, meta, remove, set_)
        cached = self._apply.get(shape)
        if cached is not None:
            return cached
        sets = "renewed_at = %(now)s, expires_at = %(expires_at)s"
        if login:
            sets += (
                ", principal = %(principal)s, authenticated_at = %(login_at)s, "
                "created_at = %(login_at)s"
            )
        if meta:
            sets += ", meta = %(meta)s"
        if remove or set_:
            fields = "(fields - %(remove)s::text[])" if remove else "fields"
            if set_:
                fields += " || %(set)s::jsonb"
            sets += f", fields = {fields}"
        sql = f"UPDATE {self._table} SET {sets} WHERE key = %(key)s AND expires_at > %(now)s"
        self._apply[shape] = sql
        return sql


class AsyncPostgresStore:
    """Sessions in PostgreSQL, shared by every app server that can reach the database.

    Args:
        pool: a psycopg-pool pool. Its connections should be in autocommit mode (the pools
            :meth:`from_url` builds are); the store opens it on first use if it is not open.
        table: the session table's name (letters, digits, underscores); ``<table>_fields``
            sits beside it and ``sojourn_schema`` records the layout version.
        create_schema: create the tables on first use if they are missing. Turn it off when
            a DBA creates them from :func:`schema_sql` and the app's role may not run DDL.
        timeout: the most seconds one call may take — waiting for a pooled connection and
            the statement's round trip together — before it raises ``StoreUnavailable``
            (default :data:`~sojourn.stores._timeouts.DEFAULT_TIMEOUT`, 2 s).
        owns_pool: close the pool in :meth:`aclose` (true for pools built by :meth:`from_url`).
    """

    def __init__(
        self,
        pool: AsyncConnectionPool[Any],
        *,
        table: str = DEFAULT_TABLE,
        create_schema: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        owns_pool: bool = False,
    ) -> None:
        self.table = validate_sql_table(table)
        self.create_schema = create_schema
        self.timeout = check_timeout(timeout)
        self._pool = pool
        self._owns_pool = owns_pool
        self._sql = _Queries(self.table)
        self._ready = False
        self._lock = asyncio.Lock()  # unasync: self._lock = threading.Lock()

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        table: str = DEFAULT_TABLE,
        create_schema: bool = True,
        timeout: float = DEFAULT_TIMEOUT,
        connect_timeout: float | None = None,
        command_timeout: float | None = None,
        min_size: int = 1,
        max_size: int = 10,
    ) -> AsyncPostgresStore:
        """A store with its own pool for ``url`` (``postgresql://user@host:5432/db``).

        Args:
            timeout: the store's bound on one call (see the class), and the default of the
                two below; 2 s unless given.
            connect_timeout: the pool's bound on opening a connection (libpq counts it in
                whole seconds, at least 2); defaults to ``timeout``.
            command_timeout: the server-side ``statement_timeout`` and the client-side TCP
                user timeout; defaults to ``timeout``. Raise it for long maintenance
                statements only: the store's ``timeout`` still bounds each call.

        Raises:
            ConfigurationError: a timeout is not a positive, finite number, the sizes are
                not ``0 <= min_size <= max_size``, or libpq cannot parse the URL (an unknown
                query option, say: ``?table=`` is :func:`sojourn.stores.urls.open_store`'s).
        """
        _check_url(url)
        timeout = check_timeout(timeout)
        connect_timeout = check_timeout(
            timeout if connect_timeout is None else connect_timeout, "connect_timeout"
        )
        command_timeout = check_timeout(
            timeout if command_timeout is None else command_timeout, "command_timeout"
        )
        if not 0 <= min_size <= max_size:
            raise ConfigurationError("sizes must be 0 <= min_size <= max_size")
        command_ms = max(1, round(command_timeout * 1000))
        pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
            url,
            open=False,
            min_size=min_size,
            max_size=max_size,
            timeout=connect_timeout,
            # Give up on a failed reconnection after one timeout rather than backing off for
            # minutes: the next request then starts a fresh attempt, so the pool recovers
            # as soon as the server is back instead of at its next backoff step.
            reconnect_timeout=timeout,
            name="sojourn",
            kwargs={
                "autocommit": True,
                # libpq rounds connect_timeout to whole seconds and treats 1 as 2.
                "connect_timeout": max(2, math.ceil(connect_timeout)),
                "options": f"-c statement_timeout={command_ms}",
                "tcp_user_timeout": command_ms,
            },
        )
        return cls(pool, table=table, create_schema=create_schema, timeout=timeout, owns_pool=True)

    # -- the one place that talks to the pool -----------------------------------------------

    @asynccontextmanager
    async def _connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        deadline = time.monotonic() + self.timeout
        try:
            if not self._ready:
                await self._prepare(deadline)
            async with self._bounded(deadline) as conn:
                yield conn
        except (psycopg.OperationalError, psycopg.InterfaceError, OSError) as exc:
            late = " (no answer in time)" if time.monotonic() >= deadline else ""
            raise StoreUnavailable(
                f"PostgreSQL is unavailable: {type(exc).__name__}{late}"
            ) from exc

    @asynccontextmanager
    async def _bounded(self, deadline: float) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        """A pooled connection whose socket is cut if the block is still running at ``deadline``."""
        async with self._pool.connection(timeout=remaining(deadline)) as conn:
            fd = conn.pgconn.socket
            alarm = arm(deadline, lambda: cut_socket(fd))
            try:
                yield conn
            finally:
                if alarm.cancel():  # cut: close it, so the pool drops it instead of reusing it
                    await conn.close()

    async def _prepare(self, deadline: float) -> None:
        async with self._lock:
            if self._ready:
                return
            if self._owns_pool:
                await self._pool.open(wait=False)
            async with self._bounded(deadline) as conn:
                if self.create_schema:
                    await self._create_schema(conn)
                else:
                    await self._check_schema(conn)
            self._ready = True

    async def _create_schema(self, conn: psycopg.AsyncConnection[Any]) -> None:
        async with conn.transaction():
            # Serialise concurrent first uses: CREATE ... IF NOT EXISTS races in PostgreSQL.
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtext(%s))", ("sojourn:" + self.table,)
            )
            for statement in schema_statements(self.table):
                await conn.execute(statement)
            cursor = await conn.execute(self._sql.version, (self.table,))
            row = await cursor.fetchone()
        version = row[0] if row else None
        check_schema_version(self.table, version)

    async def _check_schema(self, conn: psycopg.AsyncConnection[Any]) -> None:
        """Without ``create_schema``: the table must be there, at this release's version."""
        cursor = await conn.execute(self._sql.exists, (self.table, SCHEMA_TABLE))
        row = await cursor.fetchone()
        if row is None or not row[0]:
            raise ConfigurationError(
                f"PostgreSQL table {self.table!r} does not exist; create it with "
                "sojourn.stores.postgres.schema_sql() or pass create_schema=True"
            )
        version = None
        if row[1]:
            cursor = await conn.execute(self._sql.version, (self.table,))
            found = await cursor.fetchone()
            version = found[0] if found else None
        check_schema_version(self.table, version)

    # -- the store protocol -------------------------------------------------------------------

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load` (one statement)."""
        params: dict[str, object] = {"key": key, "now": now}
        query = self._sql.load
        if renewal is not None:
            query = self._sql.load_renewing
            params.update(
                now=renewal.now,
                idle=renewal.idle_timeout,
                lifetime=renewal.lifetime,
                interval=renewal.interval,
            )
        async with self._connection() as conn:
            cursor = await conn.execute(query, params)
            row = await cursor.fetchone()
        return None if row is None else _record(row)

    async def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create` (one statement)."""
        params = {
            "key": record.key,
            "principal": record.principal,
            "created_at": record.created_at,
            "renewed_at": record.renewed_at,
            "expires_at": record.expires_at,
            "authenticated_at": record.authenticated_at,
            "meta": encode_meta(record.meta),
            "fields": _encode_fields(record.fields),
        }
        async with self._connection() as conn:
            cursor = await conn.execute(self._sql.create, params)
            if cursor.rowcount != 1:
                raise SessionExists(record.key)

    async def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply` (one statement)."""
        # A key both set and removed ends up set (as in Changes.apply_to).
        remove = sorted(changes.remove.difference(changes.set))
        params: dict[str, object] = {
            "key": key,
            "now": changes.now,
            "expires_at": changes.expires_at,
            "remove": remove,
            "set": _encode_fields(changes.set),
        }
        if changes.login is not None:
            params.update(principal=changes.login.principal, login_at=changes.login.at)
        if changes.meta is not None:
            params["meta"] = encode_meta(changes.meta)
        query = self._sql.apply(
            changes.login is not None, changes.meta is not None, bool(remove), bool(changes.set)
        )
        async with self._connection() as conn:
            cursor = await conn.execute(query, params)
            return cursor.rowcount == 1

    async def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename` (one statement)."""
        async with self._connection() as conn:
            cursor = await conn.execute(self._sql.rename, (new, old, now))
            return cursor.rowcount == 1

    async def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`."""
        async with self._connection() as conn:
            await conn.execute(self._sql.delete, (key,))

    async def aclose(self) -> None:
        """Close the pool if this store built it (a pool passed in belongs to the caller)."""
        if self._owns_pool:
            await self._pool.close()
        self._ready = False

    # -- capabilities ---------------------------------------------------------------------------

    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.sessions_of` (no fields)."""
        async with self._connection() as conn:
            cursor = await conn.execute(self._sql.sessions_of, (principal, now))
            rows = await cursor.fetchall()
        return [record_from_session_row(row) for row in rows]

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.delete_sessions_of`."""
        async with self._connection() as conn:
            if keep is None:
                cursor = await conn.execute(self._sql.delete_sessions_of, (principal,))
            else:
                cursor = await conn.execute(self._sql.delete_sessions_of_keeping, (principal, keep))
            return max(cursor.rowcount, 0)

    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPurge.purge_expired`.

        Each batch is one autocommitted statement on a connection of its own, and rows another
        purger holds are skipped rather than waited for. With ``on_expired`` the statement
        returns the rows it deleted (``RETURNING``), reported once it committed.
        """
        if batch_size <= 0:
            raise ConfigurationError("batch_size must be positive")
        query = self._sql.purge if on_expired is None else self._sql.purge_reporting
        total = 0
        while True:
            rows: list[Any] = []
            async with self._connection() as conn:
                cursor = await conn.execute(query, (now, batch_size))
                deleted = max(cursor.rowcount, 0)
                if on_expired is not None:
                    rows = await cursor.fetchall()
            total += deleted
            if on_expired is not None:
                for row in rows:
                    on_expired(removed_record(row))
            if deleted < batch_size:
                return total

    async def take_expired(self, key: str, now: float) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTakeExpired.take_expired` (one
        statement)."""
        return await self._take(self._sql.take_expired, (key, now))

    async def take(self, key: str) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTake.take` (one statement)."""
        return await self._take(self._sql.take, (key,))

    async def _take(self, query: str, params: tuple[object, ...]) -> Record | None:
        async with self._connection() as conn:
            cursor = await conn.execute(query, params)
            row = await cursor.fetchone()
        return None if row is None else removed_record(row)

    async def count(self, now: float) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsCount.count`."""
        async with self._connection() as conn:
            cursor = await conn.execute(self._sql.count, (now,))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """See :meth:`sojourn.stores.base.AsyncSupportsScan.scan`.

        Keyset pagination on the primary key (the cursor is the last key returned): each page
        is one indexed range read, bounded by :attr:`timeout`, never an ``OFFSET``.

        Raises:
            ConfigurationError: ``limit`` is out of range or ``cursor`` is not text.
        """
        after = check_scan(cursor, limit)
        async with self._connection() as conn:
            reply = await conn.execute(self._sql.scan, (after, now, limit + 1))
            rows = await reply.fetchall()
        return keyset_page(rows, limit, _record, _row_key)

    # -- what the admin tool checks ---------------------------------------------------------

    def schema_sql(self) -> str:
        """See :meth:`sojourn.stores.base.AsyncSupportsSchema.schema_sql`."""
        return schema_sql(self.table)

    async def schema_version(self) -> int | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsSchema.schema_version`."""
        async with self._connection() as conn:
            try:
                cursor = await conn.execute(self._sql.version, (self.table,))
            except psycopg.errors.UndefinedTable:
                return None
            row = await cursor.fetchone()
        return row[0] if row and isinstance(row[0], int) else None

    async def server_time(self) -> float:
        """The server's clock (``clock_timestamp()``), in seconds since the epoch."""
        async with self._connection() as conn:
            cursor = await conn.execute("SELECT extract(epoch FROM clock_timestamp())::float8")
            row = await cursor.fetchone()
        if row is None or not isinstance(row[0], float):
            raise StoreUnavailable("PostgreSQL returned no time")
        return row[0]


def _check_url(url: str) -> None:
    """Parse ``url`` as libpq will, now, rather than fail every connection attempt later (an
    unknown query option used to surface as a pool timeout on first use).

    Raises:
        ConfigurationError: libpq cannot parse it. Only an unknown option's name is repeated:
            other messages may quote part of the URL, password included.
    """
    try:
        psycopg.conninfo.conninfo_to_dict(url)
    except psycopg.ProgrammingError as exc:
        found = re.fullmatch(r'invalid URI query parameter: "(\w{1,40})"', str(exc).strip())
        if found:
            raise ConfigurationError(
                f"a PostgreSQL URL takes no {found[1]!r} option (libpq does not know it; "
                "sojourn's own table and timeout are read by sojourn.stores.urls.open_store)"
            ) from None
        raise ConfigurationError("libpq cannot parse the PostgreSQL URL") from None


def _row_key(row: Sequence[object]) -> str:
    return str(row[0])


__all__ = [
    "AsyncPostgresStore",
    "schema_sql",
    "schema_statements",
]
