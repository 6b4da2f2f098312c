"""``sojourn migrate`` against real stores: copies, reruns copy nothing, --verify, --dry-run,
--state resumes, and every failure is one line with its exit code."""

from __future__ import annotations

import contextlib
import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from sojourn.cli._migrate import _State
from sojourn.stores.migrating import copy_sessions
from tests.cli.conftest import Backend, sqlite_backend
from tests.cli.test_sessions import as_json, invoke


@pytest.fixture
def target(tmp_path: Path) -> Iterator[Backend]:
    place = tmp_path / "target"
    place.mkdir()
    yield from sqlite_backend(place)


def test_migrate_copies_every_live_session_and_a_rerun_copies_none(
    sqlite: Backend, target: Backend
) -> None:
    for name in ("ana", "ben", None):
        sqlite.add(name, meta={"ip": "10.1.1.1"})
    sqlite.add_marker()
    sqlite.add("gone", ttl=-1)
    data = as_json(invoke("migrate", "--from", sqlite.url, "--to", target.url, "--json"))
    assert data["copy"]["copied"] == 3
    assert data["copy"]["markers"] == 1
    now = time.time()
    for key in sqlite.keys[:3]:
        original, copy = sqlite.store.load(key, now), target.store.load(key, now)
        assert copy is not None
        assert original is not None
        assert (copy.principal, copy.expires_at, dict(copy.meta)) == (
            original.principal, original.expires_at, dict(original.meta)
        )  # fmt: skip
    again = as_json(invoke("migrate", "--from", sqlite.url, "--to", target.url, "--json"))
    assert (again["copy"]["copied"], again["copy"]["present"]) == (0, 3)


def test_migrate_verify_reports_ok_and_fails_on_a_missing_session(
    sqlite: Backend, target: Backend
) -> None:
    for _ in range(4):
        sqlite.add("cat")
    result = invoke("migrate", "--from", sqlite.url, "--to", target.url, "--verify")
    assert result.exit_code == 0, result.output
    assert "verify: ok" in result.output
    target.store.delete(sqlite.keys[0])
    failed = invoke("migrate", "--from", sqlite.url, "--to", target.url, "--dry-run", "--verify")
    assert failed.exit_code == 1
    assert "would copy 1 session(s)" in failed.output
    assert "verify: FAILED" in failed.output
    assert target.store.load(sqlite.keys[0], time.time()) is None  # a dry run wrote nothing


def test_migrate_resumes_from_its_state_file(
    sqlite: Backend, target: Backend, tmp_path: Path
) -> None:
    for _ in range(6):
        sqlite.add("dan")
    state = tmp_path / "migrate.state"
    first = copy_sessions(sqlite.store, target.store, batch=2, max_pages=1)
    _State(state, sqlite.url, target.url).save(first)  # as a run that crashed after a page
    assert state.stat().st_mode & 0o777 == 0o600  # its cursor is a store key: owner only
    assert sqlite.url not in state.read_text()  # the URLs (and passwords) are not in it
    data = as_json(
        invoke("migrate", "--from", sqlite.url, "--to", target.url, "--state", str(state),
               "--batch", "2", "--json")
    )  # fmt: skip
    assert data["resumed"] is True
    assert (data["copy"]["copied"], data["copy"]["present"]) == (6, 0)
    assert not state.exists()  # done: removed
    assert target.stored() == 6


def test_a_state_file_of_another_migration_is_refused(
    sqlite: Backend, target: Backend, tmp_path: Path
) -> None:
    state = tmp_path / "other.state"
    state.write_text(json.dumps({"version": 1, "pair": "x", "cursor": None}))
    result = invoke("migrate", "--from", sqlite.url, "--to", target.url, "--state", str(state))
    assert result.exit_code == 2
    assert "another --from/--to pair" in result.output


@pytest.mark.parametrize(
    ("to", "code", "says"),
    [
        ("memory://", 2, "memory://"),
        ("sqlite:////nonexistent/dir/x.db", 2, "does not exist"),
        ("redis://127.0.0.1:1/0?timeout=0.5", 1, "the target store"),
    ],
)
def test_a_bad_target_fails_in_one_line(sqlite: Backend, to: str, code: int, says: str) -> None:
    sqlite.add("eve")
    result = invoke("migrate", "--from", sqlite.url, "--to", to)
    assert result.exit_code == code, result.output
    assert says in result.output
    assert "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_the_same_store_twice_is_refused(sqlite: Backend) -> None:
    result = invoke("migrate", "--from", sqlite.url, "--to", sqlite.url)
    assert result.exit_code == 2
    assert "same store" in result.output


def test_migrate_draws_a_progress_bar_on_a_terminal(
    sqlite: Backend, target: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sojourn.cli import _migrate

    for _ in range(30):
        sqlite.add("fay")
    seen: list[int] = []
    bar = _migrate._bar

    def watched(show: bool, total: int | None) -> Any:
        assert show
        assert total == 30  # the source's own count
        with bar(show, total) as step:

            def counted(done: int) -> None:
                seen.append(done)
                step(done)

            yield counted

    monkeypatch.setattr(_migrate, "interactive", lambda: True)
    monkeypatch.setattr(_migrate, "_bar", contextlib.contextmanager(watched))
    result = invoke("migrate", "--from", sqlite.url, "--to", target.url, "--batch", "7")
    assert result.exit_code == 0, result.output
    assert "copied 30 session(s)" in result.stdout
    assert seen == [7, 14, 21, 28, 30]
