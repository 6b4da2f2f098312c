"""Two questions ``sojourn check`` asks a store: what time its server thinks it is, and which
schema version its table records.

The stores answer them through their capabilities (:class:`~sojourn.stores.base.
AsyncSupportsClock` on Redis and the SQL servers, :class:`~sojourn.stores.base.
AsyncSupportsSchema` on the SQL stores); a store without one has nothing to tell — SQLite
shares this machine's clock, Redis keeps no schema — and the answer is ``None``.
"""

from __future__ import annotations

from ..stores._sql import SCHEMA_VERSION
from ..stores.base import AsyncStore, AsyncSupportsClock, AsyncSupportsSchema

NO_SCHEMA = -1
""":func:`schema_version`'s answer for a store that should have a schema and records none."""


async def server_time(store: AsyncStore) -> float | None:
    """The store server's clock (Unix seconds), or ``None`` if it has none of its own."""
    if not isinstance(store, AsyncSupportsClock):
        return None
    return float(await store.server_time())


async def schema_version(store: AsyncStore) -> tuple[int, int] | None:
    """``(recorded, expected)`` schema versions, ``None`` for a store that keeps no schema.

    A SQL store whose table records no version answers ``(NO_SCHEMA, expected)``.
    """
    if not isinstance(store, AsyncSupportsSchema):
        return None
    found = await store.schema_version()
    return (NO_SCHEMA if found is None else found), SCHEMA_VERSION


__all__ = ["NO_SCHEMA", "schema_version", "server_time"]
