"""Cut a store connection whose call outlived its budget, so the call fails instead of hanging.

Socket timeouts alone do not bound a call. A server that is stalled (stopped, swapping, stuck
on a lock) or a middlebox that swallows packets still acknowledges at the TCP level, so TCP
user timeouts and keep-alives never fire; a server-side ``statement_timeout`` never fires for
a statement that never arrived; and cancelling a psycopg coroutine makes psycopg send a cancel
request and wait for it (up to ten more seconds). What always works is to shut the socket
down: the driver's blocked read returns at once with "connection closed", the driver raises,
the store turns that into :class:`~sojourn.StoreUnavailable`, and the pool drops the
connection (its protocol state is unknown, so it must never be reused).

One daemon thread keeps every armed deadline in a heap, for the sync and the async flavours
alike: arming costs a lock and a heap push, not a thread or a timer handle per call. Shutting
a socket down from another thread is safe (the descriptor is duplicated, and ``shutdown``
acts on the connection, not the descriptor); an alarm is always cancelled before its
connection is handed back, and cancelling and firing exclude each other, so a socket is never
cut after its call ended.
"""

from __future__ import annotations

import contextlib
import heapq
import itertools
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator

_ARMED, _CANCELLED, _FIRED = 0, 1, 2


class Alarm:
    """One armed deadline; :meth:`cancel` it when the call ends."""

    __slots__ = ("_fire", "_lock", "_phase")

    def __init__(self, fire: Callable[[], None]) -> None:
        self._fire = fire
        self._lock = threading.Lock()
        self._phase = _ARMED

    def cancel(self) -> bool:
        """Disarm; True if the alarm had already fired (the connection is cut: discard it)."""
        with self._lock:
            if self._phase == _ARMED:
                self._phase = _CANCELLED
            return self._phase == _FIRED

    @property
    def fired(self) -> bool:
        return self._phase == _FIRED

    def _trigger(self) -> None:
        with self._lock:
            if self._phase != _ARMED:
                return
            self._phase = _FIRED
            with contextlib.suppress(Exception):  # a watchdog must never die of one alarm
                self._fire()


class _Watchdog:
    """The thread that fires alarms when their deadlines pass."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Alarm]] = []
        self._order = itertools.count()
        self._wake = threading.Condition(threading.Lock())
        self._pid = 0

    def arm(self, deadline: float, fire: Callable[[], None]) -> Alarm:
        alarm = Alarm(fire)
        with self._wake:
            if self._pid != os.getpid():  # first use, or a forked child: no thread yet
                self._pid = os.getpid()
                self._heap.clear()
                threading.Thread(target=self._run, name="sojourn-deadlines", daemon=True).start()
            earliest = not self._heap or deadline < self._heap[0][0]
            heapq.heappush(self._heap, (deadline, next(self._order), alarm))
            if earliest:
                self._wake.notify()
        return alarm

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._heap or self._heap[0][0] > time.monotonic():
                    self._wake.wait(None if not self._heap else self._heap[0][0] - time.monotonic())
                _, _, alarm = heapq.heappop(self._heap)
            alarm._trigger()


_watchdog = _Watchdog()


def arm(deadline: float, fire: Callable[[], None]) -> Alarm:
    """Call ``fire()`` (on the watchdog thread) at ``deadline`` (``time.monotonic()``) unless
    the returned alarm is cancelled first."""
    return _watchdog.arm(deadline, fire)


def cut_socket(fd: int) -> None:
    """Shut down the connection on descriptor ``fd`` both ways, leaving ``fd`` itself open.

    The owner's blocked or next read returns end-of-file at once; the owner closes ``fd``.
    """
    try:
        duplicate = os.dup(fd)
    except OSError:
        return  # already closed by its owner: nothing left to cut
    try:
        sock = socket.socket(fileno=duplicate)
    except OSError:
        os.close(duplicate)
        return
    with sock, contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


@contextlib.contextmanager
def cut_at(deadline: float, fd: int | None) -> Iterator[None]:
    """Cut the connection on ``fd`` if the block is still running at ``deadline``.

    If the cut happened, the block ends with :class:`TimeoutError` even if the driver managed
    to return, so the caller's pool drops the connection (an ``OSError``) instead of keeping
    a cut one. ``fd=None`` (a connection whose socket is unknown) watches nothing.
    """
    if fd is None:
        yield
        return
    alarm = arm(deadline, lambda: cut_socket(fd))
    try:
        yield
    finally:
        if alarm.cancel():
            raise TimeoutError("the store did not answer within its timeout")


def remaining(deadline: float) -> float:
    """Seconds left until ``deadline``, never quite zero (zero means "no wait" to some APIs)."""
    return max(0.001, deadline - time.monotonic())


__all__ = ["Alarm", "arm", "cut_at", "cut_socket", "remaining"]
