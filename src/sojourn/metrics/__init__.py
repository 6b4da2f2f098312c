"""Metrics for session operations: give a manager (or an adapter) ``metrics=``.

- :mod:`sojourn.metrics.prometheus` — ``PrometheusMetrics`` (extra ``prometheus``).
- :mod:`sojourn.metrics.otel` — ``OpenTelemetryMetrics`` (extra ``otel``).

Both count the lifecycle (created, rotated, destroyed, expired), store errors by operation and
kind, corrupt records and ambiguous cookies; time every store call by operation; and report
the live sessions from the store's ``count`` on scrape. An application's own observer need
only implement :class:`Observer`. Importing this package needs neither extra; see
``docs/metrics.md``.
"""

from .._core.observe import AMBIGUOUS_COOKIE as AMBIGUOUS_COOKIE
from .._core.observe import CORRUPT as CORRUPT
from .._core.observe import CORRUPT_RECORD as CORRUPT_RECORD
from .._core.observe import OTHER as OTHER
from .._core.observe import TIMEOUT as TIMEOUT
from .._core.observe import UNAVAILABLE as UNAVAILABLE
from .._core.observe import AnomalyKind as AnomalyKind
from .._core.observe import ErrorKind as ErrorKind
from .._core.observe import Observer as Observer
from .._core.observe import error_kind as error_kind
from ._active import DEFAULT_COUNT_EVERY as DEFAULT_COUNT_EVERY
from ._active import ActiveSessions as ActiveSessions
from ._observer import MetricsObserver as MetricsObserver

__all__ = [
    "AMBIGUOUS_COOKIE",
    "CORRUPT",
    "CORRUPT_RECORD",
    "DEFAULT_COUNT_EVERY",
    "OTHER",
    "TIMEOUT",
    "UNAVAILABLE",
    "ActiveSessions",
    "AnomalyKind",
    "ErrorKind",
    "MetricsObserver",
    "Observer",
    "error_kind",
]
