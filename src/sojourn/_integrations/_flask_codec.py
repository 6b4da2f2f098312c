"""Flask's tagged JSON as a Sojourn value codec: the types ``flask.session`` round-trips today.

Flask's signed-cookie session stores values with :class:`flask.json.tag.TaggedJSONSerializer`,
so apps put tuples (``flash()`` stores ``(category, message)``), ``bytes``, ``Markup``, ``UUID``
and ``datetime`` in the session and get them back as the same types. This codec runs exactly that
serializer on each value, so a Flask app keeps every value it keeps today, and an app that
registered its own tags on ``app.session_interface.serializer`` keeps those too.

It is as safe as Flask's own session: decoding is JSON plus the registered tags' constructors
(``tuple``, ``bytes`` from base64, ``Markup``, ``UUID``, an HTTP date) — never pickle, nothing
that imports or calls by name. Bytes it cannot read are a corrupt record (logged, fresh session).
Values are encoded one key at a time, so change detection and per-key writes work as with JSON.

The tagged structure is written as canonical JSON (compact, UTF-8, no NaN), the same bytes the
default JSON codec writes for plain JSON values, so a Flask app and a Starlette/FastAPI app that
share sessions read each other's plain values without rewriting them. Values that are not JSON
and have no tag get Flask's own conversions (``date`` to an HTTP date string, ``Decimal`` and
``UUID`` inside other objects to strings, dataclasses to dicts), as Flask's session does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from flask.json.provider import DefaultJSONProvider
from flask.json.tag import TaggedJSONSerializer

from .._core.codec import (
    CodecLimits,
    _check,
    _reject_constant,
    check_encoded_size,
    encode_value,
)
from .._core.errors import CorruptSession, UnencodableValue

_UNTAGGED = frozenset({str, int, float, bool, type(None)})
_UNCHECKED = frozenset({str, int, bool, type(None)})  # always JSON: only a float can be wrong


class TaggedJSONCodec:
    """Each session value encoded with Flask's :class:`TaggedJSONSerializer`.

    Args:
        serializer: the serializer to use; a fresh one with Flask's default tags if omitted.
            Register extra tags on it (``codec.serializer.register(MyTag)``) as on Flask's.
    """

    __slots__ = ("_decoder", "_encoder", "_scan", "serializer")

    def __init__(self, serializer: TaggedJSONSerializer | None = None) -> None:
        self.serializer = serializer or TaggedJSONSerializer()
        # Made once: json.dumps / json.loads with options build a new one on every call.
        self._encoder = json.JSONEncoder(
            ensure_ascii=False,
            allow_nan=False,
            separators=(",", ":"),
            default=DefaultJSONProvider.default,  # Flask's conversions (date, Decimal, …)
        )
        # Bottom-up, as the serializer's own loads untags: each object as it is parsed.
        self._decoder = json.JSONDecoder(
            object_hook=self.serializer.untag, parse_constant=_reject_constant
        )
        scan: Callable[[str, int], tuple[Any, int]] = self._decoder.scan_once  # type: ignore[attr-defined]
        self._scan = scan

    def check(self, key: str, value: object, limits: CodecLimits) -> None:
        if type(value) in _UNCHECKED:
            return  # what _check would say of it: nothing
        if type(value) is float:
            _check(key, value, 0, limits)  # only a NaN or an infinity can be wrong here
        else:
            self.encode(key, value, limits)

    def encode(self, key: str, value: object, limits: CodecLimits) -> bytes:
        if type(value) in _UNTAGGED:  # no tag applies (Markup is a str subclass, not str)
            return encode_value(key, value, limits)
        try:
            text = self._encoder.encode(self.serializer.tag(value))
        except (TypeError, ValueError, RecursionError) as exc:
            raise UnencodableValue(
                f"session key {key!r}: {type(value).__name__} cannot be stored "
                f"({type(exc).__name__}: {exc})"
            ) from None
        return check_encoded_size(key, text.encode("utf-8"), limits)

    def decode(self, data: bytes, limits: CodecLimits) -> Any:
        if len(data) > limits.max_value_bytes:
            raise CorruptSession("stored value is over the size limit")
        try:
            text = data.decode("utf-8")
            # What encode wrote is one JSON value with no whitespace around it: the scanner
            # alone reads it (untagging each object as the full decoder does). Anything else
            # takes the full decoder, which accepts or refuses it exactly as before.
            try:
                value, end = self._scan(text, 0)
            except StopIteration:
                end = -1
            if end != len(text):
                value = self._decoder.decode(text)
            return value
        except Exception as exc:  # a tag's constructor may raise anything on bad input
            raise CorruptSession(
                f"stored value is not Flask tagged JSON ({type(exc).__name__})"
            ) from None

    def __repr__(self) -> str:
        return "TaggedJSONCodec()"


__all__ = ["TaggedJSONCodec"]
