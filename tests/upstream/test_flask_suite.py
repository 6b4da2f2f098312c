"""Flask's own test suite, run with every app on a Sojourn session, on real stores.

Each run is a separate pytest process over the installed Flask's ``tests/`` (unpacked by
``make upstream``) with :mod:`tests.upstream.flask_plugin` installing ``Sojourn(app)`` in every
``Flask(...)``. The same suite also runs once on Flask's own signed-cookie session: a test that
fails there (an incompatibility between this Flask and this Werkzeug or pytest) says nothing
about us and is only reported. Everything else that passes on Flask's session must pass on ours,
except the documented differences, which must still fail (strict xfail).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .flask_differences import EXPECTED_DIFFERENCES
from .suites import suite_dir

ROOT = Path(__file__).resolve().parents[2]
MIN_TESTS = 400  # Flask 3.1 has ~480; fewer means the suite was not found or not collected


def run_suite(kind: str, tmp_path: Path) -> dict[str, str]:
    tests = suite_dir("flask") / "tests"
    if not tests.is_dir():
        message = f"Flask's test suite is not unpacked at {tests}: run `make upstream`"
        if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
            pytest.fail(message)
        pytest.skip(message)
    results = tmp_path / f"{kind}.json"
    env = {
        **os.environ,
        "SOJOURN_UPSTREAM_STORE": kind,
        "SOJOURN_UPSTREAM_RESULTS": str(results),
        "PYTHONPATH": str(ROOT),
    }
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
         "-p", "tests.upstream.flask_plugin", "--rootdir", str(tests), "-c", os.devnull,
         "-W", "ignore::DeprecationWarning", str(tests)],
        cwd=tests, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip
    outcomes: dict[str, str] = json.loads(results.read_text())
    return outcomes


@functools.cache
def baseline(tmp: Path) -> dict[str, str]:
    return run_suite("off", tmp)


@pytest.mark.parametrize(
    "kind",
    ["sqlite", pytest.param("redis", marks=pytest.mark.server),
     pytest.param("postgres", marks=pytest.mark.server)],
)  # fmt: skip
def test_flasks_own_suite_passes_on_sojourn(
    kind: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    flask_session = baseline(tmp_path_factory.mktemp("baseline"))
    ours = run_suite(kind, tmp_path_factory.mktemp(kind))
    assert len(ours) >= MIN_TESTS
    expected = {nodeid for nodeid in ours if nodeid.split("/")[-1] in EXPECTED_DIFFERENCES}
    assert len(expected) == len(EXPECTED_DIFFERENCES)
    assert {nodeid: ours[nodeid] for nodeid in expected} == dict.fromkeys(expected, "xfailed")
    broken = {
        nodeid: outcome
        for nodeid, outcome in ours.items()
        if nodeid not in expected and flask_session.get(nodeid) == "passed" and outcome != "passed"
    }
    assert broken == {}
