"""The Flask adapter's contract: ``flask.session`` behaves as Flask's own session does.

Every app here runs on Flask's defaults (plain http://localhost, cookie ``session``), unlike
test_flask.py, which opts into the hardened ``__Host-`` cookie. Each test pins one behaviour an
app, an extension or an app's own tests can see, on every sync store of :mod:`.stores`.
Where Sojourn differs from Flask on purpose, the test says so and asserts Sojourn's behaviour.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any

import pytest
import redis
from flask import (
    Flask,
    Response,
    copy_current_request_context,
    flash,
    get_flashed_messages,
    request,
    session,
    stream_with_context,
)
from flask.testing import FlaskClient
from markupsafe import Markup

from sojourn import CookieSettings
from sojourn._core.errors import ConfigurationError, UnencodableValue
from sojourn.flask import Sojourn, get_manager
from sojourn.stores.base import Store

from .stores import REDIS_URL, CountingStore, StoreFactory, available, record_of, store_params

HOUR = timedelta(hours=1)


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


def make_app(store: Any, **options: Any) -> Flask:
    """An app on Flask's defaults with Sojourn installed, and a few generic views."""
    app = Flask(__name__)
    app.testing = True
    Sojourn(app, store=store, **options)

    @app.get("/write")
    def write() -> str:
        for key, value in request.args.items():
            session[key] = value
        return "ok"

    @app.get("/read")
    def read() -> dict[str, Any]:
        return {"value": session.get(request.args.get("key", "x"))}

    @app.get("/nothing")
    def nothing() -> str:
        return "ok"

    @app.get("/all")
    def everything() -> dict[str, Any]:
        return dict(session)

    return app


def set_cookies(response: Any) -> list[str]:
    lines: list[str] = response.headers.getlist("Set-Cookie")
    return lines


def the_cookie(response: Any) -> tuple[str, dict[str, str]]:
    """The one ``Set-Cookie`` of a response: its ``name=value`` and its attributes (lowercase
    names; ``""`` for flags)."""
    [line] = set_cookies(response)
    first, *rest = (part.strip() for part in line.split(";"))
    attributes = {}
    for part in rest:
        name, _, value = part.partition("=")
        attributes[name.lower()] = value
    return first, attributes


def vary(response: Any) -> set[str]:
    return {v.strip() for v in response.headers.get("Vary", "").split(",") if v.strip()}


def session_id(client: FlaskClient, name: str = "session") -> str:
    cookie = client.get_cookie(name)
    assert cookie is not None, f"no {name} cookie in the client"
    return cookie.value


# -- flashes and values ---------------------------------------------------------------------


def test_flash_with_category_comes_back_as_a_tuple(store: Store) -> None:
    app = make_app(store)

    @app.get("/flash")
    def flash_it() -> str:
        flash("m", "error")
        return "ok"

    seen: list[Any] = []

    @app.get("/flashed")
    def flashed() -> str:
        seen.append(get_flashed_messages(with_categories=True))
        return "ok"

    client = app.test_client()
    client.get("/flash")
    client.get("/flashed")
    client.get("/flashed")
    assert seen == [[("error", "m")], []]
    assert type(seen[0][0]) is tuple


VALUES: dict[str, Any] = {
    "datetime": datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC),  # Flask's tag keeps whole seconds
    "uuid": uuid.UUID("12345678-1234-5678-1234-567812345678"),
    "bytes": b"\x00\xffraw",
    "tuple": (1, "two", (3,)),
    "markup": Markup("<b>safe</b>"),
    "tagged_key_dict": {" t": [1, 2]},
    "nested": {"when": [datetime(2020, 1, 1, tzinfo=UTC)], "ids": (uuid.UUID(int=7),)},
}


@pytest.mark.parametrize("name", sorted(VALUES))
def test_flask_tagged_value_round_trips_with_its_type(store: Store, name: str) -> None:
    app = make_app(store)
    seen: list[Any] = []

    @app.get("/put")
    def put() -> str:
        session["v"] = VALUES[name]
        return "ok"

    @app.get("/get")
    def get() -> str:
        seen.append(session["v"])
        return "ok"

    client = app.test_client()
    client.get("/put")
    client.get("/get")
    [value] = seen
    assert value == VALUES[name]
    assert type(value) is type(VALUES[name])
    if name == "nested":
        assert type(value["when"][0]) is datetime
        assert type(value["ids"]) is tuple


@pytest.mark.sec("SEC-38")
def test_unserializable_value_raises_unencodable_value_naming_the_key(store: Store) -> None:
    app = make_app(store)

    @app.get("/bad")
    def bad() -> str:
        session["x"] = "changed"
        session["unserializable"] = object()
        return "ok"

    client = app.test_client()
    client.get("/write?x=kept")
    with pytest.raises(UnencodableValue, match="unserializable") as info:
        client.get("/bad")
    assert isinstance(info.value, TypeError)
    # Nothing was written: the stored session is exactly what the earlier request left.
    assert client.get("/all").json == {"x": "kept"}


def test_unserializable_value_put_in_place_raises_on_save_and_keeps_the_record(
    store: Store,
) -> None:
    app = make_app(store)

    @app.get("/seed")
    def seed() -> str:
        session["items"] = [1]
        return "ok"

    @app.get("/bad")
    def bad() -> str:
        session["items"].append(object())  # no __setitem__: found when the session is saved
        return "ok"

    client = app.test_client()
    client.get("/seed")
    with pytest.raises(UnencodableValue, match="items"):
        client.get("/bad")
    assert client.get("/all").json == {"items": [1]}


def test_unserializable_value_outside_testing_is_a_500_that_saves_nothing(store: Store) -> None:
    app = make_app(store)
    app.testing = False

    @app.get("/bad")
    def bad() -> str:
        session["x"] = "changed"
        session["items"] = [object()]
        return "ok"

    client = app.test_client()
    client.get("/write?x=kept")
    response = client.get("/bad")
    assert response.status_code == 500
    assert set_cookies(response) == []
    assert client.get("/all").json == {"x": "kept"}


# -- the cookie, from Flask's config --------------------------------------------------------


def test_flask_defaults_give_flasks_cookie(store: Store) -> None:
    response = make_app(store).test_client().get("/write?x=1")
    first, attributes = the_cookie(response)
    assert first.startswith("session=")
    assert attributes == {"httponly": "", "path": "/"}  # no Secure, SameSite, Expires, Max-Age
    assert "Cookie" in vary(response)


@pytest.mark.parametrize(
    ("config", "expected"),
    [
        ({"SESSION_COOKIE_NAME": "renamed"}, ("name", "renamed")),
        ({"SESSION_COOKIE_PATH": "/app"}, ("path", "/app")),
        ({"APPLICATION_ROOT": "/root"}, ("path", "/root")),
        ({"SESSION_COOKIE_DOMAIN": "example.com"}, ("domain", "example.com")),
        ({"SESSION_COOKIE_SAMESITE": "Strict"}, ("samesite", "Strict")),
        ({"SESSION_COOKIE_SECURE": True}, ("secure", "")),
        ({"SESSION_COOKIE_PARTITIONED": True}, ("partitioned", "")),
        ({"SESSION_COOKIE_HTTPONLY": False}, ("httponly", None)),
    ],
    ids=lambda v: next(iter(v)) if isinstance(v, dict) else "",
)
def test_cookie_config_changed_after_install_is_honoured(
    store: Store, config: dict[str, Any], expected: tuple[str, str | None]
) -> None:
    app = make_app(store)
    client = app.test_client()
    before, before_attributes = the_cookie(client.get("/write?x=1"))
    app.config.update(config)
    first, attributes = the_cookie(client.get("/write?x=2"))
    field, value = expected
    if field == "name":
        assert before.startswith("session=")
        assert first.startswith(f"{value}=")
    elif value is None:
        assert field in before_attributes
        assert field not in attributes
    else:
        assert field not in before_attributes or before_attributes[field] != value
        assert attributes[field] == value


def test_invalid_samesite_raises_value_error(store: Store) -> None:
    app = make_app(store)
    app.config["SESSION_COOKIE_SAMESITE"] = "invalid"
    with pytest.raises(ValueError, match="SameSite"):
        app.test_client().get("/write?x=1")


def test_explicit_cookie_name_wins_for_the_name_only_and_is_logged_once(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(store, cookie=CookieSettings(name="x"))
    app.config.update(
        SESSION_COOKIE_NAME="app_session", SESSION_COOKIE_PATH="/app", SESSION_COOKIE_SAMESITE="Lax"
    )
    client = app.test_client()
    with caplog.at_level(logging.WARNING, logger="sojourn"):
        first, attributes = the_cookie(client.get("/write?a=1"))
        client.get("/write?a=2")
    assert first.startswith("x=")
    # Only the name was given: Flask's config still decides the rest (no Secure from the
    # CookieSettings default, SameSite from the config).
    assert attributes == {"httponly": "", "path": "/app", "samesite": "Lax"}
    conflicts = [r for r in caplog.records if "SESSION_COOKIE_NAME" in r.getMessage()]
    assert len(conflicts) == 1
    assert "app_session" in conflicts[0].getMessage()


def test_explicit_secure_and_same_site_win_over_flasks_defaults(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    app = make_app(store, cookie=CookieSettings(secure=True, same_site="strict"))
    with caplog.at_level(logging.WARNING, logger="sojourn"):
        first, attributes = the_cookie(app.test_client().get("/write?a=1"))
    assert first.startswith("session=")  # the name still follows SESSION_COOKIE_NAME
    assert attributes == {"httponly": "", "path": "/", "secure": "", "samesite": "Strict"}
    # Flask's own defaults are not conflicts: nothing is logged.
    assert [r for r in caplog.records if "SESSION_COOKIE" in r.getMessage()] == []


def test_explicit_cookie_name_keeps_the_session_across_requests(store: Store) -> None:
    client = make_app(store, cookie=CookieSettings(name="x")).test_client()
    client.get("/write?a=1")
    assert client.get("/read?key=a").json == {"value": "1"}


@pytest.mark.sec("SEC-11")
@pytest.mark.parametrize("where", ["config", "explicit"])
def test_host_prefixed_name_without_secure_is_a_configuration_error(
    store: Store, where: str
) -> None:
    options: dict[str, Any] = {}
    if where == "explicit":
        options["cookie"] = CookieSettings(name="__Host-s")
    app = make_app(store, **options)
    if where == "config":
        app.config["SESSION_COOKIE_NAME"] = "__Host-s"
    with pytest.raises(ConfigurationError, match="__Host-"):
        app.test_client().get("/write?x=1")


# -- modified, accessed, new, permanent ------------------------------------------------------


def _op_read() -> None:
    session.get("present")


def _op_set() -> None:
    session["x"] = 1


def _op_flash() -> None:
    flash("hello")


def _op_pop_present() -> None:
    session.pop("present")


def _op_pop_missing() -> None:
    session.pop("missing", None)


def _op_clear() -> None:
    session.clear()


def _op_setdefault_present() -> None:
    session.setdefault("present", "other")


def _op_setdefault_missing() -> None:
    session.setdefault("missing", "new")


def _op_update() -> None:
    session.update({"y": 2})


def _op_del() -> None:
    del session["present"]


MODIFIED: dict[str, tuple[Callable[[], None], bool]] = {
    "read": (_op_read, False),
    "set": (_op_set, True),
    "flash": (_op_flash, True),
    "pop_present": (_op_pop_present, True),
    "pop_missing": (_op_pop_missing, False),
    "clear": (_op_clear, True),
    "setdefault_present": (_op_setdefault_present, False),
    "setdefault_missing": (_op_setdefault_missing, True),
    "update": (_op_update, True),
    "del": (_op_del, True),
}


@pytest.mark.parametrize("op", sorted(MODIFIED))
def test_modified_is_set_as_flask_sets_it(store: Store, op: str) -> None:
    app = make_app(store)
    action, expected = MODIFIED[op]

    @app.get("/op")
    def run_op() -> dict[str, Any]:
        action()
        return {"modified": session.modified}

    client = app.test_client()
    client.get("/write?present=1")
    assert client.get("/op").json == {"modified": expected}


@pytest.mark.sec("SEC-17", "SEC-61")
@pytest.mark.parametrize("how", ["get", "getitem", "contains", "iter", "len"])
def test_every_kind_of_read_marks_accessed_and_adds_vary(store: Store, how: str) -> None:
    # Flask 3.1.3 marks the session accessed as soon as the view touches `flask.session`.
    app = make_app(store)
    reads: dict[str, Callable[[], object]] = {
        "get": lambda: session.get("x"),
        "getitem": lambda: session["x"],
        "contains": lambda: "x" in session,
        "iter": lambda: list(session),
        "len": lambda: len(session),
    }

    @app.get("/probe")
    def probe() -> dict[str, Any]:
        reads[how]()
        return {"accessed": session.accessed}

    client = app.test_client()
    client.get("/write?x=1")
    response = client.get("/probe")
    assert response.json == {"accessed": True}
    assert "Cookie" in vary(response)
    assert set_cookies(response) == []


def test_new_is_true_until_a_stored_session_is_loaded(store: Store) -> None:
    app = make_app(store)

    @app.get("/new")
    def new() -> dict[str, Any]:
        session["seen"] = True
        return {"new": session.new}

    client = app.test_client()
    assert client.get("/new").json == {"new": True}
    assert client.get("/new").json == {"new": False}


@pytest.mark.sec("SEC-17")
def test_untouched_session_gets_no_vary_and_no_store_call(store: Store) -> None:
    counting = CountingStore(store)
    response = make_app(counting).test_client().get("/nothing")
    assert "Vary" not in response.headers
    assert set_cookies(response) == []
    assert counting.calls == []


def test_untouched_existing_session_is_loaded_but_not_written(store: Store) -> None:
    # Deliberate difference: with a cookie, Sojourn loads the record before the view runs
    # (so a store outage answers 503 before any view), where Flask decodes its cookie. The
    # response is still Flask's: no Vary, no Set-Cookie, and nothing is written.
    counting = CountingStore(store)
    client = make_app(counting).test_client()
    client.get("/write?x=1")
    counting.calls.clear()
    response = client.get("/nothing")
    assert "Vary" not in response.headers
    assert set_cookies(response) == []
    assert counting.calls == ["load"]


@pytest.mark.sec("SEC-17", "SEC-61")
def test_read_adds_vary_cookie_without_set_cookie(store: Store) -> None:
    client = make_app(store).test_client()
    client.get("/write?x=1")
    response = client.get("/read")
    assert "Cookie" in vary(response)
    assert set_cookies(response) == []


def _permanent_app(store: Store, **config: Any) -> Flask:
    app = make_app(store)
    app.config.update(PERMANENT_SESSION_LIFETIME=2 * HOUR, **config)

    @app.get("/permanent")
    def make_permanent() -> str:
        session.permanent = True
        session["user"] = "alice"
        return "ok"

    @app.get("/is-permanent")
    def is_permanent() -> dict[str, Any]:
        return {"permanent": session.permanent, "user": session.get("user")}

    return app


def test_permanent_session_gets_expires_from_the_lifetime(store: Store) -> None:
    client = _permanent_app(store).test_client()
    response = client.get("/permanent")
    _, attributes = the_cookie(response)
    expires = parsedate_to_datetime(attributes["expires"]).timestamp()
    assert abs(expires - (time.time() + 2 * HOUR.total_seconds())) < 5
    assert client.get("/is-permanent").json == {"permanent": True, "user": "alice"}


@pytest.mark.parametrize("refresh", [True, False])
def test_refresh_each_request_decides_the_read_only_cookie(store: Store, refresh: bool) -> None:
    client = _permanent_app(store, SESSION_REFRESH_EACH_REQUEST=refresh).test_client()
    client.get("/permanent")
    issued = session_id(client)
    response = client.get("/is-permanent")
    assert response.json == {"permanent": True, "user": "alice"}
    if refresh:
        first, attributes = the_cookie(response)
        assert first == f"session={issued}"
        assert "expires" in attributes
    else:
        assert set_cookies(response) == []


def test_non_permanent_read_only_request_sends_no_cookie(store: Store) -> None:
    app = make_app(store)
    app.config["SESSION_REFRESH_EACH_REQUEST"] = True
    client = app.test_client()
    client.get("/write?x=1")
    response = client.get("/read")
    assert response.json == {"value": "1"}
    assert set_cookies(response) == []


def test_permanent_back_to_false_gives_a_browser_session_cookie(store: Store) -> None:
    app = _permanent_app(store)

    @app.get("/transient")
    def transient() -> str:
        session.permanent = False
        return "ok"

    client = app.test_client()
    client.get("/permanent")
    _, attributes = the_cookie(client.get("/transient"))
    assert "expires" not in attributes
    assert client.get("/is-permanent").json == {"permanent": False, "user": "alice"}


def test_modified_set_by_hand_resends_the_cookie(store: Store) -> None:
    app = make_app(store)

    @app.get("/touch")
    def touch() -> str:
        session.modified = True
        return "ok"

    client = app.test_client()
    client.get("/write?x=1")
    issued = session_id(client)
    first, _ = the_cookie(client.get("/touch"))
    assert first == f"session={issued}"


def test_clear_deletes_the_cookie_and_the_record(store: Store) -> None:
    app = make_app(store)

    @app.get("/clear")
    def clear() -> str:
        session.clear()
        return "ok"

    client = app.test_client()
    client.get("/write?x=1")
    sid = session_id(client)
    response = client.get("/clear")
    first, attributes = the_cookie(response)
    assert first == "session="
    assert attributes["max-age"] == "0"
    assert attributes["path"] == "/"
    assert record_of(store, sid) is None
    assert client.get_cookie("session") is None


@pytest.mark.sec("SEC-59")
def test_5xx_response_saves_nothing(store: Store) -> None:
    # Deliberate difference (SEC-59): Flask saves the session of a 5xx response; Sojourn
    # does not, so a failed request cannot leave half its changes.
    app = make_app(store)

    @app.get("/fail")
    def fail() -> tuple[str, int]:
        session["x"] = "from-a-failure"
        return "no", 500

    client = app.test_client()
    client.get("/write?x=kept")
    response = client.get("/fail")
    assert response.status_code == 500
    assert set_cookies(response) == []
    assert client.get("/read").json == {"value": "kept"}


def test_works_without_secret_key(store: Store) -> None:
    # Deliberate difference: Flask gives a NullSession without SECRET_KEY; the Sojourn cookie
    # is a random ID, not signed data, so the session works without one.
    app = make_app(store)
    assert app.secret_key is None
    client = app.test_client()
    client.get("/write?x=1")
    assert client.get("/read").json == {"value": "1"}


def test_default_cookie_name_in_config_is_not_a_conflict(
    store: Store, caplog: pytest.LogCaptureFixture
) -> None:
    client = make_app(store, cookie=CookieSettings(name="x")).test_client()
    with caplog.at_level(logging.WARNING, logger="sojourn"):
        client.get("/write?a=1")
    assert [r for r in caplog.records if "SESSION_COOKIE" in r.getMessage()] == []


def test_in_place_edit_of_a_nested_list_is_saved(store: Store) -> None:
    # Sojourn compares each value with what was loaded, so the edit is saved although Flask's
    # `modified` stays False (Flask itself would drop it unless the view set modified).
    app = make_app(store)

    @app.get("/seed")
    def seed() -> str:
        session["items"] = [1]
        return "ok"

    @app.get("/append")
    def append() -> dict[str, Any]:
        session["items"].append(2)
        return {"modified": session.modified}

    client = app.test_client()
    client.get("/seed")
    assert client.get("/append").json == {"modified": False}
    assert client.get("/all").json == {"items": [1, 2]}


# -- the test client, streaming, threads ------------------------------------------------------


def test_session_transaction_sets_values_a_view_reads(store: Store) -> None:
    client = make_app(store).test_client()
    with client.session_transaction() as sess:
        sess["x"] = "from-test"
    assert client.get("/read").json == {"value": "from-test"}


def test_session_transaction_reads_values_a_view_set(store: Store) -> None:
    client = make_app(store).test_client()
    client.get("/write?x=from-view")
    with client.session_transaction() as sess:
        assert sess["x"] == "from-view"
    assert client.get("/read").json == {"value": "from-view"}


def test_stream_with_context_generator_reads_the_session(store: Store) -> None:
    app = make_app(store)

    @app.get("/stream")
    def stream() -> Response:
        session["here"] = "now"

        def generate() -> Iterator[str]:
            yield str(session.get("x"))
            yield "|"
            yield str(session.get("here"))

        return Response(stream_with_context(generate()))

    client = app.test_client()
    client.get("/write?x=before")
    assert client.get("/stream").text == "before|now"
    assert client.get("/read?key=here").json == {"value": "now"}


def test_copy_current_request_context_thread_reads_the_session(store: Store) -> None:
    app = make_app(store)
    seen: list[Any] = []

    @app.get("/thread")
    def in_thread() -> str:
        @copy_current_request_context
        def work() -> None:
            seen.append(session.get("x"))

        thread = threading.Thread(target=work)
        thread.start()
        thread.join(timeout=10)
        return "ok"

    client = app.test_client()
    client.get("/write?x=shared")
    client.get("/thread")
    assert seen == ["shared"]


# -- the store, from app.config ---------------------------------------------------------------


def _config_app(config: dict[str, Any]) -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.config.update(config)
    Sojourn(app)

    @app.get("/write")
    def write() -> str:
        session["x"] = request.args["x"]
        return "ok"

    @app.get("/read")
    def read() -> dict[str, Any]:
        return {"value": session.get("x")}

    @app.get("/logout")
    def logout() -> str:
        session.invalidate()  # type: ignore[attr-defined]
        return "ok"

    return app


def _end_to_end(app: Flask) -> None:
    client = app.test_client()
    client.get("/write?x=configured")
    sid = session_id(client)
    store = app.extensions["sojourn"].store
    assert record_of(store, sid) is not None
    assert client.get("/read").json == {"value": "configured"}
    client.get("/logout")
    assert record_of(store, sid) is None


def test_sojourn_store_sqlite_url_from_config(tmp_path: Path) -> None:
    app = _config_app({"SOJOURN_STORE": f"sqlite:///{tmp_path}/s.db"})
    try:
        _end_to_end(app)
        assert (tmp_path / "s.db").exists()
    finally:
        app.extensions["sojourn"].store.close()


@pytest.mark.server
def test_sojourn_store_redis_url_from_config() -> None:
    _require_redis()
    app = _config_app({"SOJOURN_STORE": REDIS_URL})
    try:
        _end_to_end(app)
    finally:
        app.extensions["sojourn"].store.close()


@pytest.mark.server
def test_flask_session_style_redis_config() -> None:
    _require_redis()
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        app = _config_app({"SESSION_TYPE": "redis", "SESSION_REDIS": client})
        _end_to_end(app)
    finally:
        client.close()


def test_missing_store_config_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="SOJOURN_STORE"):
        Sojourn(Flask(__name__))


def test_flask_session_filesystem_type_is_a_configuration_error() -> None:
    app = Flask(__name__)
    app.config["SESSION_TYPE"] = "filesystem"
    with pytest.raises(ConfigurationError, match="filesystem"):
        Sojourn(app)


def _require_redis() -> None:
    from tests.conftest import require_server

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        client.ping()
    except redis.exceptions.ConnectionError as exc:
        require_server("Redis", str(exc))
    finally:
        client.close()


def test_get_manager_follows_the_current_config(store: Store) -> None:
    app = make_app(store)
    app.config["PERMANENT_SESSION_LIFETIME"] = timedelta(minutes=5)
    assert get_manager(app).engine.policy.idle_timeout == 300
