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
