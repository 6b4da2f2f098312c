"""Bound an awaited store call in time with one timer per event loop, not one per call.

``asyncio.timeout`` arms a timer handle for every call and cancels it afterwards; on the
request path of the async Redis store (one call per read, two per write) that cost about 6 µs
a call, a tenth of a loopback round trip. Here each call costs a dict insert and delete: every
event loop keeps its calls in flight, with their deadlines, and one timer, armed at the
earliest deadline. When it fires it cancels the calls whose deadline has passed and re-arms
itself at the earliest one left; with nothing left it stays unarmed until the next call. A
call that ended before its deadline is simply gone from the dict when the timer fires, so it
is never cut, and every call is still cut at its own deadline, as with ``asyncio.timeout``.

A cut call raises :class:`TimeoutError` in its task (a cancellation of the task from
elsewhere stays a :class:`asyncio.CancelledError`), and the driver sees a cancelled read, as
it would under ``asyncio.timeout``: redis-py drops that connection.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


class _Call:
    """One awaited call: its task, its deadline (the loop's clock), and whether it was cut."""

    __slots__ = ("cancelling", "cut", "deadline", "task")

    def __init__(self, task: asyncio.Task[object], deadline: float) -> None:
        self.task = task
        self.deadline = deadline
        self.cancelling = task.cancelling()  # cancellations pending before the call began
        self.cut = False


class _LoopDeadlines:
    """The calls in flight on one event loop, and the one timer that cuts the late ones."""

    __slots__ = ("_armed_at", "_calls", "_loop", "_timer")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._calls: dict[_Call, None] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._armed_at = 0.0

    def watch(self, task: asyncio.Task[object], seconds: float) -> _Call:
        """Watch ``task``'s call from now, to be cut ``seconds`` on; :meth:`done` ends it."""
        watched = _Call(task, self._loop.time() + seconds)
        self._calls[watched] = None
        if self._timer is None or watched.deadline < self._armed_at:
            self._arm(watched.deadline)
        return watched

    def done(self, watched: _Call) -> None:
        """The call ended (however): it is never cut now."""
        self._calls.pop(watched, None)

    def _arm(self, at: float) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._loop.call_at(at, self._sweep)
        self._armed_at = at

    def _sweep(self) -> None:
        """Cut every call past its deadline; re-arm at the earliest deadline left."""
        self._timer = None
        # A timer may run a hair before its time (the loop's clock resolution): whatever it
        # was armed for is due, so a sweep never re-arms for the same instant.
        due = max(self._loop.time(), self._armed_at)
        late = [call for call in self._calls if call.deadline <= due]
        for call in late:
            del self._calls[call]
            call.cut = True
            call.task.cancel()
        if self._calls:
            self._arm(min(call.deadline for call in self._calls))


class _PerThread(threading.local):
    deadlines: _LoopDeadlines | None = None


_current = _PerThread()
"""Each thread's deadlines for the loop that made its latest call: the usual single loop. A
loop after another (a test's next one) gets its own; a call always registers with the
deadlines of the loop it runs on, whose timer runs on that loop."""


async def within(seconds: float | None, call: Awaitable[T]) -> T:
    """Await ``call``, cut at ``seconds`` from now (``None``: no deadline); a cut call raises
    :class:`TimeoutError`, which the callers translate with the driver's other failures."""
    if seconds is None:
        return await call
    loop = asyncio.get_running_loop()
    deadlines = _current.deadlines
    if deadlines is None or deadlines._loop is not loop:
        deadlines = _current.deadlines = _LoopDeadlines(loop)
    task = asyncio.current_task()
    if task is None:  # a coroutine driven by hand, outside any task: nothing to cancel, so
        return await call  # no deadline (asyncio.timeout would refuse to run at all)
    watched = deadlines.watch(task, seconds)
    try:
        return await call
    except asyncio.CancelledError:
        if watched.cut:
            watched.cut = False
            if task.uncancel() <= watched.cancelling:
                raise TimeoutError("the store did not answer within its timeout") from None
        raise
    finally:
        deadlines.done(watched)
        if watched.cut:
            # Cut, but the call ended otherwise (a driver that turns the cancellation into a
            # connection error): take the cancellation back all the same, as asyncio.timeout
            # does, so that the task's later TaskGroups and timeouts count right.
            task.uncancel()


__all__ = ["within"]
