"""Lifecycle events at the manager: the edges the per-store contracts do not reach.

Sealed cookies (what the manager can see there), logouts that a rotation elsewhere moved away,
hook validation, and the cost of having no hooks. The per-transition, per-store proofs are the
event contracts of :mod:`sojourn.testing`, run by ``tests/conformance/``.
"""

from __future__ import annotations

import pytest

from sojourn import ConfigurationError, Engine, Manager, MemoryStore, Policy, SessionEvent
from sojourn import fingerprint as fingerprint_of
from sojourn._core.ids import store_key
from sojourn.stores.base import Record
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.testing import FakeClock
from sojourn.testing._sync.events import Witness


class CountingMemory(MemoryStore):
    """A real memory store that counts the calls lifecycle events may add."""

    def __init__(self) -> None:
        super().__init__()
        self.takes = 0
        self.loads = 0

    def load(self, key: str, now: float, renewal: object = None) -> Record | None:
        self.loads += 1
        return super().load(key, now, renewal)  # type: ignore[arg-type]

    def take_expired(self, key: str, now: float) -> Record | None:
        self.takes += 1
        return super().take_expired(key, now)


def stored(m: Manager, principal: str | None = None) -> str:
    session = m.load([])
    session["cart"] = "1"
    if principal is not None:
        session.login(principal)
    session_id = m.commit(session).session_id
    assert session_id is not None
    return session_id


def test_no_hooks_no_handover_and_no_extra_load() -> None:
    store, clock = CountingMemory(), FakeClock()
    m = Manager(store, Engine(policy=Policy(idle_timeout=60)), clock=clock)
    session_id = stored(m)
    clock.advance(61)
    store.loads = 0
    assert m.load([session_id]).is_new
    assert (store.loads, store.takes) == (1, 0)
    m.delete(session_id)
    assert store.loads == 1  # a delete by ID loads nothing to describe it without hooks


def test_with_hooks_a_live_session_costs_no_handover() -> None:
    store, clock = CountingMemory(), FakeClock()
    m = Manager(store, clock=clock, hooks=[Witness()])
    session_id = stored(m)
    assert not m.load([session_id]).is_new
    assert m.load(["not-a-well-formed-id"]).is_new
    assert store.takes == 0  # asked only when a well-formed ID missed


def test_a_stale_logout_after_a_login_elsewhere_destroys_nothing() -> None:
    hook = Witness()
    m = Manager(MemoryStore(), clock=FakeClock(), hooks=[hook])
    session_id = stored(m)
    stale = m.load([session_id])
    login = m.load([session_id])
    login.login("hal")
    m.commit(login)
    hook.events.clear()
    stale.invalidate()
    assert m.commit(stale).gone  # the client holds the login's ID: nothing is cleared
    assert hook.events == []


def test_a_stale_logout_after_a_regenerate_ends_the_successor_once() -> None:
    hook = Witness()
    m = Manager(MemoryStore(), clock=FakeClock(), hooks=[hook])
    session_id = stored(m, "ivy")
    stale = m.load([session_id])
    regenerate = m.load([session_id])
    regenerate.regenerate()
    new = m.commit(regenerate).session_id
    assert new is not None
    hook.events.clear()
    stale.invalidate()
    m.commit(stale)
    assert [(e.kind, e.reason) for e in hook.events] == [("destroyed", "logout")]
    assert m.load([new]).is_new  # the successor ended with it


def test_sealed_cookies_fire_created_rotated_and_destroyed() -> None:
    hook, clock = Witness(), FakeClock()
    m = Manager(CookieStore([generate_key()]), clock=clock, hooks=[hook])
    session = m.load([])  # one session object through three commits, as a framework may do
    session["cart"] = "1"
    assert m.commit(session, final=False).headers  # the sealed cookie
    created = hook.only()
    assert (created.kind, created.principal) == ("created", None)
    session.login("jo")
    m.commit(session, final=False)
    session.invalidate()
    m.commit(session)
    assert [(e.kind, e.reason) for e in hook.events] == [
        ("created", None),
        ("rotated", "login"),
        ("destroyed", "logout"),
    ]
    rotated, destroyed = hook.events[1:]
    assert rotated.fingerprint == created.fingerprint
    assert (destroyed.fingerprint, destroyed.principal) == (rotated.successor, "jo")


def test_a_sync_manager_refuses_an_async_hook() -> None:
    async def later(event: SessionEvent) -> None:
        """Never awaited by a sync manager."""

    with pytest.raises(ConfigurationError, match="later is async"):
        Manager(MemoryStore(), hooks=[later])  # type: ignore[list-item]


def test_a_hook_must_be_callable() -> None:
    with pytest.raises(ConfigurationError, match="hooks must be callables"):
        Manager(MemoryStore(), hooks=["not a hook"])  # type: ignore[list-item]


def test_an_event_names_the_session_by_fingerprint_only() -> None:
    hook = Witness()
    m = Manager(MemoryStore(), clock=FakeClock(), hooks=[hook])
    session_id = stored(m, "kim")
    event = hook.only()
    assert event.fingerprint == fingerprint_of(session_id)
    assert session_id not in repr(event)
    assert store_key(session_id) not in repr(event)
    assert "cart" not in repr(event)  # never the data
