"""Request-side security rules, on every adapter (SEC-18, SEC-51, SEC-58).

- SEC-18: the ``Secure`` decision never reads ``X-Forwarded-Proto`` (or ``Forwarded``,
  ``X-Forwarded-Ssl``): the cookie attributes are the same over HTTP, over HTTPS and with a
  spoofed proxy header; ``secure=True`` on plain HTTP still sends ``Secure``.
- SEC-51: several session cookies of one name: exactly one live candidate is used whatever the
  order; two live ones give no session and a ``session.ambiguous_cookie`` security event.
- SEC-58: nothing a request carries is echoed into response headers, malformed values included.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator

import pytest

from sojourn import new_session_id

from .adapters import ADAPTERS, Adapter, Reply, adapter


@pytest.fixture(params=ADAPTERS)
def app(request: pytest.FixtureRequest) -> Iterator[Adapter]:
    with adapter(request.param) as made:
        yield made


@pytest.fixture(params=ADAPTERS)
def plain_app(request: pytest.FixtureRequest) -> Iterator[Adapter]:
    """The adapter configured for plain-HTTP development (no ``Secure``)."""
    with adapter(request.param, secure=False) as made:
        yield made


def attributes(reply: Reply, name: str) -> frozenset[str]:
    """The attributes of the one ``Set-Cookie`` for ``name``, without value and dates."""
    lines = reply.cookies(name)
    assert len(lines) == 1, lines
    parts = [p.strip().lower() for p in lines[0].split(";")[1:]]
    return frozenset(p for p in parts if not p.startswith("expires="))


SPOOFS: list[tuple[str, list[tuple[str, str]]]] = [
    ("https", []),
    ("http", []),
    ("http", [("x-forwarded-proto", "https")]),
    ("http", [("forwarded", "for=1.2.3.4;proto=https")]),
    ("http", [("x-forwarded-ssl", "on"), ("x-forwarded-scheme", "https")]),
    ("https", [("x-forwarded-proto", "http")]),
]


@pytest.mark.sec("SEC-18")
def test_secure_cookies_ignore_forwarded_proto(app: Adapter) -> None:
    seen = {
        attributes(app.write("u", headers, scheme=scheme), app.cookie) for scheme, headers in SPOOFS
    }
    assert len(seen) == 1, seen
    assert "secure" in next(iter(seen))  # secure=True on plain HTTP still sends Secure


@pytest.mark.sec("SEC-18")
def test_insecure_cookies_are_not_made_secure_by_a_proxy_header(plain_app: Adapter) -> None:
    seen = {
        attributes(plain_app.write("u", headers, scheme=scheme), plain_app.cookie)
        for scheme, headers in SPOOFS
    }
    assert len(seen) == 1, seen
    assert "secure" not in next(iter(seen))


# -- SEC-51 ---------------------------------------------------------------------------------


def read_with(app: Adapter, *values: str, split: bool = False) -> object:
    """``/read`` with ``values`` as cookies of the session name: one header, or one each."""
    pairs = [f"{app.cookie}={value}" for value in values]
    headers = [("cookie", p) for p in pairs] if split else [("cookie", "; ".join(pairs))]
    headers.append(("cookie", "theme=dark"))
    return app.request("/read", headers).user()


@pytest.fixture(params=ADAPTERS)
def dup_app(request: pytest.FixtureRequest) -> Iterator[Adapter]:
    with adapter(request.param) as made:
        yield made


@pytest.mark.sec("SEC-51")
def test_one_live_cookie_among_duplicates_is_used_in_any_order(dup_app: Adapter) -> None:
    live = dup_app.login_as("alice")
    unknown = new_session_id()
    for other in ("junk", "", unknown, "x" * 43, live[:-1]):
        for split in (False, True):
            assert read_with(dup_app, live, other, split=split) == "alice", other
            assert read_with(dup_app, other, live, split=split) == "alice", other
    assert read_with(dup_app, "junk", live, unknown) == "alice"


@pytest.mark.sec("SEC-51", "SEC-54")
def test_two_live_cookies_give_no_session_and_a_security_event(
    dup_app: Adapter, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = dup_app.login_as("alice"), dup_app.login_as("bob")
    for split in (False, True):
        for order in ((first, second), (second, first)):
            caplog.clear()
            with caplog.at_level(logging.INFO, logger="sojourn"):
                assert read_with(dup_app, *order, split=split) is None
            events = [r for r in caplog.records if r.name == "sojourn.security"]
            assert [r.getMessage().split(":")[0] for r in events] == ["session.ambiguous_cookie"]
            assert events[0].levelno == logging.WARNING
            assert first not in caplog.text
            assert second not in caplog.text
    # the single cookies still work: nothing was destroyed by the ambiguity
    assert read_with(dup_app, first) == "alice"
    assert read_with(dup_app, second) == "bob"


# -- SEC-58 ---------------------------------------------------------------------------------


def hostile_values(marker: str) -> list[str]:
    return [
        f"%0d%0aX-{marker}:%20y",
        f"\r\nX-{marker}: y",
        f"{marker}\r\nSet-Cookie: evil={marker}",
        f"\nX-{marker}:y",
        f'"{marker}"',
        f"{marker};Domain=evil.example",
        marker * 200,
        f"{marker}\x00\x7f\xff",
    ]


def echoes(reply: Reply, marker: str) -> list[tuple[str, str]]:
    return [(k, v) for k, v in reply.headers if marker.lower() in (k + v).lower()]


REFUSES_RAW_NEWLINES = {"quart"}
"""Frameworks that refuse CR or LF in a request header themselves (Quart builds werkzeug
``Headers``, which raise), after Sojourn's middleware passed the request on untouched; the
HTTP servers in front (h11, httptools) refuse such bytes before any app sees them."""


@pytest.mark.sec("SEC-58")
def test_request_values_are_never_echoed_into_response_headers(app: Adapter) -> None:
    marker = "Zq" + secrets.token_hex(4)
    live = app.login_as("alice")
    for value in hostile_values(marker):
        if app.name in REFUSES_RAW_NEWLINES and ("\r" in value or "\n" in value):
            continue
        cases = [
            [("cookie", f"{app.cookie}={value}")],
            [("cookie", f"{app.cookie}={live}; {app.cookie}={value}")],
            [("cookie", f"{app.cookie}={value}"), ("x-forwarded-proto", value)],
            [("cookie", f"other={value}"), ("user-agent", value)],
        ]
        for headers in cases:
            for path in ("/read", "/write?user=eve"):
                reply = app.request(path, headers)
                assert reply.status < 500, (path, headers, reply)
                assert echoes(reply, marker) == [], (path, headers)
                assert not any(k.startswith("x-zq") for k, _ in reply.headers)
    # a well-formed but unknown ID is not echoed either: a fresh one is issued instead
    unknown = new_session_id()
    reply = app.write("eve", [("cookie", f"{app.cookie}={unknown}")])
    assert unknown not in str(reply.headers)
    assert reply.issued(app.cookie) not in (None, unknown)
