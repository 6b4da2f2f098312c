"""A pytest plugin that runs Flask's own test suite with every app on a Sojourn session.

Loaded into a separate pytest process by ``test_flask_suite.py`` (``-p
tests.upstream.flask_plugin``): every ``Flask(...)`` that Flask's tests build gets
``Sojourn(app, store=...)`` installed right after construction, on the store named by
``SOJOURN_UPSTREAM_STORE`` (``memory``, ``sqlite``, ``redis`` or ``postgres``). One store per
process, so hundreds of apps do not open hundreds of pools; sessions stay apart by their IDs.

Flask's tests that pin the signed cookie's dependence on ``SECRET_KEY`` are marked as expected
failures (strict, so they must keep failing) with the reason: a server-side session is not
signed with the app's key, so it neither needs one nor is invalidated by rotating it. These
are the documented differences of docs/frameworks/flask.md.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from pathlib import Path
from typing import Any

import _pytest.monkeypatch
import flask
import pytest

from sojourn.flask import Sojourn
from sojourn.stores.base import Store

from .flask_differences import EXPECTED_DIFFERENCES

KIND = os.environ["SOJOURN_UPSTREAM_STORE"]  # read once: some of Flask's tests clear os.environ
RESULTS = os.environ.get("SOJOURN_UPSTREAM_RESULTS")
_store: Store | None = None
_outcomes: dict[str, str] = {}


def build_store(kind: str) -> Store:
    """The one store this process runs Flask's suite on."""
    if kind == "memory":
        from sojourn import MemoryStore

        return MemoryStore()
    if kind == "sqlite":
        from sojourn.stores.sqlite import SQLiteStore

        return SQLiteStore(Path(tempfile.mkdtemp()) / "flask-suite.db")
    if kind == "redis":
        import redis

        from sojourn.stores.redis import RedisStore

        client = redis.Redis.from_url("redis://127.0.0.1:6379/0", socket_timeout=5)
        return RedisStore(client, prefix=f"sojourn-flask-suite-{secrets.token_hex(6)}:")
    if kind == "postgres":
        from sojourn.stores.postgres import PostgresStore

        return PostgresStore.from_url(
            "postgresql://postgres@127.0.0.1:5432/test",
            table=f"sojourn_flask_suite_{secrets.token_hex(4)}",
        )
    raise ValueError(f"unknown SOJOURN_UPSTREAM_STORE {kind!r}")


def store() -> Store:
    global _store
    if _store is None:
        _store = build_store(KIND)
    return _store


# Flask's conftest still names ``_pytest.monkeypatch.notset``, which pytest 9 calls NOTSET.
if not hasattr(_pytest.monkeypatch, "notset"):
    _pytest.monkeypatch.notset = _pytest.monkeypatch.NOTSET  # type: ignore[attr-defined]

_flask_init = flask.Flask.__init__


def _init_with_sojourn(self: flask.Flask, *args: Any, **kwargs: Any) -> None:
    _flask_init(self, *args, **kwargs)
    if KIND == "off":
        return  # Flask's own session: the baseline run
    if type(self).session_interface is flask.Flask.session_interface:  # not one of the test's own
        Sojourn(self, store=store())


flask.Flask.__init__ = _init_with_sojourn  # type: ignore[method-assign]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    if KIND == "off":
        return
    for item in items:
        reason = EXPECTED_DIFFERENCES.get(f"{item.path.name}::{item.name}")
        if reason is not None:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=True))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    """Remember each test's outcome: ``passed``, ``failed``, ``skipped`` or ``xfailed``."""
    if report.when == "call" or report.outcome != "passed":
        outcome = "xfailed" if hasattr(report, "wasxfail") else report.outcome
        if _outcomes.get(report.nodeid) != "failed":
            _outcomes[report.nodeid] = outcome


def pytest_unconfigure(config: pytest.Config) -> None:
    if RESULTS is not None:
        Path(RESULTS).write_text(json.dumps(_outcomes, indent=1, sort_keys=True))
    if _store is not None:
        _store.close()
