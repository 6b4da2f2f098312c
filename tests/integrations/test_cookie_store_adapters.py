"""CookieStore through the WSGI middleware and the Flask extension.

The sealed-cookie mode lives in the manager, so every adapter gets it; these tests prove the
scenario's client-side promises through each sync adapter with its own test client.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask import Flask
from werkzeug.test import Client

from sojourn import SessionTooLarge
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.testing import FakeClock
from sojourn.wsgi import SessionMiddleware

from .test_flask import make_app as make_flask_app
from .test_wsgi import app as wsgi_app

BASE = "https://localhost"
COOKIE = "__Host-sid"
KEY = generate_key()
OLD_KEY = generate_key()


def wsgi_client(store: CookieStore, **options: Any) -> Client:
    middleware: Any = SessionMiddleware(wsgi_app, store=store, **options)
    return Client(middleware)


def flask_client(store: CookieStore, **options: Any) -> Client:
    app: Flask = make_flask_app(store, **options)
    return app.test_client()


CLIENTS = {"wsgi": wsgi_client, "flask": flask_client}


@pytest.fixture(params=sorted(CLIENTS))
def adapter(request: pytest.FixtureRequest) -> Any:
    return CLIENTS[request.param]


def cookie(client: Client) -> str | None:
    found = client.get_cookie(COOKIE, domain="localhost")
    return found.value if found is not None else None


def read_user(client: Client) -> Any:
    return json.loads(client.get(f"{BASE}/read").text)["user"]


def principal(client: Client) -> Any:
    return json.loads(client.get(f"{BASE}/principal").text)["principal"]


def test_anonymous_requests_get_no_cookie(adapter: Any) -> None:
    client = adapter(CookieStore([KEY]))
    response = client.get(f"{BASE}/read")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []
    assert "Cookie" in response.headers["Vary"]


def test_write_read_login_logout(adapter: Any) -> None:
    client = adapter(CookieStore([KEY]))
    client.get(f"{BASE}/write?user=ann")
    first = cookie(client)
    assert first is not None
    assert len(first) > 43
    assert read_user(client) == "ann"
    client.get(f"{BASE}/login?user=alice")
    assert cookie(client) != first
    assert principal(client) == "alice"
    assert read_user(client) == "ann"
    response = client.get(f"{BASE}/logout")
    assert any("Max-Age=0" in line for line in response.headers.getlist("Set-Cookie"))
    assert read_user(client) is None


@pytest.mark.sec("SEC-30")
def test_any_flipped_character_gives_a_fresh_session_and_a_200(adapter: Any) -> None:
    store = CookieStore([KEY])
    client = adapter(store)
    client.get(f"{BASE}/login?user=alice")
    token = cookie(client)
    assert token is not None
    attacker = adapter(store)
    for position in range(len(token)):
        swapped = "A" if token[position] != "A" else "B"
        attacker.set_cookie(COOKIE, token[:position] + swapped + token[position + 1 :])
        response = attacker.get(f"{BASE}/principal")
        assert response.status_code == 200, position
        assert json.loads(response.text) == {"principal": None}, position


@pytest.mark.sec("SEC-22")
def test_idle_timeout_is_enforced(adapter: Any) -> None:
    clock = FakeClock()
    client = adapter(CookieStore([KEY]), idle_timeout=10, clock=clock)
    client.get(f"{BASE}/write?user=idle")
    clock.advance(6)
    assert read_user(client) == "idle"  # renewed: a new cookie slides the deadline
    clock.advance(6)
    assert read_user(client) == "idle"
    clock.advance(11)
    assert read_user(client) is None


@pytest.mark.sec("SEC-36")
def test_rotation_accepts_reseals_then_refuses(adapter: Any) -> None:
    old_client = adapter(CookieStore([OLD_KEY]))
    old_client.get(f"{BASE}/write?user=kept")
    old = cookie(old_client)
    assert old is not None
    rotated = adapter(CookieStore([KEY, OLD_KEY]))
    rotated.set_cookie(COOKIE, old)
    assert read_user(rotated) == "kept"
    resealed = cookie(rotated)
    assert resealed is not None
    assert resealed != old
    retired = adapter(CookieStore([KEY]))
    retired.set_cookie(COOKIE, old)
    assert read_user(retired) is None
    retired.set_cookie(COOKIE, resealed)
    assert read_user(retired) == "kept"


def test_a_session_too_large_names_the_limit_through_wsgi() -> None:
    client = wsgi_client(CookieStore([KEY]))
    with pytest.raises(SessionTooLarge, match="over the limit of 4096 bytes"):
        client.get(f"{BASE}/write?user={'x' * 5000}")


def test_a_session_too_large_is_a_logged_500_in_flask(caplog: pytest.LogCaptureFixture) -> None:
    client = flask_client(CookieStore([KEY]))
    client.get(f"{BASE}/write?user=small")
    response = client.get(f"{BASE}/write?user={'x' * 5000}")
    assert response.status_code == 500
    assert "over the limit of 4096 bytes" in caplog.text
    assert read_user(client) == "small"  # the cookie the browser holds still works


def test_flask_flash_messages_round_trip_in_the_cookie() -> None:
    client = flask_client(CookieStore([KEY]))
    client.get(f"{BASE}/flash")
    assert json.loads(client.get(f"{BASE}/flashed").text) == {"messages": [["info", "saved"]]}
    assert json.loads(client.get(f"{BASE}/flashed").text) == {"messages": []}
