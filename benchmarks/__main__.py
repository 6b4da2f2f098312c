"""``python -m benchmarks`` (``make bench``): run every benchmark module present, in turn.

Each module is run as ``python -m benchmarks.<name>`` would run it, with its default options,
so the modules stay independent (the server-backed ones may be missing on some checkouts).
"""

from __future__ import annotations

import importlib.util
import runpy
import sys

MODULES = (
    "benchmarks.asgi_bench",
    "benchmarks.cookie_bench",
    "benchmarks.flask_bench",
    "benchmarks.django_bench",
    "benchmarks.redis_bench",
    "benchmarks.sql_bench",
)


def main() -> int:
    """Run each present module; the exit status is non-zero if any of them failed."""
    failed: list[str] = []
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        print(f"\n## {name}\n", flush=True)
        saved = sys.argv
        sys.argv = [name]
        try:
            runpy.run_module(name, run_name="__main__", alter_sys=True)
        except SystemExit as exc:
            if exc.code not in (None, 0):
                failed.append(name)
        finally:
            sys.argv = saved
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
