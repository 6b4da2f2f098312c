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

from .._core.codec import JSONCodec, ValueCodec

DJANGO_JSON: ValueCodec = JSONCodec(lenient=True)
"""The codec ``sojourn.django`` gives its engine: the core's JSON walk, lenient as Django's."""

__all__ = ["DJANGO_JSON"]
