"""A configured shape in the engine: writes checked, stored records held to it on load.

Through the sync manager over every adapter-test store (memory, SQLite, Redis): what a deploy
that changes the shape does to the sessions already stored.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from sojourn import (
    ConfigurationError,
    Engine,
    Manager,
    MemoryStore,
    SessionEvent,
)
from sojourn._core.ids import fingerprint, store_key
from sojourn.stores.base import Store
from sojourn.testing import FakeClock
from sojourn.typed import ShapeError, shape_of

from ..integrations.stores import StoreFactory, available, record_of, store_params
from .shapes import CART_SHAPES, Cart

PLAIN = Engine()  # the default cookie, __Host-sid


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


@pytest.fixture(params=CART_SHAPES, ids=lambda tp: tp.__name__)
def shape(request: pytest.FixtureRequest) -> type:
    return request.param  # type: ignore[no-any-return]


def manager(store: Store, shape: Any = None, migrate: Any = None) -> Manager:
    engine = PLAIN if shape is None else replace(PLAIN, shape=shape_of(shape, migrate=migrate))
    return Manager(store, engine, clock=FakeClock())


def cookie(session_id: str) -> list[tuple[str, str]]:
    return [("cookie", f"__Host-sid={session_id}")]


def stored(store: Store, data: dict[str, Any], shape: Any = None) -> str:
    """A session holding ``data``, stored by an app with ``shape`` (none: untyped)."""
    m = manager(store, shape)
    session = m.open([]).session
    session.update(data)
    session_id = m.commit(session).session_id
    assert session_id is not None
    return session_id


# -- writes ---------------------------------------------------------------------------------


def test_a_wrong_typed_write_raises_naming_key_and_type(shape: type) -> None:
    session = manager(MemoryStore(), shape).open([]).session
    with pytest.raises(ShapeError, match=r"session key 'items' must be list\[int\]"):
        session["items"] = ["not", "ints"]
    assert "items" not in session  # refused before it was set
    session["items"] = [1, 2]
    session["coupon"] = None
    session["csrf_token"] = "beside the shape"  # undeclared keys are a framework's own


def test_a_value_changed_in_place_into_a_wrong_type_fails_the_commit(store: Store) -> None:
    m = manager(store, Cart)
    session = m.open([]).session
    session["items"] = [1]
    session["items"].append("two")
    with pytest.raises(ShapeError, match="'items'"):
        m.commit(session)


def test_a_session_stored_without_a_required_key_fails_the_commit(store: Store) -> None:
    m = manager(store, Cart)
    session = m.open([]).session
    session["coupon"] = "SAVE10"
    with pytest.raises(ShapeError, match="'items' is required by Cart"):
        m.commit(session)
    session["items"] = []
    assert m.commit(session).session_id is not None


def test_fitting_sessions_round_trip(store: Store, shape: type) -> None:
    session_id = stored(store, {"items": [1, 2], "coupon": None, "_flashes": ["hi"]}, shape)
    session = manager(store, shape).load([session_id])
    assert dict(session) == {"items": [1, 2], "coupon": None, "_flashes": ["hi"]}


# -- loads ----------------------------------------------------------------------------------


def test_an_old_shape_loads_as_a_fresh_session_with_a_log_line(
    store: Store, shape: type, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = stored(store, {"items": ["sku-1", "sku-2"]})  # before the deploy: strings
    m = manager(store, shape)
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        session = m.open(cookie(session_id)).session
    assert session.is_new
    assert dict(session) == {}
    (line,) = [r.getMessage() for r in caplog.records if "shape_mismatch" in r.getMessage()]
    assert fingerprint(session_id) in line
    assert shape.__name__ in line
    assert "'items'" in line
    assert session_id not in line
    assert "sku-1" not in line
    # The old record is deleted at commit, as a corrupt one is, and the cookie cleared.
    outcome = m.commit(session)
    assert any(k == "set-cookie" and "Max-Age=0" in v for k, v in outcome.headers)
    assert record_of(store, session_id) is None


def test_a_record_missing_a_required_key_does_not_fit(store: Store) -> None:
    session_id = stored(store, {"coupon": "SAVE10"})
    session = manager(store, Cart).load([session_id])
    assert session.is_new


def test_a_closed_shape_refuses_a_record_with_an_undeclared_key(store: Store) -> None:
    session_id = stored(store, {"items": [1], "basket": [1]})
    assert not manager(store, Cart).load([session_id]).is_new  # open: lives beside
    closed = replace(PLAIN, shape=shape_of(Cart, extra="forbid"))
    assert Manager(store, closed).load([session_id]).is_new


def test_migrate_turns_an_old_record_into_the_new_shape_and_writes_it_back(
    store: Store, shape: type, caplog: pytest.LogCaptureFixture
) -> None:
    session_id = stored(store, {"basket": ["1", "2"], "user": "alice"})

    def migrate(old: dict[str, Any]) -> dict[str, Any]:
        basket = old.pop("basket")
        return {**old, "items": [int(x) for x in basket]}

    m = manager(store, shape, migrate)
    with caplog.at_level(logging.INFO, logger="sojourn.security"):
        session = m.open(cookie(session_id)).session
    assert not session.is_new
    assert dict(session) == {"user": "alice", "items": [1, 2]}
    assert any("session.migrated" in r.getMessage() for r in caplog.records)
    # A request that only reads still writes the migration back, under the same ID.
    outcome = m.commit(session)
    assert outcome.headers == ()  # no new cookie: the same session
    record = record_of(store, session_id)
    assert record is not None
    assert dict(record.fields) == {"user": b'"alice"', "items": b"[1,2]"}
    # The next request finds the new shape: nothing to migrate, nothing written.
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="sojourn.security"):
        again = m.load([session_id])
    assert dict(again) == {"user": "alice", "items": [1, 2]}
    assert not any("session.migrated" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize(
    ("migrate", "why"),
    [
        (lambda old: 1 / 0, "migration raised ZeroDivisionError"),
        (lambda old: {"items": "still wrong"}, "migrated data: key 'items' is not list[int]"),
        (lambda old: ["not a dict"], "migration returned no dict of str keys"),
        (lambda old: {"items": [1], "when": object()}, "migrated key 'when' cannot be stored"),
    ],
)
def test_a_migration_that_fails_is_a_mismatch(
    migrate: Any, why: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = MemoryStore()
    session_id = stored(store, {"items": ["x"]})
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        session = manager(store, Cart, migrate).load([session_id])
    assert session.is_new
    (line,) = [r.getMessage() for r in caplog.records if "shape_mismatch" in r.getMessage()]
    assert why in line


def test_a_read_only_session_is_migrated_but_never_written() -> None:
    store = MemoryStore()
    session_id = stored(store, {"basket": [1]})
    m = manager(store, Cart, lambda old: {"items": old["basket"]})
    session = m.load([session_id], read_only=True)
    assert dict(session) == {"items": [1]}
    record = record_of(store, session_id)
    assert record is not None
    assert dict(record.fields) == {"basket": b"[1]"}


def test_an_undecodable_record_is_still_corrupt_with_a_shape() -> None:
    store = MemoryStore()
    session_id = stored(store, {"items": [1]})
    key = store_key(session_id)
    record = store.load(key, FakeClock()())
    assert record is not None
    store.delete(key)
    store.create(replace(record, fields={"items": b"{not json"}))
    assert manager(store, Cart).load([session_id]).is_new


# -- untyped sessions -----------------------------------------------------------------------


def test_untyped_sessions_are_unchanged() -> None:
    assert PLAIN.shape is None
    store = MemoryStore()
    m = manager(store)
    session_id = stored(store, {"items": ["anything"], "n": 1})
    session = m.load([session_id])
    session["items"] = {"whatever": True}
    assert m.commit(session).headers == ()
    assert type(m.engine._codec) is type(m.engine.codec)  # no shape: no wrapper


def test_an_old_shape_fires_destroyed_corrupt_as_a_corrupt_record_does(store: Store) -> None:
    session_id = stored(store, {"items": ["sku-1"]})
    events: list[SessionEvent] = []
    engine = replace(PLAIN, shape=shape_of(Cart))
    m = Manager(store, engine, clock=FakeClock(), hooks=[events.append])
    m.commit(m.open(cookie(session_id)).session)
    assert [(e.kind, e.reason) for e in events] == [("destroyed", "corrupt")]
    assert events[0].fingerprint == fingerprint(session_id)


def test_a_migration_fires_no_event(store: Store) -> None:
    session_id = stored(store, {"items": ["1"]})
    events: list[SessionEvent] = []
    engine = replace(PLAIN, shape=shape_of(Cart, migrate=lambda old: {"items": [1]}))
    m = Manager(store, engine, clock=FakeClock(), hooks=[events.append])
    m.commit(m.open(cookie(session_id)).session)
    assert events == []


def test_the_engine_takes_a_built_shape_only() -> None:
    with pytest.raises(ConfigurationError, match=r"shape_of\(YourClass\)"):
        Engine(shape=Cart)  # type: ignore[arg-type]
