"""Checklist markers for the conformance suite.

The contract tests live in ``sojourn.testing`` (shipped for third-party stores, which know
nothing of our checklist), so the items they pin are attached here, by test name, when each
store's subclass is collected.
"""

from __future__ import annotations

import pytest

CONTRACT_ITEMS: dict[str, tuple[str, ...]] = {
    "test_create_on_a_live_key_raises_and_keeps_the_record": ("SEC-02", "SEC-45"),
    "test_hostile_keys_are_just_missing": ("SEC-43", "SEC-44"),
    "test_expired_records_are_never_returned": ("SEC-20", "SEC-24"),
    "test_renewal_never_passes_the_absolute_lifetime": ("SEC-21",),
    "test_load_does_not_renew_an_expired_record": ("SEC-20",),
    "test_apply_to_a_missing_key_creates_nothing": ("SEC-26", "SEC-45"),
    "test_apply_after_delete_does_not_resurrect": ("SEC-26", "SEC-45"),
    "test_apply_after_expiry_does_not_resurrect": ("SEC-26",),
    "test_rename_moves_the_record_and_leaves_nothing_behind": ("SEC-07",),
    "test_rename_of_a_missing_key_writes_nothing": ("SEC-26",),
    "test_delete_is_idempotent": ("SEC-25",),
    "test_concurrent_appliers_on_distinct_keys_all_survive": ("SEC-47",),
    "test_a_delete_racing_applies_never_leaves_the_session_alive": ("SEC-26",),
    "test_a_rename_racing_applies_keeps_one_live_record": ("SEC-26",),
    "test_sessions_of_lists_only_live_sessions_of_that_principal": ("SEC-27",),
    "test_sessions_of_follows_login_and_rename": ("SEC-27",),
    "test_delete_sessions_of_keeps_the_one_asked_for": ("SEC-27",),
    "test_purge_removes_only_expired_records": ("SEC-24",),
    "test_scan_never_returns_an_expired_record": ("SEC-20",),
}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        name = getattr(item, "originalname", item.name)
        ids = CONTRACT_ITEMS.get(name)
        if ids and item.path.parent.name == "conformance":
            item.add_marker(pytest.mark.sec(*ids))
