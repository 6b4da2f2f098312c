"""Shapes from msgspec ``Struct``s and pydantic models, each field checked by its own library.

Kept out of the core (which imports nothing but the standard library) and imported only when
such a shape is used: :func:`sojourn.typed.shape_of` looks for the library in ``sys.modules``
(a class of it exists, so it is imported already) and never imports it itself.

Both check in strict mode and never keep what the library would convert a value into: the
session stores what the application wrote, so a value must already be of the field's type
(``"3"`` is not an ``int``). A nested model is held as the dict it is stored as. Checks are
per field: a model's whole-object validators do not run.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .._core.errors import ConfigurationError
from .._core.shape import Accepts, Extra, Field, Migrate, Shape, describe


def msgspec_shape(
    tp: type[Any], *, extra: Extra = "allow", migrate: Migrate | None = None
) -> Shape:
    """The shape a ``msgspec.Struct`` declares (``pip install 'sojourn[msgspec]'``)."""
    import msgspec  # the class is one of its Structs: already imported

    fields = []
    for info in msgspec.structs.fields(tp):
        accepts = _msgspec_accepts(msgspec, info.type)
        default: Callable[[], Any] | None = None
        if info.default is not msgspec.NODEFAULT:
            value = info.default
            default = lambda value=value: value  # noqa: E731
        elif info.default_factory is not msgspec.NODEFAULT:
            default = info.default_factory
        fields.append(Field(info.name, describe(info.type), accepts, info.required, default))
    return Shape(tp.__name__, fields, extra=extra, migrate=migrate)


def _msgspec_accepts(msgspec: Any, hint: Any) -> Accepts:
    try:
        msgspec.inspect.type_info(hint)  # refuses a type msgspec cannot check, now
    except TypeError as exc:
        raise ConfigurationError(f"msgspec cannot check {describe(hint)}: {exc}") from None
    convert, invalid = msgspec.convert, msgspec.ValidationError

    def accepts(value: object) -> bool:
        try:
            convert(value, type=hint, strict=True)
        except invalid:
            return False
        return True

    return accepts


def pydantic_shape(
    tp: type[Any], *, extra: Extra = "allow", migrate: Migrate | None = None
) -> Shape:
    """The shape a pydantic (v2) model declares (``pip install 'sojourn[pydantic]'``)."""
    import pydantic  # the class is one of its models: already imported

    fields = []
    for name, info in tp.model_fields.items():
        adapter = pydantic.TypeAdapter(info.annotation)
        default: Callable[[], Any] | None = None
        if not info.is_required():
            default = lambda info=info: info.get_default(call_default_factory=True)  # noqa: E731
        accepts = _pydantic_accepts(adapter, pydantic.ValidationError)
        fields.append(Field(name, describe(info.annotation), accepts, info.is_required(), default))
    return Shape(tp.__name__, fields, extra=extra, migrate=migrate)


def _pydantic_accepts(adapter: Any, invalid: type[Exception]) -> Accepts:
    validate = adapter.validate_python

    def accepts(value: object) -> bool:
        try:
            validate(value, strict=True)
        except invalid:
            return False
        return True

    return accepts


__all__ = ["msgspec_shape", "pydantic_shape"]
