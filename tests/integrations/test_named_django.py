"""Several named sessions in Django: ``request.session`` for the shop (the ``sojourn.django``
engine, cookie ``__Host-shop``), ``request.sessions["admin"]`` from ``NamedSessionsMiddleware``
and ``SOJOURN_SESSIONS``. Both middleware orders are run; an httpx cookie jar over Django's
``WSGIHandler`` is the browser (real ``Set-Cookie`` lines, ``Max-Age=0`` deletions honoured).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import httpx
import pytest
from django.conf import settings

if not settings.configured:
    from . import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.core.handlers.wsgi import WSGIHandler
from django.http import HttpRequest, JsonResponse
from django.test import override_settings
from django.urls import path

from sojourn import ConfigurationError, CookieSettings, MemoryStore
from sojourn.django import NamedSessionsMiddleware
from sojourn.stores.sqlite import SQLiteStore
from sojourn.testing._clock import FakeClock

from . import named
from .named import (
    ADMIN,
    ADMIN_COOKIE,
    ADMIN_IDLE,
    ADMIN_NAME,
    SHOP_COOKIE,
)

PRIMARY = "sojourn.django.SessionMiddleware"
NAMED = "sojourn.django.NamedSessionsMiddleware"


def endpoint(request: HttpRequest) -> JsonResponse:
    if request.path == named.REVOKED_WRITE:  # ended elsewhere while this request runs
        request.sojourn_managers[ADMIN_NAME].delete(request.COOKIES[ADMIN_COOKIE])
    params = request.GET.dict()
    return JsonResponse(named.act(request.path, params, request.session, request.sessions["admin"]))


urlpatterns = [path(p.lstrip("/"), endpoint) for p in named.ALL_PATHS]


def admin_entry(store: Any) -> dict[str, Any]:
    return {"store": store, "cookie": ADMIN, "idle_timeout": ADMIN_IDLE}


@pytest.fixture(params=["admin-outside", "shop-outside"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[httpx.Client]:
    admin_store = SQLiteStore(tmp_path / "admin.db")
    order = [NAMED, PRIMARY] if request.param == "admin-outside" else [PRIMARY, NAMED]
    with (
        override_settings(
            ROOT_URLCONF=__name__,
            MIDDLEWARE=order,
            SOJOURN_STORE=MemoryStore(),
            SOJOURN_CLOCK=clock,
            SESSION_COOKIE_NAME=SHOP_COOKIE,
            SOJOURN_SESSIONS={ADMIN_NAME: admin_entry(admin_store)},
        ),
        named.wsgi_browser(WSGIHandler()) as made,
    ):
        yield made
    admin_store.close()


class TestDjango(named.Scenario):
    """The scenario through request.session and request.sessions["admin"]."""


def never(request: HttpRequest) -> Any:
    raise AssertionError("never called")


def test_a_named_session_on_djangos_session_cookie_is_refused_at_start_up() -> None:
    entry = {"store": MemoryStore(), "cookie": CookieSettings(name=SHOP_COOKIE)}
    with (
        override_settings(SESSION_COOKIE_NAME=SHOP_COOKIE, SOJOURN_SESSIONS={"admin": entry}),
        pytest.raises(ConfigurationError, match="__Host-shop"),
    ):
        NamedSessionsMiddleware(never)


def test_two_named_sessions_on_one_cookie_are_refused_at_start_up() -> None:
    sessions = {"admin": admin_entry(MemoryStore()), "ops": admin_entry(MemoryStore())}
    with (
        override_settings(SOJOURN_SESSIONS=sessions),
        pytest.raises(ConfigurationError, match="__Host-admin"),
    ):
        NamedSessionsMiddleware(never)


def test_missing_settings_name_the_fix() -> None:
    with (
        override_settings(SOJOURN_SESSIONS=None),
        pytest.raises(ConfigurationError, match="SOJOURN_SESSIONS"),
    ):
        NamedSessionsMiddleware(never)


def test_an_entry_without_a_store_is_refused() -> None:
    with (
        override_settings(SOJOURN_SESSIONS={"admin": {"cookie": ADMIN}}),
        pytest.raises(ConfigurationError, match="'store'"),
    ):
        NamedSessionsMiddleware(never)


def test_an_unknown_option_names_the_entry() -> None:
    entry = {**admin_entry(MemoryStore()), "idle_timout": 60}
    with (
        override_settings(SOJOURN_SESSIONS={"admin": entry}),
        pytest.raises(ConfigurationError, match=r"SOJOURN_SESSIONS\['admin'\].*idle_timout"),
    ):
        NamedSessionsMiddleware(never)
