"""PostgreSQL sessions: :class:`AsyncPostgresStore` and its sync twin :class:`PostgresStore`.

Needs the ``postgres`` extra (psycopg 3 and psycopg-pool)::

    store = AsyncPostgresStore.from_url("postgresql://app@db.internal/app")
    print(schema_sql("sojourn_sessions"))  # the DDL, for a DBA to run ahead of time
"""

from __future__ import annotations

try:
    import psycopg  # noqa: F401
    import psycopg_pool  # noqa: F401
except ImportError as exc:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "the PostgreSQL store needs psycopg and psycopg-pool: pip install 'sojourn[postgres]'"
    ) from exc

from ._async.postgres import AsyncPostgresStore, schema_sql
from ._sync.postgres import PostgresStore

__all__ = ["AsyncPostgresStore", "PostgresStore", "schema_sql"]
