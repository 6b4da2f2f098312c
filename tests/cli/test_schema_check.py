"""``sojourn schema`` and ``sojourn check``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sojourn.stores.sqlite import schema_sql
from tests.cli.conftest import Backend
from tests.cli.test_sessions import as_json, invoke
from tests.stores.redis_cluster import free_port


def test_schema_prints_the_sqlite_ddl(tmp_path: Path) -> None:
    path = tmp_path / "not-yet.db"
    result = invoke("schema", "--store", f"sqlite:///{path}")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == schema_sql().strip()
    assert not path.exists()  # the DDL is for creating it; printing it creates nothing


@pytest.mark.parametrize(("scheme", "module"), [("postgresql", "postgres"), ("mysql", "mysql")])
def test_schema_prints_the_server_ddl_without_connecting(scheme: str, module: str) -> None:
    import importlib

    port = free_port()  # nothing listens there: the command must not try
    result = invoke("schema", "--store", f"{scheme}://u:pw@127.0.0.1:{port}/db")
    assert result.exit_code == 0, result.output
    expected = importlib.import_module(f"sojourn.stores.{module}").schema_sql()
    assert result.output.strip() == expected.strip()


def test_schema_of_redis_and_memory() -> None:
    redis = invoke("schema", "--store", "redis://127.0.0.1:1/0")
    assert redis.exit_code == 3
    assert "keeps no schema" in redis.output
    memory = invoke("schema", "--store", "memory://")
    assert memory.exit_code == 2


def test_check_passes_on_a_healthy_store(backend: Backend) -> None:
    data = as_json(invoke("check", "--store", backend.url, "--json"))
    checks = {c["check"]: c for c in data["checks"]}
    assert data["ok"] is True
    assert list(checks) == ["connectivity", "schema", "clock", "round trip"]
    assert checks["round trip"]["ok"] is True
    assert checks["connectivity"]["ok"] is True
    assert backend.stored() == 0  # the throwaway record is gone


def test_check_reports_a_schema_version_mismatch(sqlite: Backend, tmp_path: Path) -> None:
    path = sqlite.url.removeprefix("sqlite:///")
    sqlite.store.close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE sojourn_schema SET version = 99")
    result = invoke("check", "--store", sqlite.url)
    assert result.exit_code == 2  # the store is not one this release can use: configuration
    assert "99" in result.output
    assert "Traceback" not in result.output
