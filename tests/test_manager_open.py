"""Manager.open: the one way a request's session is opened, for every adapter."""

from __future__ import annotations

from typing import Any

import pytest

from sojourn import (
    ConfigurationError,
    CookieSettings,
    CookieTransport,
    Engine,
    Manager,
    MemoryStore,
    StoreUnavailable,
)
from sojourn.testing import FakeClock

from .integrations.stores import BrokenStore

ENGINE = Engine(transport=CookieTransport(CookieSettings(name="sid", secure=False)))


def manager(store: Any, **options: Any) -> Manager:
    return Manager(store, ENGINE, clock=FakeClock(1_000_000.0), **options)


def stored_id(store: MemoryStore) -> str:
    m = manager(store)
    opened = m.open([])
    opened.session["cart"] = [1]
    outcome = m.commit(opened.session)
    assert outcome.session_id is not None
    return outcome.session_id


def test_a_request_with_a_live_cookie_opens_its_session() -> None:
    store = MemoryStore()
    session_id = stored_id(store)
    opened = manager(store).open([("cookie", f"sid={session_id}")])
    assert opened.session["cart"] == [1]
    assert opened.presented == (session_id,)
    assert (opened.refuse, opened.save) == (False, True)


@pytest.mark.sec("SEC-48")
def test_a_store_outage_is_refused_by_default() -> None:
    broken = BrokenStore(MemoryStore(), fail_on=frozenset({"load"}))
    opened = manager(broken).open([("cookie", "sid=" + "A" * 43)])
    assert (opened.refuse, opened.save) == (True, False)
    assert opened.session.is_new


@pytest.mark.sec("SEC-48")
def test_or_served_anonymously_and_never_saved() -> None:
    broken = BrokenStore(MemoryStore(), fail_on=frozenset({"load"}))
    opened = manager(broken, on_store_error="anonymous").open([("cookie", "sid=" + "A" * 43)])
    assert (opened.refuse, opened.save) == (False, False)


def test_metadata_is_recorded_only_when_tracked_and_trimmed() -> None:
    store = MemoryStore()
    untracked = manager(store).open([], user_agent="UA", client_ip="10.0.0.1")
    assert untracked.session.meta == {}
    tracked = manager(store, track_metadata=True).open([], user_agent="U" * 300, client_ip="::1")
    assert tracked.session.meta == {"user_agent": "U" * 256, "ip": "::1"}


def test_an_unknown_store_error_policy_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="on_store_error"):
        manager(MemoryStore(), on_store_error="ignore")


def test_every_adapter_refuses_it_when_built() -> None:
    from flask import Flask

    from sojourn.asgi import SessionMiddleware as ASGIMiddleware
    from sojourn.flask import Sojourn
    from sojourn.wsgi import SessionMiddleware as WSGIMiddleware

    def app(*args: Any) -> Any:
        raise AssertionError("never called")

    for build in (
        lambda: ASGIMiddleware(app, store=MemoryStore(), on_store_error="ignore"),  # type: ignore[arg-type]
        lambda: WSGIMiddleware(app, store=MemoryStore(), on_store_error="ignore"),
        lambda: Sojourn(Flask(__name__), store=MemoryStore(), on_store_error="ignore"),
    ):
        with pytest.raises(ConfigurationError, match="on_store_error"):
            build()


def test_a_request_without_an_id_opens_at_once_without_the_store() -> None:
    # BrokenStore fails every call: opening at once must not make one.
    m = manager(BrokenStore(MemoryStore(), fail_on=frozenset({"load", "create", "apply"})))
    session = m.open_at_once([])
    assert session is not None
    assert session.is_new
    session["cart"] = [1]  # served and committed as one open() returned
    assert m.commit_at_once(session) is None
    with pytest.raises(StoreUnavailable):
        m.commit(session)


def test_opening_at_once_declines_what_needs_the_full_open() -> None:
    store = MemoryStore()
    session_id = stored_id(store)
    assert manager(store).open_at_once([("cookie", f"sid={session_id}")]) is None
    assert manager(store).open_at_once([], "sid=x") is None  # a query the transport may read
    assert manager(store, track_metadata=True).open_at_once([]) is None  # metadata to record


def test_committing_at_once_finishes_reads_and_declines_writes() -> None:
    store = MemoryStore()
    session_id = stored_id(store)
    m = manager(store)
    session = m.open([("cookie", f"sid={session_id}")]).session
    assert session["cart"] == [1]
    # A list was handed out and may have changed: only commit() can tell, so at once declines.
    assert m.commit_at_once(session) is None
    assert m.commit(session).vary == "Cookie"
    session = m.open([("cookie", f"sid={session_id}")]).session
    assert "cart" in session
    outcome = m.commit_at_once(session)
    assert outcome is not None
    assert (outcome.headers, outcome.vary, outcome.session_id) == ((), "Cookie", session_id)
    assert not session.accessed  # the session follows the commit, as after commit()
    session["cart"] = [2]
    assert m.commit_at_once(session) is None  # a write needs the store
    assert m.commit(session).session_id == session_id
    fresh = m.open([]).session
    assert fresh.get("x") is None
    outcome = m.commit_at_once(fresh)
    assert outcome is not None
    assert (outcome.headers, outcome.vary, outcome.session_id) == ((), "Cookie", None)
