"""The overhead table shared by the framework benchmarks: µs over a bare baseline, and ratios.

Each row is one session layer; each request kind gets its µs over the framework with no
session, and that overhead as a ratio to two peers' overheads, so a reader sees at once how a
row compares with what an app switches from and with the nearest server-side peer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

Cell = tuple[str, str]


def overhead_table(
    medians: Mapping[Cell, float],
    *,
    baseline: Cell,
    title: str,
    setups: Sequence[str],
    requests: Sequence[str],
    peers: Sequence[tuple[str, str]],
) -> str:
    """A markdown table of each setup's overhead per request kind, with a ratio per peer.

    Args:
        medians: µs per request for every ``(setup, request)`` cell, and for ``baseline``.
        title: what the baseline is ("Flask with no session").
        peers: ``(column label, setup)`` pairs whose overheads the ratios divide by.
    """
    bare = medians[baseline]
    ratios = " | ".join(f"vs {label}" for label, _ in peers)
    aligns = " ---: |" * (1 + len(peers))
    lines = [
        f"{title}: {bare:.1f} µs per request; rows give µs over it, and the ratio of that to "
        + " and to ".join(f"{setup}'s" for _, setup in peers),
        "",
        "| setup | " + " | ".join(f"{r} µs | {ratios}" for r in requests) + " |",
        "| --- |" + aligns * len(requests),
    ]
    for setup in setups:
        row = [setup]
        for request in requests:
            over = medians[(setup, request)] - bare
            row.append(f"+{over:.1f}")
            row += [f"{over / (medians[(peer, request)] - bare):.2f}x" for _, peer in peers]
        lines.append("| " + " | ".join(row) + " |")
    return "\n".join(lines)
