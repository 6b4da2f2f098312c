"""The MySQL / MariaDB store on aiomysql (the sync twin is generated; see
:mod:`sojourn.stores.mysql` for the choice of driver).

PyMySQL has no pool, so the small :class:`AsyncMySQLPool` here (and its generated twin) keeps
idle connections and bounds how many are open.

Layout: as in :mod:`sojourn.stores._sql` — ``<table>`` and ``<table>_fields``, the latter
referencing the former with ``ON DELETE CASCADE ON UPDATE CASCADE`` (InnoDB), so delete,
purge and rotation are single statements on the session row. Keys, field names and
principals are ``VARBINARY`` so they match byte for byte (no collation folding case or
trailing spaces).

``apply`` takes the session row with ``SELECT ... FOR UPDATE`` (re-checking expiry), then
writes the row and the named field rows, all in one transaction: a delete racing it either
runs first (the select finds nothing and nothing is written) or waits and then cascades.
Driver errors become :class:`~sojourn.StoreUnavailable` in :meth:`AsyncMySQLStore._connection`,
which also bounds each call — pool wait, connecting and every round trip of its transaction —
by the store's ``timeout``: the async flavour with ``asyncio.timeout``, the sync one (whose
socket timeouts bound each read, not the call) by waiting for a pool slot at most the budget
and shutting the connection's socket down when the budget runs out (see
:mod:`sojourn.stores._deadline`).
"""

from __future__ import annotations

import asyncio  # unasync: import threading
import contextlib
import socket
import time
from collections.abc import AsyncIterator, Mapping
from typing import Any
from urllib.parse import unquote, urlsplit

import aiomysql
from pymysql import connections as mysql_connections
from pymysql import err as mysql_errors

from ..._core.errors import ConfigurationError, SessionError, SessionExists, StoreUnavailable
from .._deadline import cut_at, remaining  # unasync: from .._deadline import cut_at, remaining
from .._scan import check_scan, keyset_page
from .._sql import (
    DEFAULT_TABLE,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    check_schema_version,
    encode_meta,
    group_joined_rows,
    group_key,
    record_from_group,
    record_from_joined_rows,
    record_from_session_row,
    removed_record,
    renewal_deadline,
    validate_sql_table,
)
from .._timeouts import DEFAULT_TIMEOUT, check_timeout
from ..base import Changes, OnExpired, Record, Renewal

_COLUMNS = "`key`, principal, created_at, renewed_at, expires_at, authenticated_at, meta"
_DUPLICATE_KEY = 1062
_READ_COMMITTED = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"


def schema_statements(table: str) -> list[str]:
    """The DDL for ``table``, one statement per item (all idempotent)."""
    t = validate_sql_table(table)
    return [
        f"CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (\n"
        "    table_name VARCHAR(64) NOT NULL PRIMARY KEY,\n"
        "    version INT NOT NULL\n"
        ") ENGINE=InnoDB",
        f"CREATE TABLE IF NOT EXISTS {t} (\n"
        "    `key` VARBINARY(255) NOT NULL PRIMARY KEY,\n"
        "    principal VARBINARY(768) NULL,\n"
        "    created_at DOUBLE NOT NULL,\n"
        "    renewed_at DOUBLE NOT NULL,\n"
        "    expires_at DOUBLE NOT NULL,\n"
        "    authenticated_at DOUBLE NULL,\n"
        "    meta TEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL,\n"
        f"    INDEX {t}_expires_at (expires_at),\n"
        f"    INDEX {t}_principal (principal)\n"
        ") ENGINE=InnoDB",
        f"CREATE TABLE IF NOT EXISTS {t}_fields (\n"
        "    `key` VARBINARY(255) NOT NULL,\n"
        "    name VARBINARY(1024) NOT NULL,\n"
        "    value LONGBLOB NOT NULL,\n"
        "    PRIMARY KEY (`key`, name),\n"
        f"    CONSTRAINT {t}_fields_session FOREIGN KEY (`key`) REFERENCES {t} (`key`)\n"
        "        ON DELETE CASCADE ON UPDATE CASCADE\n"
        ") ENGINE=InnoDB",
        # Not INSERT IGNORE: its "duplicate entry" warning surfaces as a Python warning.
        f"INSERT INTO {SCHEMA_TABLE} (table_name, version) SELECT '{t}', {SCHEMA_VERSION} "
        f"FROM DUAL WHERE NOT EXISTS (SELECT 1 FROM {SCHEMA_TABLE} WHERE table_name = '{t}')",
    ]


def schema_sql(table: str = DEFAULT_TABLE) -> str:
    """The DDL a DBA can run to create the tables for ``table`` ahead of time."""
    return ";\n\n".join(schema_statements(table)) + ";\n"


def _own_term(name: str) -> str:
    # JSON parsing only for a row whose meta names the entry (most have none).
    return (
        f"CASE WHEN LOCATE('\"{name}\"', meta) > 0 THEN "
        f"CAST(JSON_UNQUOTE(JSON_EXTRACT(meta, '$.\"{name}\"')) AS DOUBLE) END"
    )


class _Queries:
    """The SQL text for one table, built once (the table name is validated first)."""

    def __init__(self, table: str) -> None:
        t = validate_sql_table(table)
        f = f"{t}_fields"
        self.table = t
        self.load = (
            "SELECT s.`key`, s.principal, s.created_at, s.renewed_at, s.expires_at, "
            f"s.authenticated_at, s.meta, f.name, f.value FROM {t} s "
            f"LEFT JOIN {f} f ON f.`key` = s.`key` WHERE s.`key` = %s AND s.expires_at > %s"
        )
        deadline = renewal_deadline(_own_term)
        self.renew = (
            f"UPDATE {t} SET renewed_at = %(now)s, expires_at = {deadline} "
            "WHERE `key` = %(key)s AND expires_at > %(now)s "
            f"AND %(now)s - renewed_at >= %(interval)s AND {deadline} > expires_at"
        )
        self.insert = (
            f"INSERT INTO {t} ({_COLUMNS}) VALUES (%(key)s, %(principal)s, %(created_at)s, "
            "%(renewed_at)s, %(expires_at)s, %(authenticated_at)s, %(meta)s)"
        )
        self.peek = f"SELECT expires_at FROM {t} WHERE `key` = %s"
        self.lock = f"SELECT expires_at FROM {t} WHERE `key` = %s FOR UPDATE"
        self.lock_live = f"SELECT 1 FROM {t} WHERE `key` = %s AND expires_at > %s FOR UPDATE"
        self.rename = f"UPDATE {t} SET `key` = %s WHERE `key` = %s AND expires_at > %s"
        self.delete = f"DELETE FROM {t} WHERE `key` = %s"
        self.sessions_of = (
            f"SELECT {_COLUMNS} FROM {t} WHERE principal = %s AND expires_at > %s "
            "ORDER BY created_at, `key`"
        )
        self.delete_sessions_of = f"DELETE FROM {t} WHERE principal = %s"
        self.delete_sessions_of_keeping = f"DELETE FROM {t} WHERE principal = %s AND `key` <> %s"
        self.purge = f"DELETE FROM {t} WHERE expires_at <= %s ORDER BY expires_at LIMIT %s"
        # MySQL has no DELETE ... RETURNING: what a reporting purge or a take removes is
        # read with a locking read first, in the transaction that deletes it.
        self.lock_expired_batch = (
            f"SELECT {_COLUMNS} FROM {t} WHERE expires_at <= %s ORDER BY expires_at LIMIT %s "
            "FOR UPDATE"
        )
        self.lock_expired = (
            f"SELECT {_COLUMNS} FROM {t} WHERE `key` = %s AND expires_at <= %s FOR UPDATE"
        )
        self.lock_any = f"SELECT {_COLUMNS} FROM {t} WHERE `key` = %s FOR UPDATE"
        self.count = f"SELECT COUNT(*) FROM {t} WHERE expires_at > %s"
        self.version = f"SELECT version FROM {SCHEMA_TABLE} WHERE table_name = %s"
        # Keyset pagination on the primary key (never OFFSET): one session more than the page,
        # joined with its fields in the same statement (one snapshot).
        self.scan = (
            "SELECT s.`key`, s.principal, s.created_at, s.renewed_at, s.expires_at, "
            f"s.authenticated_at, s.meta, f.name, f.value FROM (SELECT {_COLUMNS} FROM {t} "
            "WHERE `key` > %s AND expires_at > %s ORDER BY `key` LIMIT %s) s "
            f"LEFT JOIN {f} f ON f.`key` = s.`key` ORDER BY s.`key`"
        )
        self.tables = (
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = DATABASE() AND table_name IN (%s, %s, %s)"
        )
        self.has_schema_table = (
            "SELECT 1 FROM information_schema.tables "
            f"WHERE table_schema = DATABASE() AND table_name = '{SCHEMA_TABLE}'"
        )

    def update(self, login: bool, meta: bool) -> str:
        """The session-row assignments of a change set."""
        sets = "renewed_at = %(now)s, expires_at = %(expires_at)s"
        if login:
            # MySQL assigns left to right; created_at is last so nothing reads the new value.
            sets += (
                ", principal = %(principal)s, authenticated_at = %(login_at)s, "
                "created_at = %(login_at)s"
            )
        if meta:
            sets += ", meta = %(meta)s"
        return f"UPDATE {self.table} SET {sets} WHERE `key` = %(key)s"

    def delete_keys(self, count: int) -> str:
        """Delete ``count`` session rows by key (their fields go by cascade)."""
        return f"DELETE FROM {self.table} WHERE `key` IN ({', '.join(['%s'] * count)})"

    def remove_fields(self, count: int) -> str:
        """Delete ``count`` named field rows (placeholders spelled out: aiomysql cannot
        expand a tuple parameter with PyMySQL >= 1.1.1)."""
        names = ", ".join(["%s"] * count)
        return f"DELETE FROM {self.table}_fields WHERE `key` = %s AND name IN ({names})"

    def upsert_fields(self, count: int) -> str:
        """A multi-row write of ``count`` field rows, replacing existing values.

        ``REPLACE`` rather than ``ON DUPLICATE KEY UPDATE value = VALUES(value)``: MySQL 8
        deprecates ``VALUES()`` (a warning, which aiomysql raises as a Python warning) and
        MariaDB lacks the row-alias syntax that replaces it. Nothing references field rows,
        so replacing one is just an overwrite.
        """
        # Values travel as hex: aiomysql 0.3 cannot escape bytes with PyMySQL >= 1.1.1.
        rows = ", ".join(["(%s, %s, UNHEX(%s))"] * count)
        return f"REPLACE INTO {self.table}_fields (`key`, name, value) VALUES {rows}"


def _field_rows(key: str, fields: Mapping[str, bytes]) -> list[object]:
    flat: list[object] = []
    for name, value in fields.items():
        flat.extend((key, name, bytes(value).hex()))
    return flat


def _discard(conn: Any) -> None:
    # A connection that failed mid-use may be half-way through a reply: never reuse it.
    with contextlib.suppress(Exception):
        conn.close()


class AsyncMySQLPool:
    """A small connection pool: idle connections are reused, at most ``max_size`` are open.

    A connection is put back only after a clean use; one that saw an error is closed, and a
    connection error empties the idle list (after a server restart all of them are dead), so
    the pool recovers on the next request once the server is back.

    Args:
        max_size: the most connections open at once; further callers wait.
        timeout: seconds a caller waits for a free connection (the async store bounds the
            whole operation by its own timeout instead).
        **connect_args: passed to ``aiomysql.connect``.
    """

    def __init__(
        self, *, max_size: int = 10, timeout: float = DEFAULT_TIMEOUT, **connect_args: Any
    ) -> None:
        if max_size <= 0:
            raise ConfigurationError("max_size must be positive")
        self.max_size = max_size
        self.timeout = check_timeout(timeout)
        self._connect_args = connect_args
        self._idle: list[Any] = []
        slots = asyncio.Semaphore(max_size)  # unasync: slots = threading.Semaphore(max_size)
        self._slots = slots
        self._closed = False

    @contextlib.asynccontextmanager
    async def acquire(self, deadline: float | None = None) -> AsyncIterator[Any]:
        """Lend a connection for the duration of the block.

        Args:
            deadline: when (``time.monotonic()``) the caller's budget runs out; the sync
                flavour waits for a free slot until then at most, rather than ``timeout``.
        """
        if self._closed:
            raise mysql_errors.InterfaceError("the connection pool is closed")
        await self._slots.acquire()  # unasync: _take(self._slots, self._wait(deadline))
        try:
            try:
                conn = self._idle.pop()  # atomic: threads may race for the last idle one
            except IndexError:
                args = self._connect_args_within(deadline)
                conn = await aiomysql.connect(**args)  # unasync: conn = _connect(args, deadline)
            try:
                yield conn
            except SessionError:
                self._keep(conn)  # a contract outcome, not a connection problem
                raise
            except (mysql_errors.OperationalError, mysql_errors.InterfaceError, OSError):
                _discard(conn)
                self.clear()
                raise
            except BaseException:
                _discard(conn)
                raise
            self._keep(conn)
        finally:
            self._slots.release()

    def _wait(self, deadline: float | None) -> float:
        """How long the sync flavour waits for a free slot: the budget left, at most."""
        return self.timeout if deadline is None else min(self.timeout, remaining(deadline))

    def _connect_args_within(self, deadline: float | None) -> dict[str, Any]:
        """The connect arguments, with the connect timeout cut to what is left of the budget."""
        args = self._connect_args
        configured = args.get("connect_timeout")
        if deadline is None or configured is None:
            return args
        return {**args, "connect_timeout": min(configured, remaining(deadline))}

    def _keep(self, conn: Any) -> None:
        if self._closed:
            _discard(conn)
        else:
            self._idle.append(conn)

    def clear(self) -> None:
        """Close every idle connection (they are reopened on demand)."""
        idle, self._idle = self._idle, []
        for conn in idle:
            _discard(conn)

    async def aclose(self) -> None:
        """Close idle connections and refuse new checkouts. Idempotent."""
        self._closed = True
        self.clear()


def _io_timeouts(seconds: float) -> dict[str, Any]:
    """PyMySQL's socket timeouts (aiomysql has none: the async store times operations)."""
    return {"read_timeout": seconds, "write_timeout": seconds}


def _watch(deadline: float, conn: Any) -> Any:
    """Bound the rest of a call on ``conn`` (the async flavour's ``asyncio.timeout`` does).

    A context manager for both flavours' ``with`` (``nullcontext`` is an async one too).
    """
    return contextlib.nullcontext()  # unasync: return cut_at(deadline, _fd(conn))


def _fd(conn: Any) -> int | None:
    """The descriptor of a PyMySQL connection's socket (None for other connection types)."""
    sock = getattr(conn, "_sock", None)
    return None if sock is None else int(sock.fileno())


def _connect(args: dict[str, Any], deadline: float | None) -> Any:
    """A PyMySQL connection whose whole handshake is cut off at ``deadline`` (sync flavour).

    PyMySQL times each read of its handshake separately (greeting, authentication, character
    set, init command, autocommit: five round trips), so a slow network could stretch one
    connect to five timeouts. Here the socket is opened first, then watched while PyMySQL
    speaks over it.
    """
    conn = mysql_connections.Connection(**args, defer_connect=True)
    if deadline is None or args.get("unix_socket"):
        conn.connect()
        return conn
    try:
        sock = socket.create_connection((conn.host, conn.port), remaining(deadline))
    except OSError as exc:
        raise mysql_errors.OperationalError(2003, f"cannot connect to MySQL: {exc}") from exc
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
    try:
        with cut_at(deadline, sock.fileno()):
            conn.connect(sock)
    except BaseException:
        sock.close()
        raise
    return conn


def _take(slots: Any, timeout: float) -> None:
    """Wait for a pool slot in the sync flavour (the async one relies on the store's timeout)."""
    if not slots.acquire(timeout=timeout):
        raise TimeoutError("no pooled MySQL connection became free in time")


class AsyncMySQLStore:
    """Sessions in MySQL or MariaDB (InnoDB), shared by every app server.

    Args:
        pool: anything whose ``acquire()`` lends an autocommit connection as a context
            manager — an :class:`AsyncMySQLPool` (what :meth:`from_url` builds) or an
            ``aiomysql`` pool created with ``autocommit=True``.
        table: the session table's name (letters, digits, underscores); ``<table>_fields``
            sits beside it and ``sojourn_schema`` records the layout version.
        create_schema: create the tables on first use if they are missing.
        timeout: the most seconds one call may take — waiting for a pooled connection,
            connecting and every round trip together — before it raises ``StoreUnavailable``
            (default :data:`~sojourn.stores._timeouts.DEFAULT_TIMEOUT`, 2 s).
        owns_pool: close the pool in :meth:`aclose` (true for pools built by :meth:`from_url`).
    """

    def __init__(
        self,
        pool: Any,
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
        max_size: int = 10,
    ) -> AsyncMySQLStore:
        """A store with its own pool for ``url`` (``mysql://user:password@host:3306/db``).

        Args:
            timeout: the store's bound on one call (see the class), and the default of the
                two below; 2 s unless given.
            connect_timeout: the driver's bound on opening a connection; defaults to
                ``timeout``.
            command_timeout: the driver's socket read/write timeouts; defaults to
                ``timeout``. The store's ``timeout`` still bounds each call as a whole.

        Raises:
            ConfigurationError: the URL is not a MySQL URL naming a database, it carries a
                query (the driver reads none: a ``?table=`` here was once silently dropped;
                :func:`sojourn.stores.urls.open_store` reads ``table`` and ``timeout``), or a
                timeout is not a positive, finite number.
        """
        parts = urlsplit(url)
        if parts.scheme not in {"mysql", "mariadb"}:
            raise ConfigurationError("a MySQL URL starts with mysql:// or mariadb://")
        if parts.query or parts.fragment:
            raise ConfigurationError(
                "a MySQL URL takes no query options here (sojourn's own table and timeout "
                "are read by sojourn.stores.urls.open_store; others: from_url's arguments)"
            )
        database = parts.path.lstrip("/")
        if not database:
            raise ConfigurationError("the MySQL URL must name a database: mysql://host/db")
        timeout = check_timeout(timeout)
        connect_timeout = check_timeout(
            timeout if connect_timeout is None else connect_timeout, "connect_timeout"
        )
        command_timeout = check_timeout(
            timeout if command_timeout is None else command_timeout, "command_timeout"
        )
        extra: dict[str, Any] = {}  # unasync: extra = _io_timeouts(command_timeout)
        pool = AsyncMySQLPool(
            max_size=max_size,
            timeout=timeout,
            host=parts.hostname or "localhost",
            port=parts.port or 3306,
            user=unquote(parts.username or "root"),
            password=unquote(parts.password or ""),
            db=unquote(database),  # unasync: database=unquote(database),
            charset="utf8mb4",
            autocommit=True,
            connect_timeout=connect_timeout,
            init_command=_READ_COMMITTED,
            **extra,
        )
        return cls(
            pool,
            table=table,
            create_schema=create_schema,
            timeout=timeout,
            owns_pool=True,
        )

    # -- the one place that talks to the pool -----------------------------------------------

    @contextlib.asynccontextmanager
    async def _connection(self) -> AsyncIterator[Any]:
        deadline = time.monotonic() + self.timeout
        try:
            async with asyncio.timeout(self.timeout):  # unasync: with contextlib.nullcontext():
                if not self._ready:
                    await self._prepare()
                async with self._acquire(deadline) as conn, _watch(deadline, conn):
                    yield conn
        except (mysql_errors.OperationalError, mysql_errors.InterfaceError, OSError) as exc:
            raise StoreUnavailable(f"MySQL is unavailable: {type(exc).__name__}") from exc

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[Any]:
        """A cursor inside ``BEGIN ... COMMIT``; rolled back if the block raises."""
        async with self._connection() as conn:
            await conn.begin()
            try:
                async with conn.cursor() as cursor:
                    yield cursor
            except BaseException:
                with contextlib.suppress(Exception):
                    await conn.rollback()
                raise
            await conn.commit()

    def _acquire(self, deadline: float) -> Any:
        """The pool's ``acquire()`` context manager; ours is told the call's deadline."""
        if isinstance(self._pool, AsyncMySQLPool):
            return self._pool.acquire(deadline)
        return self._pool.acquire()  # a pool of the caller's (aiomysql's, say)

    async def _prepare(self) -> None:
        async with self._lock:
            if self._ready:
                return
            async with self._pool.acquire() as conn, conn.cursor() as cursor:
                if self.create_schema:
                    await self._create_schema(cursor)
                else:
                    await self._check_schema(cursor)
            self._ready = True

    async def _create_schema(self, cursor: Any) -> None:
        lock = "sojourn:" + self.table
        # Serialise concurrent first uses (DDL commits implicitly, so a named lock, not a
        # transaction).
        await cursor.execute("SELECT GET_LOCK(%s, %s)", (lock, self.timeout))
        # "already exists" notes would surface as Python warnings through aiomysql.
        await cursor.execute("SET SESSION sql_notes = 0")
        try:
            for statement in schema_statements(self.table):
                await cursor.execute(statement)
            await cursor.execute(self._sql.version, (self.table,))
            row = await cursor.fetchone()
        finally:
            await cursor.execute("SET SESSION sql_notes = 1")
            await cursor.execute("SELECT RELEASE_LOCK(%s)", (lock,))
            await cursor.fetchall()
        version = row[0] if row else None
        check_schema_version(self.table, version)

    async def _check_schema(self, cursor: Any) -> None:
        """Without ``create_schema``: the tables must be there, at this release's version."""
        wanted = (self.table, f"{self.table}_fields", SCHEMA_TABLE)
        await cursor.execute(self._sql.tables, wanted)
        found = {_text(row[0]) for row in await cursor.fetchall()}
        missing = [name for name in wanted[:2] if name not in found]
        if missing:
            raise ConfigurationError(
                f"MySQL table {missing[0]!r} does not exist; create it with "
                "sojourn.stores.mysql.schema_sql() or pass create_schema=True"
            )
        version = None
        if SCHEMA_TABLE in found:
            await cursor.execute(self._sql.version, (self.table,))
            row = await cursor.fetchone()
            version = row[0] if row else None
        check_schema_version(self.table, version)

    # -- the store protocol -------------------------------------------------------------------

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load`.

        One statement without renewal; with it, an ``UPDATE`` first (MySQL has no
        ``UPDATE ... RETURNING``), so two round trips on the same connection.
        """
        async with self._connection() as conn, conn.cursor() as cursor:
            if renewal is not None:
                await cursor.execute(
                    self._sql.renew,
                    {
                        "key": key,
                        "now": renewal.now,
                        "idle": renewal.idle_timeout,
                        "lifetime": renewal.lifetime,
                        "interval": renewal.interval,
                    },
                )
            await cursor.execute(self._sql.load, (key, now))
            rows = await cursor.fetchall()
        return record_from_joined_rows(list(rows))

    async def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create` (one transaction)."""
        params = {
            "key": record.key,
            "principal": record.principal,
            "created_at": record.created_at,
            "renewed_at": record.renewed_at,
            "expires_at": record.expires_at,
            "authenticated_at": record.authenticated_at,
            "meta": encode_meta(record.meta),
        }
        async with self._transaction() as cursor:
            try:
                await cursor.execute(self._sql.insert, params)
            except mysql_errors.IntegrityError as exc:
                if exc.args[0] != _DUPLICATE_KEY:
                    raise
                # Rare: the key is taken. A plain read first: a live holder (another
                # process creating the same key, as two moves of one session during a
                # migration do) is answered at once, without the exclusive lock that two such
                # creators, each holding the shared lock of its failed insert, would deadlock on.
                await cursor.execute(self._sql.peek, (record.key,))
                row = await cursor.fetchone()
                if row is not None and row[0] > record.renewed_at:
                    raise SessionExists(record.key) from None
                # Replace it only if it has expired.
                await cursor.execute(self._sql.lock, (record.key,))
                row = await cursor.fetchone()
                if row is not None and row[0] > record.renewed_at:
                    raise SessionExists(record.key) from None
                await cursor.execute(self._sql.delete, (record.key,))
                await cursor.execute(self._sql.insert, params)
            if record.fields:
                await cursor.execute(
                    self._sql.upsert_fields(len(record.fields)),
                    _field_rows(record.key, record.fields),
                )

    async def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply` (one transaction)."""
        params: dict[str, object] = {
            "key": key,
            "now": changes.now,
            "expires_at": changes.expires_at,
        }
        if changes.login is not None:
            params.update(principal=changes.login.principal, login_at=changes.login.at)
        if changes.meta is not None:
            params["meta"] = encode_meta(changes.meta)
        remove = sorted(changes.remove.difference(changes.set))
        async with self._transaction() as cursor:
            await cursor.execute(self._sql.lock_live, (key, changes.now))
            if await cursor.fetchone() is None:
                return False
            update = self._sql.update(changes.login is not None, changes.meta is not None)
            await cursor.execute(update, params)
            if remove:
                await cursor.execute(self._sql.remove_fields(len(remove)), (key, *remove))
            if changes.set:
                await cursor.execute(
                    self._sql.upsert_fields(len(changes.set)), _field_rows(key, changes.set)
                )
        return True

    async def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename` (the fields follow by cascade)."""
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.execute(self._sql.rename, (new, old, now))
            return bool(cursor.rowcount == 1)

    async def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`."""
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.execute(self._sql.delete, (key,))

    async def aclose(self) -> None:
        """Close the pool if this store built it (a pool passed in belongs to the caller)."""
        if self._owns_pool:
            await self._pool.aclose()
        self._ready = False

    # -- capabilities ---------------------------------------------------------------------------

    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.sessions_of` (no fields)."""
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.execute(self._sql.sessions_of, (principal, now))
            rows = await cursor.fetchall()
        return [record_from_session_row(row) for row in rows]

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.delete_sessions_of`."""
        async with self._connection() as conn, conn.cursor() as cursor:
            if keep is None:
                await cursor.execute(self._sql.delete_sessions_of, (principal,))
            else:
                await cursor.execute(self._sql.delete_sessions_of_keeping, (principal, keep))
            return max(int(cursor.rowcount), 0)

    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPurge.purge_expired`.

        Each batch is one autocommitted ``DELETE ... ORDER BY expires_at LIMIT n``, walking the
        expiry index, so locks are held for one batch only.
        """
        if batch_size <= 0:
            raise ConfigurationError("batch_size must be positive")
        if on_expired is not None:
            return await self._purge_reporting(now, batch_size, on_expired)
        total = 0
        while True:
            async with self._connection() as conn, conn.cursor() as cursor:
                await cursor.execute(self._sql.purge, (now, batch_size))
                deleted = max(int(cursor.rowcount), 0)
            total += deleted
            if deleted < batch_size:
                return total

    async def _purge_reporting(self, now: float, batch_size: int, on_expired: OnExpired) -> int:
        """A purge that reports what it removed: each batch is read with ``FOR UPDATE`` and
        deleted by key in one transaction, so what is reported is exactly what went (a
        concurrent purger waits for the locks, then no longer sees those rows)."""
        total = 0
        while True:
            async with self._transaction() as cursor:
                await cursor.execute(self._sql.lock_expired_batch, (now, batch_size))
                removed = [removed_record(row) for row in await cursor.fetchall()]
                if removed:
                    keys = [r.key for r in removed]
                    await cursor.execute(self._sql.delete_keys(len(keys)), keys)
            total += len(removed)
            for record in removed:  # the batch is committed
                on_expired(record)
            if len(removed) < batch_size:
                return total

    async def take_expired(self, key: str, now: float) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTakeExpired.take_expired` (one
        transaction: a locking read, then the delete)."""
        return await self._take(self._sql.lock_expired, (key, now))

    async def take(self, key: str) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTake.take` (as :meth:`take_expired`)."""
        return await self._take(self._sql.lock_any, (key,))

    async def _take(self, lock: str, params: tuple[object, ...]) -> Record | None:
        async with self._transaction() as cursor:
            await cursor.execute(lock, params)
            row = await cursor.fetchone()
            if row is None:
                return None
            await cursor.execute(self._sql.delete, params[:1])
        return removed_record(row)

    async def count(self, now: float) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsCount.count`."""
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.execute(self._sql.count, (now,))
            row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """See :meth:`sojourn.stores.base.AsyncSupportsScan.scan`.

        Keyset pagination on the primary key (the cursor is the last key returned): each page
        is one statement, an indexed range read joined with its fields, bounded by
        :attr:`timeout`, never an ``OFFSET``.

        Raises:
            ConfigurationError: ``limit`` is out of range or ``cursor`` is not text.
        """
        after = check_scan(cursor, limit)
        async with self._connection() as conn, conn.cursor() as reply:
            await reply.execute(self._sql.scan, (after, now, limit + 1))
            rows = await reply.fetchall()
        return keyset_page(group_joined_rows(rows), limit, record_from_group, group_key)

    # -- what the admin tool checks ---------------------------------------------------------

    def schema_sql(self) -> str:
        """See :meth:`sojourn.stores.base.AsyncSupportsSchema.schema_sql`."""
        return schema_sql(self.table)

    async def schema_version(self) -> int | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsSchema.schema_version`."""
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.execute(self._sql.has_schema_table)
            if not await cursor.fetchall():
                return None
            await cursor.execute(self._sql.version, (self.table,))
            row = await cursor.fetchone()
        return row[0] if row and isinstance(row[0], int) else None

    async def server_time(self) -> float:
        """The server's clock (``NOW(6)``), in seconds since the epoch."""
        async with self._connection() as conn, conn.cursor() as cursor:
            await cursor.execute("SELECT UNIX_TIMESTAMP(NOW(6))")
            row = await cursor.fetchone()
        if row is None or row[0] is None:
            raise StoreUnavailable("MySQL returned no time")
        return float(row[0])


def _text(value: object) -> str:
    return value.decode() if isinstance(value, (bytes, bytearray)) else str(value)


__all__ = [
    "AsyncMySQLPool",
    "AsyncMySQLStore",
    "schema_sql",
    "schema_statements",
]
