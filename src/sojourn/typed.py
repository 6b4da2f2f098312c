"""Typed sessions: ``from sojourn.typed import typed, shape_of``; see ``docs/typed-sessions.md``.

Declare the session's shape (a ``TypedDict``, a dataclass, or a msgspec ``Struct`` / pydantic
model when installed) with ``shape=`` on an adapter or ``Engine(shape=shape_of(...))``, and read
and write it through ``typed(session, Shape)``.
"""

from ._core.errors import ShapeError as ShapeError
from ._core.shape import Field as Field
from ._core.shape import Shape as Shape
from ._typed.views import shape_of as shape_of
from ._typed.views import typed as typed

__all__ = ["Field", "Shape", "ShapeError", "shape_of", "typed"]
