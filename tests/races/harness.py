"""Drivers for the race tests: one small app per adapter, paused at will, on a real store.

Every app has the same routes (``/read``, ``/write``, ``/login``, ``/logout``, ``/regenerate``
and Django's ``/hash``), each written in its framework's own idiom: ``Session.login`` under
ASGI and WSGI, Flask-Login's ``_user_id`` key under Flask, ``django.contrib.auth.login``'s key
writes and ``cycle_key`` under Django. A request given ``gate=NAME`` announces, once its
session is loaded, that it reached the gate, and waits there until the test releases it: the
interleavings are forced, not hoped for, so each race runs the same way every time.

Requests run in threads (the ASGI app on one event loop in a background thread), so a paused
request really is in flight while the others run.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import secrets
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple, TypeVar
from urllib.parse import parse_qsl

from sojourn._core.ids import store_key
from sojourn.stores.base import Record
from sojourn.testing._clock import FakeClock

T = TypeVar("T")

GATE_TIMEOUT = 10.0  # a request left paused this long is a bug in the test: fail, never hang
AUTH_USER_KEY = "_auth_user_id"  # django.contrib.auth's session keys
FLASK_LOGIN_KEY = "_user_id"


class Reply(NamedTuple):
    """One response as the race tests look at it."""

    status: int
    body: dict[str, Any]
    set_cookies: list[str]  # every Set-Cookie for the session cookie, attributes included
    headers: dict[str, str]

    def issued(self, name: str) -> str | None:
        """The session ID this response hands the client (``None``: none, or a deletion)."""
        for line in self.set_cookies:
            value = line.split(";", 1)[0].split("=", 1)[1].strip('"')
            if value and "max-age=0" not in line.lower():
                return value
        return None


class Gates:
    """Named pause points shared by the apps and the tests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._reached: dict[str, threading.Event] = {}
        self._released: dict[str, threading.Event] = {}

    def _pair(self, name: str) -> tuple[threading.Event, threading.Event]:
        with self._lock:
            return (
                self._reached.setdefault(name, threading.Event()),
                self._released.setdefault(name, threading.Event()),
            )

    def reach(self, name: str | None) -> None:
        """Called by a view with its session loaded: announce, then wait for the release."""
        if not name:
            return
        reached, released = self._pair(name)
        reached.set()
        if not released.wait(GATE_TIMEOUT):
            raise TimeoutError(f"gate {name!r} was never released")

    async def areach(self, name: str | None) -> None:
        """:meth:`reach` for a coroutine: waits without blocking the event loop."""
        if not name:
            return
        reached, released = self._pair(name)
        reached.set()
        deadline = time.monotonic() + GATE_TIMEOUT
        while not released.is_set():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gate {name!r} was never released")
            await asyncio.sleep(0.001)

    def wait_reached(self, name: str) -> None:
        if not self._pair(name)[0].wait(GATE_TIMEOUT):
            raise TimeoutError(f"no request reached gate {name!r}")

    def release(self, name: str) -> None:
        self._pair(name)[1].set()


GATES = Gates()


# -- what every route does, over the Sojourn Session API (ASGI and WSGI) ----------------------


def sojourn_route(path: str, params: dict[str, str], session: Any) -> dict[str, Any]:
    """The route ``path`` on a :class:`~sojourn.Session` (before the gate: load it)."""
    data = dict(session)  # loads and reads the session, as a view would
    if path == "/read":
        return {"data": data, "principal": session.principal}
    if path == "/write":
        session[params["k"]] = params["v"]
    elif path == "/login":
        session.login(params["user"])
    elif path == "/logout":
        session.invalidate()
    elif path == "/regenerate":
        session.regenerate()
    return {"ok": True}


# -- drivers -----------------------------------------------------------------------------------


class Driver:
    """One adapter over one store: requests, and the store seen directly.

    Attributes:
        cookie_name: the session cookie's name under this adapter.
        lost_status: the status this adapter answers a write that did not land with (409, or
            Django's 400 ``SessionInterrupted``).
        grace: whether the previous ID of a periodically rotated session serves requests in
            flight (not under Django, whose middleware would hand that ID back).
    """

    cookie_name = "__Host-sid"
    lost_status = 409
    grace = True

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.pool = ThreadPoolExecutor(max_workers=16)

    def get(self, path: str, session_id: str | None = None, **params: str) -> Reply:
        """One request, answered."""
        return self.start(path, session_id, **params).result(GATE_TIMEOUT * 2)

    def start(self, path: str, session_id: str | None = None, **params: str) -> Future[Reply]:
        """One request in a thread of its own; its gate, if any, pauses it."""
        query = "&".join(f"{k}={v}" for k, v in params.items())
        return self.pool.submit(self._request, path, query, session_id)

    def _request(self, path: str, query: str, session_id: str | None) -> Reply:
        raise NotImplementedError

    # the store, seen directly
    def record(self, session_id: str) -> Record | None:
        raise NotImplementedError

    def live_sessions(self, principal: str) -> int:
        raise NotImplementedError

    def revoke_all(self, principal: str) -> int:
        raise NotImplementedError

    def close(self) -> None:
        self.pool.shutdown(wait=True)

    def cookies_of(self, headers: list[tuple[str, str]]) -> list[str]:
        prefix = self.cookie_name + "="
        return [v for k, v in headers if k.lower() == "set-cookie" and v.startswith(prefix)]


class SyncStoreDriver(Driver):
    """A driver over a sync store (WSGI, Flask, Django)."""

    def __init__(self, clock: FakeClock, store: Any) -> None:
        super().__init__(clock)
        self.store = store

    def record(self, session_id: str) -> Record | None:
        found: Record | None = self.store.load(store_key(session_id), self.clock())
        return found

    def live_sessions(self, principal: str) -> int:
        return len(self.store.sessions_of(principal, self.clock()))

    def revoke_all(self, principal: str) -> int:
        count: int = self.store.delete_sessions_of(principal)
        return count


def _params(query: str) -> dict[str, str]:
    return dict(parse_qsl(query))


class AsgiDriver(Driver):
    """``sojourn.asgi.SessionMiddleware`` around a Starlette app, on an async store."""

    def __init__(self, clock: FakeClock, make_store: Callable[[], Any], **options: Any) -> None:
        super().__init__(clock)
        from starlette.applications import Starlette
        from starlette.requests import Request
        from starlette.responses import JSONResponse
        from starlette.routing import Route

        from sojourn.asgi import SessionMiddleware, get_session

        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()
        self._stores: contextlib.AsyncExitStack = contextlib.AsyncExitStack()
        self.store = self.run(self._stores.enter_async_context(make_store()))

        async def view(request: Request) -> JSONResponse:
            session = get_session(request)
            params = dict(request.query_params)
            dict(session)
            await GATES.areach(params.get("gate"))
            return JSONResponse(sojourn_route(request.url.path, params, session))

        paths = ["/read", "/write", "/login", "/logout", "/regenerate"]
        app = Starlette(routes=[Route(p, view) for p in paths])
        self.app = SessionMiddleware(app, store=self.store, clock=clock, **options)

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(GATE_TIMEOUT * 2)

    def _request(self, path: str, query: str, session_id: str | None) -> Reply:
        return self.run(self._call(path, query, session_id))

    async def _call(self, path: str, query: str, session_id: str | None) -> Reply:
        headers = [(b"host", b"testserver")]
        if session_id:
            headers.append((b"cookie", f"{self.cookie_name}={session_id}".encode()))
        scope = {
            "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET",
            "scheme": "https", "path": path, "raw_path": path.encode(), "root_path": "",
            "query_string": query.encode(), "headers": headers,
            "client": ("127.0.0.1", 5000), "server": ("testserver", 443),
        }  # fmt: skip
        sent: list[dict[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": b"", "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            sent.append(message)

        await self.app(scope, receive, send)
        pairs = [(k.decode(), v.decode()) for k, v in sent[0].get("headers", [])]
        body = b"".join(m.get("body", b"") for m in sent[1:])
        return _reply(int(sent[0]["status"]), body, pairs, self.cookies_of(pairs))

    def record(self, session_id: str) -> Record | None:
        found: Record | None = self.run(self.store.load(store_key(session_id), self.clock()))
        return found

    def live_sessions(self, principal: str) -> int:
        return len(self.run(self.store.sessions_of(principal, self.clock())))

    def revoke_all(self, principal: str) -> int:
        count: int = self.run(self.store.delete_sessions_of(principal))
        return count

    def close(self) -> None:
        super().close()
        self.run(self._stores.aclose())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
        self.loop.close()


def _reply(status: int, body: bytes, headers: list[tuple[str, str]], cookies: list[str]) -> Reply:
    try:
        parsed = json.loads(body) if body else {}
    except ValueError:
        parsed = {"text": body.decode("latin-1")}
    if not isinstance(parsed, dict):
        parsed = {"value": parsed}
    return Reply(status, parsed, cookies, {k.lower(): v for k, v in headers})


class WsgiDriver(SyncStoreDriver):
    """``sojourn.wsgi.SessionMiddleware`` around a plain WSGI app, on a sync store."""

    def __init__(self, clock: FakeClock, store: Any, **options: Any) -> None:
        super().__init__(clock, store)
        from sojourn.wsgi import SessionMiddleware

        def app(environ: dict[str, Any], start_response: Any) -> list[bytes]:
            session = environ["sojourn.session"]
            params = _params(environ.get("QUERY_STRING", ""))
            dict(session)
            GATES.reach(params.get("gate"))
            body = json.dumps(sojourn_route(environ["PATH_INFO"], params, session)).encode()
            start_response("200 OK", [("Content-Type", "application/json")])
            return [body]

        self.app = SessionMiddleware(app, store, clock=clock, **options)

    def _request(self, path: str, query: str, session_id: str | None) -> Reply:
        return _werkzeug_call(self, self.app, path, query, session_id)


def _werkzeug_call(
    driver: Driver, app: Any, path: str, query: str, session_id: str | None
) -> Reply:
    from werkzeug.test import Client

    headers = {"Cookie": f"{driver.cookie_name}={session_id}"} if session_id else {}
    response = Client(app, use_cookies=False).get(
        path, query_string=query, headers=headers, base_url="https://testserver"
    )
    pairs = list(response.headers.items())
    return _reply(response.status_code, response.get_data(), pairs, driver.cookies_of(pairs))


class FlaskDriver(SyncStoreDriver):
    """``sojourn.flask.Sojourn`` on a Flask app; login and logout as Flask-Login does them."""

    cookie_name = "session"

    def __init__(self, clock: FakeClock, store: Any, **options: Any) -> None:
        super().__init__(clock, store)
        from flask import Flask, jsonify, request
        from flask import session as flask_session

        from sojourn.flask import Sojourn

        app = Flask(__name__)
        app.config.update(SESSION_COOKIE_SECURE=True, TESTING=True)

        def view(path: str) -> Any:
            session: Any = flask_session
            params = dict(request.args)
            data = dict(session)
            GATES.reach(params.get("gate"))
            if path == "read":
                return jsonify({"data": data, "principal": session.principal})
            if path == "write":
                session[params["k"]] = params["v"]
            elif path == "login":  # flask_login.login_user
                session[FLASK_LOGIN_KEY] = params["user"]
                session["_fresh"] = True
            elif path == "logout":  # flask_login.logout_user, then the app clears the rest
                session.pop(FLASK_LOGIN_KEY, None)
                session.clear()
            elif path == "regenerate":
                session.regenerate()
            return jsonify({"ok": True})

        app.add_url_rule("/<path>", view_func=view)
        Sojourn(app, store=store, clock=clock, **options)
        self.app = app

    def _request(self, path: str, query: str, session_id: str | None) -> Reply:
        return _werkzeug_call(self, self.app, path, query, session_id)


class DjangoDriver(SyncStoreDriver):
    """``SESSION_ENGINE = "sojourn.django"`` with Django's own middleware; login, logout and
    ``update_session_auth_hash`` as ``django.contrib.auth`` does them (their session writes)."""

    cookie_name = "sessionid"
    lost_status = 400  # Django's SessionInterrupted
    grace = False

    def __init__(self, clock: FakeClock, store: Any, **settings: Any) -> None:
        super().__init__(clock, store)
        from django.test import override_settings

        self._settings = override_settings(
            SOJOURN_STORE=store,
            SOJOURN_CLOCK=clock,
            ROOT_URLCONF="tests.races.django_urls",
            MIDDLEWARE=["sojourn.django.SessionMiddleware"],
            **settings,
        )
        self._settings.enable()

    def _request(self, path: str, query: str, session_id: str | None) -> Reply:
        from django.test import Client

        client = Client(raise_request_exception=False)
        if session_id:
            client.cookies[self.cookie_name] = session_id
        response = client.get(path + ("?" + query if query else ""), secure=True)
        lines = [m.OutputString() for m in response.cookies.values() if m.key == self.cookie_name]
        pairs = [(k, v) for k, v in response.items()]
        return _reply(response.status_code, response.content, pairs, lines)

    def close(self) -> None:
        super().close()
        self._settings.disable()


# -- stores ------------------------------------------------------------------------------------


@contextlib.contextmanager
def sync_store(name: str, tmp_path: Path) -> Iterator[Any]:
    """A fresh sync store of kind ``name`` on the real server, cleaned up afterwards."""
    if name == "memory":
        from sojourn import MemoryStore

        store: Any = MemoryStore()
        yield store
        store.close()
    elif name == "sqlite":
        from sojourn.stores.sqlite import SQLiteStore

        store = SQLiteStore(tmp_path / f"races-{secrets.token_hex(4)}.db")
        yield store
        store.close()
    elif name == "redis":
        from tests.integrations.stores import redis_store

        with redis_store(tmp_path) as made:
            yield made
    elif name == "postgres":
        from sojourn.stores.postgres import PostgresStore
        from tests.conformance.test_postgres import URL, drop, new_table

        table = new_table()
        drop(table)
        store = PostgresStore.from_url(URL, table=table, max_size=20)
        try:
            yield store
        finally:
            store.close()
            drop(table)
    elif name == "mysql":
        from sojourn.stores.mysql import MySQLStore
        from tests.conformance.test_mysql import URL as MYSQL_URL
        from tests.conformance.test_mysql import drop as mysql_drop
        from tests.conformance.test_mysql import new_table as mysql_table

        table = mysql_table()
        mysql_drop(table)
        store = MySQLStore.from_url(MYSQL_URL, table=table)
        try:
            yield store
        finally:
            store.close()
            mysql_drop(table)
    else:
        raise ValueError(name)


def async_store(name: str, tmp_path: Path) -> Callable[[], Any]:
    """A factory of the async context manager for a fresh async store of kind ``name``."""
    from tests.asgi import stores

    factory = stores.available()[name]
    return lambda: factory(tmp_path)


@contextlib.contextmanager
def driver(adapter: str, store: str, tmp_path: Path, **options: Any) -> Iterator[Driver]:
    """The driver for ``adapter`` on a fresh ``store``; ``options`` are the adapter's (for
    Django, ``rotate_every`` becomes ``SOJOURN_ROTATE_EVERY``)."""
    clock = FakeClock()
    made: Driver
    if adapter == "asgi":
        made = AsgiDriver(clock, async_store(store, tmp_path), **options)
        try:
            yield made
        finally:
            made.close()
        return
    with sync_store(store, tmp_path) as backing:
        if adapter == "wsgi":
            made = WsgiDriver(clock, backing, **options)
        elif adapter == "flask":
            made = FlaskDriver(clock, backing, **options)
        elif adapter == "django":
            settings = {}
            if "rotate_every" in options:
                settings["SOJOURN_ROTATE_EVERY"] = options["rotate_every"]
            made = DjangoDriver(clock, backing, **settings)
        else:
            raise ValueError(adapter)
        try:
            yield made
        finally:
            made.close()
