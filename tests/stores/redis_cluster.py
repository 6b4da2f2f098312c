"""Start private ``redis-server`` processes for tests: single servers and a 3-master Cluster.

Servers run from the ``redis-server`` binary on PATH, on free loopback ports, in temporary
directories, with persistence off; they are stopped (and their directories removed) on exit.
Nothing here touches the shared server on 6379.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import redis

from tests.conftest import require_server


def free_port(with_bus: bool = False) -> int:
    """A loopback port nobody listens on (and, for Cluster, its bus port ``+10000`` too)."""
    for _ in range(200):
        with closing(socket.socket()) as sock:
            sock.bind(("127.0.0.1", 0))
            port = int(sock.getsockname()[1])
        if not with_bus:
            return port
        if port + 10000 <= 65535:
            with closing(socket.socket()) as sock:
                try:
                    sock.bind(("127.0.0.1", port + 10000))
                except OSError:
                    continue
            return port
    raise RuntimeError("no free port pair found")


@dataclass
class RedisServer:
    """One private ``redis-server``; ``stop()`` kills it, ``start()`` brings it back."""

    port: int
    directory: Path
    cluster: bool = False
    extra: list[str] = field(default_factory=list)
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self) -> None:
        binary = shutil.which("redis-server")
        if binary is None:
            require_server("redis-server", "the binary is not on PATH")
            return
        args = [
            binary,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "no",
            "--dir", str(self.directory),
            "--protected-mode", "no",
        ]  # fmt: skip
        if self.cluster:
            args += ["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf"]
            args += ["--cluster-node-timeout", "2000"]
        args += self.extra
        self.process = subprocess.Popen(
            args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.directory
        )
        client = redis.Redis(port=self.port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        while True:
            try:
                client.ping()
                break
            except redis.exceptions.ConnectionError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"redis-server did not start on {self.port}") from None
                time.sleep(0.05)
            finally:
                client.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)
        self.process = None

    def client(self) -> redis.Redis:
        return redis.Redis(port=self.port, socket_timeout=5)


@contextmanager
def start_server() -> Iterator[RedisServer]:
    """A private single ``redis-server`` for the duration of the block."""
    directory = Path(tempfile.mkdtemp(prefix="sojourn-redis-"))
    server = RedisServer(free_port(), directory)
    try:
        server.start()
        yield server
    finally:
        server.stop()
        shutil.rmtree(directory, ignore_errors=True)


@dataclass
class RedisClusterHarness:
    """A running Cluster: its nodes and their ports."""

    servers: list[RedisServer]

    @property
    def ports(self) -> list[int]:
        return [s.port for s in self.servers]


@contextmanager
def start_cluster(masters: int = 3) -> Iterator[RedisClusterHarness]:
    """A private Redis Cluster of ``masters`` primaries (no replicas), torn down on exit."""
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        require_server("Redis Cluster", "redis-server or redis-cli is not on PATH")
    root = Path(tempfile.mkdtemp(prefix="sojourn-cluster-"))
    servers: list[RedisServer] = []
    try:
        for i in range(masters):
            directory = root / str(i)
            directory.mkdir()
            server = RedisServer(free_port(with_bus=True), directory, cluster=True)
            server.start()
            servers.append(server)
        nodes = [f"127.0.0.1:{s.port}" for s in servers]
        create = ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0"]
        subprocess.run(
            [*create, "--cluster-yes"],
            check=True,
            capture_output=True,
            timeout=60,
        )
        _wait_until_ok(servers)
        yield RedisClusterHarness(servers)
    finally:
        for server in servers:
            server.stop()
        shutil.rmtree(root, ignore_errors=True)


def _wait_until_ok(servers: list[RedisServer]) -> None:
    deadline = time.monotonic() + 30
    for server in servers:
        client = server.client()
        try:
            while True:
                info: bytes = client.execute_command("CLUSTER", "INFO")  # type: ignore[no-untyped-call]
                if b"cluster_state:ok" in info:
                    break
                if time.monotonic() > deadline:
                    pytest.fail("the test Redis Cluster did not converge")
                time.sleep(0.1)
        finally:
            client.close()


@dataclass
class SentinelHarness:
    """A private primary watched by one Sentinel."""

    primary: RedisServer
    sentinel_port: int
    replica: RedisServer | None = None
    service: str = "sojourn-test"


@contextmanager
def start_sentinel(replica: bool = False) -> Iterator[SentinelHarness]:
    """A private ``redis-server`` (with a replica if asked) and a Sentinel monitoring it.

    The Sentinel declares a primary down after 500 ms, so a failover takes a few seconds.
    """
    root = Path(tempfile.mkdtemp(prefix="sojourn-sentinel-"))
    process: subprocess.Popen[bytes] | None = None
    try:
        (root / "primary").mkdir()
        primary = RedisServer(free_port(), root / "primary")
        primary.start()
        second: RedisServer | None = None
        if replica:
            (root / "replica").mkdir()
            second = RedisServer(
                free_port(),
                root / "replica",
                extra=["--replicaof", "127.0.0.1", str(primary.port)],
            )
            second.start()
        port = free_port()
        config = root / "sentinel.conf"
        config.write_text(
            f"port {port}\nbind 127.0.0.1\ndir {root}\n"
            f"sentinel monitor sojourn-test 127.0.0.1 {primary.port} 1\n"
            "sentinel down-after-milliseconds sojourn-test 500\n"
            "sentinel failover-timeout sojourn-test 5000\n"
        )
        binary = shutil.which("redis-server")
        if binary is None:
            require_server("Redis Sentinel", "redis-server is not on PATH")
            return
        process = subprocess.Popen(
            [binary, str(config), "--sentinel"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(port=port, socket_connect_timeout=0.2)
        deadline = time.monotonic() + 10
        try:
            while True:
                try:
                    if client.execute_command(  # type: ignore[no-untyped-call]
                        "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "sojourn-test"
                    ):
                        break
                except redis.exceptions.ConnectionError:
                    pass
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("redis sentinel did not start")
                time.sleep(0.05)
        finally:
            client.close()
        try:
            yield SentinelHarness(primary, port, second)
        finally:
            primary.stop()
            if second is not None:
                second.stop()
    finally:
        if process is not None and process.poll() is None:
            process.kill()
            process.wait(10)
        shutil.rmtree(root, ignore_errors=True)
