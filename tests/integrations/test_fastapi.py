"""FastAPI through the ASGI middleware, with the session handed over by ``SessionDep``.

Requests go to https://testserver so the default ``__Host-sid; Secure`` cookie is kept and sent
back by FastAPI's ``TestClient``, as a browser would.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI, Request, WebSocket
from fastapi.testclient import TestClient
from starlette.middleware.sessions import SessionMiddleware as StarletteSessionMiddleware

from sojourn import ConfigurationError, Session
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware
from sojourn.fastapi import ManagerDep, SessionDep
from sojourn.stores.base import AsyncStore

from .shared import ASYNC_STORES

BASE = "https://testserver"
COOKIE = "__Host-sid"


def routes(app: FastAPI) -> FastAPI:
    """The handlers of every test: each reaches the session only through the dependency."""

    @app.post("/login")
    async def login(user: str, session: SessionDep) -> dict[str, str]:
        session.login(user)
        return {"ok": "yes"}

    @app.post("/cart")
    async def add(item: str, session: SessionDep) -> dict[str, Any]:
        cart = session.setdefault("cart", [])
        cart.append(item)
        return {"cart": cart}

    @app.get("/me")
    async def me(session: SessionDep) -> dict[str, Any]:
        return {"user": session.principal, "cart": session.get("cart", [])}

    @app.post("/logout")
    async def logout(session: SessionDep) -> dict[str, str]:
        session.invalidate()
        return {"ok": "bye"}

    @app.get("/same")
    async def same(request: Request, session: SessionDep) -> dict[str, bool]:
        return {"session": isinstance(session, Session) and session is request.session}

    @app.get("/devices")
    async def devices(session: SessionDep, manager: ManagerDep) -> list[dict[str, Any]]:
        principal = session.principal
        assert principal is not None
        found = await manager.sessions_of(principal, current=session)
        return [{"fingerprint": s.fingerprint, "current": s.current} for s in found]

    @app.websocket("/ws")
    async def socket(websocket: WebSocket, session: SessionDep) -> None:
        await websocket.accept()
        await websocket.send_json({"user": session.principal, "read_only": session.read_only})
        await websocket.close()

    return app


def make_app(store: AsyncStore) -> FastAPI:
    app = routes(FastAPI())
    app.add_middleware(SessionMiddleware, store=store)
    return app


@pytest.fixture(params=sorted(ASYNC_STORES))
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AsyncStore]:
    with ASYNC_STORES[request.param](tmp_path) as made:
        yield made


def session_id(client: TestClient) -> str | None:
    value: str | None = client.cookies.get(COOKIE)
    return value


def test_login_write_read_logout(store: AsyncStore) -> None:
    with TestClient(make_app(store), base_url=BASE) as client:
        anonymous = client.get("/me")
        assert anonymous.json() == {"user": None, "cart": []}
        assert "set-cookie" not in anonymous.headers

        login = client.post("/login", params={"user": "alice"})
        assert login.headers["set-cookie"].startswith(f"{COOKIE}=")
        sid = session_id(client)
        assert sid is not None

        assert client.post("/cart", params={"item": "apple"}).json() == {"cart": ["apple"]}
        assert client.post("/cart", params={"item": "pear"}).json() == {"cart": ["apple", "pear"]}
        assert client.get("/me").json() == {"user": "alice", "cart": ["apple", "pear"]}

        logout = client.post("/logout")
        assert logout.headers["set-cookie"].startswith(f"{COOKIE}=;")
        assert session_id(client) is None
        assert client.portal is not None
        assert client.portal.call(store.load, store_key(sid), 0.0) is None
        assert client.get("/me").json() == {"user": None, "cart": []}


def test_the_dependency_is_the_sojourn_session_of_the_request(store: AsyncStore) -> None:
    with TestClient(make_app(store), base_url=BASE) as client:
        assert client.get("/same").json() == {"session": True}


def test_manager_dependency_lists_the_users_sessions(store: AsyncStore) -> None:
    app = make_app(store)
    with TestClient(app, base_url=BASE) as phone, TestClient(app, base_url=BASE) as laptop:
        phone.post("/login", params={"user": "bob"})
        laptop.post("/login", params={"user": "bob"})
        listed = phone.get("/devices").json()
        assert len(listed) == 2
        assert [entry["current"] for entry in listed].count(True) == 1


def test_websocket_handlers_get_the_session_read_only(store: AsyncStore) -> None:
    with TestClient(make_app(store), base_url=BASE) as client:
        client.post("/login", params={"user": "carol"})
        # The test client opens ws:// (not wss://), where a Secure cookie is not sent by itself.
        cookie = {"cookie": f"{COOKIE}={session_id(client)}"}
        with client.websocket_connect("/ws", headers=cookie) as socket:
            assert socket.receive_json() == {"user": "carol", "read_only": True}


def test_missing_middleware_raises_a_configuration_error() -> None:
    with (
        TestClient(routes(FastAPI()), base_url=BASE) as client,
        pytest.raises(
            ConfigurationError, match=r"app\.add_middleware\(sojourn\.asgi\.SessionMiddleware"
        ),
    ):
        client.get("/me")


def test_missing_middleware_is_a_clean_500_for_the_client() -> None:
    app = routes(FastAPI())
    with TestClient(app, base_url=BASE, raise_server_exceptions=False) as client:
        response = client.get("/me")
        assert response.status_code == 500
        assert "set-cookie" not in response.headers


def test_starlettes_own_session_middleware_is_not_mistaken_for_sojourn() -> None:
    app = routes(FastAPI())
    app.add_middleware(StarletteSessionMiddleware, secret_key="not-a-sojourn-session")
    with TestClient(app, base_url=BASE) as client, pytest.raises(ConfigurationError):
        client.get("/me")
