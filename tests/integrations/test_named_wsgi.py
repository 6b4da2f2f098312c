"""Several named sessions through the WSGI middleware, an httpx cookie jar as the browser.

The shop's middleware is unnamed (``environ["sojourn.session"]``), the admin's is named
(``environ["sojourn.sessions"]["admin"]``); both orders are run.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from werkzeug.wrappers import Request

from sojourn import ConfigurationError, MemoryStore
from sojourn.stores.sqlite import SQLiteStore
from sojourn.testing._clock import FakeClock
from sojourn.wsgi import SessionMiddleware, get_manager, get_session

from . import named
from .named import ADMIN, ADMIN_COOKIE, ADMIN_IDLE, ADMIN_NAME, REVOKED_WRITE, SHOP
from .stores import BrokenStore


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    request = Request(environ)
    if request.path == REVOKED_WRITE:  # ended elsewhere while this request runs
        get_manager(environ, ADMIN_NAME).delete(request.cookies[ADMIN_COOKIE])
    shop, admin = get_session(environ), get_session(environ, ADMIN_NAME)
    body = json.dumps(named.act(request.path, dict(request.args), shop, admin)).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def stack(clock: FakeClock, admin_store: Any, admin_outside: bool) -> Any:
    def shop(inner: Any) -> SessionMiddleware:
        return SessionMiddleware(inner, MemoryStore(), cookie=SHOP, clock=clock)

    def admin(inner: Any) -> SessionMiddleware:
        return SessionMiddleware(
            inner,
            admin_store,
            cookie=ADMIN,
            idle_timeout=ADMIN_IDLE,
            clock=clock,
            name=ADMIN_NAME,
        )

    return admin(shop(app)) if admin_outside else shop(admin(app))


@pytest.fixture(params=["admin-outside", "shop-outside"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[httpx.Client]:
    admin_store = SQLiteStore(tmp_path / "admin.db")
    wsgi = stack(clock, admin_store, request.param == "admin-outside")
    with named.wsgi_browser(wsgi) as made:
        yield made
    admin_store.close()


class TestWSGI(named.Scenario):
    """The scenario through two stacked WSGI middlewares."""


@pytest.mark.parametrize("admin_outside", [True, False], ids=["admin-outside", "shop-outside"])
def test_a_named_sessions_store_outage_answers_503_and_leaves_the_other(
    admin_outside: bool,
) -> None:
    broken = BrokenStore(MemoryStore())
    with named.wsgi_browser(stack(FakeClock(), broken, admin_outside)) as client:
        assert client.post("/cart", params={"item": "apple"}).status_code == 200
        assert client.post("/admin/login", params={"user": "root"}).status_code == 200
        broken.fail_on = frozenset({"load"})
        response = client.post("/cart", params={"item": "pear"})
        assert response.status_code == 503
        assert "set-cookie" not in response.headers
        broken.fail_on = frozenset()
        state = client.get("/state").json()
    assert state["cart"] == ["apple"]  # the refused request ran nothing
    assert state["admin"] == "root"


def test_two_middlewares_on_one_cookie_are_refused_at_start_up() -> None:
    inner = SessionMiddleware(app, MemoryStore(), cookie=SHOP)
    with pytest.raises(ConfigurationError, match="__Host-shop"):
        SessionMiddleware(inner, MemoryStore(), cookie=SHOP, name=ADMIN_NAME)


def test_two_middlewares_of_one_name_are_refused_at_start_up() -> None:
    inner = SessionMiddleware(app, MemoryStore(), cookie=SHOP, name=ADMIN_NAME)
    with pytest.raises(ConfigurationError, match="'admin'"):
        SessionMiddleware(inner, MemoryStore(), cookie=ADMIN, name=ADMIN_NAME)


def test_a_missing_named_session_names_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="name='admin'"):
        get_session({}, ADMIN_NAME)
