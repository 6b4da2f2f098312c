"""``python -m benchmarks`` (``make bench``): run every benchmark module present, in turn.

Each module runs in its own process, exactly as ``python -m benchmarks.<name>`` runs it, with its
default options: the modules stay independent (one that configures Django for its own peers
cannot leave settings behind for the next), and the server-backed ones may be missing on some
checkouts.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

MODULES = (
    "benchmarks.asgi_bench",
    "benchmarks.cookie_bench",
    "benchmarks.flask_bench",
    "benchmarks.django_bench",
    "benchmarks.redis_bench",
    "benchmarks.sql_bench",
    "benchmarks.e2e_bench",
    "benchmarks.scale_bench",
)


def main() -> int:
    """Run each present module; the exit status is non-zero if any of them failed."""
    failed: list[str] = []
    for name in MODULES:
        if importlib.util.find_spec(name) is None:
            continue
        print(f"\n## {name}\n", flush=True)
        if subprocess.run([sys.executable, "-m", name], check=False).returncode != 0:
            failed.append(name)
    if failed:
        print(f"\nfailed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
