"""The active-sessions count: the store's ``count``, asked at most once per interval, failures
logged and survived, async stores counted on their own loop."""

from __future__ import annotations

import asyncio
import logging
import threading
import time

import pytest

from sojourn import AsyncMemoryStore, MemoryStore, StoreUnavailable
from sojourn.metrics import ActiveSessions
from sojourn.testing import FakeClock
from sojourn.testing._async.contract import make_record


class Counting:
    """A sync store's ``count`` that says how often it ran, and fails when told to."""

    def __init__(self) -> None:
        self.inner = MemoryStore()
        self.calls = 0
        self.down = False

    def count(self, now: float) -> int:
        self.calls += 1
        if self.down:
            raise StoreUnavailable("down")
        return self.inner.count(now)


class AsyncCounting:
    """An async store's ``count`` (its own, not a sync store's under it)."""

    def __init__(self) -> None:
        self.inner = AsyncMemoryStore()
        self.loops: list[asyncio.AbstractEventLoop] = []

    async def count(self, now: float) -> int:
        self.loops.append(asyncio.get_running_loop())
        return await self.inner.count(now)


def test_a_count_is_reused_for_the_interval() -> None:
    store, clock = Counting(), FakeClock(0)
    active = ActiveSessions(30, clock=clock)
    active.watch(store)
    store.inner.create(make_record(time.time()))
    assert active.value() == 1
    store.inner.create(make_record(time.time()))
    clock.advance(29)
    assert active.value() == 1
    clock.advance(2)
    assert active.value() == 2
    assert store.calls == 2


def test_a_failed_count_is_logged_and_the_last_value_kept(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store, clock = Counting(), FakeClock(0)
    active = ActiveSessions(30, store, clock=clock)
    store.inner.create(make_record(time.time()))
    assert active.value() == 1
    store.down = True
    clock.advance(31)
    with caplog.at_level(logging.WARNING, logger="sojourn"):
        assert active.value() == 1
        assert active.value() == 1  # not asked again within the interval
    assert store.calls == 2
    assert "session.metrics_count_failed" in caplog.text
    assert "StoreUnavailable" in caplog.text


def test_the_first_store_watched_is_the_one_counted() -> None:
    first, second = Counting(), Counting()
    active = ActiveSessions()
    active.watch(first)
    active.watch(second)
    active.value()
    assert (first.calls, second.calls) == (1, 0)


def test_a_store_without_count_gives_no_value() -> None:
    active = ActiveSessions()
    active.watch(object())
    assert active.value() is None


def test_an_async_store_is_counted_on_its_loop_also_for_a_scrape_from_another_thread() -> None:
    store, clock = AsyncCounting(), FakeClock(0)
    active = ActiveSessions(30, clock=clock)
    active.watch(store)
    seen: list[int | None] = []

    async def app() -> None:
        await store.inner.create(make_record(time.time()))
        assert active.value() is None  # scheduled on this loop
        for _ in range(100):
            await asyncio.sleep(0.01)
            if active.value() is not None:
                break
        seen.append(active.value())
        await store.inner.create(make_record(time.time()))
        clock.advance(31)
        scraper = threading.Thread(target=lambda: seen.append(active.value()))
        scraper.start()  # a scrape from a thread with no loop: counted on this loop
        await asyncio.to_thread(scraper.join)
        for _ in range(100):
            await asyncio.sleep(0.01)
            if active.value() == 2:
                break
        seen.append(active.value())

    asyncio.run(app())
    assert seen == [1, 1, 2]
    assert len(store.loops) == 2
    assert len(set(map(id, store.loops))) == 1


@pytest.mark.parametrize("every", [0, -1, float("inf"), float("nan"), True, "30"])
def test_an_interval_that_bounds_nothing_is_refused(every: object) -> None:
    from sojourn import ConfigurationError

    with pytest.raises(ConfigurationError):
        ActiveSessions(every)  # type: ignore[arg-type]
