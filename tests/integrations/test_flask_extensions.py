"""Real Flask extensions on a Sojourn session, unchanged: Flask-Login and Flask-WTF's CSRF.

Apps run on Flask's defaults (cookie ``session`` over plain http://localhost) on every sync
store of :mod:`.stores`. Flask-Login's ``_user_id`` is followed as the Sojourn principal: login
rotates the session ID and records the user; logout continues under a new ID with no principal.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request, session
from flask.testing import FlaskClient
from flask_login import (
    FlaskLoginClient,
    LoginManager,
    UserMixin,
    current_user,
    login_user,
    logout_user,
)
from flask_wtf import FlaskForm
from flask_wtf.csrf import CSRFProtect
from wtforms import StringField

from sojourn import fingerprint
from sojourn.flask import Sojourn, get_manager
from sojourn.stores.base import Store

from .stores import StoreFactory, available, record_of, store_params

SECRET = "test-secret-for-flask-login-and-wtf"  # Flask-Login and Flask-WTF sign with it


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


def session_id(client: FlaskClient) -> str | None:
    cookie = client.get_cookie("session")
    return cookie.value if cookie is not None else None


# -- Flask-Login ------------------------------------------------------------------------------


class User(UserMixin):  # type: ignore[misc]  # Flask-Login ships no types
    def __init__(self, user_id: str) -> None:
        self.id = user_id


def login_app(store: Store) -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.secret_key = SECRET
    Sojourn(app, store=store)
    manager = LoginManager(app)

    def load_user(user_id: str) -> User | None:
        return User(user_id) if user_id in {"alice", "bob"} else None

    manager.user_loader(load_user)

    @app.get("/login/<name>")
    def login(name: str) -> str:
        assert login_user(User(name), remember=request.args.get("remember") == "1")
        return "ok"

    @app.get("/logout")
    def logout() -> str:
        logout_user()
        return "ok"

    @app.get("/me")
    def me() -> dict[str, Any]:
        user = current_user.get_id() if current_user.is_authenticated else None
        return {"user": user, "principal": session.principal}  # type: ignore[attr-defined]

    @app.get("/write")
    def write() -> str:
        session.update(request.args)
        return "ok"

    @app.get("/all")
    def everything() -> dict[str, Any]:
        return {k: v for k, v in session.items() if not k.startswith("_")}

    return app


def fingerprints_of(app: Flask, user: str) -> list[str]:
    with app.app_context():
        return [info.fingerprint for info in get_manager(app).sessions_of(user)]


def test_login_user_sets_current_user(store: Store) -> None:
    client = login_app(store).test_client()
    assert client.get("/me").json == {"user": None, "principal": None}
    client.get("/login/alice")
    assert client.get("/me").json == {"user": "alice", "principal": "alice"}


@pytest.mark.sec("SEC-08")
def test_login_rotates_the_id_and_records_the_principal(store: Store) -> None:
    app = login_app(store)
    client = app.test_client()
    client.get("/write?cart=3")
    before = session_id(client)
    assert before is not None
    client.get("/login/alice")
    after = session_id(client)
    assert after is not None
    assert after != before
    assert record_of(store, before) is None
    assert fingerprints_of(app, "alice") == [fingerprint(after)]
    assert client.get("/all").json == {"cart": "3"}  # the data moved to the new ID


@pytest.mark.sec("SEC-08")
def test_the_id_from_before_login_does_not_carry_the_login(store: Store) -> None:
    app = login_app(store)
    client = app.test_client()
    client.get("/write?cart=3")
    before = session_id(client)
    assert before is not None
    client.get("/login/alice")
    replay = app.test_client()
    replay.set_cookie("session", before)
    assert replay.get("/me").json == {"user": None, "principal": None}


def test_remember_cookie_logs_a_fresh_client_back_in(store: Store) -> None:
    app = login_app(store)
    client = app.test_client()
    client.get("/login/alice?remember=1")
    remember = client.get_cookie("remember_token")
    assert remember is not None
    fresh = app.test_client()
    fresh.set_cookie("remember_token", remember.value)
    # Flask-Login loads the user from the cookie; the principal is recorded when that
    # request's session is saved, so the next request sees it.
    assert (fresh.get("/me").json or {}).get("user") == "alice"
    assert fresh.get("/me").json == {"user": "alice", "principal": "alice"}
    new_id = session_id(fresh)
    assert new_id is not None
    assert new_id != session_id(client)
    assert sorted(fingerprints_of(app, "alice")) == sorted(
        [fingerprint(new_id), fingerprint(session_id(client) or "")]
    )


def test_login_as_another_user_moves_the_principal(store: Store) -> None:
    app = login_app(store)
    client = app.test_client()
    client.get("/login/alice")
    as_alice = session_id(client)
    client.get("/login/bob")
    as_bob = session_id(client)
    assert as_alice is not None
    assert as_bob is not None
    assert as_bob != as_alice
    assert record_of(store, as_alice) is None
    assert client.get("/me").json == {"user": "bob", "principal": "bob"}
    assert fingerprints_of(app, "alice") == []
    assert fingerprints_of(app, "bob") == [fingerprint(as_bob)]


def test_session_transaction_logs_a_test_user_in(store: Store) -> None:
    # The usual way an app's own tests log a user in with Flask-Login.
    app = login_app(store)
    client = app.test_client()
    with client.session_transaction() as sess:
        sess["_user_id"] = "alice"
        sess["_fresh"] = True
    assert client.get("/me").json == {"user": "alice", "principal": "alice"}
    sid = session_id(client)
    assert sid is not None
    assert fingerprints_of(app, "alice") == [fingerprint(sid)]


def test_flask_login_test_client_logs_the_user_in(store: Store) -> None:
    app = login_app(store)
    app.test_client_class = FlaskLoginClient
    client = app.test_client(user=User("bob"))
    assert client.get("/me").json == {"user": "bob", "principal": "bob"}


@pytest.mark.sec("SEC-08")
def test_logout_user_ends_the_login_and_kills_the_old_id(store: Store) -> None:
    app = login_app(store)
    client = app.test_client()
    client.get("/login/alice")
    logged_in = session_id(client)
    assert logged_in is not None
    client.get("/logout")
    assert client.get("/me").json == {"user": None, "principal": None}
    assert record_of(store, logged_in) is None
    assert session_id(client) != logged_in
    assert fingerprints_of(app, "alice") == []
    replay = app.test_client()
    replay.set_cookie("session", logged_in)
    assert replay.get("/me").json == {"user": None, "principal": None}


def test_logout_after_remember_does_not_log_back_in(store: Store) -> None:
    app = login_app(store)
    client = app.test_client()
    client.get("/login/alice?remember=1")
    client.get("/logout")
    assert client.get_cookie("remember_token") is None
    assert client.get("/me").json == {"user": None, "principal": None}


# -- Flask-WTF CSRF ---------------------------------------------------------------------------


class NameForm(FlaskForm):  # type: ignore[misc]  # Flask-WTF ships no types
    name = StringField("name")


def csrf_app(store: Store) -> Flask:
    app = Flask(__name__)
    app.testing = True
    app.secret_key = SECRET
    Sojourn(app, store=store)
    CSRFProtect(app)

    @app.get("/form")
    def show() -> str:
        return str(NameForm().csrf_token)

    @app.post("/form")
    def submit() -> tuple[str, int]:
        form = NameForm()
        if form.validate_on_submit():
            return f"hello {form.name.data}", 200
        return "invalid", 422

    return app


def token_from(html: str) -> str:
    match = re.search(r'value="([^"]+)"', html)
    assert match is not None, html
    return match.group(1)


def test_post_without_csrf_token_is_400(store: Store) -> None:
    client = csrf_app(store).test_client()
    client.get("/form")
    response = client.post("/form", data={"name": "alice"})
    assert response.status_code == 400
    assert "CSRF" in response.text


def test_post_with_the_session_backed_token_passes(store: Store) -> None:
    client = csrf_app(store).test_client()
    token = token_from(client.get("/form").text)
    assert session_id(client) is not None  # the raw token lives in the Sojourn session
    response = client.post("/form", data={"name": "alice", "csrf_token": token})
    assert response.status_code == 200
    assert response.text == "hello alice"


def test_csrf_token_from_another_session_is_400(store: Store) -> None:
    app = csrf_app(store)
    token = token_from(app.test_client().get("/form").text)
    other = app.test_client()
    other.get("/form")
    response = other.post("/form", data={"name": "mallory", "csrf_token": token})
    assert response.status_code == 400
