"""A store that is down gives a clean 503 — never a traceback, never a silent anonymous user.

The failing store is real: SQLite pointed at a directory that does not exist, which cannot be
opened (StoreUnavailable), not a stand-in that raises on cue.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from starlette.applications import Starlette

from sojourn import AsyncMemoryStore, new_session_id
from sojourn.stores.sqlite import AsyncSQLiteStore
from sojourn.testing import FakeClock

from .test_acceptance import COOKIE, client_for, make_app, session_cookie


def broken_app(tmp_path: Path, **options: object) -> Starlette:
    store = AsyncSQLiteStore(tmp_path / "missing-dir" / "sessions.db")
    return make_app(store, FakeClock(), **options)


@pytest.mark.sec("SEC-48", "SEC-55")
@pytest.mark.anyio
async def test_a_store_down_on_load_answers_503(tmp_path: Path) -> None:
    async with client_for(broken_app(tmp_path)) as client:
        client.cookies.set(COOKIE, new_session_id())
        response = await client.get("/read")
    assert response.status_code == 503
    assert "Traceback" not in response.text
    assert "missing-dir" not in response.text
    assert response.headers["cache-control"] == "no-store"
    assert session_cookie(response) is None


@pytest.mark.sec("SEC-48")
@pytest.mark.anyio
async def test_a_store_down_on_commit_answers_503_without_a_cookie(tmp_path: Path) -> None:
    async with client_for(broken_app(tmp_path)) as client:
        response = await client.post("/write?name=lost")
    assert response.status_code == 503
    assert session_cookie(response) is None


@pytest.mark.anyio
async def test_requests_without_an_id_never_touch_a_down_store(tmp_path: Path) -> None:
    async with client_for(broken_app(tmp_path)) as client:
        response = await client.get("/read")
    assert response.status_code == 200


@pytest.mark.sec("SEC-48")
@pytest.mark.anyio
async def test_anonymous_mode_serves_without_saving(tmp_path: Path) -> None:
    app = broken_app(tmp_path, on_store_error="anonymous")
    async with client_for(app) as client:
        planted = new_session_id()
        client.cookies.set(COOKIE, planted)
        response = await client.post("/write?name=lost")
    assert response.status_code == 200
    assert session_cookie(response) is None


@pytest.mark.anyio
async def test_a_healthy_store_is_unaffected() -> None:
    async with client_for(make_app(AsyncMemoryStore(), FakeClock())) as client:
        assert (await client.post("/write?name=ok")).status_code == 200
