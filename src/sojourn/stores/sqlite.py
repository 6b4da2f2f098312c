"""The SQLite store, the embedded default: ``from sojourn.stores.sqlite import SQLiteStore``.

Needs nothing beyond the standard library. Use :class:`SQLiteStore` with sync code (WSGI,
Flask, Django) and :class:`AsyncSQLiteStore` with async code (ASGI); both keep the same
layout, so they can share a database file. :func:`schema_sql` gives the DDL for a DBA who
creates the tables ahead of time (then pass ``create_schema=False``).
"""

from ._async.sqlite import AsyncSQLiteStore as AsyncSQLiteStore
from ._async.sqlite import schema_sql as schema_sql
from ._sync.sqlite import SQLiteStore as SQLiteStore

__all__ = ["AsyncSQLiteStore", "SQLiteStore", "schema_sql"]
