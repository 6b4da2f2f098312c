"""``python -m benchmarks.fuzz -n 1000000``: see :mod:`benchmarks.fuzz`."""

from __future__ import annotations

import argparse

from . import SHARES, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fuzz Sojourn's parsers, transports, adapters.")
    parser.add_argument("-n", type=int, default=100_000, help="inputs in all (default 100000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--targets",
        default=",".join(SHARES),
        help=f"comma-separated subset of: {', '.join(SHARES)}",
    )
    args = parser.parse_args(argv)
    targets = [t.strip() for t in args.targets.split(",") if t.strip()]
    unknown = [t for t in targets if t not in SHARES]
    if unknown or not targets or args.n < len(targets):
        parser.error(f"bad --targets or -n: {', '.join(unknown) or args.n}")
    outcomes = run(args.n, seed=args.seed, targets=targets)
    return 1 if any(o.failures for o in outcomes) else 0


if __name__ == "__main__":
    raise SystemExit(main())
