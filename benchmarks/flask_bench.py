"""µs per request for Flask sessions: Sojourn's drop-in beside Flask's own and Flask-Session.

Run: ``.venv/bin/python -m benchmarks.flask_bench [--n 2000] [--rounds 7]``

One Flask app, driven in-process through WSGI (no server in front), with each session layer:

- Flask, no session touched: the framework's own cost, subtracted from every row;
- Flask's signed cookie (``SecureCookieSessionInterface``, what an app switches from);
- Flask-Session on cachelib's in-process ``SimpleCache`` (a server-side peer with no network);
- Sojourn on ``MemoryStore`` and on ``SQLiteStore`` (a temporary file).

Requests: *anonymous* (no cookie, a view that reads the session), *read* (a live session, read)
and *write* (a live session, one key changed). Variants are interleaved: each round measures
every cell once, in turn, and the table gives the median round, so a noisy moment on a shared
machine hits every variant alike. Nothing here is a test.

For figures that do not depend on the machine's load, count instructions instead of time:
``--only "Sojourn (MemoryStore)|read" --n 600`` runs one cell untimed, so ``valgrind
--tool=callgrind --callgrind-out-file=/dev/null .venv/bin/python -m benchmarks.flask_bench
--only … --n N`` for two values of N gives instructions per request from the difference (the
baseline cell is ``"Flask, no session|plain"``).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._overhead import overhead_table
from ._wsgi import call_wsgi, wsgi_environ

REQUESTS = ("anonymous", "read", "write")


def make_app(setup: str, tmp: Path) -> Any:
    from flask import Flask, session

    app = Flask(__name__)
    app.config.update(SESSION_COOKIE_SECURE=True)
    if setup != "bare":  # without a key, Flask's own session is a no-op NullSession
        app.config.update(SECRET_KEY="bench")

    @app.get("/read")
    def read() -> str:
        return str(session.get("n", ""))

    @app.get("/write")
    def write() -> str:
        session["n"] = int(session.get("n", 0)) + 1
        return "ok"

    @app.get("/plain")
    def plain() -> str:
        return ""

    if setup == "Flask-Session (cachelib SimpleCache)":
        from cachelib import SimpleCache
        from flask_session import Session

        app.config.update(SESSION_TYPE="cachelib", SESSION_CACHELIB=SimpleCache(threshold=10**6))
        Session(app)
    elif setup.startswith("Sojourn"):
        from sojourn import MemoryStore
        from sojourn.flask import Sojourn
        from sojourn.stores.sqlite import SQLiteStore

        store = MemoryStore() if "Memory" in setup else SQLiteStore(tmp / "bench.db")
        Sojourn(app, store=store)
    return app


SETUPS = (
    "Flask's signed cookie",
    "Flask-Session (cachelib SimpleCache)",
    "Sojourn (MemoryStore)",
    "Sojourn (SQLiteStore)",
)


def cells(tmp: Path) -> dict[tuple[str, str], Callable[[], Any]]:
    """Every (setup, request) cell as a zero-argument call."""
    bare = make_app("bare", tmp)
    plain = wsgi_environ("/plain", None)
    found = {("Flask, no session", "plain"): caller(bare, plain)}
    for setup in SETUPS:
        app = make_app(setup, tmp)
        _, cookies = call_wsgi(app, wsgi_environ("/write", None))
        environs = {
            "anonymous": wsgi_environ("/read", None),
            "read": wsgi_environ("/read", cookies[0]),
            "write": wsgi_environ("/write", cookies[0]),
        }
        for request, environ in environs.items():
            found[(setup, request)] = caller(app, environ)
    return found


def caller(app: Any, environ: dict[str, Any]) -> Callable[[], Any]:
    return lambda: call_wsgi(app, environ)


def measure(fn: Callable[[], Any], n: int) -> float:
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def table(medians: dict[tuple[str, str], float]) -> str:
    return overhead_table(
        medians,
        baseline=("Flask, no session", "plain"),
        title="Flask with no session",
        setups=SETUPS,
        requests=REQUESTS,
        peers=[("cookie", SETUPS[0]), ("F-S", SETUPS[1])],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flask_bench", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="requests per cell per round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median kept)")
    parser.add_argument("--only", help='run one cell untimed, "setup|request" (for callgrind)')
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        calls = cells(Path(tmp))
        if args.only:
            setup, _, request = args.only.partition("|")
            fn = calls[(setup, request)]
            for _ in range(args.n):
                fn()
            return 0
        for fn in calls.values():  # warm up every cell
            measure(fn, min(200, args.n))
        samples: dict[tuple[str, str], list[float]] = {cell: [] for cell in calls}
        for _ in range(args.rounds):
            for cell, fn in calls.items():
                samples[cell].append(measure(fn, args.n))
    medians = {cell: statistics.median(values) for cell, values in samples.items()}
    print(table(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
