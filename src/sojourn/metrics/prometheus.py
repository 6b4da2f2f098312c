"""Session metrics for Prometheus, through prometheus-client (extra ``prometheus``).

``PrometheusMetrics()`` registers its metrics in a registry (prometheus-client's default one
unless given another); pass it as ``metrics=`` to a manager or an adapter, and expose the
registry at ``/metrics`` as usual (``prometheus_client.make_asgi_app``, ``make_wsgi_app`` or
``generate_latest``). What each metric means: ``docs/metrics.md``.

Labels are closed sets the library chooses (operations, error kinds, event reasons), never an
ID, a principal or anything a client sends, so the number of series stays small and fixed.
"""

from __future__ import annotations

try:
    import prometheus_client
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sojourn.metrics.prometheus needs prometheus-client: pip install 'sojourn[prometheus]'"
    ) from exc

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from .._core.observe import ErrorKind
from ._active import DEFAULT_COUNT_EVERY, ActiveSessions
from ._observer import STORE_CALL_BUCKETS, CounterName, MetricsObserver


class PrometheusMetrics(MetricsObserver):
    """Counters, a store-call histogram and an active-sessions gauge in a Prometheus registry.

    Args:
        registry: where the metrics are registered; prometheus-client's default registry when
            ``None``. One ``PrometheusMetrics`` per registry (a second one would register the
            same names twice, which prometheus-client refuses).
        namespace: the prefix of every metric name (``sojourn_sessions_created_total``).
        count_every: seconds a count of live sessions is reused, as for
            :class:`~sojourn.metrics.MetricsObserver` (raises ``ConfigurationError`` for an
            interval that is not a positive number of seconds).
        count_store: the store the live-sessions gauge counts, as for
            :class:`~sojourn.metrics.MetricsObserver`.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        namespace: str = "sojourn",
        *,
        count_every: float = DEFAULT_COUNT_EVERY,
        count_store: object | None = None,
    ) -> None:
        super().__init__(count_every=count_every, count_store=count_store)
        self.registry = prometheus_client.REGISTRY if registry is None else registry
        self.namespace = namespace
        counter = self._counter
        self._counters: dict[CounterName, prometheus_client.Counter] = {
            "created": counter("sessions_created", "Sessions created."),
            "rotated": counter("sessions_rotated", "Session IDs rotated, by kind.", "kind"),
            "destroyed": counter("sessions_destroyed", "Sessions ended, by reason.", "reason"),
            "expired": counter("sessions_expired", "Sessions found expired, by how.", "how"),
            "corrupt_records": counter(
                "corrupt_records", "Stored sessions that could not be decoded."
            ),
            "ambiguous_cookies": counter(
                "ambiguous_cookies", "Requests carrying several live session IDs."
            ),
        }
        self._errors = counter(
            "store_errors", "Store calls that raised, by operation and kind.", "operation", "kind"
        )
        self._latency = prometheus_client.Histogram(
            "store_call_seconds",
            "Seconds each store call took, by operation.",
            ["operation"],
            namespace=namespace,
            registry=self.registry,
            buckets=STORE_CALL_BUCKETS,
        )
        self._gauge = _ActiveSessionsCollector(f"{namespace}_active_sessions", self.active)
        self.registry.register(self._gauge)
        # Label lookups take prometheus-client's lock; the children are looked up once.
        self._children: dict[tuple[CounterName, str | None], prometheus_client.Counter] = {}
        self._timers: dict[str, prometheus_client.Histogram] = {}

    def _counter(self, name: str, documentation: str, *labels: str) -> prometheus_client.Counter:
        return prometheus_client.Counter(
            name, documentation, labels, namespace=self.namespace, registry=self.registry
        )

    def _count(self, name: CounterName, label: str | None) -> None:
        child = self._children.get((name, label))
        if child is None:
            parent = self._counters[name]
            child = parent if label is None else parent.labels(label)
            self._children[(name, label)] = child
        child.inc()

    def record_store_call(self, operation: str, seconds: float, error: ErrorKind | None) -> None:
        """See :meth:`sojourn.metrics.Observer.record_store_call`."""
        timer = self._timers.get(operation)
        if timer is None:
            timer = self._timers[operation] = self._latency.labels(operation)
        timer.observe(seconds)
        if error is not None:
            self._errors.labels(operation, error).inc()


class _ActiveSessionsCollector(Collector):
    """The live-sessions gauge, computed on scrape (a custom collector, so that nothing counts
    between scrapes)."""

    def __init__(self, name: str, active: ActiveSessions) -> None:
        self.name = name
        self.active = active

    def _family(self) -> GaugeMetricFamily:
        return GaugeMetricFamily(self.name, "Live sessions in the store (its count, cached).")

    def describe(self) -> list[Metric]:
        return [self._family()]  # registering must not count the store

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        value = self.active.value()
        if value is not None:
            family.add_metric([], value)
        yield family


__all__ = ["STORE_CALL_BUCKETS", "PrometheusMetrics"]
