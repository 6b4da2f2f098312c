"""Races of a migration, forced: a copy (``copy_sessions``) or a lazy move (``MigratingStore``)
against a logout, a rotation, a write on the new store, and another app process moving the
same session — on real stores, each interleaving run the same way every time.

A :class:`Paused` store runs the competing operation at an exact point of the one under test
(just before or just after one of its store calls), or holds it at a gate until the other
side has finished, as the rotation races' gates do (``tests/races/harness.py``). Each test
then counts what went wrong — a session or pre-rotation ID brought back, a session forked, an
acknowledged write lost, a live session lost — and asserts zero.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from sojourn.stores.base import AsyncStore, Changes, Record
from sojourn.stores.migrating import AsyncMigratingStore, async_copy_sessions
from sojourn.testing._async.contract import make_record, new_key

pytestmark = [pytest.mark.anyio]

Hook = Callable[[], Awaitable[object]]
GATE_TIMEOUT = 10.0


class Paused:
    """A real store whose ``method`` runs ``hook`` once, just ``when`` ("before"/"after") the
    call; every other attribute is the store's own (capabilities included)."""

    def __init__(self, inner: AsyncStore, method: str, hook: Hook, when: str = "after") -> None:
        self._inner, self._method, self._hook, self._when = inner, method, hook, when
        self._armed = True

    def __getattr__(self, name: str) -> Any:
        found = getattr(self._inner, name)
        if name != self._method:
            return found

        async def paused(*args: Any, **kwargs: Any) -> Any:
            if self._armed and self._when == "before":
                self._armed = False
                await self._hook()
            result = await found(*args, **kwargs)
            if self._armed and self._when == "after":
                self._armed = False
                await self._hook()
            return result

        return paused


class Problems:
    """What went wrong in one race, by kind; every count must be zero."""

    def __init__(self) -> None:
        self.found: list[str] = []

    def check(self, wrong: bool, what: str) -> None:
        if wrong:
            self.found.append(what)


async def live(store: AsyncStore, key: str) -> Record | None:
    return await store.load(key, time.time())


# -- the copy (sojourn migrate) against the app on MigratingStore ------------------------------


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_copy_never_brings_back_a_session_logged_out_meanwhile(
    pair: tuple[AsyncStore, AsyncStore], when: str
) -> None:
    old, new = pair
    app = AsyncMigratingStore(new, old)
    record = make_record(time.time(), principal="ivy")
    await old.create(record)
    paused = Paused(new, "create", lambda: app.delete(record.key), when)
    result = await async_copy_sessions(old, paused)
    problems = Problems()
    problems.check(await live(new, record.key) is not None, "resurrected in the new store")
    problems.check(await app.load(record.key, time.time()) is not None, "served after logout")
    problems.check(result.copied != 0, "counted as copied")
    assert problems.found == []


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_copy_racing_a_rotation_brings_back_no_pre_rotation_id(
    pair: tuple[AsyncStore, AsyncStore], when: str
) -> None:
    old, new = pair
    app = AsyncMigratingStore(new, old)
    record, successor = make_record(time.time(), principal="jo"), new_key()
    await old.create(record)
    renamed: list[bool] = []

    async def rotate() -> None:
        renamed.append(await app.rename(record.key, successor, time.time()))

    await async_copy_sessions(old, Paused(new, "create", rotate, when))
    problems = Problems()
    problems.check(renamed != [True], "the rotation failed")
    problems.check(await app.load(record.key, time.time()) is not None, "pre-rotation ID works")
    problems.check(await live(old, record.key) is not None, "pre-rotation ID left in old")
    moved = await app.load(successor, time.time())
    problems.check(moved is None, "rotated session lost")
    problems.check(moved is not None and moved.principal != "jo", "principal lost")
    assert problems.found == []


async def test_a_rotation_inside_a_copys_recheck_window_fails_closed(
    pair: tuple[AsyncStore, AsyncStore],
) -> None:
    """The one window left open (see ``stores/_async/migrating.py``): the copy re-checks the
    source between a rotation's removal from old and its rename on new, takes the removal for
    a logout and deletes its copy. The rotation then reports the session gone (the user signs
    in again); nothing is resurrected under either ID, nothing forked."""
    old, new = pair
    record, successor = make_record(time.time(), principal="kim"), new_key()
    await old.create(record)
    await new.create(record)  # as the copy's create just did

    async def recheck() -> None:  # the copy's re-check and clean-up, inside the window
        if await old.load(record.key, time.time()) is None:
            await new.delete(record.key)

    app = AsyncMigratingStore(new, Paused(old, "delete", recheck))
    renamed = await app.rename(record.key, successor, time.time())
    problems = Problems()
    problems.check(await live(new, record.key) is not None, "pre-rotation ID on new")
    problems.check(await live(old, record.key) is not None, "pre-rotation ID on old")
    problems.check(renamed and await live(new, successor) is None, "reported moved, but lost")
    problems.check(not renamed and await live(new, successor) is not None, "forked")
    assert problems.found == []
    assert renamed is False  # failed closed: the manager answers "session ended"


@pytest.mark.parametrize("when", ["before", "after"])
async def test_a_copy_never_clobbers_a_write_made_on_the_new_store(
    pair: tuple[AsyncStore, AsyncStore], when: str
) -> None:
    old, new = pair
    app = AsyncMigratingStore(new, old)
    record = make_record(time.time())
    await old.create(record)
    wrote: list[bool] = []

    async def write() -> None:
        now = time.time()
        await app.load(record.key, now)
        wrote.append(await app.apply(record.key, Changes(now, now + 600, set={"w": b"1"})))

    await async_copy_sessions(old, Paused(new, "create", write, when))
    found = await live(new, record.key)
    problems = Problems()
    problems.check(wrote != [True], "the write was refused")
    problems.check(found is None, "session lost")
    problems.check(found is not None and found.fields.get("w") != b"1", "acknowledged write lost")
    problems.check(found is not None and found.fields.get("a") != b"1", "session data lost")
    assert problems.found == []


# -- the lazy move, in two app processes ----------------------------------------------------


async def test_two_processes_moving_one_session_at_once_keep_one_copy_and_every_write(
    pair: tuple[AsyncStore, AsyncStore],
) -> None:
    old, new = pair
    record = make_record(time.time(), principal="lu")
    await old.create(record)
    other = AsyncMigratingStore(new, old)  # the second process: same stores, its own wrapper
    wrote: list[bool] = []
    released = asyncio.Event()

    async def other_moves_and_writes() -> None:  # while the first holds its copy at a gate
        now = time.time()
        await other.load(record.key, now)
        wrote.append(await other.apply(record.key, Changes(now, now + 600, set={"b": b"2"})))

    async def hold() -> None:
        await asyncio.wait_for(released.wait(), GATE_TIMEOUT)

    first = AsyncMigratingStore(Paused(new, "create", hold, "before"), old)
    loading = asyncio.ensure_future(first.load(record.key, time.time()))
    await asyncio.sleep(0.05)
    await other_moves_and_writes()
    released.set()
    got = await loading
    problems = Problems()
    problems.check(got is None, "the first process lost the session")
    problems.check(got is not None and got.fields.get("b") != b"2", "it read a stale copy")
    stored = await live(new, record.key)
    problems.check(stored is None or stored.fields.get("b") != b"2", "the write was lost")
    problems.check(wrote != [True], "the write was refused")
    assert problems.found == []


async def test_many_loads_at_once_move_a_session_once(pair: tuple[AsyncStore, AsyncStore]) -> None:
    old, new = pair
    records = [make_record(time.time(), principal="mo") for _ in range(5)]
    for record in records:
        await old.create(record)
    apps = [AsyncMigratingStore(new, old) for _ in range(4)]
    now = time.time()
    loads = [app.load(r.key, now) for r in records for app in apps]
    results = await asyncio.gather(*loads)
    problems = Problems()
    problems.check(any(r is None for r in results), "a load lost its session")
    for record in records:
        problems.check(await live(new, record.key) is None, "not on the new store")
    assert problems.found == []


@pytest.mark.parametrize("ending", ["logout", "rotation"])
async def test_a_move_in_flight_never_revives_a_session_ended_by_another_process(
    pair: tuple[AsyncStore, AsyncStore], ending: str
) -> None:
    old, new = pair
    record, successor = make_record(time.time(), principal="nia"), new_key()
    await old.create(record)
    other = AsyncMigratingStore(new, old)

    async def end() -> None:  # runs after the first process read old, before it creates
        if ending == "logout":
            await other.delete(record.key)
        else:
            await other.load(record.key, time.time())
            assert await other.rename(record.key, successor, time.time())

    first = AsyncMigratingStore(new, Paused(old, "load", end))
    got = await first.load(record.key, time.time())
    problems = Problems()
    problems.check(got is not None, "the ended session was served")
    problems.check(await live(new, record.key) is not None, "revived on the new store")
    problems.check(await live(old, record.key) is not None, "left in the old store")
    if ending == "rotation":
        problems.check(await other.load(successor, time.time()) is None, "rotated session lost")
    assert problems.found == []
