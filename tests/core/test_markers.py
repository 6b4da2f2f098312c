"""is_marker tells the records a rotation leaves from sessions, so admin code can skip them."""

from __future__ import annotations

import time
from dataclasses import replace

from sojourn import Engine, new_session_id
from sojourn._core.ids import store_key
from sojourn._core.markers import is_marker, successor_of
from sojourn._core.plan import Mark
from sojourn.stores.base import Record
from sojourn.stores.base import is_marker as reexported

NOW = time.time()


def a_rotation_marker() -> Record:
    """The marker the engine itself leaves when a session logs in."""
    engine = Engine()
    session_id = new_session_id()
    record = Record(store_key(session_id), {"a": b"1"}, None, NOW, NOW, NOW + 600)
    session = engine.open(session_id, record, NOW)
    session.login("alice")
    marks = [op for op in engine.close(session, NOW + 1).ops if isinstance(op, Mark)]
    assert len(marks) == 1
    return marks[0].record


def test_the_marker_a_rotation_leaves_is_a_marker() -> None:
    marker = a_rotation_marker()
    assert is_marker(marker)
    assert reexported is is_marker
    kind, successor = successor_of(marker) or ("", "")
    assert kind == "login"
    assert successor == marker.meta["successor"]


def test_sessions_are_not_markers() -> None:
    marker = a_rotation_marker()
    assert not is_marker(replace(marker, fields={"a": b"1"}))  # holds data
    assert not is_marker(replace(marker, principal="alice"))  # belongs to someone
    assert not is_marker(replace(marker, meta={}))  # an empty session says nothing
    assert not is_marker(replace(marker, meta={"rotation": "login"}))  # no successor
    assert not is_marker(replace(marker, meta={"successor": "k", "ip": "10.0.0.1"}))


def test_the_engine_reads_markers_through_the_same_rule() -> None:
    marker = a_rotation_marker()
    engine = Engine()
    assert engine.successor(marker) == successor_of(marker)
    assert engine.successor(replace(marker, principal="mallory")) is None
    assert engine.successor(None) is None
