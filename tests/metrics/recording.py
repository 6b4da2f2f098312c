"""An observer that writes down what it is told, for tests that check what the manager reports."""

from __future__ import annotations

from dataclasses import dataclass, field

from sojourn import Manager, SessionEvent
from sojourn.metrics import AnomalyKind, ErrorKind


@dataclass
class Recorder:
    """Every report, in order (an :class:`sojourn.metrics.Observer`)."""

    calls: list[tuple[str, float, ErrorKind | None]] = field(default_factory=list)
    anomalies: list[AnomalyKind] = field(default_factory=list)
    events: list[SessionEvent] = field(default_factory=list)
    watched: list[object] = field(default_factory=list)

    def record_store_call(self, operation: str, seconds: float, error: ErrorKind | None) -> None:
        self.calls.append((operation, seconds, error))

    def record_anomaly(self, kind: AnomalyKind) -> None:
        self.anomalies.append(kind)

    def record_event(self, event: SessionEvent) -> None:
        self.events.append(event)

    def watch(self, store: object) -> None:
        self.watched.append(store)

    @property
    def operations(self) -> list[str]:
        return [operation for operation, _, _ in self.calls]

    @property
    def errors(self) -> list[tuple[str, ErrorKind]]:
        return [(operation, error) for operation, _, error in self.calls if error is not None]


def stored(manager: Manager) -> str:
    """The ID of a new session holding one value, committed through a sync ``manager``."""
    session = manager.load([])
    session["n"] = 1
    session_id = manager.commit(session).session_id
    assert session_id is not None
    return session_id


__all__ = ["Recorder", "stored"]
