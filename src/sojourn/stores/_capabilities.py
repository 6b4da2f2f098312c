"""One mechanism for the wrappers that offer exactly the capabilities of what they wrap.

``ThreadedStore``, the metrics' observed store and ``MigratingStore`` each wrap a store and must
offer ``sessions_of``, ``purge_expired``, ``scan``… only when the wrapped store can (a runtime
``isinstance`` against a capability protocol must tell the truth). Each defines one mixin per
capability; :func:`composed` makes the subclass built of exactly the mixins that apply.
"""

from __future__ import annotations

from typing import TypeVar, cast

W = TypeVar("W")

_MADE: dict[tuple[type, tuple[type, ...]], type] = {}


def composed(base: type[W], mixins: tuple[type[W], ...]) -> type[W]:
    """The subclass of ``base`` made of exactly ``mixins`` (each a subclass of ``base`` that
    offers one capability), or a plain subclass of ``base`` when there are none: one class per
    combination, made once. Its ``__new__`` is ``object``'s, so the instance it makes does not
    choose its class again."""
    made = _MADE.get((base, mixins))
    if made is None:
        made = type(base.__name__, mixins or (base,), {"__new__": _plain_new})
        made = _MADE.setdefault((base, mixins), made)
    return cast(type[W], made)


def _plain_new(cls: type, *args: object, **kwargs: object) -> object:
    return object.__new__(cls)


__all__ = ["composed"]
