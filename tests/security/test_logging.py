"""SEC-54 (and SEC-53): every security event Sojourn logs, asserted one by one.

Each event is a record whose message starts with its name (``session.corrupt: …``) on the
``sojourn.security`` logger (``session.store_error``: on ``sojourn``, where the adapters have
always logged outages), at the expected level, carrying the session's fingerprint where it
concerns one session, and never a raw ID, cookie value or token. The record's own ``created``
is the event's timestamp (UTC epoch seconds).

The events in the code (grep ``logger.`` under ``src/``): ``session.corrupt`` (store, engine,
cookie store, Django cookie sessions), ``session.ambiguous_cookie``, ``session.ambiguous_token``,
``session.revoked``, ``session.revoked_all``, ``session.future_timestamp``,
``session.rejected``, ``session.lost_write``, ``session.shape_mismatch`` and
``session.migrated`` (engine, typed sessions), ``session.binding_mismatch`` (manager, bound
sessions), and ``session.store_error`` (manager, ASGI, WSGI, Flask).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, NamedTuple, TypedDict

import pytest

from sojourn import (
    Binding,
    CookieSettings,
    CookieTransport,
    Engine,
    HeaderTransport,
    Manager,
    MemoryStore,
    Policy,
    Session,
    SessionEnded,
    fingerprint,
    new_session_id,
)
from sojourn._core.ids import store_key
from sojourn.stores.base import Record
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.stores.sqlite import SQLiteStore
from sojourn.testing import FakeClock
from sojourn.typed import shape_of
from tests.integrations.stores import BrokenStore

COOKIE = "sid"


class Cart(TypedDict):
    cart: list[str]


ENGINE = Engine(transport=CookieTransport(CookieSettings(name=COOKIE, secure=False)))
SECURITY = "sojourn.security"


class Event(NamedTuple):
    logger: str
    level: int
    name: str
    message: str
    created: float


@pytest.fixture
def log(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    with caplog.at_level(logging.DEBUG):
        yield caplog


LIFECYCLE = frozenset(
    {
        "session.created",
        "session.rotated",
        "session.destroyed",
        "session.expired",
        "session.unknown_id",
        "session.bad_token",
    }
)
"""The lifecycle trail (SEC-54, INFO): beside every anomaly, so left out unless asked for."""


def events(caplog: pytest.LogCaptureFixture, *, lifecycle: bool = False) -> list[Event]:
    """The ``session.*`` records logged by Sojourn so far (the lifecycle trail only if asked)."""
    found = [
        Event(r.name, r.levelno, r.getMessage().split(":", 1)[0], r.getMessage(), r.created)
        for r in caplog.records
        if r.name.startswith("sojourn") and r.getMessage().startswith("session.")
    ]
    return [e for e in found if lifecycle or e.name not in LIFECYCLE]


def only_event(caplog: pytest.LogCaptureFixture, name: str) -> Event:
    found = events(caplog)
    assert [e.name for e in found] == [name], found
    event = found[0]
    assert abs(event.created - time.time()) < 60, "the record carries the event's time"
    return event


def cookie(*ids: str) -> list[tuple[str, str]]:
    return [("cookie", "; ".join(f"{COOKIE}={i}" for i in ids))]


def stored(manager: Manager, principal: str | None = None, **data: Any) -> str:
    session = manager.open([]).session
    session.update(data or {"k": "v"})
    if principal is not None:
        session.login(principal)
    session_id = manager.commit(session).session_id
    assert session_id is not None
    return session_id


def assert_clean(caplog: pytest.LogCaptureFixture, *secrets: str) -> None:
    """No record, argument or traceback holds any of ``secrets`` (SEC-53)."""
    for record in caplog.records:
        text = record.getMessage() + repr(record.args) + (record.exc_text or "")
        if record.exc_info and record.exc_info[1] is not None:
            text += repr(record.exc_info[1]) + str(record.exc_info[1])
        for secret in secrets:
            assert secret not in text, (record.name, record.getMessage())


# -- the events --------------------------------------------------------------------------------


@pytest.mark.sec("SEC-54", "SEC-39")
def test_session_corrupt_when_the_store_cannot_decode_a_record(
    log: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "s.db")
    manager = Manager(store, ENGINE)
    session_id = stored(manager)
    with sqlite3.connect(tmp_path / "s.db") as conn:
        conn.execute(f"UPDATE {store.table} SET created_at = 'yesterday'")
    log.clear()
    session = manager.open(cookie(session_id)).session
    assert session.is_new
    event = only_event(log, "session.corrupt")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert fingerprint(session_id) in event.message
    assert_clean(log, session_id, store_key(session_id))
    store.close()


def shape_event(log: pytest.LogCaptureFixture, name: str, level: int, session_id: str) -> str:
    """The message of the one typed-session event logged, on the security logger at ``level``
    and naming the session's fingerprint."""
    event = only_event(log, name)
    assert (event.logger, event.level, fingerprint(session_id) in event.message) == (
        SECURITY,
        level,
        True,
    )
    return event.message


@pytest.mark.sec("SEC-54")
def test_session_shape_mismatch_when_a_record_no_longer_fits(log: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    session_id = stored(Manager(store, ENGINE), cart="secret-sku")
    manager = Manager(store, replace(ENGINE, shape=shape_of(Cart)))
    log.clear()
    session = manager.open(cookie(session_id)).session
    assert session.is_new
    assert "Cart" in shape_event(log, "session.shape_mismatch", logging.WARNING, session_id)
    manager.commit(session)
    assert store.load(store_key(session_id), time.time()) is None  # deleted, as a corrupt one
    assert_clean(log, session_id, store_key(session_id), "secret-sku")


@pytest.mark.sec("SEC-54")
def test_session_migrated_when_a_migration_made_a_record_fit(log: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    session_id = stored(Manager(store, ENGINE), cart="secret-sku")
    typed = replace(ENGINE, shape=shape_of(Cart, migrate=lambda old: {"cart": [old["cart"]]}))
    log.clear()
    session = Manager(store, typed).open(cookie(session_id)).session
    assert session["cart"] == ["secret-sku"]
    assert "Cart" in shape_event(log, "session.migrated", logging.INFO, session_id)
    assert_clean(log, session_id, store_key(session_id), "secret-sku")


@pytest.mark.sec("SEC-54", "SEC-39")
def test_session_corrupt_when_stored_data_does_not_decode(log: pytest.LogCaptureFixture) -> None:
    store = MemoryStore()
    session_id = new_session_id()
    now = time.time()
    store.create(Record(store_key(session_id), {"k": b"\xff{"}, None, now, now, now + 600))
    manager = Manager(store, ENGINE)
    session = manager.open(cookie(session_id)).session
    assert session.is_new
    event = only_event(log, "session.corrupt")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert fingerprint(session_id) in event.message
    manager.commit(session)
    assert store.load(store_key(session_id), time.time()) is None  # the record is deleted
    assert_clean(log, session_id, store_key(session_id))


@pytest.mark.sec("SEC-54", "SEC-51")
def test_session_ambiguous_cookie(log: pytest.LogCaptureFixture) -> None:
    manager = Manager(MemoryStore(), ENGINE)
    first, second = stored(manager), stored(manager)
    log.clear()
    assert manager.open(cookie(first, second)).session.is_new
    event = only_event(log, "session.ambiguous_cookie")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert event.message == "session.ambiguous_cookie: 2 live session IDs in one request"
    assert_clean(log, first, second, store_key(first), store_key(second))


@pytest.mark.sec("SEC-54", "SEC-19")
def test_session_ambiguous_token(log: pytest.LogCaptureFixture) -> None:
    manager = Manager(MemoryStore(), Engine(transport=HeaderTransport(header="x-session-token")))
    first, second = stored(manager), stored(manager)
    log.clear()
    headers = [("x-session-token", first), ("x-session-token", second)]
    assert manager.open(headers).session.is_new
    event = only_event(log, "session.ambiguous_token")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert "x-session-token" in event.message.lower()
    assert_clean(log, first, second)


@pytest.mark.sec("SEC-54", "SEC-62")
def test_session_binding_mismatch(log: pytest.LogCaptureFixture) -> None:
    manager = Manager(MemoryStore(), replace(ENGINE, binding=Binding(ip=True)))
    opened = manager.open([], user_agent="ua", client_ip="203.0.113.9")
    opened.session["k"] = "v"
    session_id = manager.commit(opened.session).session_id
    assert session_id is not None
    log.clear()
    assert manager.open(cookie(session_id), client_ip="198.51.100.9").session.is_new
    event = only_event(log, "session.binding_mismatch")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert event.message == (
        f"session.binding_mismatch: session {fingerprint(session_id)} presented from another "
        "IP prefix; it is ended"
    )
    assert "203.0.113" not in event.message
    assert "198.51.100" not in event.message
    assert_clean(log, session_id, store_key(session_id))


@pytest.mark.sec("SEC-54", "SEC-27")
def test_session_revoked_and_revoked_all(log: pytest.LogCaptureFixture) -> None:
    manager = Manager(MemoryStore(), ENGINE)
    ids = [stored(manager, "alice") for _ in range(3)]
    log.clear()
    target = fingerprint(ids[0])
    assert manager.revoke("alice", target)
    event = only_event(log, "session.revoked")
    assert (event.logger, event.level) == (SECURITY, logging.INFO)
    assert event.message == f"session.revoked: session {target} of one principal"
    log.clear()
    assert manager.revoke_all("alice") == 2
    event = only_event(log, "session.revoked_all")
    assert (event.logger, event.level) == (SECURITY, logging.INFO)
    assert event.message == "session.revoked_all: 2 sessions of one principal"
    assert "alice" not in log.text
    assert_clean(log, *ids)


@pytest.mark.sec("SEC-54", "SEC-26")
@pytest.mark.parametrize("mode", ["conflict", "ignore"])
def test_session_lost_write(log: pytest.LogCaptureFixture, mode: str) -> None:
    manager = Manager(MemoryStore(), ENGINE, on_lost_write=mode)
    session_id = stored(manager)
    late = manager.open(cookie(session_id)).session
    manager.delete(session_id)  # a logout elsewhere while this request runs
    late["k"] = "changed"
    log.clear()
    if mode == "conflict":
        with pytest.raises(SessionEnded):
            manager.commit(late)
    else:
        assert manager.commit(late).gone
    event = only_event(log, "session.lost_write")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert event.message == (
        f"session.lost_write: session {fingerprint(session_id)} was ended under a request; "
        "its changes were not saved"
    )
    assert_clean(log, session_id, store_key(session_id))


def sealed_manager(**options: Any) -> tuple[Manager, CookieStore]:
    store = CookieStore([generate_key()], **options)
    return Manager(store, ENGINE), store


def sealed_record(now: float, **changes: Any) -> Record:
    base: dict[str, Any] = {
        "key": "ab" * 32,
        "fields": {"k": b'"v"'},
        "principal": "alice",
        "created_at": now - 10,
        "renewed_at": now - 5,
        "expires_at": now + 600,
        "authenticated_at": now - 10,
    }
    base.update(changes)
    return Record(**base)


@pytest.mark.sec("SEC-54", "SEC-22")
def test_session_future_timestamp(log: pytest.LogCaptureFixture) -> None:
    manager, store = sealed_manager()
    now = time.time()
    ahead = sealed_record(now, created_at=now + 3600, renewed_at=now + 3600, expires_at=now + 7200)
    token = store.seal(ahead, COOKIE)
    assert manager.open(cookie(token)).session.is_new
    event = only_event(log, "session.future_timestamp")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert_clean(log, token)


@pytest.mark.sec("SEC-54", "SEC-28")
def test_session_rejected_by_the_accept_hook(log: pytest.LogCaptureFixture) -> None:
    manager, store = sealed_manager(accept=lambda record: record.principal != "mallory")
    token = store.seal(sealed_record(time.time(), principal="mallory"), COOKIE)
    assert manager.open(cookie(token)).session.is_new
    event = only_event(log, "session.rejected")
    assert (event.logger, event.level) == (SECURITY, logging.INFO)
    assert "mallory" not in log.text
    assert_clean(log, token)


@pytest.mark.sec("SEC-54", "SEC-39")
def test_session_corrupt_in_a_sealed_cookie(
    log: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sojourn.stores import cookie as module

    manager, store = sealed_manager()
    monkeypatch.setattr(module, "encode_payload", lambda _record: b'{"k":"x","d":[]}')
    token = store.seal(sealed_record(time.time()), COOKIE)
    assert manager.open(cookie(token)).session.is_new
    event = only_event(log, "session.corrupt")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert_clean(log, token)


@pytest.mark.sec("SEC-54", "SEC-48")
def test_session_store_error_on_load(log: pytest.LogCaptureFixture) -> None:
    inner = MemoryStore()
    session_id = stored(Manager(inner, ENGINE))
    broken = BrokenStore(inner, fail_on=frozenset({"load"}))
    opened = Manager(broken, ENGINE).open(cookie(session_id))
    assert opened.refuse
    event = only_event(log, "session.store_error")
    assert (event.logger, event.level) == ("sojourn", logging.ERROR)
    assert_clean(log, session_id, store_key(session_id))


def _wsgi_write(environ: dict[str, Any], start_response: Any) -> list[bytes]:
    from sojourn.wsgi import get_session

    get_session(environ)["k"] = "v"
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


@pytest.mark.sec("SEC-54", "SEC-48")
@pytest.mark.parametrize("adapter", ["asgi", "wsgi", "flask"])
def test_session_store_error_on_commit_in_each_adapter(
    log: pytest.LogCaptureFixture, adapter: str
) -> None:
    from tests.security.adapters import Adapter, asgi_adapter, call_wsgi

    broken = BrokenStore(MemoryStore(), fail_on=frozenset({"create", "apply"}))
    settings = CookieSettings(name=COOKIE, secure=False)
    app: Adapter
    if adapter == "wsgi":
        from sojourn.wsgi import SessionMiddleware as WSGIMiddleware

        wsgi = WSGIMiddleware(_wsgi_write, store=broken, cookie=settings)
        app = Adapter("wsgi", COOKIE, lambda p, h, s: call_wsgi(wsgi, p, h, s))
    elif adapter == "flask":
        from tests.integrations.test_flask import make_app

        flask = make_app(broken, config={"SESSION_COOKIE_NAME": COOKIE})
        app = Adapter("flask", COOKIE, lambda p, h, s: call_wsgi(flask, p, h, s))
    else:
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import PlainTextResponse
        from starlette.routing import Route

        from sojourn.asgi import SessionMiddleware, get_session

        async def write(request: Request) -> PlainTextResponse:
            get_session(request)["k"] = "v"
            return PlainTextResponse("ok")

        starlette = Starlette(routes=[Route("/write", write)])
        app = asgi_adapter(
            "asgi", SessionMiddleware(starlette, store=broken, cookie=settings), COOKIE
        )
    try:
        reply = app.request("/write?user=u")
    finally:
        for close in app.closers:
            close()
    assert reply.status == 503
    assert not reply.cookies(COOKIE)
    event = only_event(log, "session.store_error")
    assert (event.logger, event.level) == ("sojourn", logging.ERROR)


# -- SEC-53: a whole lifecycle at DEBUG logs no secret ----------------------------------------


@pytest.mark.sec("SEC-53", "SEC-54")
def test_a_whole_lifecycle_logs_no_id_key_or_token(log: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    store = MemoryStore()
    engine = Engine(
        policy=Policy(idle_timeout=60, lifetime=600),
        transport=CookieTransport(CookieSettings(name=COOKIE, secure=False)),
    )
    manager = Manager(store, engine, clock=clock)
    seen: list[str] = []

    def request(*ids: str, act: str = "read") -> Session:
        session = manager.open(cookie(*ids)).session
        if act == "write":
            session["n"] = session.get("n", 0) + 1
        elif act == "login":
            session.login("alice")
        elif act == "rotate":
            session.regenerate()
        elif act == "logout":
            session.invalidate()
        outcome = manager.commit(session)
        if outcome.session_id is not None:
            seen.append(outcome.session_id)
        return session

    request(act="write")
    first = seen[-1]
    request(first, act="login")
    second = seen[-1]
    request(second, act="rotate")
    third = seen[-1]
    other = stored(manager)
    seen.append(other)
    request(third, other)  # ambiguous
    request(third, "garbage", new_session_id())  # one live among junk and unknown
    request(first)  # a dead, pre-login ID
    clock.advance(61)
    request(third)  # idle-expired
    fourth = stored(manager)
    seen.append(fourth)
    request(fourth, act="logout")
    broken = BrokenStore(store, fail_on=frozenset({"load"}))
    Manager(broken, engine, clock=clock).open(cookie(fourth))
    assert len(set(seen)) >= 5
    assert events(log), "the lifecycle logged security events"
    assert_clean(log, *seen, *(store_key(s) for s in seen))


@pytest.mark.sec("SEC-54")
def test_lifecycle_events_are_logged(log: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    manager = Manager(MemoryStore(), ENGINE, clock=clock)
    session_id = stored(manager)  # created
    session = manager.open(cookie(session_id)).session
    session.regenerate()  # rotated
    manager.commit(session)
    manager.open(cookie(new_session_id()))  # unknown ID presented
    sealed, _ = sealed_manager()
    sealed.open(cookie("x" * 80))  # bad signature
    trail = events(log, lifecycle=True)
    names = {e.name for e in trail}
    assert {"session.created", "session.rotated", "session.unknown_id"} <= names
    assert all(
        e.logger == SECURITY and e.level == logging.INFO for e in trail if e.name in LIFECYCLE
    )
    assert_clean(log, session_id)
    assert {"session.bad_token"} <= names or {"session.bad_signature"} <= names


@pytest.mark.sec("SEC-54", "SEC-39")
def test_session_corrupt_in_a_sealed_django_session(log: pytest.LogCaptureFixture) -> None:
    from django.test import override_settings

    from tests.security.adapters import django_settings

    key = generate_key()
    now = time.time()
    record = sealed_record(now, fields={"k": b"\xff{"})
    token = CookieStore([key]).seal(record, "sessionid")
    with (
        django_settings(True, MemoryStore()),
        override_settings(SESSION_ENGINE="sojourn.django_cookies", SOJOURN_COOKIE_KEYS=[key]),
    ):
        from sojourn.django_cookies import SessionStore

        session = SessionStore(token)
        assert dict(session.items()) == {}
        assert session.session_key is None  # the bad token is not carried forward
    event = only_event(log, "session.corrupt")
    assert (event.logger, event.level) == (SECURITY, logging.WARNING)
    assert_clean(log, token)
