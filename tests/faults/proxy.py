"""A TCP fault proxy: sits between a store and its server and misbehaves on request.

Debian has no toxiproxy, so this is a small asyncio relay of our own. It runs its event loop
in a daemon thread, so sync stores (which block the calling thread) and async stores (on the
test's own loop) can both be pointed at it. Faults are switched on and off while connections
are open, because what matters is how a store's pooled, already-open connections behave when
the network turns bad under them and when it heals:

- ``LATENCY``: every chunk, both ways, is held back ``latency`` seconds (order is kept), so
  replies can arrive after the client gave up on them;
- ``RESET``: the next chunk from either side is cut in half — the first half forwarded, so
  the server sees a truncated command — and both connections are then reset (RST);
- ``BLACKHOLE``: connections are accepted and read, and nothing is forwarded either way;
- ``HALF_OPEN``: the client's bytes still reach the server (which acts on them) but its
  replies are swallowed, the sockets kept open, as after a one-way partition.

Bytes a fault swallowed are gone for good: a connection that lived through ``BLACKHOLE`` or
``HALF_OPEN`` is out of step with its server once the fault is lifted, and a store must not
use it again.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import socket
import struct
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class Fault(enum.Enum):
    NONE = "none"
    LATENCY = "latency"
    RESET = "reset"
    BLACKHOLE = "blackhole"
    HALF_OPEN = "half-open"


class FaultProxy:
    """Relay ``127.0.0.1:<port>`` to ``host:target_port``; switch faults with :meth:`inject`.

    Use as a context manager; :attr:`port` is the listening port once entered.
    """

    def __init__(self, target_port: int, host: str = "127.0.0.1") -> None:
        self.host = host
        self.target_port = target_port
        self.port = 0
        self.fault = Fault.NONE
        self.latency = 0.0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        self._server = self._run(asyncio.start_server(self._serve, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    def __exit__(self, *exc: object) -> None:
        self._run(self._shutdown())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._loop.close()

    def inject(self, fault: Fault, latency: float = 0.0) -> None:
        """Switch to ``fault`` for every open and future connection (``NONE`` lifts it)."""
        self.latency = latency
        self.fault = fault

    def heal(self) -> None:
        """Lift the fault: bytes flow normally again."""
        self.inject(Fault.NONE)

    @property
    def connections(self) -> int:
        """How many client connections are open through the proxy."""
        return len(self._writers)

    # -- the relay, on the proxy's own loop ---------------------------------------------------

    def _run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout=10)

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()

    async def _serve(self, client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(self.host, self.target_port)
        except OSError:
            client_w.transport.abort()
            return
        pair = (client_w, server_w)
        self._writers.update(pair)
        try:
            await asyncio.gather(
                self._pump(client_r, server_w, pair, upstream=True),
                self._pump(server_r, client_w, pair, upstream=False),
            )
        finally:
            for writer in pair:
                self._writers.discard(writer)
                writer.transport.abort()

    async def _pump(
        self,
        source: asyncio.StreamReader,
        sink: asyncio.StreamWriter,
        pair: tuple[asyncio.StreamWriter, asyncio.StreamWriter],
        *,
        upstream: bool,
    ) -> None:
        try:
            while data := await source.read(65536):
                fault = self.fault
                if fault is Fault.LATENCY:
                    await asyncio.sleep(self.latency)
                elif fault is Fault.RESET:
                    if upstream:
                        sink.write(data[: max(1, len(data) // 2)])
                        with contextlib.suppress(OSError):
                            await sink.drain()
                    for writer in pair:
                        _reset(writer)
                    return
                elif fault is Fault.BLACKHOLE or (fault is Fault.HALF_OPEN and not upstream):
                    continue
                sink.write(data)
                await sink.drain()
        except (OSError, asyncio.IncompleteReadError):
            pass
        # One side hung up (or broke): take the other down too, as a real middlebox would.
        for writer in pair:
            writer.transport.abort()


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with an RST rather than a FIN (SO_LINGER zero), as a crashed peer or NAT does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


__all__ = ["Fault", "FaultProxy"]
