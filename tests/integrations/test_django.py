"""The foundation's acceptance scenario through ``request.session`` with the Sojourn engine,
plus Django's own session behaviour (cycle_key, flush, set_expiry, auth login/logout).

Django is configured here, from ``tests/integrations/django_settings.py``; each test points
``SOJOURN_STORE`` at a fresh store object with ``override_settings``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
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

from django.contrib.auth.models import User
from django.test import Client, override_settings
from django.test.client import Client as DjangoClient

from sojourn.django import SessionStore
from sojourn.stores.base import Store, SupportsPurge
from sojourn.testing._clock import FakeClock

from .shared import django_users
from .stores import CountingStore, StoreFactory, available, record_of, store_params

COOKIE = "sessionid"


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made, override_settings(SOJOURN_STORE=made):
        yield made


def session_id(client: DjangoClient) -> str | None:
    morsel = client.cookies.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def body(client: DjangoClient, url: str) -> object:
    return json.loads(client.get(url, secure=True).content)


# -- the acceptance scenario --------------------------------------------------------------------


@pytest.mark.sec("SEC-06")
def test_anonymous_read_sets_no_cookie_and_writes_nothing(store: Store) -> None:
    counting = CountingStore(store)
    with override_settings(SOJOURN_STORE=counting):
        client = Client()
        response = client.get("/read", secure=True)
        assert json.loads(response.content) == {"user": None}
        assert COOKIE not in response.cookies
        assert "Cookie" in response["Vary"]
    assert counting.calls == []


@pytest.mark.sec("SEC-10")
def test_write_sets_a_secure_cookie(store: Store) -> None:
    client = Client()
    response = client.get("/write?user=alice", secure=True)
    morsel = response.cookies[COOKIE]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    sid = morsel.value
    assert len(sid) == 43
    record = record_of(store, sid)
    assert record is not None
    assert json.loads(record.fields["user"]) == "alice"
    assert body(client, "/read") == {"user": "alice"}


@pytest.mark.sec("SEC-05")
def test_unknown_well_formed_id_is_never_adopted(store: Store) -> None:
    client = Client()
    forged = "A" * 43
    client.cookies[COOKIE] = forged
    client.get("/write?user=mallory", secure=True)
    issued = session_id(client)
    assert issued is not None
    assert issued != forged
    assert record_of(store, forged) is None


@pytest.mark.sec("SEC-08", "SEC-60")
def test_auth_login_rotates_the_id_and_the_old_one_is_dead(store: Store) -> None:
    client = Client()
    client.get("/write?cart=3", secure=True)
    before = session_id(client)
    client.get("/login?user=alice", secure=True)
    after = session_id(client)
    assert before is not None
    assert after is not None
    assert after != before
    assert record_of(store, before) is None
    record = record_of(store, after)
    assert record is not None
    assert record.principal == str(User.objects.get(username="alice").pk)
    assert body(client, "/whoami") == {"user": "alice"}
    assert body(client, "/read") == {"user": None}
    replay = Client()
    replay.cookies[COOKIE] = before
    assert body(replay, "/whoami") == {"user": None}


@pytest.mark.sec("SEC-08", "SEC-25", "SEC-60")
def test_auth_logout_clears_cookie_and_record(store: Store) -> None:
    client = Client()
    client.get("/login?user=alice", secure=True)
    sid = session_id(client)
    assert sid is not None
    response = client.get("/logout", secure=True)
    assert response.cookies[COOKIE].value == ""
    assert record_of(store, sid) is None
    assert body(client, "/whoami") == {"user": None}


def test_concurrent_requests_on_one_session_keep_every_key(store: Store) -> None:
    seed = Client()
    seed.get("/write?seed=1", secure=True)
    sid = session_id(seed)
    assert sid is not None

    def one(i: int) -> int:
        client = Client()
        client.cookies[COOKIE] = sid
        return int(client.get(f"/write?k{i}={i}", secure=True).status_code)

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(one, range(20))) == [200] * 20
    assert body(seed, "/all") == {"seed": "1", **{f"k{i}": str(i) for i in range(20)}}


@pytest.mark.sec("SEC-20")
def test_idle_session_is_not_served(store: Store) -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=1):
        client = Client()
        client.get("/write?user=alice", secure=True)
        assert body(client, "/read") == {"user": "alice"}
        clock.advance(2)
        assert body(client, "/read") == {"user": None}


# -- Django's own session behaviour ------------------------------------------------------------


@pytest.mark.sec("SEC-07", "SEC-60")
def test_cycle_key_keeps_data_under_a_new_key(store: Store) -> None:
    client = Client()
    client.get("/write?user=alice", secure=True)
    before = session_id(client)
    response = client.get("/cycle", secure=True)
    after = response.cookies[COOKIE].value
    assert before is not None
    assert after != before
    assert record_of(store, before) is None
    record = record_of(store, after)
    assert record is not None
    assert json.loads(record.fields["user"]) == "alice"
    assert body(client, "/read") == {"user": "alice"}


@pytest.mark.sec("SEC-25", "SEC-60")
def test_flush_deletes_the_record_and_issues_a_new_key(store: Store) -> None:
    client = Client()
    client.get("/write?user=alice", secure=True)
    before = session_id(client)
    assert before is not None
    client.get("/flush", secure=True)
    assert record_of(store, before) is None
    assert session_id(client) is None
    client.get("/write?user=bob", secure=True)
    after = session_id(client)
    assert after is not None
    assert after != before


def test_set_expiry_zero_gives_a_browser_session_cookie(store: Store) -> None:
    response = Client().get("/browser-session", secure=True)
    morsel = response.cookies[COOKIE]
    assert morsel.value
    assert morsel["max-age"] == ""
    assert morsel["expires"] == ""
    persistent = Client().get("/write?user=a", secure=True).cookies[COOKIE]
    assert persistent["max-age"]


@pytest.mark.sec("SEC-59")
def test_5xx_response_saves_nothing(store: Store) -> None:
    counting = CountingStore(store)
    with override_settings(SOJOURN_STORE=counting):
        response = Client().get("/fail", secure=True)
    assert response.status_code == 500
    assert COOKIE not in response.cookies
    assert "create" not in counting.calls


def test_session_store_api(store: Store) -> None:
    assert SessionStore().session_key is None
    session = SessionStore()
    session["a"] = 1
    session.save()
    key = session.session_key
    assert key is not None
    assert len(key) == 43
    assert session.exists(key)
    assert SessionStore(key)["a"] == 1
    # An invalid or unknown key gives an empty session and never reaches the store.
    assert SessionStore("not-a-sojourn-id").session_key is None
    unknown = SessionStore("A" * 43)
    assert unknown.load() == {}
    assert unknown.session_key is None
    # clear() without a load must not adopt the key it was given.
    stranger = SessionStore("A" * 43)
    stranger.clear()
    stranger["b"] = 2
    stranger.save()
    assert stranger.session_key != "A" * 43
    # delete()
    session.delete()
    assert not session.exists(key)


@pytest.mark.sec("SEC-26")
def test_save_does_not_resurrect_a_deleted_session(store: Store) -> None:
    from django.contrib.sessions.backends.base import UpdateError

    session = SessionStore()
    session["a"] = 1
    session.save()
    key = session.session_key
    other = SessionStore(key)
    assert other["a"] == 1
    session.delete()
    other["b"] = 2
    with pytest.raises(UpdateError):
        other.save()
    assert record_of(store, key or "") is None


def test_get_expiry_age_is_capped_by_the_lifetime(store: Store) -> None:
    with override_settings(SOJOURN_LIFETIME=3600, SOJOURN_IDLE_TIMEOUT=600):
        session = SessionStore()
        session["a"] = 1
        session.save()
        assert 3590 <= session.get_expiry_age() <= 3600
        session.set_expiry(0)
        assert session.get_expire_at_browser_close()


@pytest.mark.sec("SEC-24")
def test_clear_expired_purges(store: Store) -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=60):
        session = SessionStore()
        session["a"] = 1
        session.save()
        key = session.session_key
        assert key is not None
        created = clock.now
        clock.advance(120)
        SessionStore.clear_expired()
        if isinstance(store, SupportsPurge):
            # Read as of creation time: only a purge (not expiry filtering) hides it now.
            assert record_of(store, key, now=created) is None
        else:  # the store expires records itself (Redis TTLs): nothing to purge
            assert record_of(store, key, now=clock.now) is None


@pytest.mark.anyio
async def test_async_methods(store: Store) -> None:
    session = SessionStore()
    await session.aset("a", 1)
    await session.asave()
    key = session.session_key
    assert key is not None
    loaded = SessionStore(key)
    assert await loaded.aget("a") == 1
    await loaded.acycle_key()
    new_key = loaded.session_key
    assert new_key is not None
    assert new_key != key
    assert not await loaded.aexists(key)
    assert await loaded.aexists(new_key)
    await loaded.aflush()
    assert loaded.session_key is None
    assert not await loaded.aexists(new_key)
