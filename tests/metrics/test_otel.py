"""OpenTelemetryMetrics: the counts Prometheus has, read back with the SDK's in-memory reader."""

from __future__ import annotations

import time
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

from sojourn import Manager, MemoryStore
from sojourn.metrics.otel import OpenTelemetryMetrics
from tests.metrics.conftest import names_the_extra
from tests.metrics.recording import stored


class Read:
    """Every data point the reader collected, by instrument name."""

    def __init__(self, reader: InMemoryMetricReader) -> None:
        data = reader.get_metrics_data()
        assert data is not None
        self.points: dict[str, list[Any]] = {}
        for resource in data.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    self.points[metric.name] = list(metric.data.data_points)

    def total(self, name: str, **attributes: str) -> float:
        return sum(  # type: ignore[no-any-return]  # the SDK's data points are untyped here
            p.value for p in self.points.get(name, []) if dict(p.attributes or {}) == attributes
        )

    def histogram_count(self, name: str, **attributes: str) -> int:
        return sum(
            p.count for p in self.points.get(name, []) if dict(p.attributes or {}) == attributes
        )


@pytest.fixture
def reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


def metered(reader: InMemoryMetricReader, store: MemoryStore) -> tuple[Manager, MeterProvider]:
    provider = MeterProvider(metric_readers=[reader])
    metrics = OpenTelemetryMetrics(provider.get_meter("sojourn-test"))
    return Manager(store, metrics=metrics), provider


def test_the_lifecycle_store_calls_and_gauge_are_recorded(reader: InMemoryMetricReader) -> None:
    store = MemoryStore()
    manager, provider = metered(reader, store)
    session = manager.load([])
    session["cart"] = "1"
    session_id = manager.commit(session).session_id
    assert session_id is not None
    session = manager.load([session_id])
    session.login("alice")
    new = manager.commit(session).session_id
    assert new is not None
    session = manager.load([new])
    session.invalidate()
    manager.commit(session)
    manager.load([new])
    manager.commit(manager.load([]))
    second = manager.load([])
    second["x"] = 1
    manager.commit(second)

    read = Read(reader)
    assert read.total("sojourn.sessions.created") == 2
    assert read.total("sojourn.sessions.rotated", kind="login") == 1
    assert read.total("sojourn.sessions.destroyed", reason="logout") == 1
    # Two sessions, and the successor marker the login's rotation leaves: three creates.
    assert read.histogram_count("sojourn.store.call.duration", operation="create") == 3
    assert read.histogram_count("sojourn.store.call.duration", operation="load") >= 3
    assert read.histogram_count("sojourn.store.call.duration", operation="rename") == 1
    # A sync store is counted in the collecting thread, on the first collection: its count,
    # which holds the live session and the login's short-lived successor marker.
    assert read.total("sojourn.sessions.active") == store.count(time.time()) == 2
    provider.shutdown()


def test_anomalies_and_store_errors_are_recorded(reader: InMemoryMetricReader) -> None:
    store = MemoryStore()
    manager, provider = metered(reader, store)
    ids = [stored(manager), stored(manager)]
    assert manager.load(ids).is_new  # two live IDs in one request
    assert manager.metrics is not None
    manager.metrics.record_store_call("load", 0.5, "timeout")
    read = Read(reader)
    assert read.total("sojourn.ambiguous_cookies") == 1
    assert read.total("sojourn.store.errors", operation="load", kind="timeout") == 1
    provider.shutdown()


def test_the_module_names_the_extra_when_opentelemetry_is_missing() -> None:
    assert names_the_extra("opentelemetry", "sojourn.metrics.otel", "otel")
