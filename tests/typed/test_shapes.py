"""Shapes from a TypedDict, a dataclass, a msgspec Struct and a pydantic model: what fits."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, NewType, TypeVar

import pytest

from sojourn import ConfigurationError, SessionError, UnencodableValue
from sojourn.typed import Shape, ShapeError, shape_of

from .shapes import CART_SHAPES, Address, Cart, CartData, Prefs

UserId = NewType("UserId", int)
T = TypeVar("T")


@dataclass
class Flaskish:
    pair: tuple[int, str]
    many: tuple[int, ...]
    user: UserId
    at: datetime.datetime
    anything: Any


@dataclass
class Generic:
    value: T  # type: ignore[valid-type]


@pytest.fixture(params=CART_SHAPES, ids=lambda tp: tp.__name__)
def cart(request: pytest.FixtureRequest) -> Shape:
    return shape_of(request.param)


def test_every_form_declares_the_same_keys(cart: Shape) -> None:
    assert {"items", "coupon"} <= set(cart.fields)
    assert cart.required == ("items",)


def test_a_fitting_value_passes(cart: Shape) -> None:
    cart.check("items", [1, 2, 3])
    cart.check("coupon", None)
    cart.check("coupon", "SAVE10")


@pytest.mark.parametrize("value", ["1", [1, "2"], [1.5], None, {"a": 1}, [True]])
def test_a_wrong_value_raises_naming_the_key_and_the_type(cart: Shape, value: object) -> None:
    with pytest.raises(ShapeError) as raised:
        cart.check("items", value)
    message = str(raised.value)
    assert "'items'" in message
    assert "list[int]" in message
    assert repr(value) not in message or value is None  # the value itself is never echoed


def test_shape_error_is_a_session_error_and_a_type_error() -> None:
    assert issubclass(ShapeError, SessionError)
    assert issubclass(ShapeError, TypeError)
    assert issubclass(ShapeError, UnencodableValue)


def test_undeclared_keys_live_beside_unless_the_shape_is_closed(cart: Shape) -> None:
    cart.check("_auth_user_id", object())  # a framework's own key: not the shape's business
    assert cart.mismatch({"items": [], "csrf_token": "x"}) is None
    closed = shape_of(Cart, extra="forbid")
    with pytest.raises(ShapeError, match="'csrf_token' is not declared by Cart"):
        closed.check("csrf_token", "x")
    assert closed.mismatch({"items": [], "csrf_token": "x"}) == "key 'csrf_token' is not declared"


def test_mismatch_names_the_key_never_the_value(cart: Shape) -> None:
    assert cart.mismatch({"items": [1]}) is None
    assert cart.mismatch({"items": ["secret-value"]}) == "key 'items' is not list[int]"
    assert cart.mismatch({"coupon": "x"}) == "required key 'items' is missing"


def test_missing_lists_the_first_required_key_absent(cart: Shape) -> None:
    assert cart.missing({"items"}) is None
    assert cart.missing({"coupon"}) == "items"


def test_typeddict_nesting_literals_and_optional_keys() -> None:
    shape = shape_of(Cart)
    shape.check("ship_to", {"city": "Oslo"})
    shape.check("ship_to", {"city": "Oslo", "zip": "0150"})
    shape.check("mode", "fast")
    for bad in ({}, {"city": 1}, {"city": "Oslo", "street": "x"}, "Oslo"):
        with pytest.raises(ShapeError, match="'ship_to'"):
            shape.check("ship_to", bad)
    with pytest.raises(ShapeError, match="Literal"):
        shape.check("mode", "slow")
    assert set(shape.required) == {"items"}
    assert shape_of(Prefs).required == ()


def test_bool_is_not_an_int_but_an_int_is_a_float() -> None:
    @dataclass
    class Numbers:
        count: int
        ratio: float
        flag: bool

    shape = shape_of(Numbers)
    shape.check("ratio", 1)
    shape.check("flag", False)
    with pytest.raises(ShapeError):
        shape.check("count", True)
    with pytest.raises(ShapeError):
        shape.check("flag", 1)
    with pytest.raises(ShapeError):
        shape.check("ratio", True)


def test_tuples_newtypes_and_classes_for_other_codecs() -> None:
    shape = shape_of(Flaskish)
    shape.check("pair", (1, "a"))
    shape.check("many", (1, 2, 3))
    shape.check("user", 7)
    shape.check("at", datetime.datetime(2026, 1, 1))
    shape.check("anything", object())
    for key, bad in (("pair", (1, 2)), ("pair", [1, "a"]), ("many", (1, "x")), ("at", "2026")):
        with pytest.raises(ShapeError, match=repr(key)):
            shape.check(key, bad)


def test_dataclass_defaults_make_keys_optional() -> None:
    shape = shape_of(CartData)
    assert shape.required == ("items",)
    tags = shape.fields["tags"].default
    assert tags is not None
    assert tags() == {}
    assert tags() is not tags()
    coupon = shape.fields["coupon"].default
    assert coupon is not None
    assert coupon() is None
    assert shape.fields["items"].default is None


def test_not_a_shape_is_a_configuration_error() -> None:
    class Plain:
        items: list[int]

    with pytest.raises(ConfigurationError, match="not a session shape"):
        shape_of(Plain)
    with pytest.raises(ConfigurationError, match="not a session shape"):
        shape_of(dict)


def test_an_annotation_that_cannot_be_checked_is_refused_at_construction() -> None:
    with pytest.raises(ConfigurationError, match="cannot check"):
        shape_of(Generic)


def test_an_unresolvable_annotation_is_refused_at_construction() -> None:
    @dataclass
    class Broken:
        value: Missing  # type: ignore[name-defined]  # noqa: F821

    with pytest.raises(ConfigurationError, match="cannot read the annotations of Broken"):
        shape_of(Broken)


def test_an_address_nested_in_msgspec_and_pydantic_is_a_dict() -> None:
    import msgspec
    import pydantic

    class WithStruct(msgspec.Struct):
        ship_to: Address

    class AddressModel(pydantic.BaseModel):  # pydantic takes no typing.TypedDict before 3.12
        city: str

    class WithModel(pydantic.BaseModel):
        ship_to: AddressModel

    for tp in (WithStruct, WithModel):
        shape = shape_of(tp)
        shape.check("ship_to", {"city": "Oslo"})
        with pytest.raises(ShapeError, match="'ship_to'"):
            shape.check("ship_to", {"city": 5})


def test_models_are_strict_they_never_convert() -> None:
    from .shapes import CartModel, CartStruct

    for tp in (CartStruct, CartModel):
        with pytest.raises(ShapeError):
            shape_of(tp).check("items", ["1"])


def test_shape_of_a_shape_keeps_it_and_sets_its_migration() -> None:
    shape = shape_of(Cart)
    assert shape_of(shape) is shape

    def migrate(old: dict[str, Any]) -> dict[str, Any]:
        return old

    moved = shape_of(shape, migrate=migrate)
    assert moved.migrate is migrate
    assert moved.fields == shape.fields


def test_unknown_extra_and_a_migrate_that_is_no_function_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        shape_of(Cart, extra="ignore")  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError):
        shape_of(Cart, migrate="not callable")  # type: ignore[arg-type]
