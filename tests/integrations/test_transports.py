"""Where the ID travels, through the adapters that had no transport tests of their own.

The WSGI middleware's header and query tests live in ``test_wsgi.py`` and the ASGI header test
in ``tests/asgi/test_middleware.py``; this file covers the Flask extension (header and query)
and the ASGI middleware's query transport, on every sync store / the memory store. Django is
cookie-only: its own ``SessionMiddleware`` reads and writes the cookie (docs/frameworks/django.md).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from flask import Flask, request, session
from flask.testing import FlaskClient

from sojourn import AsyncMemoryStore, CookieTransport, HeaderTransport, QueryTransport, Transport
from sojourn.asgi import SessionMiddleware
from sojourn.fastapi import SessionDep
from sojourn.flask import Sojourn, current_session
from sojourn.stores.base import Store

from .stores import StoreFactory, available, record_of, store_params

BASE = "https://localhost"
TOKEN = "X-Session-Token"


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


def flask_client(store: Store, transport: Transport) -> FlaskClient:
    app = Flask(__name__)
    Sojourn(app, store=store, transport=transport)

    @app.get("/write")
    def write() -> str:
        session["user"] = request.args["user"]
        return "ok"

    @app.get("/read")
    def read() -> dict[str, Any]:
        return {"user": session.get("user"), "principal": current_session().principal}

    @app.get("/login")
    def login() -> str:
        current_session().login(request.args["user"])
        return "ok"

    @app.get("/logout")
    def logout() -> str:
        current_session().invalidate()
        return "ok"

    return app.test_client(use_cookies=False)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


# -- Flask: HeaderTransport ---------------------------------------------------------------------


@pytest.mark.sec("SEC-19")
def test_flask_header_transport_issues_the_id_in_a_response_header(store: Store) -> None:
    client = flask_client(store, HeaderTransport())
    response = client.get("/write?user=alice", base_url=BASE)
    token = response.headers[TOKEN]
    assert response.headers.getlist("Set-Cookie") == []
    assert response.headers["Cache-Control"] == "private, no-store"
    assert "Authorization" in response.headers["Vary"]
    assert record_of(store, token) is not None
    again = client.get("/read", base_url=BASE, headers=bearer(token))
    assert again.json == {"user": "alice", "principal": None}
    assert "Authorization" in again.headers["Vary"]


def test_flask_header_transport_rotates_and_clears_the_token(store: Store) -> None:
    client = flask_client(store, HeaderTransport())
    token = client.get("/write?user=bob", base_url=BASE).headers[TOKEN]
    rotated = client.get("/login?user=bob", base_url=BASE, headers=bearer(token)).headers[TOKEN]
    assert rotated not in ("", token)
    assert record_of(store, token) is None
    assert client.get("/read", base_url=BASE, headers=bearer(rotated)).json == {
        "user": "bob",
        "principal": "bob",
    }
    bye = client.get("/logout", base_url=BASE, headers=bearer(rotated))
    assert bye.headers[TOKEN] == ""
    assert record_of(store, rotated) is None


@pytest.mark.sec("SEC-12")
def test_flask_header_transport_ignores_cookies_and_query(store: Store) -> None:
    client = flask_client(store, HeaderTransport())
    token = client.get("/write?user=carol", base_url=BASE).headers[TOKEN]
    by_cookie = client.get("/read", base_url=BASE, headers={"Cookie": f"__Host-sid={token}"})
    assert by_cookie.json == {"user": None, "principal": None}
    assert client.get(f"/read?sid={token}", base_url=BASE).json == {"user": None, "principal": None}


def test_flask_custom_header(store: Store) -> None:
    client = flask_client(store, HeaderTransport(header="x-api-session"))
    token = client.get("/write?user=dora", base_url=BASE).headers[TOKEN]
    again = client.get("/read", base_url=BASE, headers={"X-Api-Session": token})
    assert again.json == {"user": "dora", "principal": None}
    assert "X-Api-Session" in again.headers["Vary"]


# -- Flask: QueryTransport (opt-in) -------------------------------------------------------------


def test_flask_query_transport_round_trip(store: Store) -> None:
    client = flask_client(store, QueryTransport())
    response = client.get("/write?user=erin", base_url=BASE)
    token = response.headers[TOKEN]
    assert response.headers.getlist("Set-Cookie") == []
    again = client.get(f"/read?sid={token}", base_url=BASE)
    assert again.json == {"user": "erin", "principal": None}
    assert "Vary" not in again.headers  # the URL already keys every cache
    rotated = client.get(f"/login?sid={token}&user=erin", base_url=BASE).headers[TOKEN]
    assert rotated != token
    assert client.get(f"/read?sid={token}", base_url=BASE).json == {"user": None, "principal": None}
    assert client.get(f"/logout?sid={rotated}", base_url=BASE).headers[TOKEN] == ""
    assert record_of(store, rotated) is None


@pytest.mark.sec("SEC-12")
def test_flask_query_transport_refuses_differing_duplicates(store: Store) -> None:
    client = flask_client(store, QueryTransport())
    token = client.get("/write?user=finn", base_url=BASE).headers[TOKEN]
    other = client.get("/write?user=gus", base_url=BASE).headers[TOKEN]
    both = client.get(f"/read?sid={token}&sid={other}", base_url=BASE)
    assert both.json == {"user": None, "principal": None}


@pytest.mark.sec("SEC-12")
def test_flask_default_cookie_transport_never_reads_the_query(store: Store) -> None:
    token = flask_client(store, QueryTransport()).get("/write?user=hal", base_url=BASE)
    cookie_client = flask_client(store, CookieTransport())
    read = cookie_client.get(f"/read?sid={token.headers[TOKEN]}", base_url=BASE)
    assert read.json == {"user": None, "principal": None}


# -- ASGI: QueryTransport -----------------------------------------------------------------------


def test_asgi_query_transport_round_trip() -> None:
    app = FastAPI()
    app.add_middleware(SessionMiddleware, store=AsyncMemoryStore(), transport=QueryTransport())

    @app.get("/write")
    async def write(user: str, session: SessionDep) -> str:
        session["user"] = user
        return "ok"

    @app.get("/read")
    async def read(session: SessionDep) -> dict[str, Any]:
        return {"user": session.get("user")}

    with TestClient(app, base_url="https://testserver") as client:
        response = client.get("/write", params={"user": "ivy"})
        token = response.headers[TOKEN]
        assert "set-cookie" not in response.headers
        assert client.get("/read", params={"sid": token}).json() == {"user": "ivy"}
        assert client.get("/read", headers=bearer(token)).json() == {"user": None}
