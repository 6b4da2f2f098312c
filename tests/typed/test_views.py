"""``typed(session, Shape)``: typed access for the type checker, every write checked.

This module is checked by ``mypy --strict`` with the rest of ``tests/``: the assignments below
that carry a ``# type: ignore[...]`` are the ones the type checker refuses, which is what a
typed view is for; the others type-check.
"""

from __future__ import annotations

import pytest

from sojourn import Engine, Manager, MemoryStore, Session
from sojourn.typed import ShapeError, shape_of, typed

from .shapes import Cart, CartData, CartModel, CartStruct, Prefs


def fresh(shape: object = None) -> Session:
    engine = Engine() if shape is None else Engine(shape=shape_of(shape))  # type: ignore[arg-type]
    return Manager(MemoryStore(), engine).open([]).session


def test_a_typeddict_view_is_a_typed_mapping_over_the_session() -> None:
    session = fresh()
    cart = typed(session, Cart)
    cart["items"] = [1, 2]
    items: list[int] = cart["items"]  # the type checker knows the value type
    items.append(3)
    assert session["items"] == [1, 2, 3]  # the view is the session: in-place edits are saved
    cart["coupon"] = None
    assert "coupon" in cart
    assert len(cart) == 2
    assert sorted(cart) == ["coupon", "items"]
    with pytest.raises(ShapeError, match=r"'items' must be list\[int\] \(Cart\), not list"):
        cart["items"] = ["x"]  # type: ignore[list-item]
    with pytest.raises(ShapeError, match="'basket' is not declared by Cart"):
        cart["basket"] = []  # type: ignore[typeddict-unknown-key]
    with pytest.raises(ShapeError, match="'items' is required by Cart"):
        del cart["items"]  # type: ignore[misc]
    del cart["coupon"]
    assert "coupon" not in session


def test_a_typeddict_view_shows_only_declared_keys() -> None:
    session = fresh()
    session["_auth_user_id"] = "7"
    prefs = typed(session, Prefs)
    assert len(prefs) == 0
    assert list(prefs) == []
    assert "_auth_user_id" not in prefs
    assert prefs.get("theme", "light") == "light"
    with pytest.raises(KeyError):
        prefs["_auth_user_id"]  # type: ignore[typeddict-item]
    prefs["theme"] = "dark"
    assert repr(prefs) == "<typed Prefs keys=['theme']>"  # never the values


@pytest.mark.parametrize("shape", [CartData, CartStruct, CartModel])
def test_an_attribute_view_reads_and_writes_the_session(
    shape: type[CartData] | type[CartStruct] | type[CartModel],
) -> None:
    session = fresh()
    cart = typed(session, shape)
    with pytest.raises(AttributeError, match="'items' is not set"):
        cart.items  # noqa: B018
    assert cart.coupon is None  # the field's default, not stored
    assert "coupon" not in session
    cart.items = [1]
    cart.items.append(2)
    assert session["items"] == [1, 2]
    with pytest.raises(ShapeError, match=f"'coupon' must be str \\| None \\({shape.__name__}\\)"):
        cart.coupon = 5  # type: ignore[assignment]
    with pytest.raises(ShapeError, match="'basket' is not declared"):
        cart.basket = []  # type: ignore[union-attr]
    with pytest.raises(AttributeError, match="declares no 'basket'"):
        cart.basket  # type: ignore[union-attr]  # noqa: B018
    with pytest.raises(ShapeError, match="'items' is required"):
        del cart.items
    cart.coupon = "SAVE10"
    del cart.coupon
    assert "coupon" not in session
    assert repr(cart) == f"<typed {shape.__name__} keys=['items']>"


def test_a_dataclass_view_reads_defaults_from_factories() -> None:
    session = fresh()
    data = typed(session, CartData)
    tags: dict[str, float] = data.tags
    assert tags == {}
    assert "tags" not in session
    data.tags = {"gift": 1.5}
    assert session["tags"] == {"gift": 1.5}


def test_a_view_over_a_typed_session_agrees_with_it() -> None:
    session = fresh(Cart)
    cart = typed(session, Cart)
    cart["items"] = [1]
    with pytest.raises(ShapeError):
        session["items"] = "x"  # the session itself refuses it too, with no view


def test_a_view_works_over_any_session_mapping() -> None:
    plain: dict[str, object] = {"items": [1], "_flashes": []}
    cart = typed(plain, Cart)
    cart["items"].append(2)
    assert plain["items"] == [1, 2]
    with pytest.raises(ShapeError):
        cart["items"] = "x"  # type: ignore[typeddict-item]
