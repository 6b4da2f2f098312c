"""Value codecs: how one session value becomes bytes and back. JSON (strict) is the default.

Each session key's value is encoded on its own, so a store can apply a change set key by key
and change detection can compare bytes (``session["cart"].append(x)`` is noticed and saved).
The codec is pluggable (:class:`ValueCodec`), so an adapter can round-trip its framework's own
value types (Flask's tagged JSON: tuples, bytes, ``Markup``, ``UUID``, ``datetime``), but every
codec must be safe by construction: decoding never runs code (no pickle, no object hooks that
import), and undecodable bytes raise :class:`CorruptSession`, which the engine treats as "no
session" and logs.

The default, :data:`JSON`:

Strict on the way in: only ``None``, ``bool``, ``int``, finite ``float``, ``str``, ``list`` and
``dict`` with ``str`` keys; anything else (tuples, sets, datetimes, NaN) raises an error naming
the session key, at write time, instead of being silently converted. Defensive on the way out:
a size cap before parsing, a nesting-depth cap, Python's integer-digit cap, and every decoder
failure mapped to :class:`CorruptSession`. There is no pickle anywhere, not even as a fallback.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

from .errors import ConfigurationError, CorruptSession, SessionTooLarge, UnencodableValue

JSONValue: TypeAlias = bool | int | float | str | list["JSONValue"] | dict[str, "JSONValue"] | None

_SCALARS = (str, int, float, bool, type(None))


@dataclass(frozen=True, slots=True)
class CodecLimits:
    """Bounds on what one session may hold.

    Attributes:
        max_value_bytes: the largest encoded value of one key.
        max_session_bytes: the largest sum of encoded values of one session.
        max_depth: the deepest nesting of lists and dicts.
    """

    max_value_bytes: int = 64 * 1024
    max_session_bytes: int = 256 * 1024
    max_depth: int = 32

    def __post_init__(self) -> None:
        if min(self.max_value_bytes, self.max_session_bytes, self.max_depth) <= 0:
            raise ConfigurationError("codec limits must be positive")


DEFAULT_LIMITS = CodecLimits()


_STRICT_CONTAINERS = (list, dict)
_LENIENT_CONTAINERS = (list, tuple, dict)


def _check(
    key: str, value: object, depth: int, limits: CodecLimits, *, lenient: bool = False
) -> None:
    """Walk a value once, rejecting anything that is not plain JSON (iterative: no recursion).

    ``lenient`` also accepts what ``json.dumps`` converts on the way (Django's serializer):
    tuples (read back as lists) and ``int``/``float``/``bool``/``None`` dict keys (as text).
    """
    containers = _LENIENT_CONTAINERS if lenient else _STRICT_CONTAINERS
    keys = _SCALARS if lenient else str
    stack: list[tuple[object, int]] = [(value, depth)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise UnencodableValue(f"session key {key!r}: {item!r} is not valid JSON")
        elif isinstance(item, _SCALARS):
            continue
        elif isinstance(item, containers):
            if level >= limits.max_depth:
                raise UnencodableValue(
                    f"session key {key!r}: nesting deeper than {limits.max_depth} levels"
                )
            if isinstance(item, dict):
                for sub_key, sub_value in item.items():
                    if not isinstance(sub_key, keys) or (
                        isinstance(sub_key, float) and not math.isfinite(sub_key)
                    ):
                        allowed = "str, int, float, bool or None" if lenient else "str"
                        raise UnencodableValue(
                            f"session key {key!r}: dict keys must be {allowed}, "
                            f"not {type(sub_key).__name__}"
                        )
                    stack.append((sub_value, level + 1))
            else:
                stack.extend((element, level + 1) for element in item)
        else:
            kinds = "list, tuple or dict" if lenient else "list or dict"
            raise UnencodableValue(
                f"session key {key!r}: {type(item).__name__} is not a JSON value "
                f"(use str, int, float, bool, None, {kinds})"
            )


def encode_value(
    key: str, value: object, limits: CodecLimits = DEFAULT_LIMITS, *, lenient: bool = False
) -> bytes:
    """Encode one session value to canonical JSON bytes.

    Raises:
        UnencodableValue: the value (or something inside it) is not plain JSON (or, with
            ``lenient``, not something ``json.dumps`` turns into JSON).
        SessionTooLarge: the encoded value is over ``limits.max_value_bytes``.
    """
    # An int or a str is written as json writes it, without the encoder's per-call set-up.
    if type(value) is int:
        data = int.__repr__(value).encode()
    elif type(value) is str:
        data = _ENCODE_STR(value).encode("utf-8")
    else:
        if type(value) not in _PLAIN:
            _check(key, value, 0, limits, lenient=lenient)
        data = _ENCODER.encode(value).encode("utf-8")
    return check_encoded_size(key, data, limits)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_PLAIN = frozenset({str, int, bool, type(None)})
"""Scalars with nothing to check: any value of exactly these types is valid JSON."""

# Made once: ``json.dumps`` and ``json.loads`` with options build a new encoder or decoder on
# every call, which showed in request profiles.
_ENCODER = json.JSONEncoder(
    ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
)
_DECODER = json.JSONDecoder(parse_constant=_reject_constant)
_ENCODE_STR: Callable[[str], str] = json.encoder.encode_basestring  # as ensure_ascii=False does
_SCAN: Callable[[str, int], tuple[Any, int]] = _DECODER.scan_once  # type: ignore[attr-defined]


def _depth_ok(value: object, max_depth: int) -> bool:
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, list | dict):
            if level >= max_depth:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return True


def decode_value(data: bytes, limits: CodecLimits = DEFAULT_LIMITS) -> JSONValue:
    """Decode bytes written by :func:`encode_value`.

    Raises:
        CorruptSession: the bytes are too large, not UTF-8, not JSON, or nested too deeply.
    """
    if len(data) > limits.max_value_bytes:
        raise CorruptSession("stored value is over the size limit")
    try:
        text = data.decode("utf-8")
        try:
            # What encode_value wrote is one JSON value with no whitespace around it: the
            # scanner alone reads it. Anything else (whitespace, trailing bytes, junk) takes
            # the full decoder, which accepts or refuses it exactly as json.loads would.
            value: JSONValue
            value, end = _SCAN(text, 0)
        except StopIteration:
            end = -1
        if end != len(text):
            value = _DECODER.decode(text)
    except (ValueError, RecursionError, MemoryError) as exc:  # JSONDecodeError is a ValueError
        raise CorruptSession(f"stored value is not valid JSON ({type(exc).__name__})") from None
    if isinstance(value, list | dict) and not _depth_ok(value, limits.max_depth):
        raise CorruptSession("stored value is nested too deeply")
    return value


class ValueCodec(Protocol):
    """Encodes and decodes one session value; safe by construction (decoding runs no code).

    Encoding must be deterministic for equal values: change detection compares bytes, so a
    codec whose output varied (unsorted sets, random salts) would write on every request.
    """

    def check(self, key: str, value: object, limits: CodecLimits) -> None:
        """Refuse ``value`` for ``key`` at write time, naming the key.

        Raises:
            UnencodableValue: the codec cannot store this value.
        """
        ...

    def encode(self, key: str, value: object, limits: CodecLimits) -> bytes:
        """The bytes stored for ``value``.

        Raises:
            UnencodableValue: the value (or something inside it) cannot be stored.
            SessionTooLarge: the encoded value is over ``limits.max_value_bytes``.
        """
        ...

    def decode(self, data: bytes, limits: CodecLimits) -> Any:
        """The value ``encode`` wrote.

        Raises:
            CorruptSession: the bytes are too large, malformed, or nested too deeply.
        """
        ...


class JSONCodec:
    """JSON: ``None``, ``bool``, ``int``, finite ``float``, ``str``, ``list``, ``dict``.

    Args:
        lenient: also accept what ``json.dumps`` converts (Django's ``JSONSerializer`` does):
            tuples, stored and read back as lists, and ``int``/``float``/``bool``/``None`` dict
            keys, stored as their JSON text. Plain JSON is written byte for byte the same.
    """

    __slots__ = ("lenient",)

    def __init__(self, *, lenient: bool = False) -> None:
        self.lenient = lenient

    def check(self, key: str, value: object, limits: CodecLimits) -> None:
        if type(value) not in _PLAIN:
            _check(key, value, 0, limits, lenient=self.lenient)

    def encode(self, key: str, value: object, limits: CodecLimits) -> bytes:
        return encode_value(key, value, limits, lenient=self.lenient)

    def decode(self, data: bytes, limits: CodecLimits) -> Any:
        return decode_value(data, limits)

    def __repr__(self) -> str:
        return "JSONCodec(lenient=True)" if self.lenient else "JSONCodec()"


JSON: ValueCodec = JSONCodec()
"""The default codec: strict JSON, one value at a time."""


def check_encoded_size(key: str, data: bytes, limits: CodecLimits) -> bytes:
    """``data`` if it fits ``limits.max_value_bytes``, for codecs other than :data:`JSON`.

    Raises:
        SessionTooLarge: the encoded value is over the limit.
    """
    if len(data) > limits.max_value_bytes:
        raise SessionTooLarge(
            f"session key {key!r}: {len(data)} bytes is over the limit of "
            f"{limits.max_value_bytes} bytes per value"
        )
    return data


__all__ = [
    "DEFAULT_LIMITS",
    "JSON",
    "CodecLimits",
    "JSONCodec",
    "JSONValue",
    "ValueCodec",
    "check_encoded_size",
    "decode_value",
    "encode_value",
]
