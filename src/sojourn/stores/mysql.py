"""MySQL / MariaDB sessions: :class:`AsyncMySQLStore` and its sync twin :class:`MySQLStore`.

Needs the ``mysql`` extra::

    store = AsyncMySQLStore.from_url("mysql://app:secret@db.internal:3306/app")
    print(schema_sql("sojourn_sessions"))  # the DDL, for a DBA to run ahead of time

Why aiomysql with PyMySQL: aiomysql is PyMySQL's protocol code driven by asyncio — the same
``connect`` arguments, cursors, escaping and exception classes (``pymysql.err``). One async
source with a single ``aiomysql`` -> ``pymysql`` substitution therefore yields both stores, and
both talk to the server identically. Both are pure Python (no client library to build) and
work with MySQL 8 and MariaDB alike. The C ``mysqlclient`` has no asyncio twin, and
asyncmy's API differs from PyMySQL's enough that the pair would need two sources.
"""

from __future__ import annotations

try:
    import aiomysql  # noqa: F401
    import pymysql  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the MySQL store needs PyMySQL and aiomysql: pip install 'sojourn[mysql]'"
    ) from exc

from ._async.mysql import AsyncMySQLPool, AsyncMySQLStore, schema_sql
from ._sync.mysql import MySQLPool, MySQLStore

__all__ = ["AsyncMySQLPool", "AsyncMySQLStore", "MySQLPool", "MySQLStore", "schema_sql"]
