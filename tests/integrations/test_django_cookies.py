"""Client-side sessions in Django: ``SESSION_ENGINE = "sojourn.django_cookies"``.

The acceptance scenario without its server-side parts, through Django's test client and its own
``SessionMiddleware`` and ``django.contrib.auth``, plus the engine's ``SessionBase`` API. Django
is configured as in ``test_django.py``; an autouse fixture switches the engine with
``override_settings`` (the middleware reads ``SESSION_ENGINE`` when a client first loads it).
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Iterator
from datetime import UTC, datetime

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
from django.http import HttpResponse
from django.test import Client, override_settings
from django.test.client import Client as DjangoClient

from sojourn._core.errors import ConfigurationError, SessionTooLarge, UnencodableValue
from sojourn.binding import bind
from sojourn.django_cookies import SessionStore
from sojourn.stores.base import Record
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.testing._clock import FakeClock

from .shared import django_users

COOKIE = "sessionid"
KEY = generate_key()  # the text form
OLD_KEY = secrets.token_bytes(32)  # the bytes form
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

revoked_before: dict[str, float] = {}  # principal -> sessions authenticated before this are dead
hook_calls: list[Record] = []


def accept_unless_revoked(record: Record) -> bool:
    """The revocation hook the tests configure by dotted path."""
    hook_calls.append(record)
    cutoff = revoked_before.get(record.principal or "")
    return cutoff is None or (record.authenticated_at or 0.0) > cutoff


@pytest.fixture(scope="module", autouse=True)
def database() -> None:
    django_users()


@pytest.fixture(autouse=True)
def engine() -> Iterator[None]:
    revoked_before.clear()
    hook_calls.clear()
    with override_settings(SESSION_ENGINE="sojourn.django_cookies", SOJOURN_COOKIE_KEYS=[KEY]):
        yield


def alice_id() -> str:
    return str(User.objects.get(username="alice").pk)


def token_of(client: DjangoClient) -> str | None:
    morsel = client.cookies.get(COOKIE)
    return morsel.value if morsel is not None and morsel.value else None


def opened(token: str | None, keys: list[bytes | str] | None = None, now: float = 0.0) -> Record:
    """The record in ``token``, opened directly (fails the test if it does not open)."""
    assert token is not None
    unsealed = CookieStore(keys or [KEY]).unseal(token, COOKIE, now or time.time())
    assert unsealed is not None
    return unsealed.record


def body(client: DjangoClient, url: str) -> object:
    response = client.get(url, secure=True)
    assert response.status_code == 200
    return json.loads(response.content)


def get(client: DjangoClient, url: str) -> HttpResponse:
    response: HttpResponse = client.get(url, secure=True)
    return response


# -- the acceptance scenario --------------------------------------------------------------------


def test_anonymous_read_sets_no_cookie() -> None:
    response = get(Client(), "/read")
    assert json.loads(response.content) == {"user": None}
    assert COOKIE not in response.cookies
    assert "Cookie" in response["Vary"]


def test_write_sets_a_sealed_secure_cookie_that_reads_back() -> None:
    client = Client()
    response = get(client, "/write?user=alice")
    morsel = response.cookies[COOKIE]
    assert morsel["secure"] is True
    assert morsel["httponly"] is True
    assert morsel["samesite"] == "Lax"
    assert "alice" not in morsel.value  # encrypted, not just signed
    record = opened(morsel.value)
    assert json.loads(record.fields["user"]) == "alice"
    assert record.principal is None
    assert len(record.key) == 64
    assert body(client, "/read") == {"user": "alice"}


def test_auth_login_rotates_the_key_and_keeps_the_data() -> None:
    client = Client()
    get(client, "/write?cart=3")
    before = token_of(client)
    get(client, "/login?user=alice")
    after = token_of(client)
    old, new = opened(before), opened(after)
    assert new.key != old.key
    assert new.principal == alice_id()
    assert new.authenticated_at is not None
    assert new.created_at >= old.created_at
    assert body(client, "/whoami") == {"user": "alice"}
    assert body(client, "/all")["cart"] == "3"  # type: ignore[index]
    # The cookie from before the login only ever carried the anonymous session.
    replay = Client()
    replay.cookies[COOKIE] = before or ""
    assert body(replay, "/whoami") == {"user": None}
    assert body(replay, "/all") == {"cart": "3"}


def test_auth_logout_clears_the_cookie() -> None:
    client = Client()
    get(client, "/login?user=alice")
    response = get(client, "/logout")
    assert response.cookies[COOKIE].value == ""
    assert body(client, "/whoami") == {"user": None}
    assert body(client, "/all") == {}


@pytest.mark.sec("SEC-28")
def test_a_copied_cookie_outlives_logout_unless_the_hook_refuses_it() -> None:
    # The documented limit: nothing on the server to delete, so a copy still opens...
    client = Client()
    get(client, "/login?user=alice")
    copy = token_of(client) or ""
    get(client, "/logout")
    thief = Client()
    thief.cookies[COOKIE] = copy
    assert body(thief, "/whoami") == {"user": "alice"}
    # ...until the accept hook is told the user's earlier sessions are revoked.
    with override_settings(
        SOJOURN_COOKIE_ACCEPT="tests.integrations.test_django_cookies.accept_unless_revoked"
    ):
        revoked_before[alice_id()] = time.time()
        thief.cookies[COOKIE] = copy
        assert body(thief, "/whoami") == {"user": None}


def test_accept_hook_rejects_a_revoked_session() -> None:
    clock = FakeClock()
    with override_settings(
        SOJOURN_CLOCK=clock,
        SOJOURN_COOKIE_ACCEPT="tests.integrations.test_django_cookies.accept_unless_revoked",
    ):
        client = Client()
        get(client, "/login?user=alice")
        assert body(client, "/whoami") == {"user": "alice"}
        assert hook_calls[-1].principal == alice_id()
        revoked_before[alice_id()] = clock.now
        clock.advance(1)
        response = get(client, "/whoami")
        assert json.loads(response.content) == {"user": None}
        assert response.cookies[COOKIE].value == ""  # the refused cookie is cleared
        # A login after the revocation is accepted.
        get(client, "/login?user=alice")
        assert body(client, "/whoami") == {"user": "alice"}


def test_accept_hook_may_be_a_callable() -> None:
    client = Client()
    get(client, "/write?user=alice")
    with override_settings(SOJOURN_COOKIE_ACCEPT=lambda record: False):
        assert body(client, "/read") == {"user": None}


def test_idle_timeout_with_renewal() -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=60, SOJOURN_LIFETIME=3600):
        client = Client()
        get(client, "/write?user=alice")
        clock.advance(1)
        quiet = get(client, "/read")  # within the renewal interval: no new cookie
        assert json.loads(quiet.content) == {"user": "alice"}
        assert COOKIE not in quiet.cookies
        clock.advance(39)
        renewed = get(client, "/read")  # renewal due: the idle deadline slides
        assert json.loads(renewed.content) == {"user": "alice"}
        assert opened(renewed.cookies[COOKIE].value, now=clock.now).expires_at == clock.now + 60
        clock.advance(50)  # 90 s after the write, 50 s after the renewal
        assert body(client, "/read") == {"user": "alice"}
        clock.advance(61)
        response = get(client, "/read")
        assert json.loads(response.content) == {"user": None}
        assert response.cookies[COOKIE].value == ""


def test_absolute_lifetime_ends_an_active_session() -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=60, SOJOURN_LIFETIME=150):
        client = Client()
        get(client, "/write?user=alice")
        for _ in range(2):
            clock.advance(50)
            assert body(client, "/read") == {"user": "alice"}
        clock.advance(50)  # active all along, but 150 s old
        assert body(client, "/read") == {"user": None}


def test_a_policy_shorter_than_the_sealed_deadline_wins() -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=600):
        client = Client()
        get(client, "/write?user=alice")
    clock.advance(120)
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=60):
        assert body(client, "/read") == {"user": None}


@pytest.mark.sec("SEC-30")
def test_tampering_with_any_byte_gives_an_empty_session() -> None:
    client = Client()
    get(client, "/login?user=alice")
    get(client, "/write?user=alice")
    token = token_of(client)
    assert token is not None
    assert body(client, "/whoami") == {"user": "alice"}
    variants = [
        token[:i] + ALPHABET[(ALPHABET.index(c) + 1) % 64] + token[i + 1 :]
        for i, c in enumerate(token)
    ]
    variants += [token[:-1], token + "A", token[1:], "A" + token, token[::-1]]
    for bad in variants:
        client.cookies[COOKIE] = bad
        response = get(client, "/all")
        assert response.status_code == 200
        assert json.loads(response.content) == {}, bad
        assert response.cookies[COOKIE].value == ""
    client.cookies[COOKIE] = token
    assert body(client, "/whoami") == {"user": "alice"}


@pytest.mark.sec("SEC-33")
def test_a_token_from_another_cookie_name_does_not_open() -> None:
    client = Client()
    get(client, "/write?user=alice")
    token = token_of(client) or ""
    with override_settings(SESSION_COOKIE_NAME="othersession"):
        other = Client()
        other.cookies["othersession"] = token
        assert body(other, "/read") == {"user": None}


@pytest.mark.sec("SEC-36")
def test_key_rotation() -> None:
    with override_settings(SOJOURN_COOKIE_KEYS=[OLD_KEY]):
        client = Client()
        get(client, "/write?user=alice")
    old_token = token_of(client)
    opened(old_token, [OLD_KEY])
    with override_settings(SOJOURN_COOKIE_KEYS=[KEY, OLD_KEY]):
        assert body(client, "/read") == {"user": "alice"}  # accepted under the old key
        get(client, "/write?cart=1")
        new_token = token_of(client)
    assert new_token != old_token
    assert CookieStore([OLD_KEY]).unseal(new_token or "", COOKIE, time.time()) is None
    assert json.loads(opened(new_token, [KEY]).fields["user"]) == "alice"
    # Once the old key is removed, tokens sealed with it stop opening.
    stale = Client()
    stale.cookies[COOKIE] = old_token or ""
    assert body(stale, "/read") == {"user": None}
    assert body(client, "/all") == {"user": "alice", "cart": "1"}


def test_a_read_with_a_retired_key_reseals_with_the_newest() -> None:
    with override_settings(SOJOURN_COOKIE_KEYS=[OLD_KEY]):
        client = Client()
        get(client, "/write?user=alice")
    with override_settings(SOJOURN_COOKIE_KEYS=[KEY, OLD_KEY]):
        response = get(client, "/read")
    assert json.loads(opened(response.cookies[COOKIE].value, [KEY]).fields["user"]) == "alice"


def test_a_session_too_large_for_a_cookie_raises() -> None:
    client = Client()
    get(client, f"/write?big={'x' * 2000}")  # fits
    assert len(json.loads(opened(token_of(client)).fields["big"])) == 2000
    with pytest.raises(SessionTooLarge, match=r"would be \d+ bytes .* limit of 4096 bytes"):
        get(client, f"/write?big={'x' * 3200}")


def test_the_size_limit_counts_the_cookie_attributes() -> None:
    session = SessionStore()
    session["big"] = "x" * 2000
    session.save()
    token = session.session_key
    assert token is not None
    # Pad the value until name=value is about 3950 bytes: under 4096 with the usual attributes
    # (about 100 bytes), over it once a long Domain attribute is added.
    padded = "x" * (2000 + (3950 - len(COOKIE) - 1 - len(token)) * 3 // 4)
    session["big"] = padded
    session.save()
    assert 3900 < len(COOKIE) + 1 + len(session.session_key or "") < 4000
    with override_settings(SESSION_COOKIE_DOMAIN="d" * 150 + ".example"):
        session["big"] = padded + "y"
        with pytest.raises(SessionTooLarge, match="4096"):
            session.save()


def test_a_5xx_response_sets_no_cookie() -> None:
    response = get(Client(), "/fail")
    assert response.status_code == 500
    assert COOKIE not in response.cookies


# -- Django's own session behaviour ------------------------------------------------------------


def test_cycle_key_keeps_data_under_a_new_key() -> None:
    client = Client()
    get(client, "/write?user=alice")
    before = opened(token_of(client))
    get(client, "/cycle")
    after = opened(token_of(client))
    assert after.key != before.key
    assert after.fields == before.fields
    assert after.created_at == before.created_at


def test_flush_clears_and_the_next_write_starts_a_new_session() -> None:
    client = Client()
    get(client, "/write?user=alice")
    before = opened(token_of(client))
    response = get(client, "/flush")
    assert response.cookies[COOKIE].value == ""
    get(client, "/write?user=bob")
    after = opened(token_of(client))
    assert after.key != before.key
    assert json.loads(after.fields["user"]) == "bob"


def test_set_expiry_zero_gives_a_browser_session_cookie() -> None:
    response = get(Client(), "/browser-session")
    morsel = response.cookies[COOKIE]
    assert morsel["max-age"] == ""
    assert morsel["expires"] == ""
    # The sealed idle deadline still applies.
    assert opened(morsel.value).expires_at <= time.time() + 30 * 60
    assert get(Client(), "/write?user=a").cookies[COOKIE]["max-age"]


def test_set_expiry_shortens_but_never_extends_the_sealed_deadline() -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_IDLE_TIMEOUT=600):
        session = SessionStore()
        session["a"] = 1
        session.set_expiry(10)
        session.save()
        assert opened(session.session_key, now=clock.now).expires_at == clock.now + 10
        session.set_expiry(6000)
        session.save()
        assert opened(session.session_key, now=clock.now).expires_at == clock.now + 600


def test_get_expiry_age_is_capped_by_the_lifetime() -> None:
    clock = FakeClock()
    with override_settings(SOJOURN_CLOCK=clock, SOJOURN_LIFETIME=3600, SOJOURN_IDLE_TIMEOUT=600):
        session = SessionStore()
        session["a"] = 1
        session.save()
        assert session.get_expiry_age() == 3600
        clock.advance(100)
        assert SessionStore(session.session_key).get_expiry_age() == 3500
        session.set_expiry(0)
        assert session.get_expire_at_browser_close()


def test_session_store_api() -> None:
    assert SessionStore().session_key is None
    session = SessionStore()
    session["a"] = 1
    session.save()
    token = session.session_key
    assert token is not None
    assert not session.exists(token)  # nothing on the server
    assert SessionStore(token)["a"] == 1
    SessionStore.clear_expired()  # a no-op: nothing to purge
    assert SessionStore(token)["a"] == 1
    # A bad token is no session, and is never carried forward.
    bad = SessionStore("not-a-token-at-all")
    assert bad.load() == {}
    assert bad.session_key is None
    # clear() without a load must not keep a bad token either.
    stranger = SessionStore("not-a-token-at-all")
    stranger.clear()
    stranger["b"] = 2
    stranger.save()
    assert opened(stranger.session_key).fields == {"b": b"2"}
    # delete() of another token changes nothing here; of this one, clears it.
    session.delete("some-other-token")
    assert session.session_key == token
    session.delete()
    assert session.session_key is None
    assert session.is_empty()


def test_clear_then_save_keeps_the_session_identity() -> None:
    session = SessionStore()
    session["a"] = 1
    session.save()
    before = opened(session.session_key)
    again = SessionStore(session.session_key)
    again.clear()
    again["b"] = 2
    again.save()
    after = opened(again.session_key)
    assert after.key == before.key
    assert after.created_at == before.created_at
    assert after.fields == {"b": b"2"}


@pytest.mark.sec("SEC-38")
def test_values_are_json_never_pickled() -> None:
    session = SessionStore()
    session["when"] = datetime.now(UTC)
    with pytest.raises(UnencodableValue):
        session.save()
    session["when"] = "2024-01-01"
    session["n"] = [1, {"x": None}]
    session.save()
    assert opened(session.session_key).fields == {"when": b'"2024-01-01"', "n": b'[1,{"x":null}]'}


def test_configuration_errors_name_the_fix() -> None:
    keys: object
    for keys in (None, [], KEY):
        with override_settings(SOJOURN_COOKIE_KEYS=keys), pytest.raises(ConfigurationError):
            SessionStore().save()
    with override_settings(SOJOURN_COOKIE_KEYS=["password"]), pytest.raises(ConfigurationError):
        SessionStore().save()
    with (
        override_settings(SOJOURN_COOKIE_ACCEPT=42),
        pytest.raises(ConfigurationError, match="SOJOURN_COOKIE_ACCEPT"),
    ):
        SessionStore().save()
    with (
        override_settings(SOJOURN_COOKIE_KEYS=None),
        pytest.raises(ConfigurationError, match="sojourn keygen"),
    ):
        SessionStore().save()


@pytest.mark.anyio
async def test_async_methods() -> None:
    session = SessionStore()
    await session.aset("a", 1)
    await session.asave()
    token = session.session_key
    assert token is not None
    loaded = SessionStore(token)
    assert await loaded.aget("a") == 1
    before = opened(token)
    await loaded.acycle_key()
    assert opened(loaded.session_key).key != before.key
    assert await loaded.aget("a") == 1
    assert not await loaded.aexists(loaded.session_key)
    assert 0 < await loaded.aget_expiry_age() <= 24 * 60 * 60
    await SessionStore.aclear_expired()
    await loaded.aflush()
    assert loaded.session_key is None
    assert await loaded.aget("a") is None


@pytest.mark.parametrize(
    "setting", [{"SOJOURN_BINDING": bind(ip=True)}, {"SOJOURN_CLEAR_SITE_DATA": ("cache",)}]
)
def test_server_side_only_settings_are_refused_not_ignored(setting: dict[str, object]) -> None:
    with (
        override_settings(**setting),
        pytest.raises(ConfigurationError, match=r'SESSION_ENGINE = "sojourn\.django"'),
    ):
        get(Client(), "/write?user=alice")
