"""Run several store operations at once: tasks for async stores, threads for sync ones."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")


async def async_concurrently(operations: Iterable[Callable[[], Awaitable[T]]]) -> list[T]:
    """Start every operation as a task and wait for all of them."""
    return list(await asyncio.gather(*(operation() for operation in operations)))


def sync_concurrently(operations: Iterable[Callable[[], T]]) -> list[T]:
    """Run every operation in its own thread and wait for all of them."""
    jobs = list(operations)
    with ThreadPoolExecutor(max_workers=max(1, len(jobs))) as pool:
        return [future.result() for future in [pool.submit(job) for job in jobs]]


__all__ = [
    "async_concurrently",
    "sync_concurrently",
]
