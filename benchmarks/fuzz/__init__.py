"""Hostile inputs through the cookie parser, ID validation, every transport and every adapter:
``make fuzz N=1000000`` (``python -m benchmarks.fuzz -n 1000000``).

The inputs are seeded (``--seed``; input ``i`` of a target is the same on every run with the
same seed and ``-n``), drawn from the checklist's families of bad inputs
(:mod:`._inputs`), and split over the targets by :data:`SHARES`: most go to the pure targets,
which take tens of thousands a second, the rest through the adapters (each request a whole
in-process round trip on a memory store). What each target must satisfy is in
:mod:`._core_targets` and :mod:`._checks`.

Output: one line per target (inputs, failures, 409s for a session rotated or ended by an
earlier input, seconds, inputs/s), then the total and
``fuzz: PASS`` or ``fuzz: FAIL``, with the first failures of each target (input number and
what broke). The exit status is 1 on any failure.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from ._adapters import ADAPTERS, Target
from ._checks import Failure
from ._core_targets import CoreTarget

SHARES = {
    "parser": 0.16,
    "ids": 0.06,
    "transports": 0.16,
    "asgi": 0.18,
    "wsgi": 0.19,
    "flask": 0.12,
    "django": 0.12,
    "django-asgi": 0.01,  # a thread hop per request in Django's ASGI handler: ~150-250 a second
}
"""The fraction of ``-n`` each target gets (every target at least one input)."""
MAX_SAMPLES = 5


@dataclass
class Outcome:
    """One target's run."""

    target: str
    inputs: int = 0
    failures: int = 0
    seconds: float = 0.0
    samples: list[str] = field(default_factory=list)
    note: str = ""
    conflicts: int = 0

    @property
    def rate(self) -> float:
        return self.inputs / self.seconds if self.seconds else 0.0


def split(total: int, targets: list[str]) -> dict[str, int]:
    """``total`` inputs over ``targets`` by their shares, summing to ``total`` exactly."""
    weight = sum(SHARES[t] for t in targets)
    counts = {t: max(1, int(total * SHARES[t] / weight)) for t in targets}
    counts[targets[0]] += total - sum(counts.values())
    return counts


def build(name: str, seed: int) -> CoreTarget | Target:
    if name in ADAPTERS:
        return ADAPTERS[name](seed)
    return CoreTarget(name, seed)


def fuzz_target(name: str, count: int, seed: int) -> Outcome:
    """Feed ``count`` hostile inputs to target ``name``."""
    outcome = Outcome(name)
    target = build(name, seed)
    outcome.note = target.note
    started = time.perf_counter()
    try:
        for index in range(count):
            request = target.hostile.request()
            try:
                target.run_one(request)
            except Failure as exc:
                outcome.failures += 1
                if len(outcome.samples) < MAX_SAMPLES:
                    outcome.samples.append(f"input #{index} ({request.size()} bytes): {exc}")
            outcome.inputs += 1
    finally:
        target.close()
    outcome.conflicts = target.conflicts
    outcome.seconds = time.perf_counter() - started
    return outcome


def run(total: int, *, seed: int = 0, targets: list[str] | None = None) -> list[Outcome]:
    """The whole fuzz run; prints the report and returns each target's outcome."""
    names = targets or list(SHARES)
    counts = split(total, names)
    print(f"fuzz: {total} inputs, seed {seed}, targets {', '.join(names)}")
    print(
        f"{'target':<11} {'inputs':>9} {'failures':>9} {'409s':>6} {'seconds':>8} {'inputs/s':>9}"
    )
    outcomes = []
    logging.disable(logging.CRITICAL)  # security events on every hostile input: not the report
    try:
        for offset, name in enumerate(names):
            outcome = fuzz_target(name, counts[name], seed * 1000 + offset)
            outcomes.append(outcome)
            print(
                f"{name:<11} {outcome.inputs:>9} {outcome.failures:>9} {outcome.conflicts:>6} "
                f"{outcome.seconds:>8.1f} {outcome.rate:>9.0f}",
                flush=True,
            )
    finally:
        logging.disable(logging.NOTSET)
    inputs = sum(o.inputs for o in outcomes)
    failures = sum(o.failures for o in outcomes)
    seconds = sum(o.seconds for o in outcomes)
    conflicts = sum(o.conflicts for o in outcomes)
    print(
        f"{'total':<11} {inputs:>9} {failures:>9} {conflicts:>6} {seconds:>8.1f} "
        f"{inputs / seconds:>9.0f}"
    )
    for outcome in outcomes:
        if outcome.note:
            print(f"  note, {outcome.target}: {outcome.note}")
        for sample in outcome.samples:
            print(f"  {outcome.target}: {sample}")
    print("fuzz: " + ("FAIL" if failures else "PASS"))
    return outcomes


__all__ = ["SHARES", "Outcome", "run", "split"]
