"""Why sessions ended: the demo's memory of lifecycle events, so the next page can say it.

A revoked or expired session leaves nothing in the store, and the browser that held it only
has a dead cookie. The demo registers :meth:`Ledger.hook` as a lifecycle hook (``hooks=``) and
remembers, per fingerprint, how each session ended. A page that receives a cookie the store no
longer knows looks the cookie's fingerprint up here: the reason shown always comes from the
server's own record, never from anything the client sent, and it decides nothing but the
wording of a notice.

The ledger lives in the process (bounded, entries forgotten after an hour): a restarted demo
forgets why old sessions ended and says so. A real application would log these events instead.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from typing import TypeVar

from .._core.events import CREATED, DESTROYED, EXPIRED, ROTATED, SessionEvent

SIGNED_OUT = "signed_out"
REVOKED = "revoked"
REVOKED_ALL = "revoked_all"
EVICTED = "evicted"
ROTATED_AWAY = "rotated"
EXPIRED_IDLE = "expired_idle"
EXPIRED_ABSOLUTE = "expired_absolute"
EXPIRED_UNKNOWN = "expired"
ENDED_OTHER = "ended"

_DESTROYED_REASONS = {
    "logout": SIGNED_OUT,
    "revoked": REVOKED,
    "revoked_all": REVOKED_ALL,
    "evicted": EVICTED,
}

_V = TypeVar("_V")

CAPACITY = 10_000
KEEP_SECONDS = 3600.0
MAX_HOPS = 8  # successors followed at most (each rotation of one session is one hop)


@dataclass(frozen=True, slots=True)
class Ending:
    """How one session ended: one of the reason constants above, when, and (for a rotation)
    the label of the ID that replaced it."""

    reason: str
    at: float
    successor: str | None = None


class Ledger:
    """Fingerprint → how that session ended, fed by the manager's lifecycle events.

    Args:
        lifetime: the sessions' absolute lifetime, to tell an idle expiry from an absolute one
            (an event says only that a session expired; the ledger knows when it began).
        capacity: at most this many fingerprints are remembered (oldest forgotten first).
    """

    def __init__(self, lifetime: float, capacity: int = CAPACITY) -> None:
        self.lifetime = lifetime
        self.capacity = capacity
        self._ends: OrderedDict[str, Ending] = OrderedDict()
        self._deadlines: OrderedDict[str, float] = OrderedDict()

    def hook(self, event: SessionEvent) -> None:
        """The lifecycle hook: remember deadlines of live sessions and endings of dead ones."""
        if event.kind == CREATED:
            self._remember(self._deadlines, event.fingerprint, event.at + self.lifetime)
        elif event.kind == ROTATED and event.successor is not None:
            carried = self._deadlines.pop(event.fingerprint, None)
            # A login restarts the absolute lifetime; other rotations carry it over.
            deadline = event.at + self.lifetime if event.reason == "login" else carried
            if deadline is not None:
                self._remember(self._deadlines, event.successor, deadline)
            ending = Ending(ROTATED_AWAY, event.at, event.successor)
            self._remember(self._ends, event.fingerprint, ending)
        elif event.kind == DESTROYED:
            self._deadlines.pop(event.fingerprint, None)
            reason = _DESTROYED_REASONS.get(event.reason or "", ENDED_OTHER)
            self._remember(self._ends, event.fingerprint, Ending(reason, event.at))
        elif event.kind == EXPIRED:
            deadline = self._deadlines.pop(event.fingerprint, None)
            if deadline is None:
                reason = EXPIRED_UNKNOWN
            else:
                reason = EXPIRED_ABSOLUTE if event.at >= deadline else EXPIRED_IDLE
            self._remember(self._ends, event.fingerprint, Ending(reason, event.at))

    def ending(self, fingerprint: str | None, now: float) -> Ending | None:
        """How the session labelled ``fingerprint`` ended, if this process saw it end lately."""
        if not fingerprint:
            return None
        ending = self._ends.get(fingerprint)
        if ending is None or now - ending.at > KEEP_SECONDS:
            return None
        # A rotated ID lived on under its successor: if that ended too, that is the news.
        for _ in range(MAX_HOPS):
            later = self._ends.get(ending.successor or "")
            if later is None or now - later.at > KEEP_SECONDS:
                break
            ending = later
        return ending

    def _remember(self, table: OrderedDict[str, _V], key: str, value: _V) -> None:
        table[key] = value
        table.move_to_end(key)
        while len(table) > self.capacity:
            table.popitem(last=False)


__all__ = [
    "ENDED_OTHER",
    "EVICTED",
    "EXPIRED_ABSOLUTE",
    "EXPIRED_IDLE",
    "EXPIRED_UNKNOWN",
    "KEEP_SECONDS",
    "MAX_HOPS",
    "REVOKED",
    "REVOKED_ALL",
    "ROTATED_AWAY",
    "SIGNED_OUT",
    "Ending",
    "Ledger",
]
