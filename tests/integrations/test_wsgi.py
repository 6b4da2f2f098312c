"""The foundation's acceptance scenario, and the middleware's own rules, through WSGI.

Requests go to https://localhost so the default ``__Host-sid; Secure`` cookie is kept and sent
back by werkzeug's test client, as a browser would.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from werkzeug.test import Client, TestResponse
from werkzeug.wrappers import Request, Response

from sojourn import HeaderTransport, QueryTransport, Session
from sojourn.stores.base import Store
from sojourn.testing._clock import FakeClock
from sojourn.wsgi import SessionMiddleware, get_manager, get_session

from .stores import BrokenStore, CountingStore, StoreFactory, available, record_of, store_params

BASE = "https://localhost"
COOKIE = "__Host-sid"


def app(environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
    """A tiny application touching the session in the ways the scenario needs."""
    request = Request(environ)
    session: Session = get_session(environ)
    path = request.path
    status = 200
    body: Any = "ok"
    if path == "/read":
        body = {"user": session.get("user")}
    elif path == "/write":
        for key, value in request.args.items():
            session[key] = value
    elif path == "/all":
        body = dict(session)
    elif path == "/login":
        session.login(request.args["user"])
    elif path == "/logout":
        session.invalidate()
    elif path == "/principal":
        body = {"principal": session.principal}
    elif path == "/raise":
        session["boom"] = "1"
        raise RuntimeError("application failure")
    elif path == "/fail":
        session["boom"] = "1"
        status = 500
    elif path == "/vary":
        body = str("x" in session)
        response = Response(body, headers={"Vary": "Accept-Encoding"})
        return response(environ, start_response)
    elif path == "/manager":
        body = {"same": get_manager(environ) is not None}
    text = body if isinstance(body, str) else json.dumps(body)
    return Response(text, status=status, mimetype="text/plain")(environ, start_response)


def lazy_app(environ: dict[str, Any], start_response: Any) -> Iterator[bytes]:
    """An application that calls start_response only when its body is first iterated."""
    get_session(environ)["lazy"] = "yes"
    start_response("200 OK", [("Content-Type", "text/plain")])
    yield b"streamed"


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as made:
        yield made


def client_for(wsgi_app: Any) -> Client:
    return Client(wsgi_app)


def set_cookie_lines(response: TestResponse) -> list[str]:
    return response.headers.getlist("Set-Cookie")


def session_id(client: Client) -> str | None:
    cookie = client.get_cookie(COOKIE, domain="localhost")
    return cookie.value if cookie is not None else None


# -- the acceptance scenario --------------------------------------------------------------------


@pytest.mark.sec("SEC-06")
def test_anonymous_read_sets_no_cookie_and_writes_nothing(store: Store) -> None:
    counting = CountingStore(store)
    client = client_for(SessionMiddleware(app, store=counting))
    response = client.get(f"{BASE}/read")
    assert response.status_code == 200
    assert json.loads(response.text) == {"user": None}
    assert set_cookie_lines(response) == []
    assert "Cookie" in response.headers.get("Vary", "")
    assert counting.calls == []


@pytest.mark.sec("SEC-10")
def test_write_sets_a_secure_cookie(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    response = client.get(f"{BASE}/write?user=alice")
    [line] = set_cookie_lines(response)
    assert line.startswith(f"{COOKIE}=")
    attributes = {part.strip().lower() for part in line.split(";")[1:]}
    assert {"httponly", "secure", "samesite=lax", "path=/"} <= attributes
    assert response.headers["Cache-Control"] == "private, no-store"
    sid = session_id(client)
    assert sid is not None
    assert len(sid) == 43
    record = record_of(store, sid)
    assert record is not None
    assert json.loads(record.fields["user"]) == "alice"
    assert json.loads(client.get(f"{BASE}/read").text) == {"user": "alice"}


def test_reading_an_existing_session_sends_no_cookie(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    client.get(f"{BASE}/write?user=alice")
    response = client.get(f"{BASE}/read")
    assert set_cookie_lines(response) == []
    assert "Cookie" in response.headers["Vary"]


@pytest.mark.sec("SEC-05")
def test_unknown_well_formed_id_is_never_adopted(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    forged = "A" * 43
    client.set_cookie(COOKIE, forged, domain="localhost")
    response = client.get(f"{BASE}/write?user=mallory")
    issued = session_id(client)
    assert issued is not None
    assert issued != forged
    assert record_of(store, forged) is None
    assert set_cookie_lines(response)[0].startswith(f"{COOKIE}={issued};")


@pytest.mark.sec("SEC-07", "SEC-08")
def test_login_issues_a_new_id_and_the_old_one_is_dead(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    client.get(f"{BASE}/write?cart=3")
    before = session_id(client)
    assert before is not None
    client.get(f"{BASE}/login?user=alice")
    after = session_id(client)
    assert after is not None
    assert after != before
    assert record_of(store, before) is None
    record = record_of(store, after)
    assert record is not None
    assert record.principal == "alice"
    assert json.loads(client.get(f"{BASE}/all").text) == {"cart": "3"}
    # The old ID, replayed, gets nothing.
    replay = client_for(SessionMiddleware(app, store=store))
    replay.set_cookie(COOKIE, before, domain="localhost")
    assert json.loads(replay.get(f"{BASE}/principal").text) == {"principal": None}


@pytest.mark.sec("SEC-25")
def test_invalidate_clears_cookie_and_record(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    client.get(f"{BASE}/login?user=alice")
    sid = session_id(client)
    assert sid is not None
    response = client.get(f"{BASE}/logout")
    [line] = set_cookie_lines(response)
    assert line.startswith(f"{COOKIE}=;")
    assert "Max-Age=0" in line
    assert record_of(store, sid) is None
    assert session_id(client) is None


@pytest.mark.sec("SEC-47")
def test_concurrent_requests_on_one_session_keep_every_key(store: Store) -> None:
    middleware = SessionMiddleware(app, store=store)
    seed = client_for(middleware)
    seed.get(f"{BASE}/write?seed=1")
    sid = session_id(seed)
    assert sid is not None

    def one(i: int) -> int:
        client = client_for(middleware)
        client.set_cookie(COOKIE, sid, domain="localhost")
        return client.get(f"{BASE}/write?k{i}={i}").status_code

    with ThreadPoolExecutor(max_workers=8) as pool:
        statuses = list(pool.map(one, range(20)))
    assert statuses == [200] * 20
    data = json.loads(seed.get(f"{BASE}/all").text)
    assert data == {"seed": "1", **{f"k{i}": str(i) for i in range(20)}}


@pytest.mark.sec("SEC-20")
def test_idle_session_is_not_served(store: Store) -> None:
    clock = FakeClock()
    client = client_for(SessionMiddleware(app, store=store, idle_timeout=1, clock=clock))
    client.get(f"{BASE}/write?user=alice")
    assert json.loads(client.get(f"{BASE}/read").text) == {"user": "alice"}
    clock.advance(2)
    assert json.loads(client.get(f"{BASE}/read").text) == {"user": None}


# -- the middleware's own rules ---------------------------------------------------------------


@pytest.mark.sec("SEC-17")
def test_untouched_session_adds_no_vary(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    response = client.get(f"{BASE}/nothing")
    assert "Vary" not in response.headers
    assert set_cookie_lines(response) == []


@pytest.mark.sec("SEC-17")
def test_vary_merges_with_the_applications_own(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    response = client.get(f"{BASE}/vary")
    tokens = {t.strip() for t in response.headers["Vary"].split(",")}
    assert tokens == {"Accept-Encoding", "Cookie"}


@pytest.mark.sec("SEC-59")
def test_application_error_saves_nothing(store: Store) -> None:
    counting = CountingStore(store)
    client = client_for(SessionMiddleware(app, store=counting))
    with pytest.raises(RuntimeError, match="application failure"):
        client.get(f"{BASE}/raise")
    response = client.get(f"{BASE}/fail")
    assert response.status_code == 500
    assert set_cookie_lines(response) == []
    assert "Cookie" in response.headers["Vary"]
    assert "create" not in counting.calls


@pytest.mark.sec("SEC-48")
def test_store_down_on_load_answers_503(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    client.get(f"{BASE}/write?user=alice")
    broken = BrokenStore(store, fail_on=frozenset({"load"}))
    down = client_for(SessionMiddleware(app, store=broken))
    down.set_cookie(COOKIE, session_id(client) or "", domain="localhost")
    response = down.get(f"{BASE}/read")
    assert response.status_code == 503
    assert response.headers["Content-Type"].startswith("text/plain")
    assert "session store" in response.text
    assert set_cookie_lines(response) == []


@pytest.mark.sec("SEC-48")
def test_store_down_on_commit_answers_503_without_cookie(store: Store) -> None:
    broken = BrokenStore(store, fail_on=frozenset({"create"}))
    client = client_for(SessionMiddleware(app, store=broken))
    response = client.get(f"{BASE}/write?user=alice")
    assert response.status_code == 503
    assert set_cookie_lines(response) == []
    lazy = client_for(SessionMiddleware(lazy_app, store=broken))
    response = lazy.get(f"{BASE}/")
    assert response.status_code == 503
    assert set_cookie_lines(response) == []


@pytest.mark.sec("SEC-48")
def test_store_down_with_anonymous_fallback_serves_the_request(store: Store) -> None:
    broken = BrokenStore(store, fail_on=frozenset({"load"}))
    client = client_for(SessionMiddleware(app, store=broken, on_store_error="anonymous"))
    client.set_cookie(COOKIE, "A" * 43, domain="localhost")
    response = client.get(f"{BASE}/write?user=alice")
    assert response.status_code == 200
    assert set_cookie_lines(response) == []


def test_lazy_start_response_still_commits(store: Store) -> None:
    client = client_for(SessionMiddleware(lazy_app, store=store))
    response = client.get(f"{BASE}/")
    assert response.text == "streamed"
    sid = session_id(client)
    assert sid is not None
    record = record_of(store, sid)
    assert record is not None
    assert json.loads(record.fields["lazy"]) == "yes"


@pytest.mark.sec("SEC-19")
def test_header_transport(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store, transport=HeaderTransport()))
    response = client.get(f"{BASE}/write?user=alice")
    token = response.headers["X-Session-Token"]
    assert set_cookie_lines(response) == []
    assert "Authorization" in response.headers["Vary"]
    again = client.get(f"{BASE}/read", headers={"Authorization": f"Bearer {token}"})
    assert json.loads(again.text) == {"user": "alice"}


def test_query_transport(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store, transport=QueryTransport()))
    token = client.get(f"{BASE}/write?user=alice").headers["X-Session-Token"]
    assert json.loads(client.get(f"{BASE}/read?sid={token}").text) == {"user": "alice"}
    # Never from the query string with the default cookie transport.
    cookie_client = client_for(SessionMiddleware(app, store=store))
    assert json.loads(cookie_client.get(f"{BASE}/read?sid={token}").text) == {"user": None}


def test_manager_is_in_the_environ(store: Store) -> None:
    client = client_for(SessionMiddleware(app, store=store))
    assert json.loads(client.get(f"{BASE}/manager").text) == {"same": True}
