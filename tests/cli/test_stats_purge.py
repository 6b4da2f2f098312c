"""``sojourn stats``, ``count`` and ``purge`` against real stores."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from sojourn.cli import _maintenance
from sojourn.stores.sqlite import SQLiteStore
from tests.cli.conftest import Backend, redis_backend, unique
from tests.cli.test_sessions import as_json, invoke
from tests.stores.redis_cluster import RedisServer


def test_stats_counts_and_histograms(sqlite: Backend) -> None:
    for _ in range(3):
        sqlite.add("mia", age=30, idle=10)
    sqlite.add("ned", age=7200, idle=4000)
    sqlite.add(None, age=100_000, idle=30)
    sqlite.add_marker()
    sqlite.add("old", ttl=-1)
    data = as_json(invoke("stats", "--store", sqlite.url, "--top", "1", "--json"))
    assert (data["live"], data["signed_in"], data["anonymous"], data["users"]) == (5, 4, 1, 2)
    assert data["top_users"] == [{"principal": "mia", "sessions": 3}]
    assert sum(data["age"].values()) == sum(data["idle"].values()) == 5
    assert data["age"]["< 1 min"] == 3
    assert data["age"]["< 6 h"] == 1
    assert data["age"]["< 7 days"] == 1
    assert data["idle"]["< 1 min"] == 4
    assert data["idle"]["< 6 h"] == 1
    assert data["latency_ms"]["probes"] == 5
    assert 0 <= data["latency_ms"]["min"] <= data["latency_ms"]["median"]


def test_stats_draws_tables_and_bars(backend: Backend) -> None:
    backend.add(unique("pat"))
    result = invoke("stats", "--store", backend.url)
    assert result.exit_code == 0, result.output
    for text in ("live sessions", "round trip", "age (since created or login)", "idle", "█"):
        assert text in result.output


def test_count_is_the_live_figure(sqlite: Backend) -> None:
    sqlite.add("q")
    sqlite.add("r", ttl=-1)
    assert as_json(invoke("count", "--store", sqlite.url, "--json")) == {"live": 1}


def test_purge_dry_run_counts_and_deletes_nothing(sqlite: Backend) -> None:
    sqlite.add("s")
    for _ in range(3):
        sqlite.add("t", ttl=-5)
    result = invoke("purge", "--dry-run", "--store", sqlite.url)
    assert result.exit_code == 0, result.output
    assert "would purge 3 expired session(s)" in result.output
    assert sqlite.stored() == 4  # all still there
    purged = as_json(invoke("purge", "--store", sqlite.url, "--batch", "2", "--json"))
    assert (purged["purged"], purged["expired"]) == (3, 3)
    assert sqlite.stored() == 1


def test_purge_shows_progress_on_a_terminal(
    sqlite: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(50):
        sqlite.add("u", ttl=-5)
    monkeypatch.setattr(_maintenance, "interactive", lambda: True)
    monkeypatch.setattr(_maintenance, "POLL_SECONDS", 0.001)
    polls: list[float] = []
    expired = _maintenance._expired

    async def counted(store: object, now: float) -> int | None:
        polls.append(now)
        return await expired(store, now)  # type: ignore[arg-type]

    monkeypatch.setattr(_maintenance, "_expired", counted)
    result = invoke("purge", "--store", sqlite.url, "--batch", "1")
    assert result.exit_code == 0, result.output
    assert "purged 50 expired session(s)" in result.stdout
    assert sqlite.stored() == 0
    assert len(polls) >= 2  # the first count, then at least one poll while purging


def test_purge_on_a_store_without_its_table_fails(tmp_path: Path) -> None:
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()  # a database file, but no sojourn table in it
    result = invoke("purge", "--store", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert "does not exist" in result.output
    assert "Traceback" not in result.output
    with sqlite3.connect(path) as conn:  # and none was created
        assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []


def test_purge_leaves_live_sessions(sqlite: Backend) -> None:
    label = sqlite.add("v")
    sqlite.add("w", ttl=-1)
    result = invoke("purge", "--store", sqlite.url)
    assert "purged 1 expired session(s)" in result.output
    assert sqlite.live(label)
    other = SQLiteStore(sqlite.url.removeprefix("sqlite:///"))
    try:
        assert other.count(time.time()) == 1
    finally:
        other.close()


@pytest.mark.server
@pytest.mark.parametrize("dry_run", [[], ["--dry-run"]])
def test_purge_on_redis_is_a_successful_no_op(
    redis_server: RedisServer, dry_run: list[str]
) -> None:
    for backend in redis_backend(redis_server):
        label = backend.add("x")
        result = invoke("purge", *dry_run, "--store", backend.url)
        assert result.exit_code == 0, result.output
        assert "expires sessions by itself: nothing to purge" in result.output
        assert backend.live(label)
        data = as_json(invoke("purge", *dry_run, "--store", backend.url, "--json"))
        assert (data["self_expiring"], data["purged"]) == (True, 0)


def test_as_a_subprocess_stats_prints_json_on_stdout(sqlite: Backend) -> None:
    import json
    import os
    import subprocess
    import sys

    sqlite.add("yan")
    sqlite.add(None)
    completed = subprocess.run(
        [sys.executable, "-m", "sojourn.cli", "stats", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SOJOURN_STORE_URL": sqlite.url},
    )
    assert completed.returncode == 0, completed.stderr
    assert completed.stderr == ""
    data = json.loads(completed.stdout)
    assert (data["live"], data["signed_in"], data["anonymous"]) == (2, 1, 1)
