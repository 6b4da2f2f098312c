"""Pairs of real stores for the migration tests: (old, new), each fresh and isolated.

Built from the acceptance suite's factories (``tests/asgi/stores.py``): a SQLite file per
side, a random Redis key prefix, random SQL tables. Server-backed pairs skip on a laptop
without the server and fail under ``CI=true``.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from sojourn.stores.base import AsyncStore
from tests.asgi import stores

PAIRS = [
    ("memory", "memory"),
    ("sqlite", "sqlite"),
    ("sqlite", "redis"),
    ("redis", "postgres"),
    ("postgres", "mysql"),
]
"""(old, new): what every race runs on; the acceptance's two migrations are among them."""


def pair_param(old: str, new: str) -> Any:
    """``(old, new)`` as a test parameter, marked ``server`` when a server is involved."""
    server = {old, new} - {"memory", "sqlite"}
    return pytest.param((old, new), marks=[pytest.mark.server] if server else [], id=f"{old}-{new}")


PAIR_PARAMS = [pair_param(old, new) for old, new in PAIRS]


@contextlib.asynccontextmanager
async def open_pair(
    old: str, new: str, tmp_path: Path
) -> AsyncIterator[tuple[AsyncStore, AsyncStore]]:
    """Fresh ``(old store, new store)`` of these kinds, cleaned up afterwards."""
    factories = stores.available()
    (tmp_path / "old").mkdir(exist_ok=True)
    (tmp_path / "new").mkdir(exist_ok=True)
    async with (
        factories[old](tmp_path / "old") as old_store,
        factories[new](tmp_path / "new") as new_store,
    ):
        yield old_store, new_store


__all__ = ["PAIRS", "PAIR_PARAMS", "open_pair", "pair_param"]
