"""The Flask adapter's shortcuts against what they stand in for, byte for byte (issue 11).

Each shortcut on the request path has a slower original that defines it: Werkzeug's
``dump_cookie`` for the spliced cookie, ``response.vary.add`` and ``headers.add`` for the
headers appended in place, Flask's ``get_cookie_*`` helpers for the config key read straight
from ``app.config``, ``Mapping.get`` and ``SessionMixin.permanent`` for the session's own, and
the full JSON decoder for the tagged codec's scanner. These tests run both on many inputs and
require the same text, the same exception and the same warnings.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, Response, request, session
from hypothesis import given, settings
from hypothesis import strategies as st
from werkzeug.datastructures import Headers
from werkzeug.http import dump_cookie

from sojourn import MemoryStore
from sojourn._core.codec import DEFAULT_LIMITS
from sojourn._core.errors import CorruptSession, UnencodableValue
from sojourn._integrations import flask as adapter
from sojourn._integrations._flask_codec import TaggedJSONCodec
from sojourn._integrations._flask_cookie import (
    FlaskCookie,
    config_key,
    helpers_are_flasks,
    plain_config_key,
)
from sojourn.flask import FlaskSession, Sojourn, SojournSessionInterface, get_manager
from sojourn.stores.base import Store

from .stores import BrokenStore, StoreFactory, available, store_params


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


# -- the cookie: a template spliced, or dump_cookie --------------------------------------------

NAMES = st.sampled_from(
    [
        "session",
        "__Host-sid",
        "__Secure-s",
        "app session",
        "bücher",
        "a=b",
        "sojourn-session-id-placeholder",
    ]
)
DOMAINS = st.sampled_from(
    [None, "", "example.com", ".example.com", "localhost", "localhost:5000", "bücher.de"]
)
PATHS = st.sampled_from(
    ["/", "/app", "/a b", "/ü", "/;x", "/%2F", "/sojourn-session-id-placeholder"]
)
SAME_SITES = st.sampled_from([None, "Lax", "lax", "Strict", "None", "none"])
IDS = st.from_regex(r"[A-Za-z0-9_-]{0,60}", fullmatch=True)
VALUES = st.one_of(
    IDS,
    st.text(max_size=20),
    # near misses: an ID with one character that dump_cookie quotes, or one it does not
    st.from_regex(
        r"[A-Za-z0-9_-]{0,8}[;\" ,\\\x7f\té=.~!:/]{1,2}[A-Za-z0-9_-]{0,8}", fullmatch=True
    ),
    st.just("x" * 5000),
)
UTC_TIMES = st.datetimes(
    min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1), timezones=st.just(UTC)
)
EXPIRIES = st.one_of(
    st.none(),
    UTC_TIMES,
    st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(9000, 1, 1)),  # naive
    st.datetimes(
        min_value=datetime(1971, 1, 1),
        max_value=datetime(9000, 1, 1),
        timezones=st.sampled_from([timezone(timedelta(hours=5)), timezone(timedelta(0))]),
    ),
    st.integers(min_value=0, max_value=2**33),
    st.floats(min_value=0, max_value=2**33),
    st.just("Thu, 01 Jan 2099 00:00:00 GMT"),
)


def cookie_of(**fields: Any) -> FlaskCookie | None:
    try:
        return FlaskCookie(**fields)
    except Exception:  # a __Host-/__Secure- name its settings do not allow
        return None


def expected(cookie: FlaskCookie, value: str, expires: Any) -> tuple[str, list[str]]:
    """dump_cookie's text (or exception) and warnings, called as Flask calls it."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = dump_cookie(
                cookie.name,
                value,
                expires=expires,
                path=cookie.path,
                domain=cookie.domain,
                secure=cookie.secure,
                httponly=cookie.http_only,
                samesite=cookie.same_site,
                partitioned=cookie.partitioned,
            )
        except Exception as exc:
            text = f"raised {type(exc).__name__}: {exc}"
    return text, [str(w.message) for w in caught]


def rendered(cookie: FlaskCookie, value: str, expires: Any) -> tuple[str, list[str]]:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            text = cookie.render(value, expires)
        except Exception as exc:
            text = f"raised {type(exc).__name__}: {exc}"
    return text, [str(w.message) for w in caught]


@settings(max_examples=400, deadline=None)
@given(
    name=NAMES,
    domain=DOMAINS,
    path=PATHS,
    http_only=st.booleans(),
    secure=st.booleans(),
    same_site=SAME_SITES,
    partitioned=st.booleans(),
    values=st.lists(VALUES, min_size=1, max_size=3),
    expiries=st.lists(EXPIRIES, min_size=1, max_size=3),
)
def test_rendered_cookie_is_dump_cookies_text(
    name: str,
    domain: str | None,
    path: str,
    http_only: bool,
    secure: bool,
    same_site: str | None,
    partitioned: bool,
    values: list[str],
    expiries: list[Any],
) -> None:
    cookie = cookie_of(
        name=name,
        domain=domain,
        path=path,
        http_only=http_only,
        secure=secure,
        same_site=same_site,
        partitioned=partitioned,
    )
    if cookie is None:
        return
    for expires in expiries:
        for value in values:  # twice each: the second render reuses the template
            assert rendered(cookie, value, expires) == expected(cookie, value, expires)
            assert rendered(cookie, value, expires) == expected(cookie, value, expires)


@settings(max_examples=200, deadline=None)
@given(start=UTC_TIMES, steps=st.lists(st.integers(0, 2_500_000), min_size=1, max_size=20))
def test_dated_templates_follow_the_second(start: datetime, steps: list[int]) -> None:
    """Times within one second share a template, and no template outlives its second (the
    cache is bounded and cleared; each render is still dump_cookie's text)."""
    cookie = FlaskCookie("session", None, "/", True, True, "Lax", False)
    moment = start
    for step in steps:
        moment += timedelta(microseconds=step)
        sid = "A" * 43
        assert cookie.render(sid, moment) == expected(cookie, sid, moment)[0]
    assert 1 <= len(cookie._dated) <= 8  # templated, and bounded


def test_invalid_same_site_raises_as_dump_cookie_does() -> None:
    cookie = FlaskCookie("session", None, "/", True, True, "Bogus", False)
    assert cookie._template is None
    for expires in (None, datetime.now(UTC)):
        with pytest.raises(ValueError, match="SameSite"):
            cookie.render("A" * 43, expires)


def test_a_placeholder_in_the_name_disables_the_template() -> None:
    cookie = FlaskCookie("sojourn-session-id-placeholder", None, "/", True, True, None, False)
    assert cookie._template is None
    assert cookie.render("abc") == expected(cookie, "abc", None)[0]


# -- headers appended in place ----------------------------------------------------------------

HEADER_LISTS: list[list[tuple[str, str]]] = [
    [],
    [("Content-Type", "text/html")],
    [("Vary", "Cookie")],
    [("vary", "Cookie")],
    [("VARY", "cookie")],
    [("Vary", "")],
    [("Vary", "Accept-Encoding")],
    [("Vary", "Accept-Encoding, Cookie")],
    [("Vary", "*")],
    [("Vary", "Accept-Encoding"), ("Vary", "Cookie")],
    [("Vary", "Cookie"), ("Vary", "Accept-Encoding")],
    [("X-A", "1"), ("Vary", "Origin"), ("X-B", "2"), ("vary", "Accept")],
    [("Set-Cookie", "a=b"), ("Content-Length", "2")],
]


class OwnVary(Response):
    @property
    def vary(self) -> Any:
        raise AssertionError("the response class's own vary was called")


class OwnHeaders(Headers):
    pass


@pytest.mark.parametrize("pairs", HEADER_LISTS)
def test_vary_cookie_is_vary_add(pairs: list[tuple[str, str]]) -> None:
    fast, slow = Response("ok"), Response("ok")
    fast.headers = Headers(pairs)
    slow.headers = Headers(pairs)
    adapter._vary_cookie(fast)
    slow.vary.add("Cookie")
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()
    adapter._vary_cookie(fast)  # twice: nothing more
    slow.vary.add("Cookie")
    assert fast.headers.to_wsgi_list() == slow.headers.to_wsgi_list()


def test_vary_cookie_defers_to_the_property_for_other_classes() -> None:
    with pytest.raises(AssertionError, match="own vary"):
        adapter._vary_cookie(OwnVary("ok"))
    response = Response("ok")
    response.headers = OwnHeaders(response.headers)
    adapter._vary_cookie(response)
    assert response.headers.getlist("Vary") == ["Cookie"]


@pytest.mark.parametrize("value", ["a=b; Path=/", "", "a\nb", "a\rb", "x" * 5000])
@pytest.mark.parametrize("kind", [Headers, OwnHeaders])
def test_add_header_is_headers_add(value: str, kind: type[Headers]) -> None:
    fast, slow = kind([("Content-Type", "text/html")]), kind([("Content-Type", "text/html")])
    try:
        slow.add("Set-Cookie", value)
    except ValueError as exc:
        with pytest.raises(ValueError, match=str(exc)):
            adapter._add_header(fast, "Set-Cookie", value)
    else:
        adapter._add_header(fast, "Set-Cookie", value)
    assert fast.to_wsgi_list() == slow.to_wsgi_list()


# -- the config, read per request -------------------------------------------------------------

CONFIGS: list[dict[str, Any]] = [
    {},
    {"SESSION_COOKIE_NAME": "app"},
    {"SESSION_COOKIE_DOMAIN": "example.com"},
    {"SESSION_COOKIE_PATH": "/app"},
    {"SESSION_COOKIE_PATH": None, "APPLICATION_ROOT": "/root"},
    {"SESSION_COOKIE_PATH": "", "APPLICATION_ROOT": "/root"},
    {"SESSION_COOKIE_PATH": "/p", "APPLICATION_ROOT": "/root"},
    {"SESSION_COOKIE_HTTPONLY": False},
    {"SESSION_COOKIE_SECURE": True},
    {"SESSION_COOKIE_SAMESITE": "Strict"},
    {"SESSION_COOKIE_SAMESITE": None},
    {"SESSION_COOKIE_PARTITIONED": True, "SESSION_COOKIE_SECURE": True},
    {"PERMANENT_SESSION_LIFETIME": 3600},
    {"PERMANENT_SESSION_LIFETIME": timedelta(hours=1)},
    {"PERMANENT_SESSION_LIFETIME": timedelta(minutes=5)},
]


def app_with(config: dict[str, Any], cls: type[Flask] = Flask) -> Flask:
    app = cls(__name__)
    app.testing = True
    app.config.update(config)
    return app


def test_plain_key_partitions_configs_as_the_helpers_do() -> None:
    interface = SojournSessionInterface(MemoryStore())
    assert helpers_are_flasks(interface)
    apps = [app_with(config) for config in CONFIGS]
    for one in apps:
        for other in apps:
            if plain_config_key(one) == plain_config_key(other):
                assert config_key(one, interface) == config_key(other, interface)


@pytest.mark.parametrize("config", CONFIGS)
def test_resolved_cookie_and_policy_are_the_helpers(config: dict[str, Any]) -> None:
    """What a request resolves with the plain key is what the helpers' key resolves to."""
    plain = SojournSessionInterface(MemoryStore())
    helpers = SojournSessionInterface(MemoryStore())
    helpers._plain_helpers = False  # as if a helper were overridden: config_key each request
    app = app_with(config)
    manager, cookie = plain._resolve(app)
    other_manager, other_cookie = helpers._resolve(app)
    assert type(app) in plain._plain_apps
    assert type(app) in helpers._other_apps
    assert cookie == other_cookie
    assert manager.engine.policy == other_manager.engine.policy
    assert plain._resolve(app)[0] is manager  # remembered
    app.config["SESSION_COOKIE_NAME"] = "changed"  # and still read per request
    assert plain._resolve(app)[1] is not None
    assert plain._resolve(app)[1].name == "changed"  # type: ignore[union-attr]


class CountingHelpers(SojournSessionInterface):
    calls = 0

    def get_cookie_name(self, app: Flask) -> str:
        CountingHelpers.calls += 1
        return "counted"


class OwnLifetime(Flask):
    @property
    def permanent_session_lifetime(self) -> timedelta:  # type: ignore[override]
        return timedelta(minutes=7)


def test_an_overridden_helper_is_called_on_every_request() -> None:
    app = app_with({})
    interface = CountingHelpers(MemoryStore())
    app.session_interface = interface
    assert not interface._plain_helpers

    @app.get("/w")
    def write() -> str:
        session["x"] = 1
        return "ok"

    client = app.test_client()
    before = CountingHelpers.calls
    for _ in range(3):
        assert client.get("/w").headers["Set-Cookie"].startswith("counted=")
    assert CountingHelpers.calls - before >= 3


def test_an_app_class_with_its_own_lifetime_is_read_through_it() -> None:
    app = app_with({}, OwnLifetime)
    Sojourn(app, store=MemoryStore())
    assert get_manager(app).engine.policy.idle_timeout == 7 * 60
    interface = app.extensions["sojourn"]
    assert OwnLifetime in interface._other_apps


# -- the session's own lookups ----------------------------------------------------------------


@pytest.mark.parametrize(
    "stored", [{}, {"k": 1}, {"k": [1]}, {"_permanent": True}, {"_permanent": 1}]
)
def test_get_and_permanent_answer_as_flasks_mixin(store: Store, stored: dict[str, Any]) -> None:
    app = app_with({})
    Sojourn(app, store=store)
    with app.test_request_context("/"):
        for key in ("k", "_permanent", "absent"):
            fast = app.session_interface.open_session(app, request)
            slow = app.session_interface.open_session(app, request)
            assert isinstance(fast, FlaskSession)
            assert isinstance(slow, FlaskSession)
            for one in (fast, slow):
                one.sojourn._data.update(stored)
            assert fast.get(key, "default") == super(FlaskSession, slow).get(key, "default")
            assert fast.sojourn.accessed == slow.sojourn.accessed
            assert fast.sojourn._state.touched == slow.sojourn._state.touched
    with app.test_request_context("/"):
        opened = app.session_interface.open_session(app, request)
        assert isinstance(opened, FlaskSession)
        opened.sojourn._data.update(stored)
        assert opened.permanent == stored.get("_permanent", False)
        opened.permanent = "yes"  # type: ignore[assignment]
        assert opened["_permanent"] is True
        assert opened.modified


# -- the tagged codec's scanner ---------------------------------------------------------------

CODEC = TaggedJSONCodec()


def full_decode(data: bytes) -> Any:
    """The decode before the scanner: the full decoder on every value."""
    try:
        return ("ok", CODEC._decoder.decode(data.decode("utf-8")))
    except Exception as exc:
        return ("corrupt", type(exc).__name__)


def scanned(data: bytes) -> Any:
    try:
        return ("ok", CODEC.decode(data, DEFAULT_LIMITS))
    except CorruptSession as exc:
        return ("corrupt", str(exc).rsplit("(", 1)[-1].rstrip(")"))


TAGGABLE = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=10),
        st.binary(max_size=10),
        st.uuids(),
        # Flask's tag writes an HTTP date: whole seconds, years a two-digit parse cannot confuse
        st.datetimes(min_value=datetime(1970, 1, 1), timezones=st.just(UTC)).map(
            lambda d: d.replace(microsecond=0)
        ),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.lists(inner, max_size=3).map(tuple),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(value=TAGGABLE)
def test_scanned_values_are_the_full_decoders(value: Any) -> None:
    data = CODEC.encode("k", value, DEFAULT_LIMITS)
    assert scanned(data) == full_decode(data)
    assert scanned(data)[1] == value


JUNK = st.one_of(
    st.binary(max_size=30),
    st.text(alphabet=' {}[]":,0123456789.eE-+tnrufalsNI\\ \t\n', max_size=30).map(str.encode),
    st.sampled_from(
        [
            b" 1",
            b"1 ",
            b"1 2",
            b"",
            b"NaN",
            b"Infinity",
            b'{" t": "x"}',
            b'{" t": 1, " x": 2}',
            b'{" u": "zz"}',
            b'{" b": "!!"}',
            b'[{" t": [1]}]',
            b'"\\ud800"',
            b"\xff",
        ]
    ),
)


@settings(max_examples=500, deadline=None)
@given(data=JUNK)
def test_scanner_accepts_and_refuses_what_the_full_decoder_does(data: bytes) -> None:
    assert scanned(data) == full_decode(data)


@pytest.mark.parametrize("value", ["s", 1, True, None, 1.5, -0.0, 10**30])
def test_check_accepts_plain_scalars(value: Any) -> None:
    CODEC.check("k", value, DEFAULT_LIMITS)


@pytest.mark.parametrize("value", [float("nan"), float("inf"), (1, float("nan")), object()])
def test_check_refuses_what_cannot_be_stored(value: Any) -> None:
    with pytest.raises(UnencodableValue, match="'k'"):
        CODEC.check("k", value, DEFAULT_LIMITS)


# -- the store-down hook ----------------------------------------------------------------------


def test_refused_requests_are_counted_until_saved(store: Store) -> None:
    app = app_with({})
    Sojourn(app, store=BrokenStore(store, fail_on=frozenset({"load"})))

    @app.get("/w")
    def write() -> str:
        session["x"] = 1
        return "ok"

    client = app.test_client()
    client.set_cookie("session", "A" * 43)
    before = adapter._REFUSALS.open
    for _ in range(3):
        assert client.get("/w").status_code == 503
        assert adapter._REFUSALS.open == before
    client.delete_cookie("session")
    assert client.get("/w").status_code == 200  # nothing to load: no refusal, no 503
    assert adapter._REFUSALS.open == before


def test_hook_looks_at_the_flag_while_a_refusal_is_outstanding() -> None:
    app = app_with({})
    Sojourn(app, store=MemoryStore())
    with app.test_request_context("/", environ_base={adapter.STORE_ERROR_KEY: True}):
        adapter._REFUSALS.add()
        try:
            answer = adapter._refuse_when_store_is_down()
        finally:
            adapter._REFUSALS.discard()
        assert answer is not None
        assert answer.status_code == 503
