"""The ``sojourn`` command: help, the demo's wiring, count/purge, and one real server start."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner

from sojourn import AsyncMemoryStore, Record
from sojourn.cli import _commands, main
from sojourn.cli._commands import cli
from sojourn.demo import DEFAULT_STORE_URL
from sojourn.stores.sqlite import AsyncSQLiteStore, SQLiteStore


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[tuple[Any, str, int]]:
    """Replace uvicorn with a recorder: what ``sojourn demo`` would have served."""
    calls: list[tuple[Any, str, int]] = []
    monkeypatch.setattr(_commands, "serve", lambda app, host, port: calls.append((app, host, port)))
    return calls


def test_help_lists_the_commands() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for command in ("demo", "count", "purge", "sessions", "stats", "schema", "check", "keygen"):
        assert command in result.output


def test_demo_help_shows_the_options_and_defaults() -> None:
    result = CliRunner().invoke(cli, ["demo", "--help"])
    assert result.exit_code == 0
    for text in ("--host", "--port", "--store", "--insecure-cookies", "127.0.0.1", "8000"):
        assert text in result.output
    assert "sqlite:///sojourn-demo.db" in result.output


def test_the_cli_default_store_is_the_demo_default() -> None:
    assert _commands.DEFAULT_STORE_URL == DEFAULT_STORE_URL


def test_demo_defaults_to_a_sqlite_file_on_localhost(
    served: list[tuple[Any, str, int]], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["demo"])
    assert result.exit_code == 0, result.output
    [(app, host, port)] = served
    assert (host, port) == ("127.0.0.1", 8000)
    assert isinstance(app.state.store, AsyncSQLiteStore)
    assert app.state.store.path == "sojourn-demo.db"
    assert app.state.cookie_name == "sid"
    assert "without the secure flag" in result.output.lower()


def test_demo_uses_the_store_url(served: list[tuple[Any, str, int]], tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    result = CliRunner().invoke(
        cli, ["demo", "--store", f"sqlite:///{path}", "--host", "127.0.0.2", "--port", "9001"]
    )
    assert result.exit_code == 0, result.output
    [(app, host, port)] = served
    assert (host, port) == ("127.0.0.2", 9001)
    assert isinstance(app.state.store, AsyncSQLiteStore)
    assert app.state.store.path == str(path)


def test_demo_on_the_memory_store(served: list[tuple[Any, str, int]]) -> None:
    result = CliRunner().invoke(cli, ["demo", "--store", "memory://"])
    assert result.exit_code == 0, result.output
    assert isinstance(served[0][0].state.store, AsyncMemoryStore)


def test_demo_with_secure_cookies(served: list[tuple[Any, str, int]]) -> None:
    result = CliRunner().invoke(cli, ["demo", "--store", "memory://", "--secure-cookies"])
    assert result.exit_code == 0, result.output
    assert served[0][0].state.cookie_name == "__Host-sid"
    assert "without the secure flag" not in result.output.lower()


def test_demo_refuses_an_unknown_store(served: list[tuple[Any, str, int]]) -> None:
    result = CliRunner().invoke(cli, ["demo", "--store", "nosuch://x"])
    assert result.exit_code == 2
    assert "unknown store URL scheme" in result.output
    assert served == []


def test_main_without_click_names_the_extra(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setitem(sys.modules, "click", None)
    with pytest.raises(SystemExit) as caught:
        main(["--help"])
    assert caught.value.code == 2
    assert "pip install 'sojourn[cli]'" in capsys.readouterr().err


def _record(key: str, now: float, expires_at: float) -> Record:
    return Record(
        key=key, fields={}, principal=None, created_at=now, renewed_at=now, expires_at=expires_at
    )


def test_count_and_purge_on_a_sqlite_file(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    store = SQLiteStore(path)
    now = time.time()
    store.create(_record("a" * 64, now, now + 600))
    store.create(_record("b" * 64, now - 100, now - 1))  # already expired
    store.close()
    url = f"sqlite:///{path}"
    runner = CliRunner()
    counted = runner.invoke(cli, ["count", "--store", url])
    assert (counted.exit_code, counted.output.strip()) == (0, "1")
    purged = runner.invoke(cli, ["purge", "--store", url])
    assert purged.exit_code == 0, purged.output
    assert "purged 1 expired session(s)" in purged.output
    again = runner.invoke(cli, ["purge", "--store", url])
    assert "purged 0 expired session(s)" in again.output


def test_count_refuses_memory() -> None:
    # A memory store lives in one process: a fresh command would count an empty store as 0.
    result = CliRunner().invoke(cli, ["count", "--store", "memory://"])
    assert result.exit_code == 2
    assert "memory://" in result.output


def test_count_needs_a_store() -> None:
    result = CliRunner().invoke(cli, ["count"])
    assert result.exit_code == 2
    assert "--store" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_sojourn_demo_really_serves(tmp_path: Path) -> None:
    port = _free_port()
    db = tmp_path / "x.db"
    command = [
        sys.executable,
        "-m",
        "sojourn.cli",
        "demo",
        "--port",
        str(port),
        "--store",
        f"sqlite:///{db}",
    ]
    process = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        deadline = time.monotonic() + 15
        response = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert response is not None, "the demo did not answer within 15 s"
        assert response.status_code == 200
        assert "Sojourn demo" in response.text
        assert "set-cookie" not in response.headers  # reading stores no session
        token = re.search(r"name='csrf' value='([^']+)'", response.text)
        assert token is not None
        acted = httpx.post(
            f"http://127.0.0.1:{port}/cart/add",
            data={"item": "apple", "csrf": token.group(1)},
            timeout=5,
        )
        assert acted.status_code == 303
        assert acted.headers["set-cookie"].startswith("sid=")
        assert db.exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=10)
    assert b"WITHOUT the Secure flag" in output


def test_keygen_prints_keys_that_cookie_store_accepts() -> None:
    from sojourn.stores.cookie import CookieStore, parse_key

    result = CliRunner().invoke(cli, ["keygen", "-n", "3"])
    assert result.exit_code == 0, result.output
    keys = result.output.split()
    assert len(keys) == 3
    assert len(set(keys)) == 3
    assert all(len(parse_key(key)) == 32 for key in keys)
    assert CookieStore(keys).purpose == "session"
