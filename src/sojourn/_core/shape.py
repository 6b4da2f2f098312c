"""Session shapes: what an application declares its session holds, checked on write and load.

A :class:`Shape` is a table of fields (session key -> what its value must be, whether it is
required). The engine consults it in three places, and only when one is configured, so an
untyped session runs exactly the code it ran before:

- on write, through :class:`ShapedCodec` wrapped around the value codec: ``session[key] = v``
  and the commit's encoding of a value changed in place both refuse a value that does not fit
  with :class:`~.errors.ShapeError`, naming the key and the expected type;
- at commit, a session about to be stored must hold every required key;
- on load, a record that does not fit is handed to the shape's ``migrate`` function, or, with
  none (or when migrating fails), treated like a corrupt record: logged, a fresh session, the
  old record deleted at commit. Never a 500 after a deploy that changed the shape.

The shape governs the keys it declares. Other keys (a framework's own: Django's
``_auth_user_id``, Flask-Login's ``_user_id``, Flask-WTF's ``csrf_token``) live beside them
unchecked, unless the shape is closed (``extra="forbid"``).

This module builds shapes from a ``TypedDict`` or a dataclass with a small validator over
:func:`typing.get_type_hints` (the standard library alone, as the core must); msgspec and
pydantic shapes are built outside the core (:mod:`sojourn._typed.models`) as the same table,
each field checked by its own library.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Collection, Mapping
from typing import Any, Literal, Union

from .codec import CodecLimits, ValueCodec
from .errors import ConfigurationError, ShapeError

Accepts = Callable[[object], bool]
Migrate = Callable[[dict[str, Any]], dict[str, Any]]
Extra = Literal["allow", "forbid"]
_NO_DEFAULT: Callable[[], Any] | None = None
_UNION_TYPE = type(int | None)  # types.UnionType, the ``X | Y`` form


@dataclasses.dataclass(frozen=True, slots=True, eq=False)
class Field:
    """One declared session key.

    Attributes:
        name: the session key.
        expected: the expected type as a reader writes it (``list[int]``), for messages.
        accepts: True for a value that fits.
        required: the key must be present in every stored session.
        default: makes the value a typed view shows for an absent key; ``None``: no default.
    """

    name: str
    expected: str
    accepts: Accepts
    required: bool
    default: Callable[[], Any] | None = None


class Shape:
    """What a session holds: its declared keys, and what to do with a record that does not fit.

    Args:
        name: the shape's name, for messages and log lines.
        fields: the declared keys.
        extra: ``"allow"`` (default): undeclared keys live beside the declared ones, unchecked;
            ``"forbid"``: an undeclared key is refused on write and makes a record not fit.
        migrate: turns the data of a stored record that does not fit into data that does
            (``old dict -> new dict``); the migrated session is written back at commit. A
            migration that raises or returns data that still does not fit is a mismatch.
    """

    __slots__ = ("extra", "fields", "migrate", "name", "required")

    def __init__(
        self,
        name: str,
        fields: Collection[Field],
        *,
        extra: Extra = "allow",
        migrate: Migrate | None = None,
    ) -> None:
        if extra not in ("allow", "forbid"):
            raise ConfigurationError("extra must be 'allow' or 'forbid'")
        if migrate is not None and not callable(migrate):
            raise ConfigurationError("migrate must be a function of the old data")
        self.name = name
        self.fields: Mapping[str, Field] = {field.name: field for field in fields}
        self.required = tuple(field.name for field in fields if field.required)
        self.extra = extra
        self.migrate = migrate

    def check(self, key: str, value: object) -> None:
        """Refuse ``value`` for ``key`` if it does not fit.

        Raises:
            ShapeError: the key is declared with another type, or undeclared in a closed shape.
        """
        field = self.fields.get(key)
        if field is None:
            if self.extra == "forbid":
                raise ShapeError(f"session key {key!r} is not declared by {self.name}")
            return
        if not field.accepts(value):
            raise ShapeError(
                f"session key {key!r} must be {field.expected} ({self.name}), "
                f"not {type(value).__name__}"
            )

    def mismatch(self, data: Mapping[str, Any]) -> str | None:
        """Why stored ``data`` does not fit (a key and its expected type, never a value), or
        ``None`` when it fits."""
        fields = self.fields
        for key, field in fields.items():
            if key in data:
                if not field.accepts(data[key]):
                    return f"key {key!r} is not {field.expected}"
            elif field.required:
                return f"required key {key!r} is missing"
        if self.extra == "forbid":
            for key in data:
                if key not in fields:
                    return f"key {key!r} is not declared"
        return None

    def missing(self, keys: Collection[str]) -> str | None:
        """The first required key not among ``keys`` (what a commit stores), or ``None``."""
        for key in self.required:
            if key not in keys:
                return key
        return None

    def with_migrate(self, migrate: Migrate | None) -> Shape:
        """This shape with another migration function."""
        return Shape(self.name, tuple(self.fields.values()), extra=self.extra, migrate=migrate)

    def __repr__(self) -> str:
        return f"<Shape {self.name} keys={sorted(self.fields)!r}>"


class ShapedCodec:
    """A value codec that first holds each value to a shape (see the module docstring).

    Decoding is the inner codec's: a whole record is checked once loaded, by the engine.
    """

    __slots__ = ("inner", "shape")

    def __init__(self, shape: Shape, inner: ValueCodec) -> None:
        self.shape = shape
        self.inner = inner

    def check(self, key: str, value: object, limits: CodecLimits) -> None:
        self.shape.check(key, value)
        self.inner.check(key, value, limits)

    def encode(self, key: str, value: object, limits: CodecLimits) -> bytes:
        self.shape.check(key, value)  # a value changed in place since it was set
        return self.inner.encode(key, value, limits)

    def decode(self, data: bytes, limits: CodecLimits) -> Any:
        return self.inner.decode(data, limits)

    def __repr__(self) -> str:
        return f"ShapedCodec({self.shape!r}, {self.inner!r})"


# -- the standard library's shapes ---------------------------------------------------------


def shape_from_class(
    tp: type[Any], *, extra: Extra = "allow", migrate: Migrate | None = None
) -> Shape:
    """The shape a ``TypedDict`` or a dataclass declares.

    Raises:
        ConfigurationError: ``tp`` is neither, or a field's annotation cannot be checked.
    """
    if typing.is_typeddict(tp):
        hints = _hints(tp)
        required = _required_keys(tp)
        fields = [
            Field(name, describe(hint), accepts(hint), name in required)
            for name, hint in hints.items()
        ]
    elif dataclasses.is_dataclass(tp):
        hints = _hints(tp)
        fields = []
        for item in dataclasses.fields(tp):
            hint = hints[item.name]
            default = _default_of(item)
            fields.append(Field(item.name, describe(hint), accepts(hint), default is None, default))
    else:
        raise ConfigurationError(
            f"{getattr(tp, '__name__', tp)!r} is not a session shape: use a TypedDict, a "
            "dataclass, a msgspec Struct or a pydantic model"
        )
    return Shape(tp.__name__, fields, extra=extra, migrate=migrate)


def _required_keys(tp: Any) -> frozenset[str]:
    """A ``TypedDict``'s required keys. Its ``__required_keys__`` misses ``NotRequired`` and
    ``Required`` written as strings (``from __future__ import annotations``, before Python
    3.12), so the resolved annotations correct it."""
    required = set(tp.__required_keys__)
    for name, hint in _hints(tp, extras=True).items():
        origin = typing.get_origin(hint)
        if origin is typing.NotRequired:
            required.discard(name)
        elif origin is typing.Required:
            required.add(name)
    return frozenset(required)


def _hints(tp: type[Any], *, extras: bool = False) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp, include_extras=extras)
    except Exception as exc:  # an unresolvable forward reference, a bad annotation
        raise ConfigurationError(
            f"cannot read the annotations of {tp.__name__}: {type(exc).__name__}: {exc}"
        ) from None


def _default_of(item: dataclasses.Field[Any]) -> Callable[[], Any] | None:
    if item.default is not dataclasses.MISSING:
        value = item.default
        return lambda: value
    if item.default_factory is not dataclasses.MISSING:
        return item.default_factory
    return _NO_DEFAULT


def describe(hint: Any) -> str:
    """How a reader writes the type ``hint`` (``list[int]``, ``str | None``)."""
    if hint is type(None):
        return "None"
    if isinstance(hint, type) and not typing.get_args(hint):
        return hint.__name__
    return repr(hint).replace("typing.", "")


def accepts(hint: Any) -> Accepts:
    """A function telling whether a value fits the type ``hint``, built once per field.

    Understood: ``Any``/``object``, ``None``, ``bool``, ``int`` (not ``bool``), ``float``
    (``int`` too), ``str``, ``list[T]``, ``dict[K, V]``, ``tuple[...]``, unions
    (``X | None``, ``Optional``), ``Literal``, ``Annotated``, ``NewType``, nested
    ``TypedDict``s, and any other class by ``isinstance`` (``datetime`` for Flask's codec).

    Raises:
        ConfigurationError: a type variable, a forward reference, or another form that cannot
            be checked at run time.
    """
    if hint is Any or hint is object:
        return _anything
    if hint is None or hint is type(None):
        return _is_none
    supertype = getattr(hint, "__supertype__", None)  # typing.NewType
    if supertype is not None:
        return accepts(supertype)
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin is typing.Annotated:
        return accepts(args[0])
    if origin is Union or origin is _UNION_TYPE:
        choices = tuple(accepts(arg) for arg in args)
        return lambda value: any(choice(value) for choice in choices)
    if origin is Literal:
        allowed = tuple((type(arg), arg) for arg in args)
        return lambda value: (type(value), value) in allowed
    if origin is list:
        return _list_of(accepts(args[0]) if args else _anything)
    if origin is dict:
        keys, values = (accepts(args[0]), accepts(args[1])) if args else (_anything, _anything)
        return _dict_of(keys, values)
    if origin is tuple:
        return _tuple_of(args)
    if typing.is_typeddict(hint):
        return _typeddict(hint)
    if hint is bool:
        return _is_bool
    if hint is int:
        return _is_int
    if hint is float:
        return _is_float
    if isinstance(hint, type) and origin is None:
        return lambda value: isinstance(value, hint)
    raise ConfigurationError(f"a session shape cannot check values of type {describe(hint)}")


def _anything(value: object) -> bool:
    return True


def _is_none(value: object) -> bool:
    return value is None


def _is_bool(value: object) -> bool:
    return value is True or value is False


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_float(value: object) -> bool:
    return isinstance(value, float | int) and not isinstance(value, bool)


def _list_of(item: Accepts) -> Accepts:
    return lambda value: isinstance(value, list) and all(item(x) for x in value)


def _dict_of(keys: Accepts, values: Accepts) -> Accepts:
    return lambda value: (
        isinstance(value, dict) and all(keys(k) and values(v) for k, v in value.items())
    )


def _tuple_of(args: tuple[Any, ...]) -> Accepts:
    if len(args) == 2 and args[1] is Ellipsis:
        item = accepts(args[0])
        return lambda value: isinstance(value, tuple) and all(item(x) for x in value)
    items = tuple(accepts(arg) for arg in args)
    return lambda value: (
        isinstance(value, tuple)
        and len(value) == len(items)
        and all(check(x) for check, x in zip(items, value, strict=True))
    )


def _typeddict(tp: Any) -> Accepts:
    """A nested ``TypedDict``: a dict with its required keys, its keys' types, and no others
    (the application's own nested data, where no framework adds keys)."""
    checks = {name: accepts(hint) for name, hint in _hints(tp).items()}
    required = _required_keys(tp)

    def check(value: object) -> bool:
        if not isinstance(value, dict) or not required.issubset(value):
            return False
        for key, item in value.items():
            found = checks.get(key)
            if found is None or not found(item):
                return False
        return True

    return check


__all__ = [
    "Accepts",
    "Extra",
    "Field",
    "Migrate",
    "Shape",
    "ShapedCodec",
    "accepts",
    "describe",
    "shape_from_class",
]
