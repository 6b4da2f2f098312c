"""A clock for tests: starts at the real time (so server-side TTLs agree) and moves on demand."""

from __future__ import annotations

import time


class FakeClock:
    """A callable clock that only moves when told to.

    It starts at the wall-clock time so that stores with their own expiry (Redis ``PEXPIREAT``)
    agree with it; ``advance`` moves it forward without sleeping.
    """

    def __init__(self, start: float | None = None) -> None:
        self.now = time.time() if start is None else start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        """Move the clock forward and return the new time."""
        self.now += seconds
        return self.now


__all__ = [
    "FakeClock",
]
