"""The foundation's acceptance scenario through ``flask.session``, plus Flask's own rules.

Requests go to https://localhost so the default ``__Host-sid; Secure`` cookie is kept and sent
back by Flask's test client.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, flash, get_flashed_messages, request, session
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from sojourn import CookieSettings
from sojourn.flask import FlaskSession, Sojourn, current_session, get_manager
from sojourn.stores.base import Store
from sojourn.testing._clock import FakeClock

from .stores import BrokenStore, CountingStore, StoreFactory, available, record_of, store_params

BASE = "https://localhost"
COOKIE = "__Host-sid"
HARDENED = {
    "SESSION_COOKIE_NAME": COOKIE,
    "SESSION_COOKIE_SECURE": True,
    "SESSION_COOKIE_SAMESITE": "Lax",
}


def make_app(store: Any, **options: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(HARDENED)  # the documented opt-in; Flask's own defaults: test_flask_contract
    config = options.pop("config", {})
    app.config.update(config)
    Sojourn(app, store=store, **options)

    @app.get("/read")
    def read() -> dict[str, Any]:
        return {"user": session.get("user")}

    @app.get("/write")
    def write() -> str:
        for key, value in request.args.items():
            session[key] = value
        return "ok"

    @app.get("/all")
    def everything() -> dict[str, Any]:
        return dict(session)

    @app.get("/login")
    def login() -> str:
        session.login(request.args["user"])  # type: ignore[attr-defined]
        return "ok"

    @app.get("/logout")
    def logout() -> str:
        current_session().invalidate()
        return "ok"

    @app.get("/principal")
    def principal() -> dict[str, Any]:
        return {"principal": session.principal}  # type: ignore[attr-defined]

    @app.get("/contains")
    def contains() -> str:
        return str("x" in session)

    @app.get("/nothing")
    def nothing() -> str:
        return "ok"

    @app.get("/fail")
    def fail() -> tuple[str, int]:
        session["boom"] = "1"
        return "no", 500

    @app.get("/raise")
    def explode() -> str:
        session["boom"] = "1"
        raise RuntimeError("application failure")

    @app.get("/flash")
    def flash_it() -> str:
        flash("saved", "info")
        return "ok"

    @app.get("/flashed")
    def flashed() -> dict[str, Any]:
        return {"messages": get_flashed_messages(with_categories=True)}

    @app.get("/kind")
    def kind() -> dict[str, Any]:
        return {"flask": isinstance(current_session(), FlaskSession)}

    return app


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


def get(client: FlaskClient, url: str, **kwargs: Any) -> TestResponse:
    return client.get(url, base_url=BASE, **kwargs)


def session_id(client: FlaskClient) -> str | None:
    cookie = client.get_cookie(COOKIE, domain="localhost")
    return cookie.value if cookie is not None else None


# -- the acceptance scenario --------------------------------------------------------------------


@pytest.mark.sec("SEC-06")
def test_anonymous_read_sets_no_cookie_and_writes_nothing(store: Store) -> None:
    counting = CountingStore(store)
    client = make_app(counting).test_client()
    response = get(client, "/read")
    assert response.json == {"user": None}
    assert response.headers.getlist("Set-Cookie") == []
    assert "Cookie" in response.headers["Vary"]
    assert counting.calls == []


@pytest.mark.sec("SEC-10")
def test_write_sets_a_secure_cookie(store: Store) -> None:
    client = make_app(store).test_client()
    response = get(client, "/write?user=alice")
    [line] = response.headers.getlist("Set-Cookie")
    attributes = {part.strip().lower() for part in line.split(";")[1:]}
    assert line.startswith(f"{COOKIE}=")
    assert {"httponly", "secure", "samesite=lax"} <= attributes
    sid = session_id(client)
    assert sid is not None
    record = record_of(store, sid)
    assert record is not None
    assert json.loads(record.fields["user"]) == "alice"
    again = get(client, "/read")
    assert again.json == {"user": "alice"}
    assert again.headers.getlist("Set-Cookie") == []


@pytest.mark.sec("SEC-05")
def test_unknown_well_formed_id_is_never_adopted(store: Store) -> None:
    client = make_app(store).test_client()
    forged = "A" * 43
    client.set_cookie(COOKIE, forged, domain="localhost")
    get(client, "/write?user=mallory")
    issued = session_id(client)
    assert issued is not None
    assert issued != forged
    assert record_of(store, forged) is None


@pytest.mark.sec("SEC-07", "SEC-08")
def test_login_issues_a_new_id_and_the_old_one_is_dead(store: Store) -> None:
    app = make_app(store)
    client = app.test_client()
    get(client, "/write?cart=3")
    before = session_id(client)
    get(client, "/login?user=alice")
    after = session_id(client)
    assert before is not None
    assert after is not None
    assert after != before
    assert record_of(store, before) is None
    assert get(client, "/principal").json == {"principal": "alice"}
    assert get(client, "/all").json == {"cart": "3"}
    replay = app.test_client()
    replay.set_cookie(COOKIE, before, domain="localhost")
    assert get(replay, "/principal").json == {"principal": None}


@pytest.mark.sec("SEC-25")
def test_invalidate_clears_cookie_and_record(store: Store) -> None:
    client = make_app(store).test_client()
    get(client, "/login?user=alice")
    sid = session_id(client)
    assert sid is not None
    response = get(client, "/logout")
    [line] = response.headers.getlist("Set-Cookie")
    assert line.startswith(f"{COOKIE}=;")
    assert record_of(store, sid) is None
    assert session_id(client) is None


@pytest.mark.sec("SEC-47")
def test_concurrent_requests_on_one_session_keep_every_key(store: Store) -> None:
    app = make_app(store)
    seed = app.test_client()
    get(seed, "/write?seed=1")
    sid = session_id(seed)
    assert sid is not None

    def one(i: int) -> int:
        client = app.test_client()
        client.set_cookie(COOKIE, sid, domain="localhost")
        return get(client, f"/write?k{i}={i}").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(one, range(20))) == [200] * 20
    assert get(seed, "/all").json == {"seed": "1", **{f"k{i}": str(i) for i in range(20)}}


@pytest.mark.sec("SEC-20")
def test_idle_session_is_not_served(store: Store) -> None:
    clock = FakeClock()
    client = make_app(store, idle_timeout=1, clock=clock).test_client()
    get(client, "/write?user=alice")
    assert get(client, "/read").json == {"user": "alice"}
    clock.advance(2)
    assert get(client, "/read").json == {"user": None}


# -- Flask's own rules ------------------------------------------------------------------------


def test_session_is_a_sojourn_session(store: Store) -> None:
    assert get(make_app(store).test_client(), "/kind").json == {"flask": True}


@pytest.mark.sec("SEC-17", "SEC-61")
def test_vary_on_every_kind_of_access(store: Store) -> None:
    # Flask's CVE-2023-30861 / CVE-2026-27205 regressions: `in` and reads add Vary too.
    client = make_app(store).test_client()
    for url in ("/contains", "/read", "/all"):
        assert "Cookie" in get(client, url).headers["Vary"], url
    assert "Vary" not in get(client, "/nothing").headers


def test_flash_messages_round_trip(store: Store) -> None:
    client = make_app(store).test_client()
    get(client, "/flash")
    assert get(client, "/flashed").json == {"messages": [["info", "saved"]]}
    assert get(client, "/flashed").json == {"messages": []}


@pytest.mark.sec("SEC-59")
def test_5xx_and_errors_save_nothing(store: Store) -> None:
    counting = CountingStore(store)
    client = make_app(counting).test_client()
    response = get(client, "/fail")
    assert response.status_code == 500
    assert response.headers.getlist("Set-Cookie") == []
    assert get(client, "/raise").status_code == 500
    assert "create" not in counting.calls


@pytest.mark.sec("SEC-48")
def test_store_down_answers_503(store: Store) -> None:
    app = make_app(store)
    client = app.test_client()
    get(client, "/write?user=alice")
    sid = session_id(client)
    assert sid is not None
    down = make_app(BrokenStore(store, fail_on=frozenset({"load"}))).test_client()
    down.set_cookie(COOKIE, sid, domain="localhost")
    response = get(down, "/read")
    assert response.status_code == 503
    assert "session store" in response.text
    assert response.headers.getlist("Set-Cookie") == []
    on_save = make_app(BrokenStore(store, fail_on=frozenset({"create"}))).test_client()
    response = get(on_save, "/write?user=bob")
    assert response.status_code == 503
    assert response.headers.getlist("Set-Cookie") == []


def test_store_down_anonymous_fallback(store: Store) -> None:
    broken = BrokenStore(store, fail_on=frozenset({"load"}))
    client = make_app(broken, on_store_error="anonymous").test_client()
    client.set_cookie(COOKIE, "A" * 43, domain="localhost")
    response = get(client, "/write?user=alice")
    assert response.status_code == 200
    assert response.headers.getlist("Set-Cookie") == []


@pytest.mark.sec("SEC-61")
def test_flask_config_maps_onto_the_cookie(store: Store) -> None:
    config = {
        "SESSION_COOKIE_NAME": "app_session",
        "SESSION_COOKIE_SAMESITE": "Strict",
        "SESSION_COOKIE_PATH": "/",
        "PERMANENT_SESSION_LIFETIME": timedelta(minutes=5),
    }
    app = make_app(store, config=config)
    client = app.test_client()
    [line] = get(client, "/write?user=alice").headers.getlist("Set-Cookie")
    assert line.startswith("app_session=")
    assert "SameSite=Strict" in line
    assert get_manager(app).engine.policy.idle_timeout == 300


def test_options_win_over_config(store: Store) -> None:
    config = {"SESSION_COOKIE_NAME": "app_session"}
    app = make_app(store, config=config, cookie=CookieSettings(name="mine"))
    [line] = get(app.test_client(), "/write?user=a").headers.getlist("Set-Cookie")
    assert line.startswith("mine=")


def test_init_app_later(store: Store) -> None:
    extension = Sojourn(store=store)
    app = Flask(__name__)
    extension.init_app(app)

    @app.get("/")
    def index() -> str:
        session["x"] = 1
        return "ok"

    response = app.test_client().get("/", base_url=BASE)
    assert response.headers["Set-Cookie"].startswith("session=")  # Flask's default name
