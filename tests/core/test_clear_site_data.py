"""Clear-Site-Data on logout (SEC-29): the directives, checked once, and the engine's plan."""

from __future__ import annotations

import pytest

from sojourn import ConfigurationError, CookieSettings, CookieTransport, Engine
from sojourn._core.clearing import directives, header_value
from sojourn._core.records import Record

NOW = 1_000_000.0
TRANSPORT = CookieTransport(CookieSettings(name="sid", secure=False))


def stored(engine: Engine, now: float = NOW) -> Record:
    return Record("k" * 43, {"user": b'"alice"'}, None, now, now, now + 60, None, {})


def test_directives_are_quoted_as_the_header_requires() -> None:
    assert header_value(directives(("cache", "storage"))) == '"cache", "storage"'
    assert directives('"cookies"') == ("cookies",)  # one string is one directive
    assert directives(["executionContexts"]) == ("executionContexts",)
    assert directives("*") == ("*",)


@pytest.mark.parametrize(
    "bad", [("cache", "bogus"), ("Cache",), ("cache", "cache"), ("*", "cache"), (1,)]
)
def test_unknown_repeated_or_redundant_directives_are_refused(bad: tuple[object, ...]) -> None:
    with pytest.raises(ConfigurationError):
        Engine(clear_site_data=bad)  # type: ignore[arg-type]


@pytest.mark.sec("SEC-29")
def test_a_logout_plan_carries_clear_site_data() -> None:
    engine = Engine(transport=TRANSPORT, clear_site_data=("cache", "cookies", "storage"))
    session = engine.open("x" * 43, stored(engine), NOW)
    session.invalidate()
    headers = dict(engine.close(session, NOW).headers)
    assert headers["clear-site-data"] == '"cache", "cookies", "storage"'
    assert "sid=" in headers["set-cookie"]
    assert engine.logout_headers == (("clear-site-data", '"cache", "cookies", "storage"'),)


def test_without_the_option_a_logout_sends_no_clear_site_data() -> None:
    engine = Engine(transport=TRANSPORT)
    session = engine.open("x" * 43, stored(engine), NOW)
    session.invalidate()
    assert "clear-site-data" not in dict(engine.close(session, NOW).headers)
    assert engine.logout_headers == ()


def test_only_a_logout_clears_site_data_not_an_expired_session_or_a_write() -> None:
    engine = Engine(transport=TRANSPORT, clear_site_data="*")
    dead = engine.open("x" * 43, stored(engine, NOW - 10_000), NOW)  # idle past its deadline
    dead["n"] = 1
    assert "clear-site-data" not in dict(engine.close(dead, NOW).headers)
    expired = engine.open("x" * 43, stored(engine, NOW - 10_000), NOW)
    assert "clear-site-data" not in dict(engine.close(expired, NOW).headers)
    live = engine.open("x" * 43, stored(engine), NOW)
    live.regenerate()
    assert "clear-site-data" not in dict(engine.close(live, NOW).headers)


def test_an_engine_copied_with_replace_keeps_its_directives() -> None:
    from dataclasses import replace

    engine = replace(Engine(clear_site_data=("cache",)), no_store=None)
    assert engine.clear_site_data == ("cache",)
    assert engine.logout_headers == (("clear-site-data", '"cache"'),)


def test_a_logout_followed_by_a_write_still_clears_site_data() -> None:
    engine = Engine(transport=TRANSPORT, clear_site_data=("cache", "storage"))
    session = engine.open("x" * 43, stored(engine), NOW)
    session.invalidate()
    session["flash"] = "signed out"  # a fresh session, with a new ID
    plan = engine.close(session, NOW)
    headers = dict(plan.headers)
    assert headers["clear-site-data"] == '"cache", "storage"'
    assert plan.issued_id is not None
    assert plan.issued_id in headers["set-cookie"]


def test_emptying_a_stored_session_is_a_logout_too() -> None:
    engine = Engine(transport=TRANSPORT, clear_site_data=("storage",))
    session = engine.open("x" * 43, stored(engine), NOW)
    session.clear()
    assert dict(engine.close(session, NOW).headers)["clear-site-data"] == '"storage"'
