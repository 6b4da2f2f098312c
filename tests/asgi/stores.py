"""Store factories for the acceptance suite: every store the middleware must work with.

Each factory yields a fresh, isolated async store and cleans it up. Server-backed ones skip
(or fail under CI=true) when their server is unreachable.
"""

from __future__ import annotations

import contextlib
import importlib.util
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from sojourn import AsyncMemoryStore
from sojourn.stores.base import AsyncStore

StoreFactory = Callable[[Path], contextlib.AbstractAsyncContextManager[AsyncStore]]


@contextlib.asynccontextmanager
async def memory_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    store = AsyncMemoryStore()
    yield store
    await store.aclose()


@contextlib.asynccontextmanager
async def sqlite_store(tmp_path: Path) -> AsyncIterator[AsyncStore]:
    from sojourn.stores.sqlite import AsyncSQLiteStore

    store = AsyncSQLiteStore(tmp_path / "sessions.db")
    yield store
    await store.aclose()


def available() -> dict[str, StoreFactory]:
    """The factories whose store modules exist in this checkout."""
    factories: dict[str, StoreFactory] = {"memory": memory_store}
    if importlib.util.find_spec("sojourn.stores.sqlite") is not None:
        factories["sqlite"] = sqlite_store
    return factories


class CountingStore:
    """Wraps a real store and counts the calls made to it (instrumentation, not a fake)."""

    def __init__(self, inner: AsyncStore) -> None:
        self.inner = inner
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if not callable(target):
            return target

        async def counted(*args: Any, **kwargs: Any) -> Any:
            self.calls.append(name)
            return await target(*args, **kwargs)

        return counted
