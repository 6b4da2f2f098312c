"""The core and manager hooks the Django engine runs on, on a real MemoryStore.

``Session.persist`` (store an empty session on request), ``Session.cap_expiry`` (a per-session
deadline that only shortens), and the manager's by-ID calls ``exists``, ``delete`` and
``purge``. The Django codec's conversions are checked here too.
"""

from __future__ import annotations

import pytest

from sojourn import MemoryStore
from sojourn._core.codec import DEFAULT_LIMITS, JSON
from sojourn._core.errors import UnencodableValue
from sojourn._core.ids import store_key
from sojourn._core.plan import Engine
from sojourn._core.policy import Policy
from sojourn._sync.manager import Manager
from sojourn.django import DJANGO_JSON
from sojourn.stores.base import Record
from sojourn.testing._clock import FakeClock


def manager(clock: FakeClock) -> Manager:
    return Manager(
        MemoryStore(), Engine(policy=Policy(idle_timeout=600, lifetime=3600)), clock=clock
    )


def stored(m: Manager, sid: str, now: float) -> Record | None:
    store = m.store
    assert isinstance(store, MemoryStore)
    return store.load(store_key(sid), now)


def test_an_empty_session_is_stored_only_when_persisted() -> None:
    clock = FakeClock()
    m = manager(clock)
    lazy = m.load([])
    lazy.regenerate()
    assert m.commit(lazy, final=False).session_id is None
    kept = m.load([])
    kept.persist()
    sid = m.commit(kept, final=False).session_id
    assert sid is not None
    assert m.exists(sid)
    # An emptied stored session is kept only when persisted again; otherwise it is deleted.
    again = m.load([sid])
    again["a"] = 1
    m.commit(again, final=False)
    reopened = m.load([sid])
    del reopened["a"]
    reopened.persist()
    m.commit(reopened, final=False)
    assert m.exists(sid)
    emptied = m.load([sid])
    emptied["b"] = 2
    del emptied["b"]
    m.commit(emptied, final=False)
    assert not m.exists(sid)


def test_cap_expiry_shortens_and_never_extends() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session["a"] = 1
    session.cap_expiry(clock.now + 30)
    sid = m.commit(session, final=False).session_id
    assert sid is not None
    record = stored(m, sid, clock.now)
    assert record is not None
    assert record.expires_at == pytest.approx(clock.now + 30)
    longer = m.load([sid])
    longer["a"] = 2
    longer.cap_expiry(clock.now + 10_000)  # past the policy: the policy wins
    m.commit(longer, final=False)
    record = stored(m, sid, clock.now)
    assert record is not None
    assert record.expires_at == pytest.approx(clock.now + 600)
    clock.advance(601)
    assert not m.exists(sid)


def test_cap_expiry_rewrites_a_deadline_a_renewal_extended() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session["a"] = 1
    sid = m.commit(session, final=False).session_id
    assert sid is not None
    clock.advance(120)  # a renewal is due: the load slides the deadline to now + 600
    reader = m.load([sid])
    assert reader.expires_at == pytest.approx(clock.now + 600)
    reader.cap_expiry(clock.now + 30)
    m.commit(reader, final=False)
    record = stored(m, sid, clock.now)
    assert record is not None
    assert record.expires_at == pytest.approx(clock.now + 30)


def test_delete_and_exists_by_id() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session["a"] = 1
    sid = m.commit(session, final=False).session_id
    assert sid is not None
    assert m.exists(sid)
    assert not m.exists("A" * 43)
    assert not m.exists("short")
    m.delete("short")  # malformed: no store call, no error
    m.delete(sid)
    assert not m.exists(sid)
    m.delete(sid)  # idempotent


def test_purge_removes_expired_records() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session["a"] = 1
    m.commit(session, final=False)
    assert m.purge() == 0
    clock.advance(601)
    assert m.purge() == 1


def test_django_codec_matches_djangos_json_serializer() -> None:
    assert DJANGO_JSON.decode(DJANGO_JSON.encode("k", (1, 2), DEFAULT_LIMITS), DEFAULT_LIMITS) == [
        1,
        2,
    ]
    keyed = {2: "a", False: "b", None: "c", 1.5: "d"}
    encoded = DJANGO_JSON.encode("k", {"x": keyed}, DEFAULT_LIMITS)
    assert DJANGO_JSON.decode(encoded, DEFAULT_LIMITS) == {
        "x": {"2": "a", "false": "b", "null": "c", "1.5": "d"}
    }
    plain = {"a": [1, "b", None, 2.5]}
    assert DJANGO_JSON.encode("k", plain, DEFAULT_LIMITS) == JSON.encode("k", plain, DEFAULT_LIMITS)
    for bad in (float("nan"), {1, 2}, b"x", object(), {(1, 2): 3}):
        with pytest.raises(UnencodableValue, match="'k'"):
            DJANGO_JSON.check("k", bad, DEFAULT_LIMITS)
