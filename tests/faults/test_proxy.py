"""The fault proxy itself does what the fault tests rely on, against a real echo server."""

from __future__ import annotations

import socket
import socketserver
import threading
import time
from collections.abc import Iterator

import pytest

from .proxy import Fault, FaultProxy


class EchoServer(socketserver.ThreadingTCPServer):
    """Echoes every byte back, and remembers what it received."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Echo)
        self.received: list[bytes] = []


class _Echo(socketserver.BaseRequestHandler):
    server: EchoServer

    def handle(self) -> None:
        while data := self.request.recv(65536):
            self.server.received.append(data)
            self.request.sendall(data)


@pytest.fixture
def echo() -> Iterator[EchoServer]:
    server = EchoServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def proxy(echo: EchoServer) -> Iterator[FaultProxy]:
    with FaultProxy(echo.server_address[1]) as proxy:
        yield proxy


def connect(proxy: FaultProxy) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", proxy.port), timeout=2)
    sock.settimeout(0.5)
    return sock


def test_a_healthy_proxy_relays_both_ways(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        sock.sendall(b"ping")
        assert sock.recv(16) == b"ping"


def test_latency_holds_each_reply_back(proxy: FaultProxy) -> None:
    with connect(proxy) as sock:
        proxy.inject(Fault.LATENCY, latency=0.2)
        began = time.monotonic()
        sock.sendall(b"slow")
        sock.settimeout(2)
        assert sock.recv(16) == b"slow"
        assert time.monotonic() - began >= 0.4  # held back on the way there and back


def test_reset_cuts_the_command_and_resets_the_client(proxy: FaultProxy, echo: EchoServer) -> None:
    with connect(proxy) as sock:
        proxy.inject(Fault.RESET)
        sock.sendall(b"0123456789")
        with pytest.raises(ConnectionResetError):
            sock.recv(16)
    assert b"".join(echo.received) in {b"", b"01234"}  # never the whole command


def test_blackhole_accepts_and_never_answers(proxy: FaultProxy) -> None:
    proxy.inject(Fault.BLACKHOLE)
    with connect(proxy) as sock:
        sock.sendall(b"anyone?")
        with pytest.raises(TimeoutError):
            sock.recv(16)
    proxy.heal()
    with connect(proxy) as sock:
        sock.sendall(b"back")
        assert sock.recv(16) == b"back"


def test_half_open_delivers_requests_but_swallows_replies(
    proxy: FaultProxy, echo: EchoServer
) -> None:
    with connect(proxy) as sock:
        proxy.inject(Fault.HALF_OPEN)
        sock.sendall(b"one-way")
        with pytest.raises(TimeoutError):
            sock.recv(16)
    assert b"one-way" in b"".join(echo.received)
