"""How the Redis store lays records out in Redis, shared by the sync and async flavours.

- A session is one hash at ``prefix + "{" + digest + "}"``. The braces are a Cluster hash tag,
  so everything about a session lives in one slot and one Lua script can check and change it.
- The user's keys are hash fields ``d:<name>``; metadata fields are ``m:<letter>`` (created,
  renewed, expires, principal, authenticated, meta JSON, indexed-until). The two prefixes keep a
  user key from ever overwriting metadata.
- A principal's index is a sorted set at ``prefix + "p:{" + sha256(principal) + "}"`` mapping
  digests to an upper bound of their expiry. It is a hint: readers check each session's own
  hash, and prune what is gone.

Nothing here does I/O; the stores call these helpers around their commands.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

from redis import exceptions as redis_errors
from redis.connection import URL_QUERY_ARGUMENT_PARSERS

from .._core.errors import ConfigurationError, CorruptSession, StoreUnavailable
from ._loop_deadline import within as within
from .base import Record

_isfinite = math.isfinite

DATA = b"d:"
CREATED = b"m:c"
RENEWED = b"m:r"
EXPIRES = b"m:e"
PRINCIPAL = b"m:p"
AUTHENTICATED = b"m:a"
META = b"m:j"
INDEXED_UNTIL = b"m:x"

# Errors that mean "Redis is not there, or not able to serve us right now"; everything else is
# a bug or a data problem and is left alone so it is seen.
UNAVAILABLE: tuple[type[BaseException], ...] = (
    redis_errors.ConnectionError,  # includes BusyLoadingError, MasterNotFoundError
    redis_errors.TimeoutError,
    redis_errors.ClusterError,  # includes ClusterDownError, MasterDownError
    redis_errors.TryAgainError,
    redis_errors.ReadOnlyError,  # a failover demoted the node we talk to
    OSError,
)


def unavailable(exc: BaseException) -> StoreUnavailable:
    """The :class:`~sojourn.StoreUnavailable` a driver failure becomes (raise it ``from exc``).

    The stores' per-request path catches :data:`UNAVAILABLE` itself and raises this, because a
    ``with`` block around a generator-based context manager costs more than the rest of the
    Python a read does; the other paths use :func:`translate_errors`.
    """
    return StoreUnavailable(f"Redis is unavailable: {type(exc).__name__}: {exc}")


@contextmanager
def translate_errors() -> Iterator[None]:
    """Driver failures inside the block become :class:`~sojourn.StoreUnavailable`."""
    try:
        yield
    except UNAVAILABLE as exc:
        raise unavailable(exc) from exc


class bounded:  # a context manager named for how it reads: ``with bounded(timeout):``
    """Driver failures inside the block become :class:`~sojourn.StoreUnavailable`; in an
    ``async with``, so does the block outlasting ``timeout`` seconds (``None``: no deadline).

    The async store bounds each call with one deadline (here ``asyncio.timeout``, for the
    administrative calls; the request path's use :func:`within`) instead of redis-py's
    per-socket timeouts; the sync store keeps those, and only translates here.
    """

    __slots__ = ("_deadline", "timeout")

    def __init__(self, timeout: float | None) -> None:
        self.timeout = timeout
        self._deadline: asyncio.Timeout | None = None

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        if exc is not None and isinstance(exc, UNAVAILABLE):
            raise unavailable(exc) from exc

    async def __aenter__(self) -> None:
        self._deadline = asyncio.timeout(self.timeout)
        await self._deadline.__aenter__()

    async def __aexit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        assert self._deadline is not None
        try:
            await self._deadline.__aexit__(kind, exc, tb)  # a missed deadline: TimeoutError
        except UNAVAILABLE as missed:
            raise unavailable(missed) from missed
        self.__exit__(kind, exc, tb)


# What redis-py reads from a URL's query and hands to its connections: the options it parses
# itself, plus the text-valued connection settings. Any other name reaches the connection
# class as a keyword argument and fails there, with a TypeError, at the first command.
URL_OPTIONS = frozenset(URL_QUERY_ARGUMENT_PARSERS) - {"timeout"} | {
    "client_name",
    "username",
    "ssl_ca_certs",
    "ssl_ca_path",
    "ssl_certfile",
    "ssl_keyfile",
    "ssl_cert_reqs",
    "ssl_ciphers",
    "ssl_password",
}


def check_url_options(url: str) -> None:
    """Refuse a query option in a Redis URL that redis-py would not take.

    Sojourn's own (``prefix``, ``timeout``, ``cluster``) belong to
    :func:`sojourn.stores.urls.open_store`, which takes them out before ``from_url``; given to
    ``from_url`` directly they would reach redis-py and fail late, as a raw ``TypeError``.

    Raises:
        ConfigurationError: the query names an option redis-py does not read.
    """
    for name in parse_qs(urlsplit(url).query, keep_blank_values=True):
        if name not in URL_OPTIONS:
            raise ConfigurationError(
                f"a Redis URL takes no {name[:40]!r} option here: sojourn's own options "
                "(prefix, timeout, cluster) are read by sojourn.stores.urls.open_store, or "
                "pass them to from_url as arguments"
            )


def check_prefix(prefix: str) -> str:
    """Validate a key prefix: braces would break the hash tags that keep Cluster slots right."""
    if not isinstance(prefix, str) or "{" in prefix or "}" in prefix:
        raise ConfigurationError("the Redis key prefix must be a string without '{' or '}'")
    return prefix


def session_key(prefix: str, digest: str) -> str:
    """The hash holding the session keyed ``digest``."""
    return f"{prefix}{{{digest}}}"


def index_key(prefix: str, principal: str) -> str:
    """The sorted set indexing ``principal``'s sessions (the principal itself is hashed)."""
    return f"{prefix}p:{{{hashlib.sha256(principal.encode()).hexdigest()}}}"


def session_pattern(prefix: str) -> str:
    """A ``SCAN MATCH`` pattern for session hashes only (not the indexes)."""
    escaped = "".join("\\" + c if c in "*?[]\\" else c for c in prefix)
    return escaped + "{*"


def scan_cursor(node: int, position: int, after: str, following: int | None = None) -> str:
    """A scan's plain-text cursor: the node walked, its ``SCAN`` cursor, the last key returned.

    A page that ends inside a ``SCAN`` step also records the cursor that step answered
    (``following``): the resumed call repeats the step, and an answer that differs means the
    keyspace changed shape meanwhile (see :func:`parse_scan_cursor`).
    """
    if following is None:
        return f"{node}:{position}:{after}"
    return f"{node}:{position}:{following}:{after}"


def parse_scan_cursor(cursor: str | None) -> tuple[int, int, int | None, str]:
    """The ``(node, SCAN cursor, that step's answer or None, last key)`` in a cursor from
    :func:`scan_cursor`.

    Raises:
        ConfigurationError: ``cursor`` is not such a cursor.
    """
    if cursor is None:
        return 0, 0, None, ""
    parts = cursor.split(":")
    if len(parts) not in (3, 4) or not all(p.isascii() and p.isdigit() for p in parts[:-1]):
        raise ConfigurationError("not a scan cursor of the Redis store")
    following = int(parts[2]) if len(parts) == 4 else None
    return int(parts[0]), int(parts[1]), following, parts[-1]


def scan_order(cursor: int) -> int:
    """Where a ``SCAN`` cursor stands in the walk, comparable across table sizes.

    ``SCAN`` visits buckets in reverse-binary order, which is why resizing never makes it skip
    any: a cursor read with its 64 bits reversed is its position in the walk. ``0`` (the walk is
    over) comes last.
    """
    if cursor == 0:
        return 1 << 64
    return int(f"{cursor:064b}"[::-1], 2)


def digest_of(prefix: str, key: bytes | str) -> str:
    """The digest inside a session key."""
    text = key.decode() if isinstance(key, bytes) else key
    return text[len(prefix) + 1 : -1]


def num(value: float) -> str:
    """A float as text that Lua parses back exactly."""
    if not math.isfinite(value):
        raise ConfigurationError("times must be finite")
    return repr(float(value))


def pexpireat(value: float) -> str:
    """``PEXPIREAT``'s milliseconds for a deadline: the same ``ceil(value * 1000)`` in doubles that
    the scripts' ``ms()`` computes, so a TTL set from Python or from Lua ends at the same
    instant."""
    if not math.isfinite(value):
        raise ConfigurationError("times must be finite")
    return str(math.ceil(float(value) * 1000))


def as_bytes(value: object) -> bytes:
    """A reply item as bytes, whether or not the client decodes responses."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode()
    raise CorruptSession("unexpected reply from Redis")


def encode_meta(meta: Mapping[str, str]) -> bytes:
    """The metadata mapping as compact JSON."""
    return json.dumps(dict(meta), separators=(",", ":"), ensure_ascii=False).encode()


def record_fields(record: Record, index_slack: float) -> list[bytes]:
    """The hash of a new record, as a flat field/value list for a script."""
    out: list[bytes] = [
        CREATED,
        num(record.created_at).encode(),
        RENEWED,
        num(record.renewed_at).encode(),
        EXPIRES,
        num(record.expires_at).encode(),
    ]
    if record.principal is not None:
        out += [PRINCIPAL, record.principal.encode()]
        out += [INDEXED_UNTIL, num(record.expires_at + index_slack).encode()]
    if record.authenticated_at is not None:
        out += [AUTHENTICATED, num(record.authenticated_at).encode()]
    if record.meta:
        out += [META, encode_meta(record.meta)]
    for name, value in record.fields.items():
        out += [DATA + name.encode(), value]
    return out


def pairs(flat: list[object]) -> dict[bytes, bytes]:
    """A flat HGETALL reply as a dict of bytes."""
    if len(flat) % 2:
        raise CorruptSession("malformed hash reply")
    return {as_bytes(flat[i]): as_bytes(flat[i + 1]) for i in range(0, len(flat), 2)}


def decode(digest: str, raw: Mapping[bytes, bytes], with_fields: bool = True) -> Record:
    """The record stored in a session hash.

    Raises:
        CorruptSession: a timestamp, a name or the metadata cannot be decoded.
    """
    try:
        fields = (
            {k[len(DATA) :].decode(): v for k, v in raw.items() if k.startswith(DATA)}
            if with_fields
            else {}
        )
    except UnicodeDecodeError:
        raise CorruptSession("a session hash cannot be decoded") from None
    return _record(digest, fields, raw)


def decode_hash(digest: str, raw: Mapping[Any, Any]) -> Record:
    """The record in an ``HGETALL`` reply as redis-py hands it over (a dict).

    Raises:
        CorruptSession: as :func:`decode`.
    """
    try:
        return decode(digest, raw)
    except (AttributeError, TypeError):  # a decoding client's str keys and values
        return decode(digest, {as_bytes(k): as_bytes(v) for k, v in raw.items()})


def decode_flat(digest: str, flat: list[object]) -> Record:
    """The record in an ``HGETALL`` reply (a flat field/value list), read in one pass.

    Every request decodes one of these, so the user's fields go straight into their dict and
    only the few metadata fields into another, instead of a dict of everything first.

    Raises:
        CorruptSession: as :func:`decode`, or the reply is not a list of pairs.
    """
    if len(flat) % 2:
        raise CorruptSession("malformed hash reply")
    fields: dict[str, bytes] = {}
    raw: dict[bytes, bytes] = {}
    items: Iterator[Any] = iter(flat)
    try:
        for name, value in zip(items, items, strict=True):
            # A decoding client's str fails startswith(bytes) with TypeError: take the slow path.
            if name.startswith(DATA):
                fields[name[2:].decode()] = value  # 2 == len(DATA)
            else:
                raw[name] = value
    except (AttributeError, TypeError):
        return decode(digest, pairs(flat))
    except UnicodeDecodeError:
        raise CorruptSession("a session hash cannot be decoded") from None
    return _record(digest, fields, raw)


def _record(digest: str, fields: dict[str, bytes], raw: Mapping[bytes, bytes]) -> Record:
    """The record with these user fields and the metadata fields in ``raw``."""
    try:
        created, renewed = float(raw[CREATED]), float(raw[RENEWED])
        expires = float(raw[EXPIRES])
        authenticated_raw = raw.get(AUTHENTICATED)
        authenticated = float(authenticated_raw) if authenticated_raw is not None else None
    except KeyError:
        raise CorruptSession("a session hash lacks a timestamp") from None
    except ValueError:
        raise CorruptSession("a session hash has a malformed timestamp") from None
    if not (
        _isfinite(created)
        and _isfinite(renewed)
        and _isfinite(expires)
        and (authenticated is None or _isfinite(authenticated))
    ):
        raise CorruptSession("a session hash has a malformed timestamp")
    principal_raw = raw.get(PRINCIPAL)
    meta_raw = raw.get(META)
    meta: dict[str, str] = {}
    try:
        principal = principal_raw.decode() if principal_raw is not None else None
        loaded = json.loads(meta_raw) if meta_raw else meta
    except (UnicodeDecodeError, ValueError, RecursionError):
        raise CorruptSession("a session hash cannot be decoded") from None
    if loaded is not meta:
        if not isinstance(loaded, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in loaded.items()
        ):
            raise CorruptSession("session metadata is not a mapping of strings")
        meta = loaded
    return Record(digest, fields, principal, created, renewed, expires, authenticated, meta)


META_FIELDS = [CREATED, RENEWED, EXPIRES, PRINCIPAL, AUTHENTICATED, META]


def decode_meta_fields(digest: str, values: list[object]) -> Record | None:
    """A record (without user fields) from an HMGET of :data:`META_FIELDS`; None if absent."""
    raw = {name: as_bytes(v) for name, v in zip(META_FIELDS, values, strict=True) if v is not None}
    if not raw:
        return None
    return decode(digest, raw, with_fields=False)


__all__ = [
    "AUTHENTICATED",
    "CREATED",
    "DATA",
    "EXPIRES",
    "INDEXED_UNTIL",
    "META",
    "META_FIELDS",
    "PRINCIPAL",
    "RENEWED",
    "UNAVAILABLE",
    "URL_OPTIONS",
    "as_bytes",
    "bounded",
    "check_prefix",
    "check_url_options",
    "decode",
    "decode_flat",
    "decode_hash",
    "decode_meta_fields",
    "digest_of",
    "encode_meta",
    "index_key",
    "num",
    "pairs",
    "parse_scan_cursor",
    "pexpireat",
    "record_fields",
    "scan_cursor",
    "scan_order",
    "session_key",
    "session_pattern",
    "translate_errors",
    "unavailable",
    "within",
]
