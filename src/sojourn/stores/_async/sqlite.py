"""The SQLite store: the embedded default, standard library only, surviving restarts.

One connection per store object, guarded by a lock (``check_same_thread=False``), so threaded
WSGI servers and the async flavour's worker threads share it safely; several processes share
the database file through SQLite's own locking. Each call has one budget, ``timeout``, that
covers both the wait for that lock and SQLite's busy wait for another connection's write
lock: a call queued behind a blocked one waits only what is left of its own budget, so a
queue of callers fails together within the bound instead of one timeout after another.

The file runs in WAL mode (readers never wait for the writer) with ``synchronous=NORMAL``
(durable across application crashes; a power cut may lose the last commits, which for
sessions means a re-login at worst).

Every write is a ``BEGIN IMMEDIATE`` transaction: it takes the write lock up front, so a
transaction never has to upgrade a read lock (which fails at once, without waiting, when
another connection wrote in between). A session's keys are rows of ``<table>_fields``, so
:meth:`AsyncSQLiteStore.apply` writes only the keys it names (no lost updates across keys).

The async flavour runs each blocking call in a worker thread; the sync flavour
(:class:`sojourn.stores.sqlite.SQLiteStore`) is generated from this file by
``scripts/unasync.py``.
"""

from __future__ import annotations

import asyncio  # unasync: delete
import contextlib
import os
import pathlib
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from typing import TypeVar

from ..._core.errors import ConfigurationError, SessionExists, StoreUnavailable
from .._scan import check_scan, keyset_page
from .._sql import (
    DEFAULT_TABLE,
    SCHEMA_TABLE,
    SCHEMA_VERSION,
    SESSION_COLUMNS,
    check_schema_version,
    encode_meta,
    fields_from_rows,
    group_joined_rows,
    group_key,
    record_from_group,
    record_from_row,
    removed_record,
    validate_table,
)
from .._timeouts import DEFAULT_TIMEOUT, check_timeout
from ..base import Changes, OnExpired, Record, Renewal

T = TypeVar("T")

_COLUMNS = ", ".join(SESSION_COLUMNS)


def schema_sql(table: str = DEFAULT_TABLE) -> str:
    """The DDL that creates (idempotently) the tables and indexes for ``table``.

    Args:
        table: the session table's name; the fields table is ``<table>_fields``.

    Raises:
        ConfigurationError: ``table`` is not a plain identifier.
    """
    t = validate_table(table)
    return f"""\
CREATE TABLE IF NOT EXISTS {SCHEMA_TABLE} (
    table_name TEXT PRIMARY KEY,
    version INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS {t} (
    key TEXT PRIMARY KEY,
    principal TEXT,
    created_at REAL NOT NULL,
    renewed_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    authenticated_at REAL,
    meta TEXT NOT NULL DEFAULT '{{}}'
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS {t}_expires_at ON {t} (expires_at);
CREATE INDEX IF NOT EXISTS {t}_principal ON {t} (principal, created_at)
    WHERE principal IS NOT NULL;
CREATE TABLE IF NOT EXISTS {t}_fields (
    key TEXT NOT NULL,
    name TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (key, name)
) WITHOUT ROWID;
INSERT INTO {SCHEMA_TABLE} (table_name, version) VALUES ('{t}', {SCHEMA_VERSION})
    ON CONFLICT (table_name) DO NOTHING;
"""


def _busy(exc: sqlite3.Error) -> bool:
    """True for "database is locked": another connection held the lock past busy_timeout."""
    return getattr(exc, "sqlite_errorcode", 0) & 0xFF in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


def _unavailable(exc: sqlite3.Error) -> bool:
    """True for failures of the database itself (locked, I/O, cannot open, not a database).

    Integrity and programming errors are bugs, not outages, and are left alone.
    """
    return isinstance(exc, sqlite3.OperationalError) or type(exc) is sqlite3.DatabaseError


class AsyncSQLiteStore:
    """A session store in an SQLite database file, for async code.

    Implements :class:`~sojourn.stores.base.AsyncStore` plus the principal index, purging and
    counting capabilities. Nothing happens until first use: the file is opened (and the schema
    created) lazily.

    Args:
        path: the database file (created if missing; its directory must exist).
        table: the session table's name; ``<table>_fields`` holds the session keys.
        timeout: the most seconds one call may take (default
            :data:`~sojourn.stores._timeouts.DEFAULT_TIMEOUT`, 2 s) — waiting for this
            store's connection behind other calls plus waiting for another connection's write
            lock — before it raises :class:`~sojourn.StoreUnavailable`.
        create_schema: create the tables on first use; if false they must exist already
            (see :func:`schema_sql`), and a missing table is a ``ConfigurationError`` naming it.
        create_file: create the database file if it is missing. If false (the admin tool's mode),
            a missing file is a ``StoreUnavailable`` naming it and nothing is created, and the
            file's journal mode is left as it is.
        busy_timeout: the old name of ``timeout``, still accepted; ``timeout`` wins.

    Raises:
        ConfigurationError: the table name is not a plain identifier, or the timeout is not a
            positive, finite number.
    """

    # every call runs in a worker thread  # unasync: blocking = True  # does file I/O; off the loop

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = DEFAULT_TABLE,
        timeout: float | None = None,
        create_schema: bool = True,
        create_file: bool = True,
        busy_timeout: float | None = None,
    ) -> None:
        if timeout is None:
            timeout = DEFAULT_TIMEOUT if busy_timeout is None else busy_timeout
        self.path = os.fspath(path)
        self.table = validate_table(table)
        self.timeout = check_timeout(timeout)
        self.create_schema = create_schema
        self.create_file = create_file
        self._fields = f"{self.table}_fields"
        self._conn: sqlite3.Connection | None = None
        self._busy_ms = 0  # the connection's busy timeout as last set
        self._lock = threading.Lock()

    @property
    def busy_timeout(self) -> float:
        """The old name of :attr:`timeout`."""
        return self.timeout

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.path!r}, table={self.table!r})"

    # -- plumbing: one place opens the database and translates its errors -------------------

    async def _run(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op(connection)`` under the lock, off the event loop."""
        return await asyncio.to_thread(self._call, op)  # unasync: return self._call(op)

    def _call(self, operation: Callable[[sqlite3.Connection], T]) -> T:
        deadline = time.monotonic() + self.timeout
        if not self._lock.acquire(timeout=self.timeout):
            raise StoreUnavailable(
                f"SQLite store {self.path!r}: database is locked (other calls held the"
                f" connection for the whole {self.timeout:g}s timeout)"
            )
        try:
            return operation(self._connection(deadline))
        except sqlite3.Error as exc:
            if not _unavailable(exc):
                raise
            if not _busy(exc):  # reopen next time: the disk or file may come back
                self._discard()
            raise StoreUnavailable(f"SQLite store {self.path!r}: {exc}") from exc
        finally:
            self._lock.release()

    def _busy_budget(self, deadline: float) -> int:
        """Milliseconds left for SQLite's busy wait, the whole timeout if the call barely queued.

        Rounding a short queue up to the full timeout keeps the uncontended path free of an
        extra ``PRAGMA`` per call; the overshoot is at most the 10 ms slack.
        """
        full = max(1, round(self.timeout * 1000))
        left = round((deadline - time.monotonic()) * 1000)
        return full if left >= full - 10 else max(1, left)

    def _connection(self, deadline: float) -> sqlite3.Connection:
        busy_ms = self._busy_budget(deadline)
        if self._conn is not None:
            if busy_ms != self._busy_ms:
                self._conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
                self._busy_ms = busy_ms
            return self._conn
        # isolation_level=None: no implicit transactions; this module issues BEGIN itself.
        # Without create, open read-write only (an existing file): mode=rw never creates one.
        target, uri = self.path, False
        if not self.create_file:
            target, uri = pathlib.Path(self.path).absolute().as_uri() + "?mode=rw", True
        conn = sqlite3.connect(
            target,
            timeout=busy_ms / 1000,
            isolation_level=None,
            check_same_thread=False,
            uri=uri,
        )
        try:
            conn.execute(f"PRAGMA busy_timeout = {busy_ms}")
            if self.create_file:
                conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._prepare_schema(conn)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        self._busy_ms = busy_ms
        return conn

    def _prepare_schema(self, conn: sqlite3.Connection) -> None:
        if self.create_schema:
            with _immediate(conn):
                for statement in schema_sql(self.table).split(";\n"):
                    if statement.strip():
                        conn.execute(statement)
        version = self._schema_version(conn)
        if version is None or not self._table_exists(conn):
            raise ConfigurationError(
                f"SQLite table {self.table!r} does not exist in {self.path!r}; create it with "
                "sojourn.stores.sqlite.schema_sql() or pass create_schema=True"
            )
        check_schema_version(self.table, version)

    def _schema_version(self, conn: sqlite3.Connection) -> object:
        """The layout version recorded for this table, or ``None`` if none is."""
        try:
            row = conn.execute(
                f"SELECT version FROM {SCHEMA_TABLE} WHERE table_name = ?", (self.table,)
            ).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" not in str(exc):
                raise
            return None
        return None if row is None else row[0]

    def _table_exists(self, conn: sqlite3.Connection) -> bool:
        names = (self.table, self._fields)
        row = conn.execute(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN (?, ?)", names
        ).fetchone()
        return bool(row[0] == len(names))

    # -- the operations, each run with the lock held -----------------------------------------

    def _read(self, conn: sqlite3.Connection, key: str, now: float) -> Record | None:
        # One statement, so the session row and its fields come from one snapshot.
        rows = conn.execute(
            f"SELECT {', '.join('s.' + c for c in SESSION_COLUMNS)}, f.name, f.value"
            f" FROM {self.table} AS s LEFT JOIN {self._fields} AS f ON f.key = s.key"
            " WHERE s.key = ? AND s.expires_at > ?",
            (key, now),
        ).fetchall()
        if not rows:
            return None
        width = len(SESSION_COLUMNS)
        fields = fields_from_rows(row[width:] for row in rows if row[width] is not None)
        return record_from_row(rows[0][:width], fields)

    def _load(
        self, conn: sqlite3.Connection, key: str, now: float, renewal: Renewal | None
    ) -> Record | None:
        # Most loads renew nothing, so they read without taking the write lock. When renewal
        # is due, the read is repeated inside the write transaction that renews, so a record
        # deleted, renewed or changed by another process in between is seen as it is now.
        record = self._read(conn, key, now)
        if record is None or renewal is None or not renewal.due(record):
            return record
        with _immediate(conn):
            record = self._read(conn, key, now)
            if record is None or not renewal.due(record):
                return record
            record = renewal.apply_to(record)
            conn.execute(
                f"UPDATE {self.table} SET renewed_at = ?, expires_at = ? WHERE key = ?",
                (record.renewed_at, record.expires_at, key),
            )
            return record

    def _create(self, conn: sqlite3.Connection, record: Record) -> None:
        with _immediate(conn):
            row = conn.execute(
                f"SELECT expires_at FROM {self.table} WHERE key = ?", (record.key,)
            ).fetchone()
            if row is not None:
                if row[0] > record.renewed_at:
                    raise SessionExists(record.key)
                self._drop(conn, record.key)  # an expired record under the key: replace it
            conn.execute(
                f"INSERT INTO {self.table} ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    record.key,
                    record.principal,
                    record.created_at,
                    record.renewed_at,
                    record.expires_at,
                    record.authenticated_at,
                    encode_meta(record.meta),
                ),
            )
            conn.executemany(
                f"INSERT INTO {self._fields} (key, name, value) VALUES (?, ?, ?)",
                [(record.key, name, value) for name, value in record.fields.items()],
            )

    def _apply(self, conn: sqlite3.Connection, key: str, changes: Changes) -> bool:
        assignments = ["renewed_at = ?", "expires_at = ?"]
        params: list[object] = [changes.now, changes.expires_at]
        if changes.login is not None:
            assignments += ["principal = ?", "authenticated_at = ?", "created_at = ?"]
            params += [changes.login.principal, changes.login.at, changes.login.at]
        if changes.meta is not None:
            assignments.append("meta = ?")
            params.append(encode_meta(changes.meta))
        with _immediate(conn):
            cursor = conn.execute(
                f"UPDATE {self.table} SET {', '.join(assignments)}"
                " WHERE key = ? AND expires_at > ?",
                (*params, key, changes.now),
            )
            if cursor.rowcount == 0:
                return False  # missing or expired: nothing written (no resurrection)
            conn.executemany(
                f"DELETE FROM {self._fields} WHERE key = ? AND name = ?",
                [(key, name) for name in changes.remove],
            )
            conn.executemany(
                f"INSERT INTO {self._fields} (key, name, value) VALUES (?, ?, ?)"
                " ON CONFLICT (key, name) DO UPDATE SET value = excluded.value",
                [(key, name, value) for name, value in changes.set.items()],
            )
            return True

    def _rename(self, conn: sqlite3.Connection, old: str, new: str, now: float) -> bool:
        with _immediate(conn):
            live = conn.execute(
                f"SELECT 1 FROM {self.table} WHERE key = ? AND expires_at > ?", (old, now)
            ).fetchone()
            if live is None:
                return False
            if new != old:
                self._drop(conn, new)
                conn.execute(f"UPDATE {self.table} SET key = ? WHERE key = ?", (new, old))
                conn.execute(f"UPDATE {self._fields} SET key = ? WHERE key = ?", (new, old))
            return True

    def _delete(self, conn: sqlite3.Connection, key: str) -> None:
        with _immediate(conn):
            self._drop(conn, key)

    def _drop(self, conn: sqlite3.Connection, key: str) -> None:
        conn.execute(f"DELETE FROM {self._fields} WHERE key = ?", (key,))
        conn.execute(f"DELETE FROM {self.table} WHERE key = ?", (key,))

    def _sessions_of(self, conn: sqlite3.Connection, principal: str, now: float) -> list[Record]:
        rows = conn.execute(
            f"SELECT {_COLUMNS} FROM {self.table} WHERE principal = ? AND expires_at > ?"
            " ORDER BY created_at, key",
            (principal, now),
        ).fetchall()
        return [record_from_row(row, {}) for row in rows]

    def _delete_sessions_of(
        self, conn: sqlite3.Connection, principal: str, keep: str | None
    ) -> int:
        doomed = f"SELECT key FROM {self.table} WHERE principal = ? AND key IS NOT ?"
        with _immediate(conn):
            conn.execute(f"DELETE FROM {self._fields} WHERE key IN ({doomed})", (principal, keep))
            cursor = conn.execute(
                f"DELETE FROM {self.table} WHERE key IN ({doomed})", (principal, keep)
            )
            return cursor.rowcount

    def _purge_batch(
        self, conn: sqlite3.Connection, now: float, batch_size: int, report: bool
    ) -> tuple[int, list[Record]]:
        batch = (
            f"SELECT key FROM {self.table} WHERE expires_at <= ? ORDER BY expires_at, key LIMIT ?"
        )
        with _immediate(conn):
            removed: list[Record] = []
            if report:  # read under the write lock: exactly the rows the deletes below remove
                rows = conn.execute(
                    f"SELECT {_COLUMNS} FROM {self.table} WHERE key IN ({batch})", (now, batch_size)
                ).fetchall()
                removed = [removed_record(row) for row in rows]
            # The fields first, while the batch's session rows still select the same keys.
            conn.execute(f"DELETE FROM {self._fields} WHERE key IN ({batch})", (now, batch_size))
            cursor = conn.execute(
                f"DELETE FROM {self.table} WHERE key IN ({batch})", (now, batch_size)
            )
            return cursor.rowcount, removed

    def _take(self, conn: sqlite3.Connection, key: str, now: float | None) -> Record | None:
        """Remove and return the record under ``key``: only if expired at ``now``, or
        whatever it is when ``now`` is ``None``."""
        expired = "" if now is None else " AND expires_at <= ?"
        with _immediate(conn):
            row = conn.execute(
                f"SELECT {_COLUMNS} FROM {self.table} WHERE key = ?{expired}",
                (key,) if now is None else (key, now),
            ).fetchone()
            if row is None:
                return None
            self._drop(conn, key)
            return removed_record(row)

    def _scan(
        self, conn: sqlite3.Connection, now: float, after: str, limit: int
    ) -> tuple[list[Record], str | None]:
        # One statement (one snapshot): a page of live sessions after the cursor in key order,
        # one more than asked to learn whether the walk goes on, joined with their fields.
        rows = conn.execute(
            f"WITH page AS (SELECT {_COLUMNS} FROM {self.table}"
            " WHERE key > ? AND expires_at > ? ORDER BY key LIMIT ?)"
            f" SELECT {', '.join('page.' + c for c in SESSION_COLUMNS)}, f.name, f.value"
            f" FROM page LEFT JOIN {self._fields} AS f ON f.key = page.key ORDER BY page.key",
            (after, now, limit + 1),
        ).fetchall()
        return keyset_page(group_joined_rows(rows), limit, record_from_group, group_key)

    def _clock(self, conn: sqlite3.Connection) -> float:
        row = conn.execute("SELECT (julianday('now') - 2440587.5) * 86400.0").fetchone()
        return float(row[0])

    def _count(self, conn: sqlite3.Connection, now: float) -> int:
        row = conn.execute(
            f"SELECT COUNT(*) FROM {self.table} WHERE expires_at > ?", (now,)
        ).fetchone()
        return int(row[0])

    def _discard(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(sqlite3.Error):
                conn.close()

    def _close(self) -> None:
        with self._lock:
            self._discard()

    # -- the store protocol -------------------------------------------------------------------

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load`."""
        return await self._run(lambda conn: self._load(conn, key, now, renewal))

    async def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create`."""
        await self._run(lambda conn: self._create(conn, record))

    async def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply`."""
        return await self._run(lambda conn: self._apply(conn, key, changes))

    async def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename`."""
        return await self._run(lambda conn: self._rename(conn, old, new, now))

    async def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`."""
        await self._run(lambda conn: self._delete(conn, key))

    async def aclose(self) -> None:
        """Close the connection. Idempotent; a later call opens it again."""
        await asyncio.to_thread(self._close)  # unasync: self._close()

    # -- capabilities -------------------------------------------------------------------------

    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.sessions_of`."""
        return await self._run(lambda conn: self._sessions_of(conn, principal, now))

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.delete_sessions_of`.

        Expired sessions of ``principal`` are deleted (and counted) too.
        """
        return await self._run(lambda conn: self._delete_sessions_of(conn, principal, keep))

    async def purge_expired(
        self, now: float, batch_size: int = 1000, on_expired: OnExpired | None = None
    ) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPurge.purge_expired`.

        Each batch takes the lock and the write lock anew, so requests run between batches.

        Raises:
            ConfigurationError: ``batch_size`` is not positive.
        """
        if batch_size <= 0:
            raise ConfigurationError("batch_size must be positive")
        total, report = 0, on_expired is not None
        while True:
            deleted, removed = await self._run(
                lambda conn: self._purge_batch(conn, now, batch_size, report)
            )
            total += deleted
            if on_expired is not None:  # the batch is committed: report what it removed
                for record in removed:
                    on_expired(record)
            if deleted < batch_size:
                return total

    async def take_expired(self, key: str, now: float) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTakeExpired.take_expired`."""
        return await self._run(lambda conn: self._take(conn, key, now))

    async def take(self, key: str) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTake.take`."""
        return await self._run(lambda conn: self._take(conn, key, None))

    async def count(self, now: float) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsCount.count`."""
        return await self._run(lambda conn: self._count(conn, now))

    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """See :meth:`sojourn.stores.base.AsyncSupportsScan.scan`.

        Keyset pagination in key order (the cursor is the last key returned): each page is one
        indexed range read, bounded by :attr:`timeout`, never an ``OFFSET``.

        Raises:
            ConfigurationError: ``limit`` is out of range or ``cursor`` is not text.
        """
        after = check_scan(cursor, limit)
        return await self._run(lambda conn: self._scan(conn, now, after, limit))

    # -- what the admin tool checks ---------------------------------------------------------

    def schema_sql(self) -> str:
        """See :meth:`sojourn.stores.base.AsyncSupportsSchema.schema_sql`."""
        return schema_sql(self.table)

    async def schema_version(self) -> int | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsSchema.schema_version`."""
        version = await self._run(self._schema_version)
        return version if isinstance(version, int) else None

    async def server_time(self) -> float:
        """The database's clock, in seconds since the epoch (SQLite's is this machine's)."""
        return await self._run(self._clock)


@contextlib.contextmanager
def _immediate(conn: sqlite3.Connection) -> Iterator[None]:
    """A write transaction: committed on success, rolled back on any exception."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:  # also when COMMIT itself failed
            conn.execute("ROLLBACK")
        raise


__all__ = [
    "AsyncSQLiteStore",
    "schema_sql",
]
