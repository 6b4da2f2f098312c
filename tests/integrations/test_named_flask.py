"""Several named sessions in Flask: ``flask.session`` for the shop, ``sessions["admin"]``.

The shop's session is the app's ``SessionInterface`` (its cookie from Flask's
``SESSION_COOKIE_*`` config), the admin's is ``Sojourn(app, name="admin", ...)``; both orders of
installation are run. An httpx cookie jar over ``WSGITransport`` is the browser.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import flask
import httpx
import pytest
from flask import Flask, request

from sojourn import ConfigurationError, CookieSettings, MemoryStore
from sojourn.flask import Sojourn, get_manager, named_session, sessions
from sojourn.stores.sqlite import SQLiteStore
from sojourn.testing._clock import FakeClock

from . import named
from .named import (
    ADMIN,
    ADMIN_COOKIE,
    ADMIN_IDLE,
    ADMIN_NAME,
    ALL_PATHS,
    REVOKED_WRITE,
    SHOP_COOKIE,
)

SHOP_CONFIG = {"SESSION_COOKIE_NAME": SHOP_COOKIE, "SESSION_COOKIE_SECURE": True}


def make_app(clock: FakeClock, admin_store: Any, *, admin_first: bool) -> Flask:
    app = Flask(__name__)
    app.config.update(SHOP_CONFIG, TESTING=True)

    def endpoint() -> Any:
        if request.path == REVOKED_WRITE:  # ended elsewhere while this request runs
            get_manager(app, ADMIN_NAME).delete(request.cookies[ADMIN_COOKIE])
        return named.act(request.path, request.args.to_dict(), flask.session, sessions["admin"])

    for path in ALL_PATHS:
        app.add_url_rule(path, path, endpoint, methods=["GET", "POST"])

    @app.post("/shop-revoked")
    def shop_revoked() -> Any:
        get_manager(app).delete(request.cookies[SHOP_COOKIE])  # ended elsewhere meanwhile
        flask.session["cart"] = ["lost"]
        sessions["admin"].login("root")
        return {"ok": True}

    def admin() -> None:
        Sojourn(
            app,
            store=admin_store,
            name=ADMIN_NAME,
            cookie=ADMIN,
            idle_timeout=ADMIN_IDLE,
            clock=clock,
        )

    if admin_first:
        admin()
    Sojourn(app, store=MemoryStore(), clock=clock)
    if not admin_first:
        admin()
    return app


@pytest.fixture(params=["admin-first", "shop-first"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[httpx.Client]:
    admin_store = SQLiteStore(tmp_path / "admin.db")
    app = make_app(clock, admin_store, admin_first=request.param == "admin-first")
    with named.wsgi_browser(app) as made:
        yield made
    admin_store.close()


class TestFlask(named.Scenario):
    """The scenario through flask.session and sessions["admin"]."""

    def test_flask_sessions_lost_write_keeps_the_admin_cookie(self, client: httpx.Client) -> None:
        # flask.session is saved after every after_request hook, so after the admin session's
        # commit: its 409 must still carry the admin cookie, whose record is saved.
        assert client.post("/cart", params={"item": "apple"}).status_code == 200
        response = client.post("/shop-revoked")
        assert response.status_code == 409
        assert response.headers["sojourn-session"] == "ended"
        assert set(named.set_cookies(response)) == {ADMIN_COOKIE}
        assert client.get("/state").json()["admin"] == "root"


def test_a_named_session_on_flasks_session_cookie_is_refused() -> None:
    app = Flask(__name__)
    app.config.update(SHOP_CONFIG)
    Sojourn(app, store=MemoryStore())
    with pytest.raises(ConfigurationError, match="__Host-shop"):
        Sojourn(app, store=MemoryStore(), name=ADMIN_NAME, cookie=CookieSettings(name=SHOP_COOKIE))


def test_flasks_session_on_a_named_sessions_cookie_is_refused() -> None:
    app = Flask(__name__)
    app.config.update(SHOP_CONFIG)
    Sojourn(app, store=MemoryStore(), name=ADMIN_NAME, cookie=CookieSettings(name=SHOP_COOKIE))
    with pytest.raises(ConfigurationError, match="__Host-shop"):
        Sojourn(app, store=MemoryStore())


def test_two_named_sessions_of_one_name_are_refused() -> None:
    app = Flask(__name__)
    Sojourn(app, store=MemoryStore(), name=ADMIN_NAME, cookie=ADMIN)
    with pytest.raises(ConfigurationError, match="'admin'"):
        Sojourn(app, store=MemoryStore(), name=ADMIN_NAME, cookie=CookieSettings(name="__Host-x"))


def test_an_unknown_name_names_the_fix() -> None:
    app = Flask(__name__)
    with app.test_request_context("/"), pytest.raises(ConfigurationError, match="name='nope'"):
        named_session("nope")
