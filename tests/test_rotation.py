"""Rotation as code that commits by hand sees it: the manager's typed answers and markers.

The adapters' behaviour (409, cookies) is pinned by ``tests/races/``; this module pins what
they rely on, on the sync manager over the memory and SQLite stores.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from sojourn import (
    Engine,
    Manager,
    MemoryStore,
    Policy,
    SessionEnded,
    SessionGone,
    SessionRotated,
)
from sojourn._core.ids import marker_key, store_key
from sojourn.stores.base import Store
from sojourn.stores.sqlite import SQLiteStore
from sojourn.testing._clock import FakeClock


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    made: Store = MemoryStore() if request.param == "memory" else SQLiteStore(tmp_path / "s.db")
    yield made
    made.close()


def manager(store: Store, clock: FakeClock, **policy: float) -> Manager:
    engine = Engine(policy=Policy(**policy)) if policy else Engine()
    return Manager(store, engine, clock=clock)


def stored(m: Manager, **data: str) -> str:
    session = m.load([])
    session.update(data)
    session_id = m.commit(session).session_id
    assert session_id is not None
    return session_id


def test_a_write_after_a_login_elsewhere_raises_rotated(store: Store) -> None:
    m = manager(store, FakeClock())
    old = stored(m, cart="1")
    late = m.load([old])
    login = m.load([old])
    login.login("alice")
    new = m.commit(login).session_id
    late["cart"] = "2"
    with pytest.raises(SessionRotated) as raised:
        m.commit(late)
    assert raised.value.reason == "rotated"
    assert isinstance(raised.value, SessionGone)
    assert len(late) == 0  # the session object is left empty and unsaved
    assert new is not None
    assert dict(m.load([new])) == {"cart": "1"}


def test_a_write_after_a_logout_elsewhere_raises_ended(store: Store) -> None:
    m = manager(store, FakeClock())
    sid = stored(m, cart="1")
    late = m.load([sid])
    m.delete(sid)
    late["cart"] = "2"
    with pytest.raises(SessionEnded) as raised:
        m.commit(late)
    assert raised.value.reason == "ended"
    assert store.load(store_key(sid), FakeClock()()) is None


def test_a_read_or_renewal_that_finds_its_session_gone_raises_nothing(store: Store) -> None:
    clock = FakeClock()
    m = manager(store, clock, renew_interval=0)
    sid = stored(m, cart="1")
    late = m.load([sid])
    _ = late["cart"]
    m.delete(sid)
    clock.advance(5)  # a renewal is due: its apply finds the session gone
    outcome = m.commit(late)
    assert outcome.gone
    assert outcome.headers == ()  # no cookie: not even a deletion


def test_ignore_mode_reports_gone_without_raising(store: Store) -> None:
    m = Manager(store, Engine(), clock=FakeClock(), on_lost_write="ignore")
    sid = stored(m, cart="1")
    late = m.load([sid])
    m.delete(sid)
    late["cart"] = "2"
    outcome = m.commit(late)
    assert outcome.gone
    assert outcome.headers == ()
    assert outcome.session_id is None


def test_a_login_whose_session_ended_becomes_a_fresh_authenticated_one(store: Store) -> None:
    clock = FakeClock()
    m = manager(store, clock)
    sid = stored(m, secret="s3")
    login = m.load([sid])
    m.delete(sid)  # a logout in another tab, before the login commits
    login["greeting"] = "hi"
    login.login("alice")
    outcome = m.commit(login)
    assert not outcome.gone
    assert outcome.session_id is not None
    assert any(name == "set-cookie" for name, _ in outcome.headers)
    fresh = m.load([outcome.session_id])
    assert fresh.principal == "alice"
    assert dict(fresh) == {"greeting": "hi"}  # what the login set; none of the ended data
    assert store.load(store_key(sid), clock()) is None


def test_a_regenerate_whose_session_ended_creates_nothing(store: Store) -> None:
    clock = FakeClock()
    m = manager(store, clock)
    sid = stored(m, secret="s3")
    late = m.load([sid])
    m.delete(sid)
    late.regenerate()
    outcome = m.commit(late)
    assert outcome.gone
    assert outcome.session_id is None
    assert outcome.headers == ()


def test_the_marker_names_the_successor_by_digest_and_belongs_to_no_one(store: Store) -> None:
    clock = FakeClock()
    m = manager(store, clock)
    old = stored(m, cart="1")
    session = m.load([old])
    session.login("alice")
    new = m.commit(session).session_id
    assert new is not None
    marker = store.load(marker_key(store_key(old)), clock())
    assert marker is not None
    assert marker.meta == {"rotation": "login", "successor": store_key(new)}
    assert marker.principal is None
    assert marker.fields == {}
    assert new not in repr(marker)
    assert [r.key for r in store.sessions_of("alice", clock())] == [store_key(new)]  # type: ignore[attr-defined]
    assert m.was_rotated(old)
    assert not m.was_rotated(new)
    clock.advance(31)  # markers outlive the requests in flight, and no more
    assert not m.was_rotated(old)


def test_a_stale_id_that_would_create_a_session_is_refused_as_rotated(store: Store) -> None:
    m = manager(store, FakeClock())
    old = stored(m, cart="1")
    session = m.load([old])
    session.login("alice")
    m.commit(session)
    straggler = m.load([old])  # arrived after the rotation, still carrying the old ID
    assert straggler.is_new
    straggler["x"] = "1"
    with pytest.raises(SessionRotated):
        m.commit(straggler)


@pytest.mark.sec("SEC-23")
def test_periodic_rotation_issues_a_new_id_once_and_forwards_in_the_grace_window(
    store: Store,
) -> None:
    clock = FakeClock()
    m = manager(store, clock, rotate_every=60, rotation_grace=10)
    old = stored(m, cart="1")
    in_flight = m.load([old])
    clock.advance(61)
    due = m.load([old])
    _ = due["cart"]
    outcome = m.commit(due)
    new = outcome.session_id
    assert new is not None
    assert new != old
    in_flight["cart"] = "2"  # loaded before the rotation, committed after: forwarded
    forwarded = m.commit(in_flight)
    assert forwarded.previous
    assert forwarded.headers == ()
    assert dict(m.load([new])) == {"cart": "2"}
    through_old = m.load([old])  # the previous ID, inside the window
    assert dict(through_old) == {"cart": "2"}
    clock.advance(1)
    assert m.commit(through_old).headers == ()  # never a third ID
    clock.advance(10)
    assert m.load([old]).is_new  # past the window


def test_a_stale_logout_ends_a_regenerated_session_but_not_a_new_login(store: Store) -> None:
    clock = FakeClock()
    m = manager(store, clock)
    for rotation, survives in (("regenerate", False), ("login", True)):
        old = stored(m, cart="1")
        logout = m.load([old])  # a tab's logout, loaded before the rotation
        rotating = m.load([old])
        if rotation == "login":
            rotating.login("alice")
        else:
            rotating.regenerate()
        new = m.commit(rotating).session_id
        assert new is not None
        logout.invalidate()
        outcome = m.commit(logout)
        assert (not m.load([new]).is_new) is survives, rotation
        clears = any("Max-Age=0" in value for _, value in outcome.headers)
        assert clears is not survives, rotation
