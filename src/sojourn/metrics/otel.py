"""Session metrics for OpenTelemetry, through opentelemetry-api (``pip install 'sojourn[otel]'``).

``OpenTelemetryMetrics()`` creates its instruments on a meter (the global meter provider's
``sojourn`` meter unless given one); the application's SDK and exporter decide where they go.
The instruments match :mod:`sojourn.metrics.prometheus` one for one (see ``docs/metrics.md``);
attributes are closed sets the library chooses, never an ID or a principal.
"""

from __future__ import annotations

try:
    from opentelemetry import metrics as otel_metrics
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError(
        "sojourn.metrics.otel needs opentelemetry-api: pip install 'sojourn[otel]'"
    ) from exc

from collections.abc import Iterable, Mapping

from opentelemetry.metrics import CallbackOptions, Counter, Meter, Observation

from .._core.observe import ErrorKind
from ._active import DEFAULT_COUNT_EVERY
from ._observer import STORE_CALL_BUCKETS, CounterName, MetricsObserver

Attributes = Mapping[str, str]


class OpenTelemetryMetrics(MetricsObserver):
    """Counters, a store-call histogram and an observable active-sessions gauge on a meter.

    Args:
        meter: where the instruments are created; ``get_meter("sojourn")`` of the global
            meter provider when ``None``.
        count_every: seconds a count of live sessions is reused, as for
            :class:`~sojourn.metrics.MetricsObserver` (raises ``ConfigurationError`` for an
            interval that is not a positive number of seconds).
        count_store: the store the live-sessions gauge counts, as for
            :class:`~sojourn.metrics.MetricsObserver`.
    """

    def __init__(
        self,
        meter: Meter | None = None,
        *,
        count_every: float = DEFAULT_COUNT_EVERY,
        count_store: object | None = None,
    ) -> None:
        super().__init__(count_every=count_every, count_store=count_store)
        self.meter = otel_metrics.get_meter("sojourn") if meter is None else meter
        make = self.meter.create_counter
        # (counter, the attribute its label goes in); the names follow OpenTelemetry's dots.
        self._counters: dict[CounterName, tuple[Counter, str | None]] = {
            "created": (make("sojourn.sessions.created", "{session}", "Sessions created."), None),
            "rotated": (
                make("sojourn.sessions.rotated", "{session}", "Session IDs rotated, by kind."),
                "kind",
            ),
            "destroyed": (
                make("sojourn.sessions.destroyed", "{session}", "Sessions ended, by reason."),
                "reason",
            ),
            "expired": (
                make("sojourn.sessions.expired", "{session}", "Sessions found expired, by how."),
                "how",
            ),
            "corrupt_records": (
                make("sojourn.corrupt_records", "{record}", "Stored sessions not decodable."),
                None,
            ),
            "ambiguous_cookies": (
                make("sojourn.ambiguous_cookies", "{request}", "Requests with several live IDs."),
                None,
            ),
        }
        self._errors = make(
            "sojourn.store.errors", "{call}", "Store calls that raised, by operation and kind."
        )
        self._latency = self.meter.create_histogram(
            "sojourn.store.call.duration",
            "s",
            "Seconds each store call took, by operation.",
            explicit_bucket_boundaries_advisory=STORE_CALL_BUCKETS,
        )
        self.meter.create_observable_gauge(
            "sojourn.sessions.active",
            [self._observe_active],
            "{session}",
            "Live sessions in the store (its count, cached).",
        )
        # Attribute mappings built once per label, not per call.
        self._attributes: dict[tuple[CounterName, str | None], Attributes | None] = {}
        self._operations: dict[str, Attributes] = {}

    def _count(self, name: CounterName, label: str | None) -> None:
        key = (name, label)
        counter, attribute = self._counters[name]
        if key not in self._attributes:
            self._attributes[key] = None if attribute is None else {attribute: label or ""}
        counter.add(1, self._attributes[key])

    def record_store_call(self, operation: str, seconds: float, error: ErrorKind | None) -> None:
        """See :meth:`sojourn.metrics.Observer.record_store_call`."""
        attributes = self._operations.get(operation)
        if attributes is None:
            attributes = self._operations[operation] = {"operation": operation}
        self._latency.record(seconds, attributes)
        if error is not None:
            self._errors.add(1, {"operation": operation, "kind": error})

    def _observe_active(self, options: CallbackOptions) -> Iterable[Observation]:
        value = self.active.value()
        return [] if value is None else [Observation(value)]


__all__ = ["OpenTelemetryMetrics"]
