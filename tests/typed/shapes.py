"""The shapes the typed-session tests declare: one cart, in each of the four forms."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, NotRequired, TypedDict

import msgspec
import pydantic


class Address(TypedDict):
    city: str
    zip: NotRequired[str]


class Cart(TypedDict):
    items: list[int]
    coupon: NotRequired[str | None]
    ship_to: NotRequired[Address]
    mode: NotRequired[Literal["fast", "cheap"]]


class Prefs(TypedDict, total=False):
    """Every key optional: what a session gains over time."""

    theme: str
    items: list[int]


@dataclass
class CartData:
    items: list[int]
    coupon: str | None = None
    tags: dict[str, float] = field(default_factory=dict)


class CartStruct(msgspec.Struct):
    items: list[int]
    coupon: str | None = None


class CartModel(pydantic.BaseModel):
    items: list[int]
    coupon: str | None = None


CART_SHAPES: list[type] = [Cart, CartData, CartStruct, CartModel]
