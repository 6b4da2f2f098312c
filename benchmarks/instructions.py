"""Instructions per request by callgrind: the ASGI rows of ``asgi_bench`` counted, not timed.

Timings on this 2-core shared machine move with whatever else runs; callgrind's instruction
counts do not (the same binary and inputs give the same count). For each app (bare Starlette,
Starlette's cookie ``SessionMiddleware``, sojourn on ``AsyncMemoryStore``) and scenario, the app
runs ``--small`` and then ``--large`` requests under ``valgrind --tool=callgrind``; the
difference divided by the difference in requests is the cost of one request, start-up and
warm-up cancelled out. The table gives each overhead over bare Starlette and its ratio to the
cookie middleware's (issue 11's memory target: at most 1.0x).

Run: ``python -m benchmarks.instructions`` (needs valgrind; about two minutes). Not part of
``make bench``, which times.
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


def count(app_name: str, scenario: str, requests: int) -> int:
    """Instructions callgrind collects for one process running ``requests`` requests."""
    with tempfile.TemporaryDirectory() as scratch:
        out = os.path.join(scratch, "callgrind.out")
        command = [
            "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
            sys.executable, "-m", "benchmarks.instructions",
            "--drive", app_name, scenario, str(requests),
        ]  # fmt: skip
        done = subprocess.run(command, capture_output=True, check=True)
    found = COLLECTED.search(done.stderr)
    if found is None:
        raise RuntimeError("callgrind printed no instruction count")
    return int(found.group(1))


def per_request(app_name: str, scenario: str, small: int, large: int) -> float:
    """Instructions of one request: the difference of two runs over their difference in size."""
    return (count(app_name, scenario, large) - count(app_name, scenario, small)) / (large - small)


def main(argv: list[str] | None = None) -> int:
    """Print the table; ``--drive`` is the inner process callgrind runs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=600)
    parser.add_argument("--drive", nargs=3, metavar=("APP", "SCENARIO", "REQUESTS"))
    args = parser.parse_args(argv)
    if args.drive:
        warnings.simplefilter("ignore")  # the memory store's one-process warning
        app_name, scenario, requests = args.drive
        asyncio.run(drive(app_name, scenario, int(requests)))
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind not found: apt-get install -y valgrind", file=sys.stderr)
        return 1
    cost = {(a, s): per_request(a, s, args.small, args.large) for a in APPS for s in SCENARIOS}
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
