"""Django's ``set_expiry`` as remember-me with the session's own timeouts, on every store.

Django's contract (``SessionBase``): ``set_expiry(n)`` ends the session after ``n`` seconds of
inactivity, a ``datetime`` / ``timedelta`` at that moment, ``0`` when the browser closes, and
``None`` goes back to the settings. Sojourn keeps all four within its configured maximums.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
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

from django.test import override_settings

from sojourn.django import SessionStore
from sojourn.stores.base import Store
from sojourn.testing._clock import FakeClock

from .stores import StoreFactory, available, record_of, store_params

HOUR = 3600
DAY = 24 * HOUR
TIMING = {
    "SOJOURN_IDLE_TIMEOUT": HOUR,
    "SOJOURN_LIFETIME": 8 * HOUR,
    "SOJOURN_REMEMBER_IDLE_TIMEOUT": 14 * DAY,
    "SOJOURN_REMEMBER_LIFETIME": 30 * DAY,
}


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made, override_settings(SOJOURN_STORE=made):
        yield made


@pytest.fixture
def clock(store: Store) -> Iterator[FakeClock]:
    made = FakeClock()
    with override_settings(SOJOURN_CLOCK=made, **TIMING):
        yield made


def saved(expiry: int | datetime | timedelta | None = None, *, unset: bool = False) -> str:
    session = SessionStore()
    session["user"] = "alice"
    if not unset:
        session.set_expiry(expiry)
    session.save()
    key = session.session_key
    assert key is not None
    return key


def alive(key: str) -> bool:
    found: object = SessionStore(key).get("user")
    return found == "alice"


def test_set_expiry_seconds_is_the_sessions_idle_timeout(store: Store, clock: FakeClock) -> None:
    key = saved(2 * DAY)
    session = SessionStore(key)
    assert session.get_expiry_age() == 2 * DAY  # Django's contract: the age asked for
    assert not session.get_expire_at_browser_close()
    clock.advance(DAY)  # past the ordinary idle hour, within its own two days
    assert alive(key)
    clock.advance(2 * DAY + 1)
    assert not alive(key)


def test_set_expiry_seconds_lets_the_session_outlive_the_ordinary_lifetime(
    store: Store, clock: FakeClock
) -> None:
    key = saved(DAY)
    for _ in range(3):  # used every twelve hours: past the ordinary eight-hour lifetime
        clock.advance(12 * HOUR)
        assert alive(key)
    record = record_of(store, key, clock())
    assert record is not None
    assert record.meta["sojourn:remember"] == "1"


def test_set_expiry_seconds_never_extends_past_the_remembered_maximum(
    store: Store, clock: FakeClock
) -> None:
    key = saved(60 * DAY)  # more than SOJOURN_REMEMBER_IDLE_TIMEOUT allows
    clock.advance(14 * DAY + 1)
    assert not alive(key)


def test_set_expiry_datetime_ends_the_session_then(store: Store, clock: FakeClock) -> None:
    key = saved(datetime.fromtimestamp(clock() + 3 * DAY, UTC))
    session = SessionStore(key)
    assert abs(session.get_expiry_age() - 3 * DAY) <= 1
    clock.advance(2 * DAY)  # idle two days: within the remembered idle timeout, before the date
    assert alive(key)
    clock.advance(DAY)
    assert not alive(key)


def test_set_expiry_timedelta_is_a_date(store: Store, clock: FakeClock) -> None:
    key = saved(timedelta(hours=2))
    clock.advance(HOUR + 1800)  # past the ordinary idle hour: remembered
    assert alive(key)
    clock.advance(1801)
    assert not alive(key)


def test_set_expiry_zero_is_a_browser_session_with_the_ordinary_timeouts(
    store: Store, clock: FakeClock
) -> None:
    key = saved(0)
    session = SessionStore(key)
    assert session.get_expire_at_browser_close()
    record = record_of(store, key, clock())
    assert record is not None
    assert record.meta.get("sojourn:remember") == "0"
    clock.advance(HOUR + 1)
    assert not alive(key)


def test_set_expiry_none_goes_back_to_the_settings(store: Store, clock: FakeClock) -> None:
    key = saved(2 * DAY)
    session = SessionStore(key)
    session.set_expiry(None)
    session.save()
    assert session.get_expiry_age() == min(settings.SESSION_COOKIE_AGE, 8 * HOUR)
    clock.advance(HOUR + 1)
    assert not alive(key)


def test_the_cookie_age_is_capped_at_the_sessions_own_lifetime(
    store: Store, clock: FakeClock
) -> None:
    ordinary = SessionStore(saved(unset=True))
    assert ordinary.get_expiry_age() == 8 * HOUR  # Django's two weeks, capped
    remembered = SessionStore(saved(datetime.fromtimestamp(clock() + 60 * DAY, UTC)))
    assert abs(remembered.get_expiry_age() - 30 * DAY) <= 1  # its own 30 days, not 60


def test_the_expiry_date_is_capped_at_the_sessions_own_lifetime(
    store: Store, clock: FakeClock
) -> None:
    asked = datetime.fromtimestamp(clock() + 60 * DAY, UTC)
    remembered = SessionStore(saved(asked))
    date = remembered.get_expiry_date()
    assert abs(date.timestamp() - (clock() + 30 * DAY)) <= 1  # its own 30 days, not 60
    soon = datetime.fromtimestamp(clock() + DAY, UTC)
    assert SessionStore(saved(soon)).get_expiry_date() == soon  # Django's, when earlier


def test_a_remembered_session_keeps_its_timing_through_cycle_key(
    store: Store, clock: FakeClock
) -> None:
    session = SessionStore(saved(2 * DAY))
    session.cycle_key()
    key = session.session_key
    assert key is not None
    clock.advance(DAY)
    assert alive(key)


def test_flush_ends_a_remembered_session(store: Store, clock: FakeClock) -> None:
    key = saved(2 * DAY)
    session = SessionStore(key)
    session.flush()
    assert record_of(store, key, clock()) is None
    assert not alive(key)
