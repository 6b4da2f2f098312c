"""Instructions per request by callgrind: the ASGI rows of ``asgi_bench`` counted, not timed.

Timings on this 2-core shared machine move with whatever else runs; callgrind's instruction
counts do not (the same binary and inputs give the same count). For each app (bare Starlette,
Starlette's cookie ``SessionMiddleware``, sojourn on ``AsyncMemoryStore``) and scenario, the app
runs ``--small`` and then ``--large`` requests under ``valgrind --tool=callgrind``; the
difference divided by the difference in requests is the cost of one request, start-up and
warm-up cancelled out. The table gives each overhead over bare Starlette and its ratio to the
cookie middleware's (issue 11's memory target: at most 1.0x).

``--redis`` counts the rows of ``redis_bench`` the same way, against one private
``redis-server`` (or ``--url``): one raw redis-py asyncio ``GET``, Sojourn's ASGI and Flask
reads and writes on Redis and their peers (starsessions, Flask-Session), each over its bare
framework, in ``GET``s and as a ratio to the peer. Only the client process is counted: the
server's work (the Lua of a script) and the kernel's are not, so these rows say how much
Python each setup runs per request, which the timed rows of ``redis_bench`` multiply by the
state of the machine.

Run: ``python -m benchmarks.instructions [--redis]`` (needs valgrind; about two minutes, ten
with ``--redis``). Not part of ``make bench``, which times.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import subprocess
import sys
import tempfile
import warnings

APPS = ("bare", "cookie", "sojourn")
LABELS = {
    "bare": "bare Starlette",
    "cookie": "Starlette SessionMiddleware (signed cookie)",
    "sojourn": "sojourn + AsyncMemoryStore",
}
SCENARIOS = ("anonymous", "read", "write")
COLLECTED = re.compile(rb"Collected : (\d+)")


async def drive(app_name: str, scenario: str, requests: int) -> None:
    """Run ``requests`` requests of ``scenario`` through one app (the process callgrind counts)."""
    from sojourn import AsyncMemoryStore

    from . import asgi_bench as bench

    if app_name == "bare":
        app = bench.bare()
    elif app_name == "cookie":
        app = bench.starlette_sessions()
    else:
        app = bench.sojourn_app(AsyncMemoryStore())
    cookie = await bench.session_cookie(app)
    await bench.warm_up(app, scenario, cookie, 50)
    await bench.timed(app, scenario, cookie, requests)


def per_request(drive: list[str], small: int, large: int) -> float:
    """Instructions of one request: the difference of two runs of the inner process ``drive``
    (its arguments but the number of requests) over their difference in size."""
    return (_collected([*drive, str(large)]) - _collected([*drive, str(small)])) / (large - small)


REDIS_CELLS = (
    ("redis-py floor", "GET (100 bytes)"),
    ("Starlette, no sessions", "plain"),
    ("Sojourn (AsyncRedisStore)", "read-only"),
    ("Sojourn (AsyncRedisStore)", "write"),
    ("starsessions (RedisStore)", "read-only"),
    ("starsessions (RedisStore)", "write"),
    ("Flask, no sessions", "plain"),
    ("Sojourn Flask (RedisStore)", "read-only"),
    ("Sojourn Flask (RedisStore)", "write"),
    ("Flask-Session (redis)", "read-only"),
    ("Flask-Session (redis)", "write"),
)


async def drive_redis(url: str, setup: str, request: str, requests: int) -> None:
    """Run ``requests`` requests of one ``redis_bench`` cell (the process callgrind counts)."""
    from . import redis_bench

    setups = redis_bench.Setups(url)
    try:
        await setups.build_async()
        setups.build_flask()
        cell = next(c for c in setups.cells if c.key == (setup, request))
        for _ in range(50 + requests):  # 50 to warm up (scripts loaded, connections open)
            if cell.is_async:
                await cell.run()
            else:
                cell.run()
    finally:
        await setups.close()


def redis_table(url: str, small: int, large: int) -> list[str]:
    """The Redis rows: k instructions over the bare framework, in GETs, and against the peer."""
    from . import redis_bench as rb

    cost = {cell: per_request(["--drive-redis", url, *cell], small, large) for cell in REDIS_CELLS}
    get = cost[rb.GET]
    lines = [
        "| setup | request | k instr/request | overhead k instr | in GETs | vs the peer |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
        f"| {rb.GET[0]} | {rb.GET[1]} | {get / 1000:.1f} |  | 1.00x |  |",
    ]
    for setup, request in REDIS_CELLS:
        baseline = rb.BASELINES.get(setup)
        if baseline is None:
            continue
        over = cost[(setup, request)] - cost[baseline]
        peer_name = rb.peer_of(baseline)
        peer = ""
        if setup != peer_name:
            peer = f"{over / (cost[(peer_name, request)] - cost[baseline]):.2f}x"
        lines.append(
            f"| {setup} | {request} | {cost[(setup, request)] / 1000:.1f} | "
            f"+{over / 1000:.1f} | {over / get:.2f}x | {peer} |"
        )
    return lines


def _collected(drive_args: list[str]) -> int:
    """Instructions callgrind collects for one inner process run with ``drive_args``."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "benchmarks.instructions", *drive_args,
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, check=True)
    found = COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError("callgrind printed no instruction count")
    return int(found.group(1))


def main(argv: list[str] | None = None) -> int:
    """Print the table; ``--drive`` is the inner process callgrind runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=600)
    parser.add_argument("--drive", nargs=3, metavar=("APP", "SCENARIO", "REQUESTS"))
    parser.add_argument("--redis", action="store_true", help="count the redis_bench rows")
    parser.add_argument("--url", help="an existing Redis for --redis (default: a private one)")
    parser.add_argument("--drive-redis", nargs=4, metavar=("URL", "SETUP", "REQUEST", "N"))
    args = parser.parse_args(argv)
    if args.drive_redis:
        url, setup, request, requests = args.drive_redis
        asyncio.run(drive_redis(url, setup, request, int(requests)))
        return 0
    if args.drive:
        warnings.simplefilter("ignore")  # the memory store's one-process warning
        app_name, scenario, requests = args.drive
        asyncio.run(drive(app_name, scenario, int(requests)))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found: apt-get install -y valgrind", file=sys.stderr)
        return 1
    if args.redis:
        from .redis_bench import redis_url

        with redis_url(args.url) as url:
            print("\n".join(redis_table(url, args.small, args.large)))
        return 0
    cost = {
        (a, s): per_request(["--drive", a, s], args.small, args.large)
        for a in APPS
        for s in SCENARIOS
    }
    print("| app | " + " | ".join(f"{s} +k instr | x cookie" for s in SCENARIOS) + " |")
    print("| --- |" + " ---: | ---: |" * len(SCENARIOS))
    for app_name in APPS[1:]:
        cells = []
        for scenario in SCENARIOS:
            bare = cost[("bare", scenario)]
            over = cost[(app_name, scenario)] - bare
            ratio = over / (cost[("cookie", scenario)] - bare)
            cells.append(f"+{over / 1000:.1f} | {ratio:.2f}x")
        print(f"| {LABELS[app_name]} | " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
