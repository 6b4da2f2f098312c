"""The ``session.store_error`` logs say why the store failed, never a password or an ID."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route
from werkzeug.test import Client

from sojourn import AsyncMemoryStore, MemoryStore, Record
from sojourn._async.manager import store_failed
from sojourn.asgi import SessionMiddleware as ASGIMiddleware
from sojourn.wsgi import SessionMiddleware, get_session

REFUSED = ConnectionRefusedError(111, "Connect call failed ('10.0.0.9', 6379) redis://u:pw1@x")


class RefusingStore(AsyncMemoryStore):
    """A memory store whose driver (so to speak) cannot reach its server on writes."""

    async def create(self, record: Record) -> None:
        raise REFUSED


def test_store_failed_carries_the_cause() -> None:
    message = str(store_failed(REFUSED))
    assert "ConnectionRefusedError" in message
    assert "10.0.0.9" in message
    assert "pw1" not in message


async def write(request: Request) -> Response:
    request.session["name"] = "x"
    return PlainTextResponse("ok")


@pytest.mark.anyio
async def test_the_asgi_commit_log_names_the_cause(caplog: pytest.LogCaptureFixture) -> None:
    app = Starlette(routes=[Route("/", write)])
    app.add_middleware(ASGIMiddleware, store=RefusingStore())
    transport = httpx.ASGITransport(app=app)
    with caplog.at_level(logging.ERROR, logger="sojourn"):
        async with httpx.AsyncClient(transport=transport, base_url="https://t") as client:
            response = await client.get("/")
    assert response.status_code == 503
    [line] = [r.getMessage() for r in caplog.records if "store_error" in r.getMessage()]
    assert line.startswith("session.store_error: the session store failed on commit: ")
    assert "ConnectionRefusedError" in line
    assert "10.0.0.9" in line
    assert "pw1" not in line


class RefusingSyncStore(MemoryStore):
    def create(self, record: Record) -> None:
        raise REFUSED


def test_the_wsgi_commit_log_names_the_cause(caplog: pytest.LogCaptureFixture) -> None:
    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        get_session(environ)["name"] = "x"
        start_response("200 OK", [("Content-Type", "text/plain")])
        return [b"ok"]

    wsgi_app: Any = SessionMiddleware(app, store=RefusingSyncStore())
    client = Client(wsgi_app)
    with caplog.at_level(logging.ERROR, logger="sojourn"):
        response = client.get("/", base_url="https://t")
    assert response.status_code == 503
    [line] = [r.getMessage() for r in caplog.records if "store_error" in r.getMessage()]
    assert line.startswith("session.store_error: the session store failed on commit: ")
    assert "ConnectionRefusedError" in line
    assert "pw1" not in line
