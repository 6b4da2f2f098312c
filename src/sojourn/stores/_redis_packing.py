"""Pack commands in C on the async Redis clients the store makes itself.

redis-py's sync connections pack every command with hiredis' ``pack_command`` when hiredis is
installed (our ``redis`` extra installs it); its asyncio connections always pack in Python,
one ``bytes`` join per argument. An ``EVALSHA`` of the apply script carries about ten
arguments, and packing them costs about 7 µs in Python against under 1 µs in hiredis (0.2 µs
against 1.6 µs for a ``GET``): on every write, a twentieth of a loopback round trip, spent
again on every read's ``HGETALL``.

So :meth:`AsyncRedisStore.from_url` gives its client's pool a connection class that packs with
hiredis. It is the pool's own class (plain, TLS or Unix socket, or whatever ``kwargs`` chose),
subclassed, and it packs in C only where that gives the bytes redis-py's packer gives: a client
that encodes strings as strict UTF-8, and a first argument that is one word (redis-py splits
``"SCRIPT LOAD"`` into two). hiredis packs ``bytes``, ``str``, ``int``, ``float`` and
``memoryview`` as redis-py does (floats by ``repr``) and refuses the rest (``bool``, ``None``,
``bytearray``); what it refuses goes to redis-py's own packer, which packs it or raises its own
error. A client handed to the store is never changed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import redis.asyncio
from redis.asyncio.connection import AbstractConnection

_pack: Callable[[tuple[Any, ...]], bytes] | None
try:
    from hiredis import pack_command as _pack
except ImportError:  # hiredis is optional for redis-py: then redis-py packs, as it would
    _pack = None

_made: dict[type[AbstractConnection], type[AbstractConnection]] = {}
"""The packing class made for each connection class: one a class, however many stores."""


def pack_in_c(pool: redis.asyncio.ConnectionPool) -> None:
    """Have ``pool``'s new connections pack commands with hiredis (no-op without hiredis)."""
    pool.connection_class = packing(pool.connection_class)


def packing(base: type[AbstractConnection]) -> type[AbstractConnection]:
    """``base``, packing in C where that gives the bytes redis-py's packer gives (``base``
    itself without hiredis)."""
    made = _made.get(base)
    if made is None:
        made = _made[base] = _subclass(base)
    return made


def _subclass(base: type[AbstractConnection]) -> type[AbstractConnection]:
    if _pack is None:
        return base
    pack: Callable[[tuple[Any, ...]], bytes] = _pack

    class PackingInC(base):  # type: ignore[valid-type,misc]
        __doc__ = f"{base.__name__} packing its commands with hiredis (see {__name__})."

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            # A connection's encoding is fixed when it is made: decide here, not per command.
            encoder = self.encoder
            self._utf8 = encoder.encoding == "utf-8" and encoder.encoding_errors == "strict"

        def pack_command(self, *args: Any) -> list[bytes]:
            name = args[0]
            name_type: Any = type(name)
            if (
                self._utf8
                and (name_type is str or name_type is bytes)
                and (" " if name_type is str else b" ") not in name
            ):
                try:
                    return [pack(args)]
                except Exception:  # refused: redis-py's packer packs it or raises its own error
                    return super().pack_command(*args)  # type: ignore[no-any-return]
            return super().pack_command(*args)  # type: ignore[no-any-return]

    PackingInC.__name__ = PackingInC.__qualname__ = f"PackingInC{base.__name__}"
    return PackingInC


__all__ = ["pack_in_c", "packing"]
