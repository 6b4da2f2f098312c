"""What the Prometheus and OpenTelemetry observers share: which counter each report moves.

A backend supplies three things — how to add one to a counter (by name and label), how to
record a store call, and where the active-sessions count is read — and this base class maps
the manager's reports onto them, so both backends count exactly the same things.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from .._core.events import SessionEvent
from .._core.observe import CORRUPT_RECORD, AnomalyKind, ErrorKind
from ._active import DEFAULT_COUNT_EVERY, ActiveSessions

CounterName = str
"""``created``, ``rotated``, ``destroyed``, ``expired`` (the event kinds, labelled by the
event's reason), ``corrupt_records`` and ``ambiguous_cookies`` (no label)."""

UNKNOWN = "unknown"  # the label of an event that names no reason

STORE_CALL_BUCKETS = (
    0.00005, 0.0001, 0.00025, 0.0005,
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
    0.1, 0.25, 0.5, 1.0, 2.0, 4.0,
)  # fmt: skip
"""Histogram bounds in seconds: from an in-process store's 50 µs to the store timeout's 2 s,
and a little past it, where calls that hit the bound land."""


class MetricsObserver(ABC):
    """The base of :class:`~sojourn.metrics.prometheus.PrometheusMetrics` and
    :class:`~sojourn.metrics.otel.OpenTelemetryMetrics` (an :class:`~sojourn.metrics.Observer`).

    Args:
        count_every: seconds a count of live sessions is reused (``count`` walks the store).
        count_store: the store to count live sessions in; by default the store of the first
            manager given this observer. Pass a sync store to count an async app's sessions
            from a scrape that does not run on the app's event loop.
    """

    def __init__(
        self, *, count_every: float = DEFAULT_COUNT_EVERY, count_store: object | None = None
    ) -> None:
        self.active = ActiveSessions(count_every, count_store)

    @abstractmethod
    def _count(self, name: CounterName, label: str | None) -> None:
        """Add one to the counter ``name`` (with ``label`` when it has one)."""

    @abstractmethod
    def record_store_call(self, operation: str, seconds: float, error: ErrorKind | None) -> None:
        """See :meth:`sojourn.metrics.Observer.record_store_call`."""

    def record_event(self, event: SessionEvent) -> None:
        """See :meth:`sojourn.metrics.Observer.record_event`."""
        self._count(event.kind, None if event.kind == "created" else event.reason or UNKNOWN)

    def record_anomaly(self, kind: AnomalyKind) -> None:
        """See :meth:`sojourn.metrics.Observer.record_anomaly`."""
        self._count("corrupt_records" if kind == CORRUPT_RECORD else "ambiguous_cookies", None)

    def watch(self, store: object) -> None:
        """See :meth:`sojourn.metrics.Observer.watch`."""
        self.active.watch(store)


__all__ = ["STORE_CALL_BUCKETS", "UNKNOWN", "CounterName", "MetricsObserver"]
