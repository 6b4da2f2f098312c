"""Lifecycle events through the sync adapters: Flask and plain WSGI.

A raising hook leaves the response exactly as it would have been (status, body, cookie, what
is stored); the adapters pass ``hooks=`` to their manager, and refuse an async hook, which a
sync manager could only call without running.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client

from sojourn import ConfigurationError, MemoryStore, SessionEvent, fingerprint
from sojourn.stores.base import Store
from sojourn.testing._sync.events import Witness
from sojourn.wsgi import SessionMiddleware, get_session

from .stores import available, record_of, store_params
from .test_flask import BASE, get, make_app, session_id


def broken(event: SessionEvent) -> None:
    raise RuntimeError("a hook with a bug")


async def not_for_sync(event: SessionEvent) -> None:
    """An async hook: a sync adapter must refuse it."""


STORES = store_params()


@contextlib.contextmanager
def opened(name: str, tmp_path: Path) -> Iterator[Store]:
    """The store named ``name`` (see :func:`~tests.integrations.stores.available`)."""
    with available()[name](tmp_path) as made:
        yield made


@pytest.mark.parametrize("name", STORES)
def test_flask_fires_each_transition_once(name: str, tmp_path: Path) -> None:
    hook = Witness()
    with opened(name, tmp_path) as store:
        client = make_app(store, hooks=[hook]).test_client()
        get(client, "/write?cart=1")
        first = session_id(client)
        get(client, "/read")
        get(client, "/login?user=eve")
        second = session_id(client)
        get(client, "/logout")
    assert first is not None
    assert second is not None
    assert [(e.kind, e.reason) for e in hook.events] == [
        ("created", None),
        ("rotated", "login"),
        ("destroyed", "logout"),
    ]
    assert hook.events[1].successor == fingerprint(second)
    assert (hook.events[2].fingerprint, hook.events[2].principal) == (fingerprint(second), "eve")
    assert all(first not in repr(e) and second not in repr(e) for e in hook.events)


@pytest.mark.parametrize("name", STORES)
def test_a_raising_hook_leaves_the_flask_response_intact(
    name: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    hook = Witness()
    with opened(name, tmp_path) as store, caplog.at_level(logging.ERROR, logger="sojourn"):
        client = make_app(store, hooks=[broken, hook]).test_client()
        written = get(client, "/write?user=fay")
        assert (written.status_code, written.text) == (200, "ok")
        sid = session_id(client)
        assert sid is not None
        assert record_of(store, sid) is not None
        login = get(client, "/login?user=fay")
        assert (login.status_code, login.text) == (200, "ok")
        new = session_id(client)
        assert new is not None
        assert new != sid
        assert get(client, "/read").json == {"user": "fay"}
        logout = get(client, "/logout")
        assert logout.status_code == 200
        assert record_of(store, new) is None
    assert [e.kind for e in hook.events] == ["created", "rotated", "destroyed"]
    failures = [r.getMessage() for r in caplog.records if "session.hook_failed" in r.message]
    assert len(failures) == 3
    assert all("RuntimeError" in f and "broken" in f for f in failures)


def test_flask_refuses_an_async_hook() -> None:
    with pytest.raises(ConfigurationError, match="not_for_sync is async"):
        make_app(MemoryStore(), hooks=[not_for_sync])


def wsgi_app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    session = get_session(environ)
    if environ["PATH_INFO"] == "/write":
        session["n"] = 1
    elif environ["PATH_INFO"] == "/logout":
        session.invalidate()
    start_response("200 OK", [("content-type", "text/plain")])
    return [b"done"]


def test_a_raising_hook_leaves_the_wsgi_response_intact(caplog: pytest.LogCaptureFixture) -> None:
    hook = Witness()
    store = MemoryStore()
    middleware: Any = SessionMiddleware(wsgi_app, store, hooks=[broken, hook])
    client = Client(middleware)
    with caplog.at_level(logging.ERROR, logger="sojourn"):
        written = client.get("/write", base_url=BASE)
        assert (written.status_code, written.get_data()) == (200, b"done")
        assert "set-cookie" in written.headers
        ended = client.get("/logout", base_url=BASE)
        assert (ended.status_code, ended.get_data()) == (200, b"done")
    assert [e.kind for e in hook.events] == ["created", "destroyed"]
    assert sum("session.hook_failed" in r.message for r in caplog.records) == 2


def test_wsgi_refuses_an_async_hook() -> None:
    with pytest.raises(ConfigurationError, match="async"):
        SessionMiddleware(wsgi_app, MemoryStore(), hooks=[not_for_sync])
