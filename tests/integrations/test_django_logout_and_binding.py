"""Issue 14's Clear-Site-Data on logout (SEC-29) and binding (SEC-62) through the Django engine
and ``sojourn.django.SessionMiddleware``, on every sync store.

Both need Sojourn's middleware (Django's own does not tell the store who the client is): with
Django's, the settings are refused with a message that names it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import django
import pytest
from django.conf import settings

if not settings.configured:
    from . import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.test import Client, override_settings

from sojourn import ConfigurationError
from sojourn.binding import bind
from sojourn.stores.base import Store

from .shared import django_users
from .stores import StoreFactory, available, record_of, store_params

COOKIE = "sessionid"
MIDDLEWARE = [
    "sojourn.django.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made, override_settings(SOJOURN_STORE=made, MIDDLEWARE=MIDDLEWARE):
        yield made


def browser(agent: str = CHROME, ip: str = "203.0.113.9") -> Client:
    return Client(HTTP_USER_AGENT=agent, REMOTE_ADDR=ip)


def whoami(client: Client) -> object:
    return client.get("/whoami", secure=True).json()["user"]


def session_id(client: Client) -> str:
    morsel = client.cookies.get(COOKIE)
    assert morsel is not None
    value: str = morsel.value
    assert value
    return value


@pytest.mark.sec("SEC-29")
@pytest.mark.parametrize("view", ["/logout", "/flush"])
def test_a_logout_sends_the_configured_clear_site_data(store: Store, view: str) -> None:
    with override_settings(SOJOURN_CLEAR_SITE_DATA=("cache", "cookies")):
        client = browser()
        signed_in = client.get("/login?user=alice", secure=True)
        assert not signed_in.has_header("Clear-Site-Data")
        response = client.get(view, secure=True)
        assert response["Clear-Site-Data"] == '"cache", "cookies"'
        assert response.cookies[COOKIE].value == ""  # Django's deletion, as before


def test_without_the_setting_a_logout_sends_no_clear_site_data(store: Store) -> None:
    client = browser()
    client.get("/login?user=alice", secure=True)
    assert not client.get("/logout", secure=True).has_header("Clear-Site-Data")


def test_a_request_that_logs_nobody_out_clears_nothing(store: Store) -> None:
    with override_settings(SOJOURN_CLEAR_SITE_DATA="*"):
        client = browser()
        assert not client.get("/login?user=alice", secure=True).has_header("Clear-Site-Data")
        assert not client.get("/write?x=1", secure=True).has_header("Clear-Site-Data")


@pytest.mark.sec("SEC-62")
def test_a_bound_session_from_another_user_agent_family_ends(store: Store) -> None:
    with override_settings(SOJOURN_BINDING=bind(user_agent=True)):
        owner = browser()
        owner.get("/login?user=alice", secure=True)
        stolen = session_id(owner)
        assert whoami(owner) == "alice"
        thief = browser(agent=FIREFOX)
        thief.cookies[COOKIE] = stolen
        assert whoami(thief) is None
        assert record_of(store, stolen) is None
        assert whoami(owner) is None  # ended, never adopted


def test_a_bound_session_from_another_ip_prefix_ends(store: Store) -> None:
    with override_settings(SOJOURN_BINDING=bind(ip=True)):
        owner = browser(ip="2001:db8:1:2::5")
        owner.get("/login?user=alice", secure=True)
        value = session_id(owner)
        near = browser(ip="2001:db8:1:2f::9")  # the same /56
        near.cookies[COOKIE] = value
        assert whoami(near) == "alice"
        far = browser(ip="2001:db8:1:100::5")
        far.cookies[COOKIE] = value
        assert whoami(far) is None
        assert record_of(store, value) is None


def test_binding_with_djangos_own_middleware_is_refused(store: Store) -> None:
    own = ["django.contrib.sessions.middleware.SessionMiddleware", *MIDDLEWARE[1:]]
    with (
        override_settings(MIDDLEWARE=own, SOJOURN_BINDING=bind(ip=True)),
        pytest.raises(ConfigurationError, match=r"sojourn\.django\.SessionMiddleware"),
    ):
        browser().get("/login?user=alice", secure=True)
