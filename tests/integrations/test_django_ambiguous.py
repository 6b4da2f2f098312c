"""``sojourn.django.SessionMiddleware`` and cookie tossing: the policy of every other adapter.

A request carrying several session cookies (in one ``Cookie`` header or several) hands every
candidate to the manager: the session is used only when exactly one is live; two live ones give
no session and the ``session.ambiguous_cookie`` event. Django's own middleware keeps the last
cookie instead; these tests run the Sojourn middleware over the real stores of the other Django
tests.
"""

from __future__ import annotations

import json
import logging
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

from django.http import HttpResponse
from django.test import AsyncClient, Client, RequestFactory, override_settings

from sojourn._core.ids import new_session_id
from sojourn._core.transport import HeaderTransport
from sojourn.django import SessionMiddleware, SessionStore
from sojourn.stores.base import Store

from .shared import django_users
from .stores import CountingStore, StoreFactory, available, record_of, store_params

COOKIE = "sessionid"
MIDDLEWARE = [
    "sojourn.django.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]
AMBIGUOUS = "session.ambiguous_cookie"


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made, override_settings(SOJOURN_STORE=made, MIDDLEWARE=MIDDLEWARE):
        yield made


def written(user: str) -> str:
    """The key of a new live session holding ``user``."""
    response = Client().get(f"/write?user={user}", secure=True)
    value: str = response.cookies[COOKIE].value
    assert len(value) == 43
    return value


def read(cookie_header: str, url: str = "/read") -> HttpResponse:
    """A request whose ``Cookie`` header is exactly ``cookie_header``."""
    response: HttpResponse = Client().get(url, secure=True, HTTP_COOKIE=cookie_header)
    return response


def body(response: HttpResponse) -> Any:
    return json.loads(response.content)


def events(caplog: pytest.LogCaptureFixture, name: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.getMessage().startswith(name)]


@pytest.mark.sec("SEC-51", "SEC-54")
def test_two_live_cookies_give_no_session_and_log(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = written("alice"), written("bob")
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        for header in (f"{COOKIE}={alice}; {COOKIE}={bob}", f"{COOKIE}={bob}; {COOKIE}={alice}"):
            assert body(read(header)) == {"user": None}  # never the last (or first) one
    assert len(events(caplog, AMBIGUOUS)) == 2
    # Neither session was touched: both still answer alone.
    assert body(read(f"{COOKIE}={alice}")) == {"user": "alice"}
    assert body(read(f"{COOKIE}={bob}")) == {"user": "bob"}


def test_a_write_under_two_live_cookies_starts_a_new_session(store: Store) -> None:
    alice, bob = written("alice"), written("bob")
    response = Client().get(
        "/write?user=mallory", secure=True, HTTP_COOKIE=f"{COOKIE}={alice}; {COOKIE}={bob}"
    )
    fresh = response.cookies[COOKIE].value
    assert fresh not in (alice, bob)
    assert body(read(f"{COOKIE}={fresh}")) == {"user": "mallory"}
    assert body(read(f"{COOKIE}={alice}")) == {"user": "alice"}  # not overwritten
    assert body(read(f"{COOKIE}={bob}")) == {"user": "bob"}


@pytest.mark.sec("SEC-51")
@pytest.mark.parametrize("other", ["dead", "malformed", "empty"])
def test_one_live_among_dead_or_malformed_is_used(
    store: Store, caplog: pytest.LogCaptureFixture, other: str
) -> None:
    alice = written("alice")
    junk = {"dead": new_session_id(), "malformed": "not-an-id", "empty": ""}[other]
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        for header in (f"{COOKIE}={alice}; {COOKIE}={junk}", f"{COOKIE}={junk}; {COOKIE}={alice}"):
            response = read(header)
            assert body(response) == {"user": "alice"}
            assert COOKIE not in response.cookies  # a read under the live key changes nothing
    assert events(caplog, AMBIGUOUS) == []
    if other == "dead":
        assert record_of(store, junk) is None  # looked up, never adopted nor created


def test_the_live_key_is_kept_through_a_write(store: Store) -> None:
    alice = written("alice")
    header = f"{COOKIE}={new_session_id()}; {COOKIE}={alice}; {COOKIE}=x"
    response = Client().get("/write?cart=2", secure=True, HTTP_COOKIE=header)
    assert response.cookies[COOKIE].value == alice  # Django re-sends the key it saved under
    assert body(read(f"{COOKIE}={alice}", "/all")) == {"user": "alice", "cart": "2"}


def test_login_under_one_live_candidate_rotates_it(store: Store) -> None:
    alice = written("alice")
    header = f"{COOKIE}={alice}; {COOKIE}={new_session_id()}"
    response = Client().get("/login?user=alice", secure=True, HTTP_COOKIE=header)
    after = response.cookies[COOKIE].value
    assert after not in ("", alice)
    assert record_of(store, alice) is None
    assert body(read(f"{COOKIE}={after}", "/whoami")) == {"user": "alice"}


def test_an_untouched_session_costs_nothing_and_clears_no_cookie(store: Store) -> None:
    alice, bob = written("alice"), written("bob")
    counting = CountingStore(store)
    with override_settings(SOJOURN_STORE=counting):
        response = read(f"{COOKIE}={alice}; {COOKIE}={bob}", "/untouched")
    assert response.status_code == 200
    assert COOKIE not in response.cookies  # not known to be empty: the cookies are left alone
    assert counting.calls == []


@pytest.mark.sec("SEC-51")
@pytest.mark.anyio
async def test_several_cookie_lines_under_asgi(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    alice, bob = written("alice"), written("bob")
    client = AsyncClient()
    client.cookies[COOKIE] = alice  # the client's own line, then a second line (HTTP/2 style)
    with caplog.at_level(logging.WARNING, logger="sojourn.security"):
        both = await client.get("/read", secure=True, headers={"Cookie": f"{COOKIE}={bob}"})
    assert body(both) == {"user": None}
    assert len(events(caplog, AMBIGUOUS)) == 1
    assert both.cookies[COOKIE].value == ""  # an ambiguous, used session: the cookie is cleared
    client.cookies[COOKIE] = alice
    junk = await client.get("/read", secure=True, headers={"Cookie": f"x=1; {COOKIE}=junk"})
    assert body(junk) == {"user": "alice"}


def test_a_key_put_in_request_cookies_is_a_candidate(store: Store) -> None:
    """RequestFactory tests set ``request.COOKIES`` by hand; the middleware still sees it."""
    alice, bob = written("alice"), written("bob")
    middleware = SessionMiddleware(lambda request: HttpResponse("ok"))
    request = RequestFactory().get("/", secure=True)
    request.COOKIES[COOKIE] = alice
    middleware.process_request(request)
    assert request.session.session_key == alice
    assert request.session["user"] == "alice"
    tossed = RequestFactory().get("/", secure=True, HTTP_COOKIE=f"{COOKIE}={bob}")
    tossed.COOKIES[COOKIE] = alice  # with a different live key in the header: ambiguous
    middleware.process_request(tossed)
    assert tossed.session.get("user") is None
    assert tossed.session.session_key is None


def test_session_store_by_key_still_works(store: Store) -> None:
    alice = written("alice")
    with override_settings(MIDDLEWARE=MIDDLEWARE):
        direct = SessionStore(alice)
        assert direct.session_key == alice
        assert direct["user"] == "alice"
        assert not direct.is_empty()
        assert SessionStore(None).is_empty()


# -- the header transport: differing tokens are refused before any lookup -------------------


def test_header_tokens_differing_give_no_session_and_log(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    with override_settings(SOJOURN_TRANSPORT=HeaderTransport()):
        tokens = []
        for user in ("alice", "bob"):
            response = Client().get(f"/write?user={user}", secure=True)
            tokens.append(response["x-session-token"])
        alice, bob = tokens
        with caplog.at_level(logging.WARNING, logger="sojourn.security"):
            both = Client().get(
                "/read", secure=True, HTTP_AUTHORIZATION=f"Bearer {alice},Bearer {bob}"
            )
        assert body(both) == {"user": None}
        assert events(caplog, "session.ambiguous_token")
        alone = Client().get("/read", secure=True, HTTP_AUTHORIZATION=f"Bearer {alice}")
        assert body(alone) == {"user": "alice"}
        # Unlike cookies, differing tokens are refused before any lookup, even when only one
        # is well-formed (SEC-19, the header transport's rule in every adapter).
        junk = Client().get("/read", secure=True, HTTP_AUTHORIZATION=f"Bearer {alice},Bearer x")
        assert body(junk) == {"user": None}
