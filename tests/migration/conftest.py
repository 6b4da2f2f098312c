"""The ``pair`` fixture: a fresh (old, new) pair of real stores, every pair of
:data:`tests.migration.pairs.PAIRS` unless a test names its own with ``indirect=True``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sojourn.stores.base import AsyncStore

from .pairs import PAIR_PARAMS, open_pair


@pytest.fixture(params=PAIR_PARAMS)
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AsyncStore, AsyncStore]]:
    old, new = request.param
    async with open_pair(old, new, tmp_path) as stores:
        yield stores
