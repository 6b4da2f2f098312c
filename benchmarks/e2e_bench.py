"""Requests per second end to end: a real uvicorn server, a real load generator (wrk), and the
same small Starlette app (:mod:`benchmarks._e2e_app`) behind each session layer.

Where :mod:`benchmarks.asgi_bench` isolates the middleware's µs, this asks what an operator
sees: how much of bare Starlette's throughput is left once sessions are on, with HTTP parsing,
the event loop, sockets and (for Redis) the store's round trips all in the way.

Configurations, each in its own uvicorn process on a free loopback port:

- bare Starlette (no session middleware);
- Starlette's signed-cookie ``SessionMiddleware``;
- sojourn (``sojourn.asgi.SessionMiddleware``) on ``AsyncMemoryStore``;
- sojourn on ``AsyncRedisStore.from_url("redis://127.0.0.1:6379/0", prefix=<unique per run>)``;
- starsessions on its ``RedisStore`` (same Redis, same prefix plus ``star.``), for comparison.

Scenarios: *read* is ``GET /read`` with a valid session cookie (the endpoint reads one key);
*write* is ``POST /write`` with the same cookie (the endpoint changes one key), sent by wrk via
a ``-s`` Lua script that sets the method and an empty body. Each server's cookie is obtained
once by a real request (urllib ``POST /write``), and ``GET /read`` must then answer ``1``
before anything is timed. The requests are plain ``http`` on loopback (no TLS).

uvicorn runs one worker with ``--no-access-log``, ``--loop uvloop`` if uvloop is installed
(else ``asyncio``) and ``--http httptools`` if httptools is installed (else ``h11``), the same
for every configuration; the header says which. wrk runs ``-t1 -c16 -d5s`` by default
(``--connections``, ``--duration``). Rounds are interleaved: each round runs every
configuration x scenario once, in an order rotated from round to round, and the table gives
the median req/s over ``--rounds`` rounds (3 by default) and its ratio to bare Starlette's for
the same scenario, beside issue 11's targets. Any non-2xx/3xx response fails the run.

wrk comes from Debian: when ``shutil.which("wrk")`` finds none, the set-up installs it with
``apt-get install -y wrk`` (through ``sudo`` unless already root), running ``apt-get update``
first if the install fails. The Redis keys the run made (its unique prefix) are deleted
afterwards. Run: ``python -m benchmarks.e2e_bench`` (or ``python -m benchmarks`` for all).
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from . import _e2e_app as e2e
from ._machine import load_average

REDIS_URL = "redis://127.0.0.1:6379/0"
SCENARIOS = ("read", "write")
LABELS = {
    e2e.BARE: "bare Starlette",
    e2e.COOKIE: "Starlette SessionMiddleware (signed cookie)",
    e2e.SOJOURN_MEMORY: "sojourn + AsyncMemoryStore",
    e2e.SOJOURN_REDIS: "sojourn + AsyncRedisStore",
    e2e.STARSESSIONS_REDIS: "starsessions + RedisStore",
}
TARGETS = {
    (e2e.SOJOURN_MEMORY, "read"): 0.75,
    (e2e.SOJOURN_MEMORY, "write"): 0.75,
    (e2e.SOJOURN_REDIS, "read"): 0.45,
    (e2e.SOJOURN_REDIS, "write"): 0.40,
}
"""Issue 11: the least fraction of bare Starlette's req/s each sojourn configuration keeps."""

POST_SCRIPT = 'wrk.method = "POST"\nwrk.body = ""\n'
"""wrk's Lua hook for the write scenario; the empty body makes wrk send Content-Length: 0."""


# -- set-up ------------------------------------------------------------------------------------


def ensure_wrk() -> str:
    """The path of wrk, installing Debian's package first when it is missing."""
    found = shutil.which("wrk")
    if found:
        return found
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [*sudo, "apt-get", "install", "-y", "-q", "wrk"]
    print("  wrk not found: " + " ".join(install), file=sys.stderr, flush=True)

    def apt(command: list[str], check: bool) -> int:  # apt's chatter to stderr: stdout is tables
        return subprocess.run(command, env=env, stdout=sys.stderr, check=check).returncode

    if apt(install, check=False) != 0:
        apt([*sudo, "apt-get", "update", "-q"], check=True)
        apt(install, check=True)
    found = shutil.which("wrk")
    if not found:
        raise SystemExit("wrk is still not on PATH after installing it")
    return found


def server_flavour() -> tuple[str, str]:
    """uvicorn's ``--loop`` and ``--http``: the fast ones when installed, else the pure ones."""
    loop = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    http = "httptools" if importlib.util.find_spec("httptools") else "h11"
    return loop, http


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def redis_reachable(url: str) -> bool:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.RedisError as exc:
        print(f"  skipping the Redis configurations: {exc}", file=sys.stderr)
        return False
    finally:
        client.close()
    return True


def redis_cleanup(url: str, prefix: str) -> int:
    """Delete every key under ``prefix`` (SCAN + UNLINK); returns how many went."""
    import redis

    client = redis.Redis.from_url(url)
    pattern = "".join("\\" + c if c in "*?[]\\" else c for c in prefix) + "*"
    removed = 0
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=pattern, count=1000):
            batch.append(key)
            if len(batch) == 1000:
                removed += int(client.unlink(*batch))
                batch = []
        if batch:
            removed += int(client.unlink(*batch))
    finally:
        client.close()
    return removed


# -- servers -----------------------------------------------------------------------------------


@dataclass
class Server:
    config: str
    url: str
    cookie: str | None
    process: subprocess.Popen[bytes]


def request(url: str, method: str, cookie: str | None = None) -> tuple[int, str, str | None]:
    """One real HTTP request: status, body, and the ``name=value`` of its first Set-Cookie."""
    headers = {"Cookie": cookie} if cookie else {}
    data = b"" if method == "POST" else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    with urllib.request.urlopen(req, timeout=5) as response:
        body = response.read().decode()
        set_cookie = response.headers.get("set-cookie")
        return response.status, body, set_cookie.split(";", 1)[0] if set_cookie else None


@contextmanager
def uvicorn(
    app: str, env: dict[str, str], loop: str, http: str, log: Path, *extra: str
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """uvicorn serving ``app`` (``module:attribute``) on a free port, answering, its output in
    ``log``; the base URL and the process. Stopped (killed if it must be) on exit."""
    port = free_port()
    command = [
        sys.executable, "-m", "uvicorn", app,
        "--host", "127.0.0.1", "--port", str(port), "--no-access-log",
        "--log-level", "warning", "--loop", loop, "--http", http, *extra,
    ]  # fmt: skip
    root = Path(__file__).resolve().parent.parent
    with log.open("wb") as out:
        process = subprocess.Popen(command, cwd=root, env=env, stdout=out, stderr=out)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_ready(base, process, log)
        yield base, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(config: str, prefix: str, loop: str, http: str, log: Path) -> Iterator[Server]:
    """uvicorn serving ``config`` on a free port, ready, with a session cookie made through it."""
    env = {
        **os.environ,
        "SOJOURN_E2E_CONFIG": config,
        "SOJOURN_E2E_REDIS": REDIS_URL,
        "SOJOURN_E2E_PREFIX": prefix,
    }
    with uvicorn("benchmarks._e2e_app:app", env, loop, http, log) as (base, process):
        yield Server(config, base, session_cookie(config, base), process)


def wait_ready(base: str, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"uvicorn exited {process.returncode}:\n{log.read_text()}")
        try:
            request(base + "/read", "GET")
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"uvicorn did not answer within 30 s:\n{log.read_text()}")


def session_cookie(config: str, base: str) -> str | None:
    """The cookie of a session holding ``n == 1``, checked through the read path."""
    status, _, cookie = request(base + "/write", "POST")
    if status != 200:
        raise RuntimeError(f"{config}: POST /write answered {status}")
    if config == e2e.BARE:
        return None
    if cookie is None:
        raise RuntimeError(f"{config}: POST /write set no cookie")
    _, body, _ = request(base + "/read", "GET", cookie)
    if body != "1":
        raise RuntimeError(f"{config}: the session did not persist: GET /read answered {body!r}")
    return cookie


# -- load --------------------------------------------------------------------------------------


@dataclass
class Load:
    requests_per_second: float
    bad_status: int
    socket_errors: int


def wrk(
    binary: str,
    server: Server,
    scenario: str,
    connections: int,
    duration: int,
    post_script: Path,
) -> Load:
    """One wrk run against ``server``; the parsed req/s, non-2xx/3xx count and socket errors."""
    command = [binary, "-t1", f"-c{connections}", f"-d{duration}s"]
    if server.cookie:
        command += ["-H", f"Cookie: {server.cookie}"]
    if scenario == "write":
        command += ["-s", str(post_script)]
    command.append(f"{server.url}/{scenario}")
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    out = done.stdout
    rate = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if rate is None:
        raise RuntimeError(f"cannot parse wrk's output:\n{out}\n{done.stderr}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return Load(
        float(rate.group(1)),
        int(bad.group(1)) if bad else 0,
        sum(int(n) for n in errors.groups()) if errors else 0,
    )


Cell = tuple[str, str]


def run(args: argparse.Namespace) -> tuple[dict[Cell, list[Load]], str]:
    """Every configuration x scenario, once per round; returns the loads and a flavour note."""
    binary = ensure_wrk()
    loop, http = server_flavour()
    prefix = f"sojourn-e2e-{secrets.token_hex(4)}:"
    configs = [c for c in e2e.CONFIGS if c not in e2e.REDIS_CONFIGS]
    if redis_reachable(REDIS_URL):
        configs += list(e2e.REDIS_CONFIGS)
    samples: dict[Cell, list[Load]] = {(c, s): [] for c in configs for s in SCENARIOS}
    with tempfile.TemporaryDirectory() as tmp, ExitStack() as stack:
        try:
            post_script = Path(tmp) / "post.lua"
            post_script.write_text(POST_SCRIPT)
            servers = [
                stack.enter_context(serve(c, prefix, loop, http, Path(tmp) / f"{c}.log"))
                for c in configs
            ]
            for server in servers:  # warm-up: imports, caches, Redis connections
                for scenario in SCENARIOS:
                    wrk(binary, server, scenario, args.connections, args.warmup, post_script)
            for number in range(args.rounds):
                turn = number % len(servers)
                for server in servers[turn:] + servers[:turn]:
                    for scenario in SCENARIOS:
                        load = wrk(
                            binary, server, scenario, args.connections, args.duration, post_script
                        )
                        samples[(server.config, scenario)].append(load)
                print(f"  round {number + 1}/{args.rounds}", file=sys.stderr, flush=True)
            # The server-side stores kept the writes. (A signed cookie cannot: wrk resends
            # the first cookie, so each write starts again from n == 1.)
            for server in servers:
                if server.config not in (e2e.BARE, e2e.COOKIE):
                    _, body, _ = request(server.url + "/read", "GET", server.cookie)
                    if not body.isdigit() or int(body) < 2:
                        raise RuntimeError(f"{server.config}: the writes did not land: {body!r}")
        finally:
            stack.close()  # stop the servers (and close their stores) before deleting keys
            if any(c in e2e.REDIS_CONFIGS for c in configs):
                removed = redis_cleanup(REDIS_URL, prefix)
                print(f"  removed {removed} Redis keys under {prefix}", file=sys.stderr)
    note = f"uvicorn {uvicorn_version()}, 1 worker, --loop {loop}, --http {http}"
    return samples, note


def uvicorn_version() -> str:
    from importlib.metadata import version

    return version("uvicorn")


def table(samples: dict[Cell, list[Load]]) -> str:
    """Median req/s per cell, its ratio to bare Starlette's, and the target where there is one."""
    medians = {
        cell: statistics.median(load.requests_per_second for load in loads)
        for cell, loads in samples.items()
    }
    configs = list(dict.fromkeys(config for config, _ in samples))
    head = "| app | " + " | ".join(f"{s} req/s | x bare | target" for s in SCENARIOS) + " |"
    rule = "| --- |" + " ---: | ---: | :--- |" * len(SCENARIOS)
    rows = []
    for config in configs:
        cells = []
        for s in SCENARIOS:
            ratio = medians[(config, s)] / medians[(e2e.BARE, s)]
            target = TARGETS.get((config, s))
            verdict = (
                ""
                if target is None
                else f"≥ {target:.2f}: "
                + ("met" if ratio >= target else f"MISSED by {target - ratio:.2f}")
            )
            cells.append(f"{medians[(config, s)]:,.0f} | {ratio:.2f} | {verdict}")
        rows.append(f"| {LABELS[config]} | " + " | ".join(cells) + " |")
    return "\n".join([head, rule, *rows])


def rounds_table(samples: dict[Cell, list[Load]]) -> str:
    """Every round's req/s, so a reader sees how much the rounds agreed."""
    lines = ["| app | scenario | req/s per round | socket errors |", "| --- | --- | --- | ---: |"]
    for (config, scenario), loads in samples.items():
        each = ", ".join(f"{load.requests_per_second:,.0f}" for load in loads)
        errors = sum(load.socket_errors for load in loads)
        lines.append(f"| {LABELS[config]} | {scenario} | {each} | {errors} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.e2e_bench", description=__doc__)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds (median kept)")
    parser.add_argument("--duration", type=int, default=5, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=16, help="wrk connections (-c)")
    parser.add_argument("--warmup", type=int, default=1, help="seconds of untimed wrk per cell")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    before = load_average()
    samples, note = run(args)
    after = load_average()
    print(
        f"\n### End to end: req/s through uvicorn, wrk -t1 -c{args.connections} "
        f"-d{args.duration}s (median of {args.rounds} interleaved rounds; {note}; "
        "write = POST via wrk -s)\n"
    )
    print(table(samples))
    print()
    print(rounds_table(samples))
    bad = {cell: sum(load.bad_status for load in loads) for cell, loads in samples.items()}
    print(f"\nbefore: {before}; after: {after}")
    print(f"(total {time.perf_counter() - started:.1f} s)")
    failed = {cell: n for cell, n in bad.items() if n}
    if failed:
        for (config, scenario), n in failed.items():
            print(f"{LABELS[config]} {scenario}: {n} non-2xx/3xx responses", file=sys.stderr)
        return 1
    print("non-2xx/3xx responses: none")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
