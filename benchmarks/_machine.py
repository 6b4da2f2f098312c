"""What the benchmarks say about the machine and their samples: load average and percentiles.

The machines these run on are shared and noisy, so every figure is a median over interleaved
rounds and every run prints the load average before and after: a reader can tell a quiet run
from one that shared its cores with something else, and discount it.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence


def load_average() -> str:
    """The 1, 5 and 15 minute load averages with the core count, for a run's header/footer."""
    one, five, fifteen = os.getloadavg()
    return f"load average {one:.2f} {five:.2f} {fifteen:.2f} on {os.cpu_count()} cores"


def percentile(values: Sequence[float], fraction: float) -> float:
    """The nearest-rank percentile: a value that was measured, never an interpolation."""
    ordered = sorted(values)
    rank = max(1, math.ceil(fraction * len(ordered)))
    return ordered[rank - 1]
