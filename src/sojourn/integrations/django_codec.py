"""Django's session values: JSON as Django's ``JSONSerializer`` writes it, never pickle.

Django's default serializer is ``json.dumps``, so apps and contrib code rely on two
conversions the strict :data:`~sojourn._core.codec.JSON` codec refuses: a ``tuple`` is stored
(and read back) as a list, and a dict key that is an ``int``, ``float``, ``bool`` or ``None``
is stored as its JSON text (``1`` -> ``"1"``, ``True`` -> ``"true"``). :data:`DJANGO_JSON`
accepts exactly those, writes the same bytes as the strict codec for plain JSON (so a Flask or
ASGI app sharing the store reads them), and refuses what Django's serializer would also refuse
(``datetime``, ``Decimal``, sets, lazy strings ...) at write time with a message naming the key.
One deliberate difference: ``NaN`` and the infinities are refused (they are not JSON).
"""

from __future__ import annotations

import json
import math
from typing import Any

from .._core.codec import CodecLimits, check_encoded_size, decode_value
from .._core.errors import UnencodableValue

_SCALARS = (str, int, float, bool, type(None))
_KEYS = (str, int, float, bool, type(None))


def _check(key: str, value: object, limits: CodecLimits) -> None:
    """Walk ``value`` once, iteratively, refusing what ``json.dumps`` would not write as JSON."""
    stack: list[tuple[object, int]] = [(value, 0)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, float):
            if not math.isfinite(item):
                raise UnencodableValue(f"session key {key!r}: {item!r} is not valid JSON")
        elif isinstance(item, _SCALARS):
            continue
        elif isinstance(item, list | tuple | dict):
            if level >= limits.max_depth:
                raise UnencodableValue(
                    f"session key {key!r}: nesting deeper than {limits.max_depth} levels"
                )
            if isinstance(item, dict):
                for sub_key, sub_value in item.items():
                    if not isinstance(sub_key, _KEYS) or (
                        isinstance(sub_key, float) and not math.isfinite(sub_key)
                    ):
                        raise UnencodableValue(
                            f"session key {key!r}: dict keys must be str, int, float, bool "
                            f"or None, not {type(sub_key).__name__}"
                        )
                    stack.append((sub_value, level + 1))
            else:
                stack.extend((element, level + 1) for element in item)
        else:
            raise UnencodableValue(
                f"session key {key!r}: {type(item).__name__} is not JSON-serializable "
                "(Django's JSONSerializer refuses it too)"
            )


class DjangoJSONCodec:
    """Django's ``JSONSerializer`` value by value: tuples become lists, scalar keys text."""

    __slots__ = ()

    def check(self, key: str, value: object, limits: CodecLimits) -> None:
        _check(key, value, limits)

    def encode(self, key: str, value: object, limits: CodecLimits) -> bytes:
        _check(key, value, limits)
        data = json.dumps(
            value, ensure_ascii=False, allow_nan=False, separators=(",", ":"), check_circular=False
        ).encode("utf-8")
        return check_encoded_size(key, data, limits)

    def decode(self, data: bytes, limits: CodecLimits) -> Any:
        return decode_value(data, limits)

    def __repr__(self) -> str:
        return "DjangoJSONCodec()"


DJANGO_JSON = DjangoJSONCodec()
"""The codec ``sojourn.django`` gives its engine."""

__all__ = ["DJANGO_JSON", "DjangoJSONCodec"]
