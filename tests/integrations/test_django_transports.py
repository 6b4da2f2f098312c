"""``sojourn.django.SessionMiddleware``: the session key in a header or a query parameter.

Django's test ``Client`` drives the real middleware stack (the Sojourn middleware, then
``django.contrib.auth``) over real stores; ``override_settings`` swaps ``MIDDLEWARE`` and
``SOJOURN_TRANSPORT`` per test. Every response is checked for cookies: a header or query
transport must never set one.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    from . import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from django.contrib.auth.models import User
from django.http import HttpRequest, HttpResponse
from django.test import AsyncClient, Client, override_settings

from sojourn import ConfigurationError
from sojourn._core.cookies import CookieSettings
from sojourn._core.transport import CookieTransport, HeaderTransport, QueryTransport
from sojourn.django import SessionMiddleware
from sojourn.stores.base import Store

from .shared import django_users
from .stores import CountingStore, StoreFactory, available, record_of, store_params

COOKIE = "sessionid"
TOKEN = "x-session-token"
MIDDLEWARE = [
    "sojourn.django.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made, override_settings(SOJOURN_STORE=made, MIDDLEWARE=MIDDLEWARE):
        yield made


@pytest.fixture
def header(store: Store) -> Iterator[Store]:
    with override_settings(SOJOURN_TRANSPORT=HeaderTransport()):
        yield store


@pytest.fixture
def query(store: Store) -> Iterator[Store]:
    with override_settings(SOJOURN_TRANSPORT=QueryTransport()):
        yield store


def get(client: Client, url: str, token: str | None = None, **extra: Any) -> HttpResponse:
    """A GET with the token as a Bearer credential; asserts no cookie is ever set."""
    if token is not None:
        extra["HTTP_AUTHORIZATION"] = f"Bearer {token}"
    response: HttpResponse = client.get(url, secure=True, **extra)
    assert not response.cookies
    assert "Set-Cookie" not in str(response.serialize_headers())
    return response


def issued(response: HttpResponse) -> str:
    """The new key the response hands out (and the cache rule that must come with it)."""
    value: str = response[TOKEN]
    assert response["Cache-Control"] == "private, no-store"
    return value


def body(response: HttpResponse) -> Any:
    return json.loads(response.content)


# -- header transport ---------------------------------------------------------------------------


def test_header_anonymous_read_issues_nothing(header: Store) -> None:
    counting = CountingStore(header)
    with override_settings(SOJOURN_STORE=counting):
        response = get(Client(), "/read")
    assert body(response) == {"user": None}
    assert TOKEN not in response
    assert "Cache-Control" not in response
    assert response["Vary"] == "Authorization"
    assert counting.calls == []


def test_header_round_trip(header: Store) -> None:
    client = Client()
    response = get(client, "/write?user=alice")
    token = issued(response)
    assert len(token) == 43
    assert response["Vary"] == "Authorization"
    record = record_of(header, token)
    assert record is not None
    assert json.loads(record.fields["user"]) == "alice"
    assert body(get(client, "/read", token)) == {"user": "alice"}
    # A write under a key the client already holds sends no key back.
    again = get(client, "/write?user=bob", token)
    assert TOKEN not in again
    assert body(get(client, "/read", token)) == {"user": "bob"}
    assert body(get(client, "/read")) == {"user": None}


def test_header_login_rotates_and_the_old_token_is_dead(header: Store) -> None:
    client = Client()
    before = issued(get(client, "/write?cart=3"))
    after = issued(get(client, "/login?user=alice", before))
    assert after != before
    assert len(after) == 43
    assert record_of(header, before) is None
    record = record_of(header, after)
    assert record is not None
    assert record.principal == str(User.objects.get(username="alice").pk)
    assert body(get(client, "/whoami", after)) == {"user": "alice"}
    assert body(get(client, "/all", after))["cart"] == "3"  # the data moved with the key
    replay = get(client, "/whoami", before)
    assert body(replay) == {"user": None}
    assert issued(replay) == ""  # the dead token is cleared, never adopted


def test_header_logout_clears(header: Store) -> None:
    client = Client()
    token = issued(get(client, "/login?user=alice"))
    assert body(get(client, "/whoami", token)) == {"user": "alice"}
    response = get(client, "/logout", token)
    assert issued(response) == ""
    assert record_of(header, token) is None
    assert body(get(client, "/whoami", token)) == {"user": None}


@pytest.mark.sec("SEC-12")
def test_header_ignores_a_cookie_with_a_valid_id(header: Store) -> None:
    token = issued(get(Client(), "/write?user=alice"))
    client = Client()
    client.cookies[COOKIE] = token
    response = get(client, "/read")
    assert body(response) == {"user": None}
    assert TOKEN not in response
    # A write from the cookie-holding client gets a new key, in the header.
    fresh = issued(get(client, "/write?user=mallory"))
    assert fresh != token
    assert body(get(Client(), "/read", token)) == {"user": "alice"}


@pytest.mark.sec("SEC-05")
def test_header_unknown_token_is_never_adopted(header: Store) -> None:
    forged = "A" * 43
    response = get(Client(), "/write?user=mallory", forged)
    fresh = issued(response)
    assert fresh != forged
    assert record_of(header, forged) is None


def test_header_foreign_bearer_token_is_left_alone(header: Store) -> None:
    # A credential of another shape (an OAuth token, say) is not a session key: no clearing.
    response = get(Client(), "/read", "eyJhbGciOi.not-a-sojourn-id")
    assert body(response) == {"user": None}
    assert TOKEN not in response


@pytest.mark.sec("SEC-19")
def test_header_differing_duplicates_are_refused(header: Store) -> None:
    token = issued(get(Client(), "/write?user=alice"))
    other = issued(get(Client(), "/write?user=bob"))
    response = get(
        Client(), "/read", HTTP_AUTHORIZATION=f"Bearer {token}, Bearer {other}"
    )  # folded: never guess which one is meant
    assert body(response) == {"user": None}


def test_header_custom_request_header(store: Store) -> None:
    with override_settings(SOJOURN_TRANSPORT=HeaderTransport(header="x-session-token")):
        client = Client()
        token = issued(get(client, "/write?user=alice"))
        response = get(client, "/read", HTTP_X_SESSION_TOKEN=token)
        assert body(response) == {"user": "alice"}
        assert response["Vary"] == "X-Session-Token"
        assert body(get(client, "/read", token)) == {"user": None}  # Authorization: not read


def test_header_5xx_saves_nothing(header: Store) -> None:
    counting = CountingStore(header)
    with override_settings(SOJOURN_STORE=counting):
        response = get(Client(), "/fail")
    assert response.status_code == 500
    assert TOKEN not in response
    assert "create" not in counting.calls


def test_header_flush_then_write_issues_a_new_key(header: Store) -> None:
    client = Client()
    token = issued(get(client, "/write?user=alice"))
    assert issued(get(client, "/flush", token)) == ""
    assert record_of(header, token) is None
    fresh = issued(get(client, "/write?user=bob", token))
    assert fresh != token
    assert body(get(client, "/read", fresh)) == {"user": "bob"}


@pytest.mark.anyio
async def test_header_async_round_trip(header: Store) -> None:
    client = AsyncClient()
    response = await client.get("/write?user=alice", secure=True)
    assert not response.cookies
    token = issued(response)
    read = await client.get("/read", secure=True, headers={"Authorization": f"Bearer {token}"})
    assert not read.cookies
    assert body(read) == {"user": "alice"}


# -- query transport ----------------------------------------------------------------------------


def test_query_round_trip(query: Store) -> None:
    client = Client()
    response = get(client, "/write?user=alice")
    token = issued(response)
    assert "Vary" not in response  # the URL already keys any cache
    assert body(get(client, f"/read?sid={token}")) == {"user": "alice"}
    assert body(get(client, f"/read?sid={token}&sid={token}")) == {"user": "alice"}
    assert body(get(client, "/read", token)) == {"user": None}  # a header is not read
    cookie_client = Client()
    cookie_client.cookies[COOKIE] = token
    assert body(get(cookie_client, "/read")) == {"user": None}  # nor a cookie


def test_query_refuses_differing_duplicates(query: Store) -> None:
    client = Client()
    token = issued(get(client, "/write?user=alice"))
    other = issued(get(client, "/write?user=bob"))
    assert body(get(client, f"/read?sid={token}&sid={other}")) == {"user": None}
    assert body(get(client, f"/read?sid={other}")) == {"user": "bob"}


def test_query_login_and_logout(query: Store) -> None:
    client = Client()
    before = issued(get(client, "/write?cart=1"))
    after = issued(get(client, f"/login?user=alice&sid={before}"))
    assert after != before
    assert record_of(query, before) is None
    assert body(get(client, f"/whoami?sid={after}")) == {"user": "alice"}
    assert issued(get(client, f"/logout?sid={after}")) == ""
    assert record_of(query, after) is None


@pytest.mark.sec("SEC-12")
def test_query_is_opt_in(store: Store) -> None:
    # Without SOJOURN_TRANSPORT the key never comes from the URL.
    with override_settings(SOJOURN_TRANSPORT=QueryTransport()):
        token = issued(get(Client(), "/write?user=alice"))
    response = Client().get(f"/read?sid={token}", secure=True)
    assert body(response) == {"user": None}


# -- default: Django's cookie, unchanged --------------------------------------------------------


def test_default_is_the_cookie(store: Store) -> None:
    client = Client()
    response = client.get("/write?user=alice", secure=True)
    morsel = response.cookies[COOKIE]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert TOKEN not in response
    assert "Cookie" in response["Vary"]
    before = morsel.value
    assert body(client.get("/read", secure=True)) == {"user": "alice"}
    # A header or query token is not read.
    assert body(Client().get("/read", secure=True, HTTP_AUTHORIZATION=f"Bearer {before}")) == {
        "user": None
    }
    assert body(Client().get(f"/read?sid={before}", secure=True)) == {"user": None}
    client.get("/login?user=alice", secure=True)
    after = client.cookies[COOKIE].value
    assert after != before
    assert record_of(store, before) is None
    assert body(client.get("/whoami", secure=True)) == {"user": "alice"}
    logout = client.get("/logout", secure=True)
    assert logout.cookies[COOKIE].value == ""
    assert record_of(store, after) is None


# -- configuration ------------------------------------------------------------------------------


def build() -> SessionMiddleware:
    def view(request: HttpRequest) -> HttpResponse:
        return HttpResponse("ok")

    return SessionMiddleware(view)


def test_cookie_transport_setting_is_refused() -> None:
    with (
        override_settings(SOJOURN_TRANSPORT=CookieTransport(CookieSettings())),
        pytest.raises(ConfigurationError, match="SESSION_COOKIE_"),
    ):
        build()


def test_a_non_transport_setting_is_refused() -> None:
    with (
        override_settings(SOJOURN_TRANSPORT="header"),
        pytest.raises(ConfigurationError, match="transport object"),
    ):
        build()


def test_sealed_cookie_engine_refuses_other_transports() -> None:
    with (
        override_settings(
            SESSION_ENGINE="sojourn.django_cookies", SOJOURN_TRANSPORT=HeaderTransport()
        ),
        pytest.raises(ConfigurationError, match="sealed sessions travel in the session cookie"),
    ):
        build()
    with override_settings(SESSION_ENGINE="sojourn.django_cookies", SOJOURN_TRANSPORT=None):
        assert build().transport is None


def test_other_engines_refuse_other_transports() -> None:
    with (
        override_settings(
            SESSION_ENGINE="django.contrib.sessions.backends.db",
            SOJOURN_TRANSPORT=QueryTransport(),
        ),
        pytest.raises(ConfigurationError, match=r"needs SESSION_ENGINE = \"sojourn\.django\""),
    ):
        build()
