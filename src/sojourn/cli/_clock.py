"""Two questions ``sojourn check`` asks a store: what time its server thinks it is, and which
schema version its table records.

A store that answers them itself (``server_time()`` / ``schema_version()``, from the store
side) is asked; otherwise the answer is read here where it can be without a store's private
parts: Redis through its public ``client`` (``TIME``), SQLite by opening its file read-only (an
embedded database shares this machine's clock). ``None`` means the store cannot tell.
"""

from __future__ import annotations

import asyncio
import inspect
import sqlite3
from typing import Any

from ..stores.base import AsyncStore


async def server_time(store: AsyncStore) -> float | None:
    """The store server's clock (Unix seconds), or ``None`` if there is none to read."""
    own = await _ask(store, "server_time")
    if own is not _UNASKED:
        return None if own is None else float(own)
    if _is(store, "sqlite"):
        return None  # the same machine's clock: nothing to compare
    client = getattr(store, "client", None)
    if client is not None and _is(store, "redis"):
        reply = await _maybe_await(client.time())
        if isinstance(reply, dict):  # a Cluster answers per node: any one will do
            reply = next(iter(reply.values()))
        seconds, micros = reply
        return int(seconds) + int(micros) / 1e6
    return None


async def schema_version(store: AsyncStore) -> tuple[int, int] | None:
    """``(recorded, expected)`` schema versions, or ``None`` for a store without a schema."""
    own = await _ask(store, "schema_version")
    if own is not _UNASKED:
        return _pair(own)
    from ..stores._sql import SCHEMA_TABLE, SCHEMA_VERSION

    path, table = getattr(store, "path", None), getattr(store, "table", None)
    if not _is(store, "sqlite") or path is None or table is None:
        return None

    def read() -> int:
        conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            row = conn.execute(
                f"SELECT version FROM {SCHEMA_TABLE} WHERE table_name = ?",  # noqa: S608  (a constant)
                (table,),
            ).fetchone()
        finally:
            conn.close()
        if row is None:
            raise LookupError(f"{SCHEMA_TABLE} has no row for table {table!r}")
        return int(row[0])

    return await asyncio.to_thread(read), SCHEMA_VERSION


_UNASKED: Any = object()


async def _ask(store: AsyncStore, name: str) -> Any:
    method = getattr(store, name, None)
    if not callable(method):
        return _UNASKED
    return await _maybe_await(method())


async def _maybe_await(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _is(store: AsyncStore, module: str) -> bool:
    return type(store).__module__.rsplit(".", 1)[-1] == module


def _pair(value: Any) -> tuple[int, int] | None:
    if value is None:
        return None
    if isinstance(value, tuple):
        return int(value[0]), int(value[1])
    from ..stores._sql import SCHEMA_VERSION

    return int(value), SCHEMA_VERSION


__all__ = ["schema_version", "server_time"]
