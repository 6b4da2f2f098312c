"""A session's own timing on the sync manager: the rules the adapters rely on.

The scenarios through adapters live in ``tests/asgi/test_timing.py`` and
``tests/integrations/test_{flask,django}_timing.py``; the stores' side in the conformance suite.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

import pytest

from sojourn import (
    ConfigurationError,
    CookieSettings,
    CookieTransport,
    Engine,
    HeaderTransport,
    Manager,
    MemoryStore,
    Policy,
    ResponseStarted,
    SessionEvent,
    TimeoutTooLong,
)
from sojourn.stores.cookie import CookieStore
from sojourn.testing._clock import FakeClock
from tests.timing import DAY, HOUR, OPTIONS

POLICY = Policy(**OPTIONS)


def manager(clock: FakeClock, **engine: object) -> Manager:
    return Manager(MemoryStore(), Engine(policy=POLICY, **engine), clock=clock, track_metadata=True)  # type: ignore[arg-type]


def cookie_line(headers: tuple[tuple[str, str], ...]) -> str:
    [line] = [value for name, value in headers if name == "set-cookie"]
    return line


def test_policy_terms_by_class_and_caps() -> None:
    assert POLICY.terms(True) == (HOUR, 8 * HOUR)
    assert POLICY.terms(False) == (600, HOUR)
    assert POLICY.terms(False, remember=True) == (7 * DAY, 30 * DAY)
    assert POLICY.terms(True, remember=False) == (HOUR, 8 * HOUR)
    assert POLICY.terms(True, True, idle_cap=60, lifetime_cap=DAY) == (60, DAY)
    assert POLICY.terms(True, False, idle_cap=9 * HOUR) == (HOUR, 8 * HOUR)  # never longer
    assert POLICY.terms(True, False, lifetime_cap=60) == (60, 60)  # idle within the lifetime


@pytest.mark.parametrize(
    "options",
    [
        {"remember_lifetime": 0},
        {"anonymous_idle_timeout": -1},
        {"remember_idle_timeout": 10 * DAY, "remember_lifetime": DAY},
        {"anonymous_idle_timeout": 2 * DAY},  # past the (default) lifetime of a day
    ],
)
def test_policy_refuses_contradictory_class_timeouts(options: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        Policy(**options)


def test_a_class_idle_timeout_left_out_is_cut_to_the_class_lifetime() -> None:
    policy = Policy(idle_timeout=HOUR, lifetime=DAY, anonymous_lifetime=600)
    assert policy.terms(False) == (600, 600)
    assert policy.terms(True) == (HOUR, DAY)


def test_set_timeouts_refuses_to_extend_and_refuses_nonsense() -> None:
    clock = FakeClock()
    session = manager(clock).load([])
    session.login("ann")
    with pytest.raises(TimeoutTooLong):
        session.set_timeouts(idle=2 * HOUR)
    with pytest.raises(TimeoutTooLong):
        session.set_timeouts(lifetime=9 * HOUR)
    with pytest.raises(ValueError, match="positive number of seconds"):
        session.set_timeouts(idle=0)
    with pytest.raises(ValueError, match="positive number of seconds"):
        session.set_timeouts(idle=float("inf"))
    with pytest.raises(TypeError):
        session.set_timeouts(idle=[60])
    with pytest.raises(TypeError):
        session.remember("yes")  # type: ignore[arg-type]
    session.set_timeouts(idle=timedelta(minutes=5))
    capped = session.timeouts
    session.remember(True)  # the remembered maximums apply, the cap stays
    assert (capped, session.timeouts) == ((300, 8 * HOUR), (300, 30 * DAY))


def test_remember_alone_creates_no_session() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session.remember(True)
    outcome = m.commit(session)
    assert outcome.session_id is None
    assert outcome.headers == ()


def test_remember_on_a_stored_session_resends_its_cookie_persistent() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session["cart"] = [1]
    first = m.commit(session)
    assert first.session_id is not None
    assert "Max-Age" not in cookie_line(first.headers)
    again = m.load([first.session_id])
    again.remember(True)
    outcome = m.commit(again)
    assert outcome.session_id == first.session_id  # the same ID, now persistent
    assert f"Max-Age={int(30 * DAY)}" in cookie_line(outcome.headers)
    clock.advance(2 * HOUR)  # past the anonymous lifetime: it is remembered
    assert m.load([first.session_id]).get("cart") == [1]


def test_remember_false_beats_persistent_cookie_settings() -> None:
    clock = FakeClock()
    m = manager(clock, transport=CookieTransport(CookieSettings(persistent=True)))
    kept, plain = m.load([]), m.load([])
    kept["a"], plain["a"] = 1, 1
    plain.remember(False)
    assert "Max-Age" in cookie_line(m.commit(kept).headers)
    assert "Max-Age" not in cookie_line(m.commit(plain).headers)


def test_header_transport_sessions_can_be_remembered() -> None:
    clock = FakeClock()
    m = manager(clock, transport=HeaderTransport())
    session = m.load([])
    session.login("ann")
    session.remember(True)
    token = m.commit(session).session_id
    assert token is not None
    clock.advance(2 * DAY)
    assert m.load([token]).principal == "ann"


def test_reserved_entries_never_show_as_metadata() -> None:
    clock = FakeClock()
    m = manager(clock)
    tracked = {"user_agent": "Firefox", "ip": "10.0.0.1"}
    session = m.load([], meta=tracked)
    session.login("ann")
    session.remember(True)
    session.set_timeouts(idle=HOUR)
    current = m.commit(session).session_id
    assert current is not None
    loaded = m.load([current])
    assert not any(k.startswith("sojourn:") for k in loaded.meta)
    [info] = m.sessions_of("ann")
    assert not any(k.startswith("sojourn:") for k in info.meta)
    assert info.meta.get("user_agent") == "Firefox"


def test_timing_cannot_change_after_the_headers_went_out() -> None:
    clock = FakeClock()
    m = manager(clock)
    session = m.load([])
    session["a"] = 1
    m.commit(session, final=True)
    with pytest.raises(ResponseStarted):
        session.remember(True)


def test_a_sealed_session_can_be_remembered() -> None:
    clock = FakeClock()
    store = CookieStore([secrets.token_bytes(32)])
    m = Manager(store, Engine(policy=POLICY), clock=clock)
    session = m.load([])
    session.login("ann")
    session.remember(True)
    outcome = m.commit(session)
    assert f"Max-Age={int(30 * DAY)}" in cookie_line(outcome.headers)
    token = cookie_line(outcome.headers).split(";")[0].split("=", 1)[1]
    clock.advance(2 * DAY)  # the sealed record carries its own timing
    assert m.load([token]).principal == "ann"


def test_lifecycle_events_never_carry_the_reserved_entries() -> None:
    clock = FakeClock()
    events: list[SessionEvent] = []
    m = Manager(MemoryStore(), Engine(policy=POLICY), clock=clock, hooks=[events.append])
    session = m.load([], meta={"user_agent": "Firefox"})
    session.login("ann")
    session.remember(True)
    first = m.commit(session).session_id
    assert first is not None
    again = m.load([first])
    again.regenerate()
    second = m.commit(again).session_id
    assert second is not None
    ending = m.load([second])
    ending.invalidate()
    m.commit(ending)
    other = m.load([], meta={"user_agent": "Firefox"})
    other.login("ann")
    other.remember(True)
    third = m.commit(other).session_id
    assert third is not None
    clock.advance(7 * DAY + 1)  # past its own idle timeout: expired, seen on load
    assert m.load([third]).principal is None
    kinds = [event.kind for event in events]
    assert kinds == ["created", "rotated", "destroyed", "created", "expired"]
    for event in events:
        assert dict(event.meta) == {"user_agent": "Firefox"}


def test_the_wsgi_middleware_takes_the_timeout_options() -> None:
    from werkzeug.test import Client

    from sojourn.wsgi import SessionMiddleware

    def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
        session = environ["sojourn.session"]
        if environ["PATH_INFO"] == "/login":
            session.login("ann")
            session.remember(True)
        start_response("200 OK", [("content-type", "text/plain")])
        return [str(session.principal).encode()]

    clock = FakeClock()
    wrapped: Any = SessionMiddleware(app, MemoryStore(), clock=clock, **OPTIONS)
    client = Client(wrapped)
    response = client.get("/login", base_url="https://localhost")
    assert f"Max-Age={int(30 * DAY)}" in response.headers["set-cookie"]
    clock.advance(2 * DAY)  # past the ordinary idle hour and lifetime: remembered
    assert client.get("/", base_url="https://localhost").text == "ann"
