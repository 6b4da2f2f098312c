"""The security checklist is covered by tests: every implemented item is named by a test.

Tests name the items they prove with ``@pytest.mark.sec("SEC-xx", ...)``. This module collects
the whole suite in a subprocess (``pytest --collect-only`` with ``tests.sec_collect``) and
checks the markers against ``tests/security_items.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import TypedDict

import pytest

from tests.sec_collect import ENV
from tests.security_items import ID_PATTERN, ITEMS, TESTED, Documented, Status, Unimplemented

ROOT = Path(__file__).resolve().parent.parent
COLLECT: tuple[str, ...] = ("-m", "pytest", "--collect-only", "-q", "-p", "tests.sec_collect")
COLLECT += ("-p", "no:cacheprovider")


class Marks(TypedDict):
    ids: list[str]
    xfail: bool
    bad: list[str]


def audit(collected: Mapping[str, Marks], items: Mapping[str, Status]) -> list[str]:
    """Everything wrong between the tests' markers and the item list, one line each."""
    problems: list[str] = []
    pinned: dict[str, list[str]] = {}
    for nodeid, marks in collected.items():
        problems += [f"{nodeid}: sec() needs one or more IDs and no keywords" for _ in marks["bad"]]
        for sec_id in marks["ids"]:
            if not ID_PATTERN.fullmatch(sec_id) or sec_id not in items:
                problems.append(f"{nodeid}: unknown checklist item {sec_id!r}")
                continue
            pinned.setdefault(sec_id, []).append(nodeid)
            status = items[sec_id]
            if isinstance(status, Unimplemented) and not marks["xfail"]:
                problems.append(
                    f"{nodeid}: passes for {sec_id}, listed as not implemented "
                    f"({status.reason}): update tests/security_items.py"
                )
    untested = [
        sec_id
        for sec_id, status in items.items()
        if not isinstance(status, Unimplemented) and sec_id not in pinned
    ]
    if untested:
        problems.append("implemented items with no test: " + ", ".join(untested))
    return problems


def collect_suite(tmp_path: Path) -> dict[str, Marks]:
    out = tmp_path / "markers.json"
    result = subprocess.run(
        [sys.executable, *COLLECT, "tests"],
        cwd=ROOT,
        env={**os.environ, ENV: str(out)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    collected: dict[str, Marks] = json.loads(out.read_text(encoding="utf-8"))
    return collected


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Marks]:
    return collect_suite(tmp_path_factory.mktemp("sec"))


def test_every_implemented_item_is_named_by_a_test(suite: dict[str, Marks]) -> None:
    assert len(suite) > 1000, "the collection found far fewer tests than the suite has"
    problems = audit(suite, ITEMS)
    assert not problems, "\n".join(problems)


def test_the_list_holds_each_of_the_64_items_once() -> None:
    assert list(ITEMS) == [f"SEC-{n:02d}" for n in range(1, 65)]


def _marks(*ids: str, xfail: bool = False) -> Marks:
    return {"ids": list(ids), "xfail": xfail, "bad": []}


def test_the_audit_names_untested_items_and_unknown_ids() -> None:
    items: dict[str, Status] = {
        "SEC-01": TESTED,
        "SEC-02": TESTED,
        "SEC-03": Documented("docs/security.md"),
        "SEC-04": Unimplemented("later"),
    }
    collected = {"t::a": _marks("SEC-01"), "t::b": _marks("SEC-99", "SEC-1"), "t::c": _marks()}
    problems = audit(collected, items)
    assert "t::b: unknown checklist item 'SEC-99'" in problems
    assert "t::b: unknown checklist item 'SEC-1'" in problems
    assert problems[-1] == "implemented items with no test: SEC-02, SEC-03"
    assert len(problems) == 3


def test_the_audit_refuses_a_passing_test_for_an_unimplemented_item() -> None:
    items: dict[str, Status] = {"SEC-01": TESTED, "SEC-04": Unimplemented("later")}
    passing = audit({"t::a": _marks("SEC-01", "SEC-04")}, items)
    assert passing == [
        "t::a: passes for SEC-04, listed as not implemented (later): update tests/security_items.py"
    ]
    assert audit({"t::a": _marks("SEC-01"), "t::x": _marks("SEC-04", xfail=True)}, items) == []


def test_the_audit_refuses_an_empty_marker() -> None:
    bad: Marks = {"ids": [], "xfail": False, "bad": ["()"]}
    problems = audit({"t::a": _marks("SEC-01"), "t::b": bad}, {"SEC-01": TESTED})
    assert problems == ["t::b: sec() needs one or more IDs and no keywords"]


def test_the_collector_reads_markers_from_a_real_collection(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The plugin sees function, class and module marks (and xfail), so the audit can fail."""
    pytester.makeini("[pytest]\nmarkers =\n    sec: checklist items\n")
    pytester.makepyfile(
        test_sample="""
        import pytest
        pytestmark = pytest.mark.sec("SEC-10")
        @pytest.mark.sec("SEC-01", "SEC-02")
        def test_a(): pass
        @pytest.mark.xfail(strict=True, reason="x")
        def test_b(): pass
        @pytest.mark.sec
        def test_c(): pass
        """
    )
    out = pytester.path / "markers.json"
    monkeypatch.setenv(ENV, str(out))
    result = pytester.inline_run("--collect-only", "-q", "-p", "tests.sec_collect")
    assert result.ret == 0
    found = {k.rsplit("::", 1)[1]: v for k, v in json.loads(out.read_text()).items()}
    assert found == {
        "test_a": {"ids": ["SEC-01", "SEC-02", "SEC-10"], "xfail": False, "bad": []},
        "test_b": {"ids": ["SEC-10"], "xfail": True, "bad": []},
        "test_c": {"ids": ["SEC-10"], "xfail": False, "bad": ["()"]},
    }
