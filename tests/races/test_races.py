"""Races around rotation and logout, forced with gates, on every adapter and every store.

Each test pauses requests after they loaded their session, runs a login, logout, revocation or
rotation beside them, releases them, and then counts what went wrong: acknowledged writes that
are not in the store, sessions or principals brought back after a logout, cookies that a late
response deleted or replaced, IDs leaked across a login. Every count must be zero. The
contract is "Rotation and the races around it" in the design; ``docs/rotation.md`` is the
user's version.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    from tests.integrations import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from .harness import GATES, Driver, Reply, driver

# Every adapter on every store the harness can build.
ADAPTERS = ("asgi", "wsgi", "flask", "django")
STORES = ("memory", "sqlite", "redis", "postgres", "mysql")
COMBINATIONS = [(adapter, store) for store in STORES for adapter in ADAPTERS]
TRIALS = 2
WRITERS = 6


def _param(adapter: str, store: str) -> Any:
    marks = [pytest.mark.server] if store not in ("memory", "sqlite") else []
    return pytest.param((adapter, store), marks=marks, id=f"{adapter}-{store}")


PARAMS = [_param(adapter, store) for adapter, store in COMBINATIONS]


@pytest.fixture
def app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    adapter, store = request.param
    with driver(adapter, store, tmp_path) as made:
        yield made


@pytest.fixture
def rotating(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Driver]:
    adapter, store = request.param
    with driver(adapter, store, tmp_path, rotate_every=60) as made:
        yield made


def unique(prefix: str) -> str:
    unique.count = getattr(unique, "count", 0) + 1  # type: ignore[attr-defined]
    return f"{prefix}{unique.count}"  # type: ignore[attr-defined]


def data_of(app: Driver, session_id: str | None) -> dict[str, Any]:
    if session_id is None:
        return {}
    reply = app.get("/read", session_id)
    assert reply.status == 200, reply
    found: dict[str, Any] = reply.body["data"]
    return found


def principal_of(app: Driver, session_id: str | None) -> str | None:
    if session_id is None:
        return None
    principal: str | None = app.get("/read", session_id).body["principal"]
    return principal


def fresh_session(app: Driver, **data: str) -> str:
    """A stored anonymous session holding ``data``; its ID."""
    session_id: str | None = None
    for key, value in data.items():
        reply = app.get("/write", session_id, k=key, v=value)
        session_id = reply.issued(app.cookie_name) or session_id
    assert session_id is not None
    return session_id


def login(app: Driver, session_id: str | None, user: str) -> str:
    reply = app.get("/login", session_id, user=user)
    assert reply.status == 200, reply
    issued = reply.issued(app.cookie_name)
    assert issued is not None
    return issued


def answered(app: Driver, reply: Reply, problems: Counter[str]) -> None:
    """A reply is an answer the contract allows: done (200), or "not saved" (409/400)."""
    if reply.status not in (200, app.lost_status):
        problems[f"status {reply.status}"] += 1


# -- login vs writes in flight ------------------------------------------------------------------


@pytest.mark.parametrize("app", PARAMS, indirect=True)
def test_a_login_with_writes_in_flight_loses_nothing_and_keeps_its_cookie(app: Driver) -> None:
    problems: Counter[str] = Counter()
    for _ in range(TRIALS):
        old = fresh_session(app, seed="1")
        gates = [unique("w") for _ in range(WRITERS)]
        writes = [
            app.start("/write", old, k=f"key{i}", v=gate, gate=gate) for i, gate in enumerate(gates)
        ]
        for gate in gates:
            GATES.wait_reached(gate)
        early, late = gates[: WRITERS // 2], gates[WRITERS // 2 :]
        for gate in early:  # these land before the login and must survive it
            GATES.release(gate)
        early_replies = [w.result(20) for w in writes[: WRITERS // 2]]
        new = login(app, old, unique("user"))
        for gate in late:  # these were in flight across the login
            GATES.release(gate)
        late_replies = [w.result(20) for w in writes[WRITERS // 2 :]]
        stored = data_of(app, new)
        for i, reply in enumerate(early_replies + late_replies):
            answered(app, reply, problems)
            if reply.status == 200 and stored.get(f"key{i}") != gates[i]:
                problems["acknowledged write lost"] += 1
            if new in str(reply) and reply in late_replies:
                problems["new ID leaked to a request holding the old one"] += 1
        for reply in late_replies:
            if reply.set_cookies:
                problems["late response touched the session cookie"] += 1
        if data_of(app, old):
            problems["pre-login ID still reads a session"] += 1
        if stored.get("seed") != "1":
            problems["login lost the session's data"] += 1
    assert problems == Counter()


# -- logout vs requests in flight ---------------------------------------------------------------


def _logout_race(app: Driver, path: str, **params: str) -> tuple[Reply, str, str]:
    """Log a user in, pause a ``path`` request on their session, log out, release it."""
    user = unique("user")
    session_id = login(app, fresh_session(app, secret="s3"), user)
    gate = unique("g")
    in_flight = app.start(path, session_id, gate=gate, **params)
    GATES.wait_reached(gate)
    logout = app.get("/logout", session_id)
    assert logout.status == 200, logout
    GATES.release(gate)
    return in_flight.result(20), user, session_id


@pytest.mark.sec("SEC-26")
@pytest.mark.parametrize("app", PARAMS, indirect=True)
def test_nothing_in_flight_brings_a_logged_out_session_back(app: Driver) -> None:
    paths = ["/write", "/regenerate"]
    if isinstance(app, _django_driver()):
        paths.append("/hash")  # update_session_auth_hash: cycle_key, then a write
    problems: Counter[str] = Counter()
    for path in paths * TRIALS:
        reply, user, old = _logout_race(app, path, k="late", v="1")
        answered(app, reply, problems)
        if app.live_sessions(user):
            problems["logged-out principal has a live session again"] += 1
        if app.record(old) is not None:
            problems["logged-out session resurrected"] += 1
        issued = reply.issued(app.cookie_name)
        if issued is not None and (principal_of(app, issued) or data_of(app, issued).get("secret")):
            problems["a late response revived the user under a new cookie"] += 1
        if path == "/write" and reply.status == 200:
            problems["write answered 200 into a logged-out session"] += 1
    assert problems == Counter()


@pytest.mark.parametrize("app", PARAMS, indirect=True)
def test_a_login_racing_a_logout_still_signs_the_user_in_afresh(app: Driver) -> None:
    problems: Counter[str] = Counter()
    for _ in range(TRIALS):
        old = fresh_session(app, secret="s3")
        user, gate = unique("user"), unique("g")
        in_flight = app.start("/login", old, user=user, gate=gate)
        GATES.wait_reached(gate)
        assert app.get("/logout", old).status == 200
        GATES.release(gate)
        reply = in_flight.result(20)
        issued = reply.issued(app.cookie_name)
        if reply.status != 200 or issued is None:
            problems["login failed or sent no cookie"] += 1
            continue
        if principal_of(app, issued) != user:
            problems["login answered 200 but the user is not signed in"] += 1
        if data_of(app, issued).get("secret"):
            problems["the ended session's data came back with the login"] += 1
        if app.record(old) is not None:
            problems["logged-out session resurrected"] += 1
    assert problems == Counter()


@pytest.mark.parametrize("app", PARAMS, indirect=True)
def test_a_logout_after_a_login_moved_the_session_keeps_the_login_cookie(app: Driver) -> None:
    problems: Counter[str] = Counter()
    for _ in range(TRIALS):
        old = fresh_session(app, cart="3")
        gate = unique("g")
        logout = app.start("/logout", old, gate=gate)  # a stale tab's logout, paused
        GATES.wait_reached(gate)
        user = unique("user")
        new = login(app, old, user)
        GATES.release(gate)
        reply = logout.result(20)
        answered(app, reply, problems)
        if any("max-age=0" in line.lower() for line in reply.set_cookies):
            problems["a stale logout deleted the login's cookie"] += 1
        if principal_of(app, new) != user:
            problems["the login's session was ended by the stale logout"] += 1
    assert problems == Counter()


# -- revocation vs requests in flight -----------------------------------------------------------


@pytest.mark.sec("SEC-26", "SEC-27")
@pytest.mark.parametrize("app", PARAMS, indirect=True)
def test_sign_out_everywhere_with_requests_in_flight_revives_nothing(app: Driver) -> None:
    problems: Counter[str] = Counter()
    for _ in range(TRIALS):
        user = unique("user")
        devices = [login(app, fresh_session(app, n=str(i)), user) for i in range(3)]
        gates = [unique("g") for _ in devices]
        paths = ["/write", "/regenerate", "/read"]
        in_flight = [
            app.start(p, d, gate=g, k="late", v="1")
            for p, d, g in zip(paths, devices, gates, strict=True)
        ]
        for gate in gates:
            GATES.wait_reached(gate)
        assert app.revoke_all(user) == 3
        for gate in gates:
            GATES.release(gate)
        for path, reply in zip(paths, [f.result(20) for f in in_flight], strict=True):
            answered(app, reply, problems)
            if path == "/write" and reply.status == 200:
                problems["write answered 200 into a revoked session"] += 1
            issued = reply.issued(app.cookie_name)
            if issued is not None and principal_of(app, issued):
                problems["a revoked user came back under a new cookie"] += 1
        if app.live_sessions(user):
            problems["revoked principal has a live session again"] += 1
        problems["revoked session resurrected"] += sum(app.record(d) is not None for d in devices)
    assert problems == Counter()


# -- periodic rotation vs parallel requests -------------------------------------------------------


@pytest.mark.sec("SEC-23")
@pytest.mark.parametrize("rotating", PARAMS, indirect=True)
def test_periodic_rotation_serves_requests_in_flight_without_leaking_the_new_id(
    rotating: Driver,
) -> None:
    app = rotating
    problems: Counter[str] = Counter()
    user = unique("user")
    old = login(app, fresh_session(app, cart="3"), user)
    app.clock.advance(61)  # the ID is now due for rotation
    gates = [unique("g") for _ in range(4)]
    in_flight = [
        app.start("/read", old, gate=gates[0]),
        app.start("/read", old, gate=gates[1]),
        app.start("/write", old, gate=gates[2], k="a", v="1"),
        app.start("/write", old, gate=gates[3], k="b", v="2"),
    ]
    for gate in gates:
        GATES.wait_reached(gate)
    trigger = app.get("/write", old, k="t", v="1")
    new = trigger.issued(app.cookie_name)
    if trigger.status != 200 or new is None or new == old:
        problems["no rotation after rotate_every"] += 1
        assert problems == Counter()
    for gate in gates:
        GATES.release(gate)
    replies = [f.result(20) for f in in_flight]
    # Loaded before the rotation, on the previous ID: served, and never given any ID.
    later = [app.get("/read", old), app.get("/write", old, k="c", v="3")]
    stored = data_of(app, new)
    for i, reply in enumerate(replies + later):
        answered(app, reply, problems)
        if reply.set_cookies:
            problems["a request on the previous ID got a cookie (new or third ID)"] += 1
        if new is not None and new in str(reply):
            problems["the new ID leaked to a request holding the previous one"] += 1
        if not app.grace:
            continue  # Django: no grace window (its middleware re-sends the key it holds)
        if reply.status != 200:
            problems["a request in flight was refused during the grace window"] += 1
        elif i in (0, 1, 4) and reply.body.get("data", {}).get("cart") != "3":
            problems["a read in the grace window did not see the session"] += 1
    if app.grace:
        for key, value in (("a", "1"), ("b", "2"), ("c", "3")):
            if stored.get(key) != value:
                problems["a write in the grace window was lost"] += 1
    if principal_of(app, new) != user:
        problems["rotation lost the principal"] += 1
    app.clock.advance(31)  # past the grace window
    if data_of(app, old):
        problems["previous ID still works after the grace window"] += 1
    assert problems == Counter()


@pytest.mark.sec("SEC-23")
@pytest.mark.parametrize("rotating", PARAMS, indirect=True)
def test_a_logout_closes_the_grace_window_of_both_ids(rotating: Driver) -> None:
    app = rotating
    problems: Counter[str] = Counter()
    old = login(app, fresh_session(app, cart="3"), unique("user"))
    app.clock.advance(61)
    new = app.get("/write", old, k="t", v="1").issued(app.cookie_name)
    assert new is not None
    assert app.get("/logout", new).status == 200
    if data_of(app, old) or data_of(app, new):
        problems["an ID of a logged-out session still reads it"] += 1
    # A logout through the previous ID, inside the window, ends the session too.
    other = login(app, fresh_session(app, cart="4"), unique("user"))
    app.clock.advance(61)
    rotated = app.get("/write", other, k="t", v="1").issued(app.cookie_name)
    assert rotated is not None
    assert app.get("/logout", other).status == 200
    if app.grace and data_of(app, rotated):
        problems["a logout through the previous ID left the session alive"] += 1
    assert problems == Counter()


def _django_driver() -> type[Driver]:
    from .harness import DjangoDriver

    return DjangoDriver
