"""Shapes and a migration named by dotted path in the Django typed-session tests."""

from __future__ import annotations

from typing import Any, TypedDict


class Visitor(TypedDict, total=False):
    """What the test views store: ``user`` as a number, where older code wrote a name."""

    user: int


def migrate(old: dict[str, Any]) -> dict[str, Any]:
    """Old records held a name; the new shape holds its length (any int will do)."""
    return {**old, "user": len(old["user"])}
