"""The acceptance scenario of several named sessions, written once for every adapter.

One browser (an httpx cookie jar: Starlette's ``TestClient`` for ASGI apps, ``httpx.Client``
over ``WSGITransport`` for WSGI ones) talks to an app with two sessions: the shop's, unnamed,
in the cookie ``__Host-shop`` with the default 30-minute idle timeout, and an admin session
named ``admin`` in ``__Host-admin`` with a 15-minute idle timeout and a store of its own. Each
adapter's test module builds that app with its framework's idioms, routes every request to
:func:`act` with its two sessions, and runs the checks of :class:`Scenario` by subclassing it.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from http.cookies import SimpleCookie
from typing import Any, Protocol

import httpx
import pytest

from sojourn import CookieSettings, Session
from sojourn.testing._clock import FakeClock

SHOP_COOKIE = "__Host-shop"
ADMIN_COOKIE = "__Host-admin"
ADMIN_NAME = "admin"
ADMIN_IDLE = 15 * 60

SHOP = CookieSettings(name=SHOP_COOKIE)
ADMIN = CookieSettings(name=ADMIN_COOKIE)

PATHS = ("/cart", "/admin/login", "/both", "/state", "/admin/logout", "/admin/regenerate")
REVOKED_WRITE = "/admin/revoked-write"
"""Revokes the admin session (through its manager) before writing to it: a lost write."""
ALL_PATHS = (*PATHS, REVOKED_WRITE)


Browser = Any
"""An httpx client (or Starlette's ``TestClient``, built on its own httpx) and its jar: typed
loosely because the two httpx packages' signatures differ."""


class Admin(Protocol):
    """What the scenario asks of the admin session: a Sojourn session's own API."""

    @property
    def principal(self) -> str | None: ...
    @property
    def expires_at(self) -> float: ...
    def login(self, principal: str) -> None: ...
    def regenerate(self) -> None: ...
    def invalidate(self) -> None: ...
    def __setitem__(self, key: str, value: Any) -> None: ...


def act(path: str, params: dict[str, str], shop: MutableMapping[str, Any], admin: Admin) -> Any:
    """What every app does for ``path``: the one place the scenario's behaviour is written."""
    if path in ("/cart", "/both", REVOKED_WRITE):
        shop["cart"] = [*shop.get("cart", []), params["item"]]
    if path in ("/admin/login", "/both"):
        admin.login(params["user"])
    if path == REVOKED_WRITE:
        admin["note"] = "lost"
    elif path == "/admin/logout":
        admin.invalidate()
    elif path == "/admin/regenerate":
        admin.regenerate()
    return {
        "cart": shop.get("cart", []),
        "shop_keys": sorted(shop.keys()),
        "admin": admin.principal,
        "admin_expires_at": admin.expires_at,
        "admin_is_session": isinstance(admin, Session),
    }


def set_cookies(response: Any) -> dict[str, str]:
    """The response's ``Set-Cookie`` headers by cookie name (the raw value of each)."""
    found: dict[str, str] = {}
    for line in response.headers.get_list("set-cookie"):
        parsed: SimpleCookie = SimpleCookie()
        parsed.load(line)
        for name, morsel in parsed.items():
            assert name not in found, f"two Set-Cookie headers for {name}"
            found[name] = morsel.value
    return found


def vary_tokens(response: Any) -> list[str]:
    return [
        token.strip().lower()
        for line in response.headers.get_list("vary")
        for token in line.split(",")
        if token.strip()
    ]


def wsgi_browser(app: Any) -> httpx.Client:
    """A browser for a WSGI app: an httpx cookie jar over ``WSGITransport``, on HTTPS so that
    ``__Host-`` cookies are kept and sent back."""
    return httpx.Client(transport=httpx.WSGITransport(app=app), base_url="https://testserver")


class Scenario:
    """The checks, inherited by each adapter's test class; the module provides the fixture
    ``client`` (the browser, on a freshly built app whose managers run on ``clock``)."""

    @pytest.fixture
    def clock(self) -> FakeClock:
        return FakeClock()

    def test_both_cookies_in_one_response(self, client: Browser) -> None:
        """One request touching both sessions gets two ``Set-Cookie`` headers, one ``Vary``."""
        response = client.post("/both", params={"item": "apple", "user": "root"})
        assert response.status_code == 200, response.text
        cookies = set_cookies(response)
        assert set(cookies) == {SHOP_COOKIE, ADMIN_COOKIE}
        assert cookies[SHOP_COOKIE] != cookies[ADMIN_COOKIE]
        assert vary_tokens(response).count("cookie") == 1
        assert client.cookies[SHOP_COOKIE] == cookies[SHOP_COOKIE]
        assert client.cookies[ADMIN_COOKIE] == cookies[ADMIN_COOKIE]

    def test_kept_apart(self, client: Browser) -> None:
        """Each session holds only what was put in it; logging into admin leaves the shop alone."""
        assert client.post("/cart", params={"item": "apple"}).status_code == 200
        login = client.post("/admin/login", params={"user": "root"})
        assert set(set_cookies(login)) == {ADMIN_COOKIE}
        state = client.get("/state").json()
        assert state["cart"] == ["apple"]
        assert state["shop_keys"] == ["cart"]
        assert state["admin"] == "root"
        assert state["admin_is_session"] is True
        assert client.cookies[SHOP_COOKIE] != client.cookies[ADMIN_COOKIE]

    def test_own_idle_timeouts(self, client: Browser, clock: FakeClock) -> None:
        """The admin session ends after 15 idle minutes; the shop's, with 30, keeps the cart."""
        assert client.post("/both", params={"item": "apple", "user": "root"}).status_code == 200
        before = client.get("/state").json()
        clock.advance(ADMIN_IDLE + 60)
        after = client.get("/state").json()
        assert before["admin"] == "root"
        assert after["admin"] is None
        assert after["cart"] == ["apple"]

    def test_admin_deadline(self, client: Browser, clock: FakeClock) -> None:
        """The admin record lives its own 15 minutes, not the shop's 30."""
        assert client.post("/both", params={"item": "apple", "user": "root"}).status_code == 200
        state = client.get("/state").json()
        assert abs(state["admin_expires_at"] - (clock() + ADMIN_IDLE)) < 5

    def test_logout_keeps_cart(self, client: Browser) -> None:
        """Logging out of admin clears only the admin cookie; the cart stays."""
        assert client.post("/both", params={"item": "apple", "user": "root"}).status_code == 200
        shop_before = client.cookies[SHOP_COOKIE]
        response = client.post("/admin/logout")
        assert response.status_code == 200
        assert set_cookies(response) == {ADMIN_COOKIE: ""}
        assert ADMIN_COOKIE not in client.cookies
        assert client.cookies[SHOP_COOKIE] == shop_before
        state = client.get("/state").json()
        assert state["admin"] is None
        assert state["cart"] == ["apple"]

    def test_rotation_keeps_other(self, client: Browser) -> None:
        """Rotating the admin ID sends only the admin cookie; the shop's keeps its value."""
        assert client.post("/both", params={"item": "apple", "user": "root"}).status_code == 200
        shop_before, admin_before = client.cookies[SHOP_COOKIE], client.cookies[ADMIN_COOKIE]
        response = client.post("/admin/regenerate")
        cookies = set_cookies(response)
        assert set(cookies) == {ADMIN_COOKIE}
        assert cookies[ADMIN_COOKIE] not in ("", admin_before)
        assert client.cookies[SHOP_COOKIE] == shop_before
        state = client.get("/state").json()
        assert state["admin"] == "root"
        assert state["cart"] == ["apple"]

    def test_lost_write_is_clean(self, client: Browser) -> None:
        """The admin session's lost write answers the usual 409, with no admin cookie; the shop
        session created by the same request is saved and keeps its cookie."""
        assert client.post("/admin/login", params={"user": "root"}).status_code == 200
        admin_before = client.cookies[ADMIN_COOKIE]
        response = client.post(REVOKED_WRITE, params={"item": "pear"})
        assert response.status_code == 409
        assert response.headers["sojourn-session"] == "ended"
        assert "no-store" in response.headers["cache-control"]
        assert set(set_cookies(response)) == {SHOP_COOKIE}
        assert client.cookies[ADMIN_COOKIE] == admin_before  # not touched by the answer
        state = client.get("/state").json()
        assert state["cart"] == ["pear"]
        assert state["admin"] is None


__all__ = [
    "ADMIN",
    "ADMIN_COOKIE",
    "ADMIN_IDLE",
    "ADMIN_NAME",
    "ALL_PATHS",
    "PATHS",
    "REVOKED_WRITE",
    "SHOP",
    "SHOP_COOKIE",
    "Scenario",
    "act",
    "set_cookies",
    "wsgi_browser",
]
