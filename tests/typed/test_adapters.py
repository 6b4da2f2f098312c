"""Typed sessions through the adapters: ``shape=`` (and ``migrate=``) on the ASGI middleware,
the Flask extension, the WSGI middleware and Django's settings. A stored record of an old
shape gives a fresh session (or migrates) with a log line, never a 500."""

from __future__ import annotations

import logging
from typing import Any, cast

import pytest
from flask import Flask
from flask import session as flask_session
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from sojourn import AsyncMemoryStore, ConfigurationError, MemoryStore
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.flask import Sojourn
from sojourn.typed import ShapeError, typed
from sojourn.wsgi import SessionMiddleware as WSGISessionMiddleware

from .shapes import Cart

COOKIE = "__Host-sid"


def mismatches(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "session.shape_mismatch" in r.getMessage()]


# -- ASGI -----------------------------------------------------------------------------------


def asgi_app(store: AsyncMemoryStore, **options: Any) -> Starlette:
    async def read(request: Request) -> JSONResponse:
        return JSONResponse(dict(get_session(request)))

    async def write(request: Request) -> PlainTextResponse:
        session = get_session(request)
        for key, value in request.query_params.items():
            session[key] = value
        return PlainTextResponse("ok")

    async def add(request: Request) -> PlainTextResponse:
        cart = typed(get_session(request), Cart)
        cart.setdefault("items", []).append(int(request.query_params["item"]))
        return PlainTextResponse("ok")

    routes = [Route("/read", read), Route("/write", write), Route("/add", add)]
    app = Starlette(routes=routes)
    return SessionMiddleware(app, store, **options)  # type: ignore[return-value]


def test_asgi_old_shape_gives_a_fresh_session_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = AsyncMemoryStore()
    with TestClient(asgi_app(store), base_url="https://testserver") as before:
        before.get("/write?items=sku-1")  # the old shape: a string
        session_id = before.cookies[COOKIE]
    with TestClient(asgi_app(store, shape=Cart), base_url="https://testserver") as after:
        after.cookies.set(COOKIE, session_id)
        with caplog.at_level(logging.WARNING, logger="sojourn.security"):
            response = after.get("/read")
    assert response.status_code == 200
    assert response.json() == {}
    assert len(mismatches(caplog)) == 1
    assert "Max-Age=0" in response.headers["set-cookie"]  # the old ID is forgotten


def test_asgi_migrates_an_old_record(caplog: pytest.LogCaptureFixture) -> None:
    store = AsyncMemoryStore()
    with TestClient(asgi_app(store), base_url="https://testserver") as before:
        before.get("/write?items=7")
        session_id = before.cookies[COOKIE]

    def migrate(old: dict[str, Any]) -> dict[str, Any]:
        return {**old, "items": [int(old["items"])]}

    app = asgi_app(store, shape=Cart, migrate=migrate)
    with TestClient(app, base_url="https://testserver") as after:
        after.cookies.set(COOKIE, session_id)
        assert after.get("/add?item=8").status_code == 200
        assert after.get("/read").json() == {"items": [7, 8]}
    assert mismatches(caplog) == []


def test_asgi_wrong_typed_write_raises_a_clear_error() -> None:
    with (
        TestClient(asgi_app(AsyncMemoryStore(), shape=Cart), base_url="https://testserver") as c,
        pytest.raises(ShapeError, match=r"'items' must be list\[int\]"),
    ):
        c.get("/write?items=oops")


def test_migrate_without_a_shape_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="needs a shape"):
        asgi_app(AsyncMemoryStore(), migrate=lambda old: old)


# -- Flask ----------------------------------------------------------------------------------


def flask_app(store: MemoryStore, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_SECURE=True)
    Sojourn(app, store=store, **options)

    @app.get("/read")
    def read() -> dict[str, Any]:
        return dict(flask_session)

    @app.get("/write/<key>/<value>")
    def write(key: str, value: str) -> str:
        flask_session[key] = value
        return "ok"

    @app.get("/add/<int:item>")
    def add(item: int) -> str:
        typed(flask_session, Cart).setdefault("items", []).append(item)
        return "ok"

    return app


def test_flask_old_shape_gives_a_fresh_session_with_a_log_line(
    caplog: pytest.LogCaptureFixture,
) -> None:
    store = MemoryStore()
    before = flask_app(store).test_client()
    before.get("https://localhost/write/items/sku-1")
    cookie = before.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    after = flask_app(store, shape=Cart).test_client()
    after.set_cookie(COOKIE, cookie.value, domain="localhost")
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        response = after.get("https://localhost/read")
    assert response.status_code == 200
    assert response.json == {}
    assert len(mismatches(caplog)) == 1


def test_flask_typed_view_and_wrong_write() -> None:
    app = flask_app(MemoryStore(), shape=Cart)
    client = app.test_client()
    client.get("https://localhost/add/1")
    client.get("https://localhost/add/2")
    assert client.get("https://localhost/read").json == {"items": [1, 2]}
    app.testing = True  # the error reaches the test, as a request's 500 would carry it
    with pytest.raises(ShapeError, match="'items'"):
        client.get("https://localhost/write/items/oops")


# -- WSGI -----------------------------------------------------------------------------------


def test_wsgi_old_shape_gives_a_fresh_session() -> None:
    from werkzeug.test import Client

    store = MemoryStore()

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ["sojourn.session"]
        if environ["PATH_INFO"] == "/write":
            session["items"] = "sku-1"
        body = repr(sorted(session)).encode()
        start_response("200 OK", [("content-type", "text/plain")])
        return [body]

    before = Client(cast(Any, WSGISessionMiddleware(app, store)))
    before.get("https://localhost/write")
    cookie = before.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    after = Client(cast(Any, WSGISessionMiddleware(app, store, shape=Cart)))
    after.set_cookie(COOKIE, cookie.value, domain="localhost")
    response = after.get("https://localhost/read")
    assert response.status_code == 200
    assert response.get_data() == b"[]"
