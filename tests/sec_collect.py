"""A pytest plugin that writes every collected test's ``sec`` markers to a JSON file.

Used by ``tests/test_security_checklist.py``, which runs ``pytest --collect-only`` over the
whole suite with ``-p tests.sec_collect`` and the output path in ``SOJOURN_SEC_MARKERS``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

ENV = "SOJOURN_SEC_MARKERS"


def markers_of(item: pytest.Item) -> dict[str, object]:
    """The IDs an item's ``sec`` markers name, and whether it is expected to fail."""
    ids = [str(arg) for mark in item.iter_markers("sec") for arg in mark.args]
    malformed = [
        repr(mark.args) for mark in item.iter_markers("sec") if not mark.args or mark.kwargs
    ]
    return {"ids": ids, "xfail": item.get_closest_marker("xfail") is not None, "bad": malformed}


def pytest_collection_finish(session: pytest.Session) -> None:
    target = os.environ.get(ENV)
    if not target:
        return
    found = {item.nodeid: markers_of(item) for item in session.items}
    Path(target).write_text(json.dumps(found), encoding="utf-8")
