"""Time every call a middleware makes to a real store (instrumentation, not a fake).

The bound the fault tests check is per store call, so the calls themselves are timed: a
request makes a load and a write, and each of them may legitimately take up to the timeout.
"""

from __future__ import annotations

import inspect
import time
from collections.abc import Awaitable
from typing import Any

CALLS = frozenset({"load", "create", "apply", "rename", "delete"})


class TimingStore:
    """Wraps a sync or async store and records ``(method, seconds)`` for each store call."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.calls: list[tuple[str, float]] = []

    def __getattr__(self, name: str) -> Any:
        target = getattr(self.inner, name)
        if name not in CALLS:
            return target
        if inspect.iscoroutinefunction(target):

            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                began = time.monotonic()
                try:
                    return await target(*args, **kwargs)
                finally:
                    self.calls.append((name, time.monotonic() - began))

            return timed_async

        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.monotonic()
            try:
                result = target(*args, **kwargs)
            finally:
                self.calls.append((name, time.monotonic() - began))
            assert not isinstance(result, Awaitable)
            return result

        return timed
