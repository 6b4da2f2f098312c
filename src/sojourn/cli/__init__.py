"""The ``sojourn`` command: ``sojourn demo``, ``count``, ``purge`` and ``keygen``.

Click is an extra (``pip install 'sojourn[cli]'``); without it the command says so and exits.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

MISSING_CLICK = "the sojourn command needs click: pip install 'sojourn[cli]'"


def main(argv: Sequence[str] | None = None) -> None:
    """Entry point of the ``sojourn`` console script."""
    try:
        import click  # noqa: F401  (only checking that the extra is installed)
    except ImportError:
        print(MISSING_CLICK, file=sys.stderr)
        raise SystemExit(2) from None
    from ._commands import cli

    cli.main(args=list(argv) if argv is not None else None, prog_name="sojourn")


__all__ = [
    "MISSING_CLICK",
    "main",
]
