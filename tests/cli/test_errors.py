"""Admin commands fail in one line: a missing store, memory://, a server that refuses, stalls
or turns the user away — a nonzero exit, the real cause, no traceback, nothing created."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest

from tests.cli.conftest import Backend
from tests.cli.test_sessions import invoke
from tests.stores.redis_cluster import free_port

# Every admin command, as it would be run against a store (the argument is the URL).
COMMANDS: list[list[str]] = [
    ["count"],
    ["stats"],
    ["purge"],
    ["purge", "--dry-run"],
    ["check"],
    ["sessions", "list"],
    ["sessions", "list", "--user", "u"],
    ["sessions", "show", "0123456789ab"],
    ["sessions", "revoke", "--all", "--user", "u"],
]


def one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    assert "Traceback" not in output
    return lines[0]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_a_mistyped_sqlite_path_is_an_error_and_creates_no_file(
    command: list[str], tmp_path: Path
) -> None:
    path = tmp_path / "sesions.db"
    result = invoke(*command, "--store", f"sqlite:///{path}")
    assert result.exit_code == 2
    assert "sesions.db" in one_line(result.output)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_memory_is_refused(command: list[str]) -> None:
    result = invoke(*command, "--store", "memory://")
    assert result.exit_code == 2
    assert "memory://" in one_line(result.output)


def test_a_malformed_url_is_a_usage_error() -> None:
    result = invoke("stats", "--store", "nosuch://x")
    assert result.exit_code == 2
    assert "unknown store URL scheme" in one_line(result.output)


@pytest.mark.server
@pytest.mark.parametrize("scheme", ["redis", "postgresql", "mysql"])
@pytest.mark.parametrize("command", [["stats"], ["check"], ["sessions", "list", "--user", "u"]])
def test_a_refused_connection_is_one_line(scheme: str, command: list[str]) -> None:
    port = free_port()
    user = "" if scheme == "redis" else "root@"
    result = invoke(*command, "--store", f"{scheme}://{user}127.0.0.1:{port}/0?timeout=1")
    assert result.exit_code == 1
    assert f"connection refused at 127.0.0.1:{port}" in one_line(result.output)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never says a word."""
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield int(sock.getsockname()[1])


@pytest.mark.parametrize("scheme", ["redis", "postgresql", "mysql"])
def test_a_server_that_never_answers_times_out_in_one_line(scheme: str, silent_port: int) -> None:
    user = "" if scheme == "redis" else "root@"
    url = f"{scheme}://{user}127.0.0.1:{silent_port}/0?timeout=0.5"
    result = invoke("stats", "--store", url)
    assert result.exit_code == 1
    assert f"timed out after 0.5 s talking to 127.0.0.1:{silent_port}" in one_line(result.output)


@pytest.mark.server
def test_mysql_access_denied_names_the_user_and_never_the_password() -> None:
    url = "mysql://root:hunter2-wrong@127.0.0.1:3306/test?timeout=2"
    result = invoke("stats", "--store", url)
    assert result.exit_code == 1
    line = one_line(result.output)
    assert "access denied for user 'root'" in line
    assert "hunter2" not in line


@pytest.mark.server
def test_postgres_unknown_role_is_access_denied() -> None:
    result = invoke("check", "--store", "postgresql://nosuchrole@127.0.0.1:5432/test?timeout=2")
    assert result.exit_code == 1
    assert "access denied for user 'nosuchrole'" in result.output
    assert "Traceback" not in result.output


@pytest.mark.server
def test_as_a_subprocess_a_refused_connection_is_one_line_on_stderr() -> None:
    port = free_port()
    completed = subprocess.run(
        [sys.executable, "-m", "sojourn.cli", "stats"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "SOJOURN_STORE_URL": f"postgresql://127.0.0.1:{port}/test?timeout=1"},
    )
    assert completed.returncode == 1
    assert completed.stdout == ""
    assert completed.stderr.strip() == f"error: connection refused at 127.0.0.1:{port}"


def postgres_has(table: str) -> bool:
    import psycopg

    from tests.conformance.test_postgres import URL

    with psycopg.connect(URL, connect_timeout=3) as conn:
        row = conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,)).fetchone()
    return bool(row and row[0])


def mysql_has(table: str) -> bool:
    import pymysql

    conn = pymysql.connect(host="127.0.0.1", user="root", database="test", connect_timeout=3)
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW TABLES LIKE %s", (table,))
            return cursor.fetchone() is not None
    finally:
        conn.close()


@pytest.mark.server
@pytest.mark.parametrize("name", ["postgres", "mysql"])
@pytest.mark.parametrize("command", [["check"], ["stats"], ["purge"]], ids=" ".join)
def test_a_missing_sql_table_is_an_error_and_is_not_created(name: str, command: list[str]) -> None:
    if name == "postgres":
        from tests.conformance import test_postgres as server

        exists = postgres_has
    else:
        from tests.conformance import test_mysql as server  # type: ignore[no-redef]

        exists = mysql_has
    table = server.new_table()
    server.drop(table)
    result = invoke(*command, "--store", f"{server.URL}?table={table}")
    assert result.exit_code == 2
    assert f"table '{table}' does not exist" in one_line(result.output)
    assert not exists(table)


def test_an_unexpected_error_is_one_line_unless_debugging(
    sqlite: Backend, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sojourn.cli import _stats

    async def broken(*args: object) -> None:
        raise RuntimeError("a bug")

    monkeypatch.setattr(_stats, "gather", broken)
    result = invoke("stats", "--store", sqlite.url)
    assert result.exit_code == 1
    assert one_line(result.output) == "error: RuntimeError: a bug"
    debugging = invoke("stats", "--store", sqlite.url, env={"SOJOURN_DEBUG": "1"})
    assert isinstance(debugging.exception, RuntimeError)
