"""``sojourn schema`` and ``sojourn check``."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from sojourn import AsyncMemoryStore
from sojourn.cli._check import run_checks
from sojourn.stores.sqlite import schema_sql
from tests.cli.conftest import Backend
from tests.cli.test_sessions import as_json, invoke
from tests.stores.redis_cluster import free_port


def test_schema_prints_the_sqlite_ddl(tmp_path: Path) -> None:
    path = tmp_path / "not-yet.db"
    result = invoke("schema", "--store", f"sqlite:///{path}")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == schema_sql().strip()
    data = as_json(invoke("schema", "--store", f"sqlite:///{path}?table=web", "--json"))
    assert data == {"ddl": schema_sql("web").strip()}
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


class SkewedStore(AsyncMemoryStore):
    """A store whose server clock runs 30 s ahead (no real server's clock can be set so)."""

    async def server_time(self) -> float:
        return time.time() + 30


@pytest.mark.anyio
async def test_check_fails_on_clock_skew() -> None:
    outcomes = {o.name: o for o in await run_checks(SkewedStore(), "memory://", max_skew=2)}
    assert outcomes["clock"].ok is False
    assert "ahead" in outcomes["clock"].detail
    assert "more than 2 s" in outcomes["clock"].detail
    assert outcomes["round trip"].ok is True
    within = {o.name: o for o in await run_checks(SkewedStore(), "memory://", max_skew=60)}
    assert within["clock"].ok is True
