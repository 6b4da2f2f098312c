"""SQLite's fault: another connection holds the write lock. Through the ASGI middleware.

SQLite has no socket to put a proxy on; what stalls it is another process holding the write
lock. Six users write at once behind a held ``BEGIN IMMEDIATE``: every answer must be a 503
within the store's timeout plus slack, and once the lock is released the same users are
served, with their earlier acknowledged value intact.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from sojourn.stores.sqlite import AsyncSQLiteStore
from sojourn.testing import FakeClock

from . import scenario
from .servers import BOUND
from .test_asgi_faults import AsgiUser, make_app

USERS = 6


@pytest.mark.anyio
async def test_writes_behind_a_held_write_lock_answer_503_within_the_bound(
    tmp_path: Path,
) -> None:
    path = tmp_path / "sessions.db"
    store = AsyncSQLiteStore(path, timeout=BOUND)
    app = make_app(store, FakeClock())
    users = [AsgiUser(app) for _ in range(USERS)]
    problems: list[str] = []
    for index, user in enumerate(users):
        if (await user.write(f"u{index}-before")).status != 200:
            problems.append(f"user {index}: the healthy write failed")
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        replies = await asyncio.gather(
            *(user.write(f"u{index}-locked") for index, user in enumerate(users))
        )
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    for index, reply in enumerate(replies):
        if reply.status != 503:
            problems.append(f"user {index}: answered {reply.status} behind the lock")
        if reply.elapsed > BOUND + scenario.CALL_SLACK:
            problems.append(f"user {index}: answered after {reply.elapsed:.2f}s, over the bound")
    for index, user in enumerate(users):
        reply = await user.read()
        if reply.status != 200:
            problems.append(f"user {index}: answered {reply.status} after the lock was released")
        elif json.loads(reply.body)["name"] != f"u{index}-before":
            problems.append(f"user {index}: read {reply.body}, not its acknowledged value")
    for user in users:
        await user.client.aclose()
    await store.aclose()
    slowest = max(reply.elapsed for reply in replies)
    assert problems == [], f"slowest {slowest:.2f}s:\n" + "\n".join(problems)
