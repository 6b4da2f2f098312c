"""The boundary types keep the dataclass contract their hand-written ``__init__`` must honour."""

from __future__ import annotations

import dataclasses

import pytest

from sojourn import ConfigurationError
from sojourn._core.records import Changes, Login, Record, Renewal, _slot_setters


def test_records_are_frozen_equal_by_value_and_replaceable() -> None:
    record = Record("k", {"a": b"1"}, None, 1.0, 2.0, 3.0)
    assert record == Record("k", {"a": b"1"}, None, 1.0, 2.0, 3.0, None, {})
    assert (record.authenticated_at, record.meta) == (None, {})
    with pytest.raises(dataclasses.FrozenInstanceError):
        record.key = "other"  # type: ignore[misc]
    moved = dataclasses.replace(record, key="new", meta={"ip": "x"})
    assert (moved.key, moved.fields, moved.meta, moved.expires_at) == (
        "new",
        {"a": b"1"},
        {"ip": "x"},
        3.0,
    )
    assert Record(**dataclasses.asdict(record)) == record


def test_change_sets_and_renewals_keep_their_defaults_and_checks() -> None:
    changes = Changes(now=1.0, expires_at=2.0)
    assert (changes.set, changes.remove, changes.login, changes.meta) == (
        {},
        frozenset(),
        None,
        None,
    )
    login = Changes(1.0, 2.0, {"a": b"1"}, frozenset({"b"}), Login("u", 1.0), {"ip": "x"})
    assert dataclasses.replace(login, now=5.0) == Changes(
        5.0, 2.0, {"a": b"1"}, frozenset({"b"}), Login("u", 1.0), {"ip": "x"}
    )
    assert Renewal(now=1.0, idle_timeout=2.0, lifetime=3.0, interval=0.0).deadline(0.0) == 3.0
    with pytest.raises(ConfigurationError):
        Renewal(1.0, 0.0, 3.0, 1.0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        changes.now = 3.0  # type: ignore[misc]


def test_slot_setters_refuse_names_that_are_not_the_fields_in_order() -> None:
    with pytest.raises(TypeError, match="fields are"):
        _slot_setters(Renewal, "now", "lifetime", "idle_timeout", "interval")
