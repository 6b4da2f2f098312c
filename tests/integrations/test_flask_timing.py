"""Flask: ``session.permanent`` is remember-me, on every store.

A permanent session gets a dated cookie (Flask's contract) and the remembered timeouts; a
non-permanent one a browser-session cookie and the ordinary ones; each ends at its own deadline.
"""

from __future__ import annotations

import re
import time
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from flask import Flask, request, session
from flask.testing import FlaskClient

from sojourn.flask import Sojourn
from sojourn.stores.base import Store
from sojourn.testing import FakeClock
from tests.timing import DAY, HOUR, OPTIONS

from .stores import record_of
from .test_flask import store

__all__ = ["store"]  # the Flask suite's fixture: every store

BASE = "https://localhost"
COOKIE = "__Host-sid"


def make_app(store: Store, clock: FakeClock) -> Flask:
    app = Flask(__name__)
    app.config.update(SESSION_COOKIE_NAME=COOKIE, SESSION_COOKIE_SECURE=True)
    Sojourn(app, store=store, clock=clock, **OPTIONS)

    @app.post("/login")
    def login() -> str:
        session.login(request.args["user"])  # type: ignore[attr-defined]
        session.permanent = request.args.get("remember") == "1"
        return "ok"

    @app.post("/forget")
    def forget() -> str:
        session.permanent = False
        return "ok"

    @app.post("/logout")
    def logout() -> str:
        session.invalidate()  # type: ignore[attr-defined]
        return "bye"

    @app.get("/whoami")
    def whoami() -> dict[str, Any]:
        return {"user": session.principal}  # type: ignore[attr-defined]

    return app


def cookie_header(response: Any) -> str:
    [header] = [h for h in response.headers.getlist("Set-Cookie") if h.startswith(COOKIE)]
    return str(header)


def expires_in(header: str) -> float | None:
    match = re.search(r"Expires=([^;]+)", header)
    return (
        None if match is None else parsedate_to_datetime(match.group(1)).timestamp() - time.time()
    )


def user(client: FlaskClient) -> str | None:
    found: str | None = client.get("/whoami", base_url=BASE).json["user"]  # type: ignore[index]
    return found


def test_a_permanent_and_a_plain_session_each_end_at_their_own_deadline(store: Store) -> None:
    clock = FakeClock(time.time())
    app = make_app(store, clock)
    kept, plain = app.test_client(), app.test_client()
    remembered = cookie_header(kept.post("/login?user=ann&remember=1", base_url=BASE))
    ordinary = cookie_header(plain.post("/login?user=bob", base_url=BASE))
    remaining = expires_in(remembered)
    assert remaining is not None
    assert 30 * DAY - 60 < remaining <= 30 * DAY  # Flask's 31 days, capped at its own 30
    assert expires_in(ordinary) is None  # a browser-session cookie
    for _ in range(17):  # both in use every half hour, past the ordinary 8 hours
        clock.advance(1800)
        user(kept)
        user(plain)
    assert user(kept) == "ann"
    assert user(plain) is None
    clock.advance(6 * DAY)  # idle within the remembered idle timeout
    assert user(kept) == "ann"
    clock.advance(7 * DAY + 1)  # idle past it
    assert user(kept) is None


def test_the_remembered_timing_is_stored_with_the_session(store: Store) -> None:
    clock = FakeClock(time.time())
    client = make_app(store, clock).test_client()
    client.post("/login?user=ann&remember=1", base_url=BASE)
    cookie = client.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    record = record_of(store, cookie.value, clock())
    assert record is not None
    assert record.meta["sojourn:remember"] == "1"
    assert record.expires_at == pytest.approx(clock() + 7 * DAY, abs=1)


def test_turning_permanent_off_brings_the_ordinary_timeouts_back(store: Store) -> None:
    clock = FakeClock(time.time())
    client = make_app(store, clock).test_client()
    client.post("/login?user=ann&remember=1", base_url=BASE)
    client.post("/forget", base_url=BASE)
    clock.advance(HOUR + 1)
    assert user(client) is None


def test_a_logout_ends_the_remembered_session(store: Store) -> None:
    clock = FakeClock(time.time())
    client = make_app(store, clock).test_client()
    client.post("/login?user=ann&remember=1", base_url=BASE)
    cookie = client.get_cookie(COOKIE, domain="localhost")
    assert cookie is not None
    client.post("/logout", base_url=BASE)
    assert record_of(store, cookie.value, clock()) is None
    assert user(client) is None
