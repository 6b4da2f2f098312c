"""The deadline watchdog: alarms fire on time, never after being cancelled, and cut sockets."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable

import pytest

from sojourn.stores._deadline import arm, cut_at, cut_socket


def test_an_alarm_fires_at_its_deadline() -> None:
    fired = threading.Event()
    began = time.monotonic()
    alarm = arm(began + 0.1, fired.set)
    assert fired.wait(2)
    assert 0.09 <= time.monotonic() - began < 1.0
    assert alarm.cancel() is True  # too late: it reports the cut so the caller discards


def test_a_cancelled_alarm_never_fires() -> None:
    fired = threading.Event()
    alarm = arm(time.monotonic() + 0.05, fired.set)
    assert alarm.cancel() is False
    assert not fired.wait(0.2)


def test_many_alarms_fire_in_deadline_order_whatever_the_arming_order() -> None:
    order: list[int] = []
    now = time.monotonic()

    def record(index: int) -> Callable[[], None]:
        return lambda: order.append(index)

    for index in (3, 1, 2, 0):
        arm(now + 0.05 * (index + 1), record(index))
    deadline = time.monotonic() + 2
    while len(order) < 4 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert order == [0, 1, 2, 3]


def test_an_alarm_that_raises_does_not_stop_the_watchdog() -> None:
    def boom() -> None:
        raise RuntimeError("boom")

    arm(time.monotonic(), boom)
    fired = threading.Event()
    arm(time.monotonic() + 0.05, fired.set)
    assert fired.wait(2)


def test_cutting_a_socket_wakes_a_blocked_reader_with_end_of_file() -> None:
    left, right = socket.socketpair()
    with left, right:
        got: list[bytes] = []
        reader = threading.Thread(target=lambda: got.append(left.recv(16)))
        reader.start()
        time.sleep(0.05)
        cut_socket(left.fileno())
        reader.join(2)
        assert got == [b""]
        assert left.fileno() != -1  # the descriptor is still its owner's to close


def test_cutting_a_closed_descriptor_is_harmless() -> None:
    sock = socket.socket()
    fd = sock.fileno()
    sock.close()
    cut_socket(fd)


def test_cut_at_raises_once_the_deadline_cut_the_connection() -> None:
    left, right = socket.socketpair()
    cut = cut_at(time.monotonic() + 0.05, left.fileno())
    with left, right, pytest.raises(TimeoutError), cut:
        assert left.recv(16) == b""  # blocked until the cut
    left, right = socket.socketpair()
    with left, right:
        with cut_at(time.monotonic() + 5, right.fileno()):
            pass  # finished in time: nothing cut, nothing raised
        right.sendall(b"x")  # still connected
        assert left.recv(1) == b"x"
