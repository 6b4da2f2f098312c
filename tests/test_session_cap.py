"""SEC-63 at the manager: a cap on sessions per user, configured on the engine.

With ``max_sessions_per_user=1`` the second login either ends the first session (evicting it,
with a ``destroyed`` / ``evicted`` event) or fails with ``TooManySessions``, leaving the new
login's session as it was. The concurrent, multi-server and per-store proofs are
``tests/races/test_session_cap.py`` and the cap contract in :mod:`sojourn.testing`.
"""

from __future__ import annotations

import pytest

from sojourn import (
    ConfigurationError,
    Engine,
    Manager,
    MemoryStore,
    SessionEvent,
    TooManySessions,
    fingerprint,
)
from sojourn._core.ids import marker_key, store_key
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.testing import FakeClock

pytestmark = pytest.mark.sec("SEC-63")


def manager(store: MemoryStore, on_cap: str, events: list[SessionEvent]) -> Manager:
    engine = Engine(max_sessions_per_user=1, on_cap=on_cap)
    return Manager(store, engine, clock=FakeClock(), hooks=[events.append])


def form(m: Manager) -> str:
    """The ID of an anonymous session with data: a login form's."""
    session = m.load([])
    session["cart"] = "3"
    session_id = m.commit(session).session_id
    assert session_id is not None
    return session_id


def login(m: Manager, session_id: str | None, user: str = "alice") -> str | None:
    session = m.load([session_id] if session_id else [])
    session.login(user)
    return m.commit(session).session_id


def test_with_a_cap_of_one_the_second_login_evicts_the_first() -> None:
    store, events = MemoryStore(), list[SessionEvent]()
    m = manager(store, "evict_oldest", events)
    first = login(m, None)
    assert first is not None
    second = login(m, form(m))
    assert second is not None
    assert m.load([first]).is_new  # the first session is over
    assert m.load([second]).principal == "alice"
    [evicted] = [e for e in events if e.kind == "destroyed"]
    assert (evicted.reason, evicted.principal) == ("evicted", "alice")
    assert evicted.fingerprint == fingerprint(first)
    assert [r.key for r in store.sessions_of("alice", m.clock())] == [store_key(second)]


def test_with_a_cap_of_one_the_second_login_is_refused_and_changes_nothing() -> None:
    store, events = MemoryStore(), list[SessionEvent]()
    m = manager(store, "refuse", events)
    first = login(m, None)
    assert first is not None
    presented = form(m)
    session = m.load([presented])
    session.login("alice")
    events.clear()
    with pytest.raises(TooManySessions) as refused:
        m.commit(session)
    assert refused.value.limit == 1
    assert refused.value.reason == "refused"
    assert events == []  # nothing was created, rotated or destroyed
    kept = m.load([presented])  # the form's session, under its ID, as it was
    assert (dict(kept), kept.principal) == ({"cart": "3"}, None)
    assert store.load(marker_key(store_key(presented)), m.clock()) is None  # no stray marker
    assert m.load([first]).principal == "alice"
    assert [r.key for r in store.sessions_of("alice", m.clock())] == [store_key(first)]


def test_a_refused_login_with_no_session_stores_nothing() -> None:
    store, events = MemoryStore(), list[SessionEvent]()
    m = manager(store, "refuse", events)
    login(m, None)
    with pytest.raises(TooManySessions):
        login(m, None)
    assert store.count(m.clock()) == 1


def test_other_users_and_logouts_do_not_count() -> None:
    store, events = MemoryStore(), list[SessionEvent]()
    m = manager(store, "refuse", events)
    assert login(m, None, "bob") is not None
    first = login(m, None)
    session = m.load([first] if first else [])
    session.invalidate()
    m.commit(session)
    assert login(m, None) is not None  # alice's only live session now


def test_the_engine_checks_the_cap_options() -> None:
    for bad in (0, -1, True, 1.5, "3"):
        with pytest.raises(ConfigurationError, match="max_sessions_per_user"):
            Engine(max_sessions_per_user=bad)  # type: ignore[arg-type]
    with pytest.raises(ConfigurationError, match="on_cap"):
        Engine(max_sessions_per_user=3, on_cap="drop")


def test_a_store_that_cannot_cap_is_refused_when_the_manager_is_made() -> None:
    sealed = CookieStore(keys=[generate_key()])
    with pytest.raises(ConfigurationError, match="max_sessions_per_user"):
        Manager(sealed, Engine(max_sessions_per_user=3))
    Manager(sealed, Engine())  # no cap: no such need


def test_redis_across_cluster_slots_cannot_cap_and_says_so() -> None:
    import redis

    from sojourn.stores.redis import RedisStore

    client = redis.Redis.from_url("redis://127.0.0.1:6379/0")  # connects on first command only
    spread = RedisStore(client, cross_slot=True)  # as on Cluster, or behind a Cluster proxy
    assert not spread.supports_session_cap
    with pytest.raises(ConfigurationError, match="max_sessions_per_user"):
        Manager(spread, Engine(max_sessions_per_user=3))
    assert RedisStore(client).supports_session_cap
    Manager(RedisStore(client), Engine(max_sessions_per_user=3))
    client.close()


def test_with_metrics_the_capped_login_is_timed_and_the_eviction_counted() -> None:
    from tests.metrics.recording import Recorder

    recorder = Recorder()
    m = Manager(MemoryStore(), Engine(max_sessions_per_user=1), metrics=recorder)
    first = login(m, None)
    second = login(m, form(m))
    # The second login: its rotation, the rotation's marker and its capped change set, each
    # timed under its operation.
    assert recorder.operations[-3:] == ["rename", "create", "apply"]
    assert first is not None
    assert second is not None
    assert m.load([first]).is_new
    assert [(e.kind, e.reason) for e in recorder.events if e.kind == "destroyed"] == [
        ("destroyed", "evicted")
    ]


def test_a_migration_cut_over_cannot_cap_and_says_so() -> None:
    from sojourn.stores.migrating import MigratingStore

    moving = MigratingStore(MemoryStore(), MemoryStore())
    with pytest.raises(ConfigurationError, match="max_sessions_per_user"):
        Manager(moving, Engine(max_sessions_per_user=3))


def test_an_eviction_is_in_the_security_trail_without_hooks(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import logging

    caplog.set_level(logging.INFO, logger="sojourn.security")
    m = Manager(MemoryStore(), Engine(max_sessions_per_user=1), clock=FakeClock())
    first = login(m, None)
    assert first is not None
    login(m, None)
    trail = [r.getMessage() for r in caplog.records if r.name == "sojourn.security"]
    assert f"session.destroyed: session {fingerprint(first)} (evicted)" in trail
    assert all(first not in line for line in trail)  # by fingerprint only, never the ID
