"""``django.contrib`` on the Sojourn engine, and the 503 on a store that is really down.

auth (login, logout, ``update_session_auth_hash``), messages with ``SessionStorage``, and the
``clearsessions`` command run on real stores. The outage tests point a ``RedisStore`` at a closed
port and a ``PostgresStore`` at a closed port: every call fails as in production.
"""

from __future__ import annotations

import json
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

from django.core.management import call_command
from django.test import Client, override_settings
from django.test.client import Client as DjangoClient

from sojourn._core.ids import new_session_id
from sojourn.stores.base import Store, SupportsPurge
from sojourn.stores.postgres import PostgresStore
from sojourn.stores.redis import RedisStore
from sojourn.testing._clock import FakeClock

from .shared import django_users
from .stores import StoreFactory, available, record_of, store_params

COOKIE = "sessionid"
MIDDLEWARE = [
    "sojourn.django.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
SESSION_MESSAGES = "django.contrib.messages.storage.session.SessionStorage"


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with (
        factory(tmp_path) as made,
        override_settings(
            SOJOURN_STORE=made, MIDDLEWARE=MIDDLEWARE, MESSAGE_STORAGE=SESSION_MESSAGES
        ),
    ):
        yield made


def sid(client: DjangoClient) -> str | None:
    morsel = client.cookies.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def get(client: DjangoClient, url: str) -> object:
    response = client.get(url, secure=True)
    assert response.status_code == 200, response.content
    return json.loads(response.content) if response["Content-Type"].startswith("app") else None


# -- django.contrib.auth ---------------------------------------------------------------------------


@pytest.mark.sec("SEC-08", "SEC-60")
def test_login_logout(store: Store) -> None:
    client = Client()
    get(client, "/login?user=alice")
    key = sid(client)
    assert key is not None
    assert get(client, "/whoami") == {"user": "alice"}
    get(client, "/logout")
    assert record_of(store, key) is None
    assert get(client, "/whoami") == {"user": None}


@pytest.mark.sec("SEC-60")
def test_update_session_auth_hash_keeps_this_session_and_ends_the_others(store: Store) -> None:
    mine, other = Client(), Client()
    get(mine, "/login?user=alice")
    get(other, "/login?user=alice")
    before = sid(mine)
    try:
        get(mine, "/password?to=new-secret-password")
        after = sid(mine)
        assert after is not None
        assert after != before  # update_session_auth_hash cycles the key
        assert before is not None
        assert record_of(store, before) is None
        assert get(mine, "/whoami") == {"user": "alice"}
        assert get(other, "/whoami") == {"user": None}  # its hash no longer matches
    finally:
        from django.contrib.auth.models import User

        user = User.objects.get(username="alice")
        user.set_password("secret-password")
        user.save()


# -- django.contrib.messages -----------------------------------------------------------------------


def test_messages_in_the_session(store: Store) -> None:
    client = Client()
    get(client, "/flash?m=first")
    get(client, "/flash?m=second")
    key = sid(client)
    assert key is not None
    record = record_of(store, key)
    assert record is not None
    assert "_messages" in record.fields
    assert get(client, "/flashed") == {"messages": [["error", "first"], ["error", "second"]]}
    assert get(client, "/flashed") == {"messages": []}


# -- clearsessions ---------------------------------------------------------------------------------


@pytest.mark.sec("SEC-24")
def test_clearsessions_purges_expired_records(store: Store) -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=60):
        client = Client()
        get(client, "/write?user=alice")
        key = sid(client)
        assert key is not None
        created = clock.now
        clock.advance(120)
        call_command("clearsessions")
        if isinstance(store, SupportsPurge):
            assert record_of(store, key, now=created) is None  # gone, not just filtered
        else:  # Redis expires records itself: nothing to purge, and nothing served
            assert record_of(store, key, now=clock.now) is None


# -- a store that is down --------------------------------------------------------------------------


def redis_down() -> Store:
    return RedisStore.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)


def postgres_down() -> Store:
    return PostgresStore.from_url("postgresql://postgres@127.0.0.1:9/test", connect_timeout=1)


@pytest.fixture(params=[redis_down, postgres_down], ids=["redis", "postgres"])
def down(request: pytest.FixtureRequest) -> Iterator[Store]:
    made: Store = request.param()
    with override_settings(
        SOJOURN_STORE=made, MIDDLEWARE=MIDDLEWARE, MESSAGE_STORAGE=SESSION_MESSAGES
    ):
        yield made
    made.close()


def assert_unavailable(client: DjangoClient, url: str) -> None:
    response = client.get(url, secure=True)
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert COOKIE not in response.cookies


def with_key() -> DjangoClient:
    client = Client(raise_request_exception=False)
    client.cookies[COOKIE] = new_session_id()
    return client


@pytest.mark.sec("SEC-48")
def test_a_read_in_a_view_answers_503(down: Store) -> None:
    assert_unavailable(with_key(), "/read")


@pytest.mark.sec("SEC-48")
def test_the_save_answers_503(down: Store) -> None:
    assert_unavailable(Client(raise_request_exception=False), "/write?user=alice")


def test_an_outage_met_by_another_middleware_answers_503(down: Store) -> None:
    # The view only queues a message; the messages middleware meets the outage on its way out.
    assert_unavailable(with_key(), "/flash")


def test_auth_meeting_the_outage_answers_503(down: Store) -> None:
    assert_unavailable(with_key(), "/whoami")


def test_no_cookie_costs_no_store_call_even_when_down(down: Store) -> None:
    assert json.loads(Client().get("/read", secure=True).content) == {"user": None}
