"""Typed access to a session: :func:`typed` and :func:`shape_of`.

``typed(session, Cart)`` is typed as ``Cart`` for the type checker: a ``TypedDict`` shape
gives a mapping view (``cart["items"]``), any other shape an attribute view
(``prefs.theme``). Both read and write the session itself, so in-place edits are saved as
usual, and both refuse a value that does not fit, at the write, naming the key and the type.
The view shows the shape's declared keys only.

The view works over any session mapping (a :class:`~sojourn.Session`, Flask's
``flask.session``, Django's ``request.session``), with or without ``shape=`` configured. What
only the configured shape does is hold stored records to it on load (migrate, or start afresh)
and refuse wrong writes that do not go through a view.
"""

from __future__ import annotations

import sys
import typing
from collections.abc import Iterator, MutableMapping
from typing import Any, TypeVar

from .._core.errors import ShapeError
from .._core.shape import Extra, Migrate, Shape, shape_from_class

S = TypeVar("S")


def shape_of(
    tp: type[Any] | Shape, *, migrate: Migrate | None = None, extra: Extra = "allow"
) -> Shape:
    """The :class:`~sojourn._core.shape.Shape` a class declares: a ``TypedDict``, a dataclass,
    a msgspec ``Struct`` or a pydantic model; a ``Shape`` is returned as it is (with
    ``migrate`` when given).

    Args:
        tp: the class.
        migrate: turns a stored record's data that does not fit into data that does.
        extra: ``"allow"``: undeclared keys (a framework's own) live beside, unchecked;
            ``"forbid"``: they are refused.

    Raises:
        ConfigurationError: ``tp`` declares no shape, or an annotation cannot be checked.
    """
    if isinstance(tp, Shape):
        return tp if migrate is None else tp.with_migrate(migrate)
    if isinstance(tp, type):
        msgspec = sys.modules.get("msgspec")
        if msgspec is not None and issubclass(tp, msgspec.Struct):
            from .models import msgspec_shape

            return msgspec_shape(tp, extra=extra, migrate=migrate)
        pydantic = sys.modules.get("pydantic")
        if pydantic is not None and issubclass(tp, pydantic.BaseModel):
            from .models import pydantic_shape

            return pydantic_shape(tp, extra=extra, migrate=migrate)
    return shape_from_class(tp, extra=extra, migrate=migrate)


_VIEW_SHAPES: dict[object, Shape] = {}


def _view_shape(tp: object) -> Shape:
    """Built once per class: a view is made per request."""
    found = _VIEW_SHAPES.get(tp)
    if found is None:
        found = _VIEW_SHAPES[tp] = shape_of(typing.cast(type[Any], tp))
    return found


def typed(session: MutableMapping[str, Any], shape: type[S]) -> S:
    """``session`` seen through ``shape``: typed access, every write checked.

    Raises:
        ConfigurationError: ``shape`` declares no shape.
    """
    found = _view_shape(shape)
    view: Any = AttributeView(session, found)
    if typing.is_typeddict(shape):
        view = KeyView(session, found)
    return typing.cast(S, view)


class KeyView(MutableMapping[str, Any]):
    """A ``TypedDict`` shape's view: the declared keys of the session, writes checked."""

    __slots__ = ("_session", "_shape")

    def __init__(self, session: MutableMapping[str, Any], shape: Shape) -> None:
        self._session = session
        self._shape = shape

    def __getitem__(self, key: str) -> Any:
        if key not in self._shape.fields:
            raise KeyError(key)
        return self._session[key]

    def __setitem__(self, key: str, value: Any) -> None:
        _write(self._session, self._shape, key, value)

    def __delitem__(self, key: str) -> None:
        if key not in self._shape.fields:
            raise KeyError(key)
        _refuse_required(self._shape, key)
        del self._session[key]

    def __iter__(self) -> Iterator[str]:
        session = self._session
        return iter([key for key in self._shape.fields if key in session])

    def __len__(self) -> int:
        session = self._session
        return sum(1 for key in self._shape.fields if key in session)

    def __contains__(self, key: object) -> bool:
        return key in self._shape.fields and key in self._session

    def __repr__(self) -> str:  # never the values
        return f"<typed {self._shape.name} keys={list(self)!r}>"


class AttributeView:
    """A dataclass, msgspec or pydantic shape's view: each declared key an attribute.

    An absent key reads as the field's default (assign it to store it), or raises
    ``AttributeError`` when the field has none. The view is not an instance of the class: it
    has the class's fields, not its methods.
    """

    __slots__ = ("_session", "_shape")

    def __init__(self, session: MutableMapping[str, Any], shape: Shape) -> None:
        object.__setattr__(self, "_session", session)
        object.__setattr__(self, "_shape", shape)

    def __getattr__(self, name: str) -> Any:
        field = self._shape.fields.get(name)
        if field is None:
            raise AttributeError(f"{self._shape.name} declares no {name!r}")
        try:
            return self._session[name]
        except KeyError:
            if field.default is None:
                raise AttributeError(f"session key {name!r} is not set") from None
            return field.default()

    def __setattr__(self, name: str, value: Any) -> None:
        _write(self._session, self._shape, name, value)

    def __delattr__(self, name: str) -> None:
        if name not in self._shape.fields:
            raise AttributeError(f"{self._shape.name} declares no {name!r}")
        _refuse_required(self._shape, name)
        self._session.pop(name, None)

    def __repr__(self) -> str:  # never the values
        session = self._session
        return (
            f"<typed {self._shape.name} keys={[k for k in self._shape.fields if k in session]!r}>"
        )


def _write(session: MutableMapping[str, Any], shape: Shape, key: str, value: Any) -> None:
    if key not in shape.fields:
        raise ShapeError(f"session key {key!r} is not declared by {shape.name}")
    shape.check(key, value)
    session[key] = value


def _refuse_required(shape: Shape, key: str) -> None:
    if shape.fields[key].required:
        raise ShapeError(f"session key {key!r} is required by {shape.name}: it cannot be removed")


__all__ = ["AttributeView", "KeyView", "shape_of", "typed"]
