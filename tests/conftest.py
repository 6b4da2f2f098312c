"""Shared test configuration: the anyio backend and the rule for server-backed tests."""

from __future__ import annotations

import os

import pytest

pytest_plugins = ["pytester"]  # tests/test_security_checklist.py runs a collection in-process


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def require_server(name: str, reason: str) -> None:
    """Skip (on a laptop) or fail (in CI) when a server that a test needs is unreachable."""
    message = f"{name} is not reachable: {reason}"
    if os.environ.get("CI", "").lower() in {"1", "true", "yes"}:
        pytest.fail(f"{message} (CI=true requires every server-backed test to run)")
    pytest.skip(message)


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--sec",
        action="append",
        default=[],
        metavar="SEC-NN",
        help="run only the tests that pin these security checklist items (repeatable)",
    )


@pytest.hookimpl(trylast=True)  # after tests/conformance/conftest.py attached its markers
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    wanted = set(config.getoption("--sec"))
    if not wanted:
        return
    keep: list[pytest.Item] = []
    dropped: list[pytest.Item] = []
    for item in items:
        ids = {str(arg) for mark in item.iter_markers("sec") for arg in mark.args}
        (keep if ids & wanted else dropped).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = keep
