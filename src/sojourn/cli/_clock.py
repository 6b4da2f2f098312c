"""Two questions ``sojourn check`` asks a store: what time its server thinks it is, and which
schema version its table records.

The stores answer them (``server_time()`` on Redis and the SQL servers, ``schema_version()`` on
the SQL stores); a store without the method has nothing to tell — SQLite shares this machine's
clock, Redis keeps no schema — and the answer is ``None``.
"""

from __future__ import annotations

import inspect
from typing import Any

from ..stores._sql import SCHEMA_VERSION
from ..stores.base import AsyncStore

NO_SCHEMA = -1
""":func:`schema_version`'s answer for a store that should have a schema and records none."""


async def server_time(store: AsyncStore) -> float | None:
    """The store server's clock (Unix seconds), or ``None`` if it has none of its own."""
    found = await _ask(store, "server_time")
    return None if found is None else float(found)


async def schema_version(store: AsyncStore) -> tuple[int, int] | None:
    """``(recorded, expected)`` schema versions, ``None`` for a store that keeps no schema.

    A SQL store whose table records no version answers ``(NO_SCHEMA, expected)``.
    """
    if not callable(getattr(store, "schema_version", None)):
        return None
    found = await _ask(store, "schema_version")
    return (NO_SCHEMA if found is None else int(found)), SCHEMA_VERSION


async def _ask(store: AsyncStore, name: str) -> Any:
    method = getattr(store, name, None)
    if not callable(method):
        return None
    value = method()
    return await value if inspect.isawaitable(value) else value


__all__ = ["NO_SCHEMA", "schema_version", "server_time"]
