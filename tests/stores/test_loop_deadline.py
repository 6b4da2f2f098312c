"""The async Redis store's per-call deadline: one timer per loop, every call cut at its own
deadline, and only the calls that outlived it."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Coroutine
from typing import TypeVar

import pytest

from sojourn.stores._loop_deadline import within

T = TypeVar("T")


def run(coroutine: Coroutine[object, object, T]) -> T:
    return asyncio.run(coroutine)


def test_a_call_that_outlives_its_deadline_is_cut_with_a_timeout_error() -> None:
    async def main() -> float:
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await within(0.1, asyncio.sleep(30))
        return time.monotonic() - started

    took = run(main())
    assert 0.09 <= took < 1.0


def test_a_call_that_ends_in_time_returns_its_result_and_is_never_cut_later() -> None:
    async def main() -> tuple[object, int]:
        result = await within(0.05, asyncio.sleep(0, "done"))
        cancelled = 0
        try:
            await asyncio.sleep(0.2)  # past the first call's deadline: its timer fires here
        except asyncio.CancelledError:
            cancelled += 1
        return result, cancelled

    assert run(main()) == ("done", 0)


def test_a_cancellation_from_elsewhere_stays_a_cancellation() -> None:
    async def main() -> str:
        task = asyncio.create_task(within(5.0, asyncio.sleep(30)))
        await asyncio.sleep(0.05)
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return "cancelled"
        except TimeoutError:
            return "timeout"
        return "finished"

    assert run(main()) == "cancelled"


def test_of_many_concurrent_calls_exactly_the_late_ones_are_cut() -> None:
    async def one(seconds: float, takes: float) -> str:
        try:
            await within(seconds, asyncio.sleep(takes))
        except TimeoutError:
            return "cut"
        return "ok"

    async def main() -> list[str]:
        calls = []
        for i in range(60):
            # Mixed deadlines, so that a later call may need the timer earlier than armed.
            seconds = 0.3 if i % 3 == 0 else 0.1
            takes = 0.02 if i % 2 else 0.5
            calls.append(one(seconds, takes))
        return await asyncio.gather(*calls)

    outcomes = run(main())
    wrong = [(i, got) for i, got in enumerate(outcomes) if got != ("ok" if i % 2 else "cut")]
    assert wrong == []


def test_no_deadline_awaits_the_call_as_it_is() -> None:
    async def main() -> object:
        return await within(None, asyncio.sleep(0.01, "plain"))

    assert run(main()) == "plain"


def test_each_event_loop_keeps_its_own_deadlines() -> None:
    # A loop after another (as tests and reloads make them) cuts its own calls.
    for _ in range(3):

        async def main() -> str:
            try:
                await within(0.05, asyncio.sleep(5))
            except TimeoutError:
                return "cut"
            return "ok"

        assert run(main()) == "cut"


def test_a_cut_call_that_ends_in_another_error_still_takes_its_cancellation_back() -> None:
    # A driver may turn the cancellation into a connection error; the task must not keep a
    # pending cancellation for its later TaskGroups and timeouts.
    async def driver() -> None:
        try:
            await asyncio.sleep(30)
        except asyncio.CancelledError:
            raise ConnectionResetError("dropped by the driver") from None

    async def main() -> tuple[str, int]:
        try:
            await within(0.05, driver())
        except ConnectionResetError:
            outcome = "driver error"
        task = asyncio.current_task()
        assert task is not None
        return outcome, task.cancelling()

    assert run(main()) == ("driver error", 0)


def test_each_thread_with_its_own_loop_keeps_one_deadline_table() -> None:
    # Two loops in two threads at once: each keeps reusing its own table (and its one timer)
    # instead of replacing the other's on every call, and cuts its own late calls.
    import threading

    from sojourn.stores import _loop_deadline

    results: dict[int, tuple[int, int]] = {}

    def worker(number: int) -> None:
        async def main() -> tuple[int, int]:
            tables = set()
            cut = 0
            for i in range(200):
                try:
                    await within(
                        0.05 if i % 50 else 0.01, asyncio.sleep(0.02 if i % 50 == 0 else 0)
                    )
                except TimeoutError:
                    cut += 1
                tables.add(id(_loop_deadline._current.deadlines))
            return len(tables), cut

        results[number] = asyncio.run(main())

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert results == {0: (1, 4), 1: (1, 4)}
