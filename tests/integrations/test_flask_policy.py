"""What Sojourn enforces for a Flask app beyond Flask's own rules.

SEC-61: what PERMANENT_SESSION_LIFETIME means on the server; a permanent session's cookie never
outlives the session's absolute deadline; the server enforces the idle timeout whatever the
cookie says. SEC-10: Flask's non-Secure default is kept, but logged outside debug and testing.
"""

from __future__ import annotations

import re
import time
from datetime import timedelta
from email.utils import parsedate_to_datetime

import pytest
from flask import Flask, session

from sojourn import CookieSettings, MemoryStore
from sojourn.flask import Sojourn, get_manager
from sojourn.testing import FakeClock


def make_app(clock: FakeClock, **options: object) -> Flask:
    app = Flask(__name__)
    Sojourn(app, store=MemoryStore(), clock=clock, **options)

    @app.get("/remember")
    def remember() -> str:
        session["user"] = "alice"
        session.permanent = True
        return "ok"

    @app.get("/read")
    def read() -> str:
        return str(session.get("user"))

    return app


def expires_in(header: str, now: float) -> float:
    match = re.search(r"Expires=([^;]+)", header)
    assert match is not None, header
    return parsedate_to_datetime(match.group(1)).timestamp() - now


@pytest.mark.parametrize(
    ("config", "idle", "lifetime"),
    [
        ({}, 30 * 60, 31 * 24 * 3600),  # Flask's 31 days: the absolute lifetime; idle stays 30 min
        ({"PERMANENT_SESSION_LIFETIME": timedelta(minutes=5)}, 300, 24 * 3600),
        ({"PERMANENT_SESSION_LIFETIME": timedelta(days=7)}, 7 * 24 * 3600, 7 * 24 * 3600),
    ],
)
@pytest.mark.sec("SEC-61")
def test_permanent_session_lifetime_maps_onto_the_policy(
    config: dict[str, object], idle: float, lifetime: float
) -> None:
    app = make_app(FakeClock(time.time()))
    app.config.update(config)
    policy = get_manager(app).engine.policy
    assert (policy.idle_timeout, policy.lifetime) == (idle, lifetime)


@pytest.mark.sec("SEC-14", "SEC-61")
def test_a_permanent_cookie_expires_with_the_session_not_later() -> None:
    clock = FakeClock(time.time())  # Flask dates Expires by the real clock
    client = make_app(clock, lifetime=3600).test_client()
    [header] = client.get("/remember").headers.getlist("Set-Cookie")
    assert 3590 <= expires_in(header, clock()) <= 3600  # not now + 31 days


@pytest.mark.sec("SEC-20", "SEC-61")
def test_the_server_ends_an_idle_permanent_session_whatever_the_cookie_says() -> None:
    clock = FakeClock(time.time())  # Flask dates Expires by the real clock
    client = make_app(clock).test_client()
    [header] = client.get("/remember").headers.getlist("Set-Cookie")
    assert expires_in(header, clock()) > 30 * 24 * 3600  # Flask's 31-day cookie
    clock.advance(29 * 60)
    assert client.get("/read").text == "alice"
    clock.advance(31 * 60)
    assert client.get("/read").text == "None"


@pytest.mark.sec("SEC-10", "SEC-61")
def test_flasks_insecure_default_is_logged_once_outside_debug_and_testing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    app = make_app(FakeClock(time.time()))
    client = app.test_client()
    with caplog.at_level("WARNING", logger="sojourn"):
        client.get("/remember")
        client.get("/read")
    assert sum("without Secure" in r.getMessage() for r in caplog.records) == 1
    caplog.clear()
    app.config["SESSION_COOKIE_SECURE"] = True
    with caplog.at_level("WARNING", logger="sojourn"):
        client.get("/read", base_url="https://localhost")
    assert not any("without Secure" in r.getMessage() for r in caplog.records)


def test_persistent_cookie_settings_give_every_session_a_lasting_cookie() -> None:
    clock = FakeClock(time.time())
    app = make_app(clock, cookie=CookieSettings(persistent=True), lifetime=7200)

    @app.get("/plain")
    def plain() -> str:
        session["x"] = 1  # not marked permanent
        return "ok"

    [header] = app.test_client().get("/plain").headers.getlist("Set-Cookie")
    assert 7190 <= expires_in(header, clock()) <= 7200


def test_without_it_a_session_not_marked_permanent_gets_a_browser_session_cookie() -> None:
    app = make_app(FakeClock(time.time()))

    @app.get("/plain")
    def plain() -> str:
        session["x"] = 1
        return "ok"

    [header] = app.test_client().get("/plain").headers.getlist("Set-Cookie")
    assert "Expires=" not in header
    assert "Max-Age=" not in header
