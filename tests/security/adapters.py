"""Every adapter behind one raw interface, for the cross-adapter security tests.

Requests are built by hand (a WSGI environ, an ASGI scope) rather than through the frameworks'
test clients, so a test controls every byte: duplicate ``Cookie`` lines, CR and LF inside a
value, ``X-Forwarded-Proto`` on a plain-HTTP request. Each adapter serves the same two routes
over an in-memory store: ``/write?user=<name>`` stores ``user`` and ``/read`` answers
``{"user": <the stored name or null>}``.
"""

from __future__ import annotations

import asyncio
import io
import json
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any, NamedTuple
from urllib.parse import parse_qs

from benchmarks._wsgi import run_wsgi

from sojourn import AsyncMemoryStore, CookieSettings, MemoryStore
from sojourn.fastapi import SessionDep  # at module level: FastAPI resolves annotations here

ADAPTERS = ("asgi", "wsgi", "flask", "django", "fastapi", "litestar", "quart")


class Reply(NamedTuple):
    status: int
    headers: list[tuple[str, str]]  # names lower-cased, in order
    body: bytes

    def cookies(self, name: str) -> list[str]:
        """The ``Set-Cookie`` lines for ``name``."""
        lines = [v.strip() for k, v in self.headers if k == "set-cookie"]
        return [line for line in lines if line.startswith(name + "=")]

    def issued(self, name: str) -> str | None:
        """The value a ``Set-Cookie`` for ``name`` hands out (``None``: none, or a deletion)."""
        for line in self.cookies(name):
            value = line.split(";", 1)[0].split("=", 1)[1]
            if value:
                return value
        return None

    def user(self) -> object:
        return json.loads(self.body)["user"]


Header = tuple[str, str]


@dataclass
class Adapter:
    """One adapter's app and how to call it: ``request(path, headers, scheme=...)``."""

    name: str
    cookie: str
    call: Callable[[str, list[Header], str], Reply]
    closers: list[Callable[[], None]] = field(default_factory=list)

    def request(self, path: str, headers: Sequence[Header] = (), *, scheme: str = "https") -> Reply:
        return self.call(path, list(headers), scheme)

    def write(self, user: str, headers: Sequence[Header] = (), *, scheme: str = "https") -> Reply:
        return self.request(f"/write?user={user}", headers, scheme=scheme)

    def login_as(self, user: str) -> str:
        """A fresh live session holding ``user``; its ID."""
        issued = self.write(user).issued(self.cookie)
        assert issued is not None
        return issued


# -- WSGI -----------------------------------------------------------------------------------


def call_wsgi(app: Any, path: str, headers: list[Header], scheme: str) -> Reply:
    route, _, query = path.partition("?")
    environ: dict[str, Any] = {
        "REQUEST_METHOD": "GET",
        "SCRIPT_NAME": "",
        "PATH_INFO": route,
        "QUERY_STRING": query,
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443" if scheme == "https" else "80",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "127.0.0.1",
        "HTTP_HOST": "testserver",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": scheme,
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in headers:
        key = "HTTP_" + name.upper().replace("-", "_")
        if key in environ and key != "HTTP_HOST":  # how servers join repeated lines
            environ[key] += ("; " if key == "HTTP_COOKIE" else ", ") + value
        else:
            environ[key] = value
    answered = run_wsgi(app, environ)
    assert answered is not None, "the application never started a response"
    status, response_headers, body = answered
    return Reply(status, [(k.lower(), v) for k, v in response_headers], body)


def wsgi_read_write(environ: dict[str, Any], start_response: Any) -> Any:
    from sojourn.wsgi import get_session

    session = get_session(environ)
    if environ["PATH_INFO"] == "/write":
        session["user"] = parse_qs(environ["QUERY_STRING"])["user"][0]
        body = b'{"user": "written"}'
    else:
        body = json.dumps({"user": session.get("user")}).encode()
    start_response("200 OK", [("Content-Type", "application/json")])
    return [body]


def make_wsgi(secure: bool) -> Adapter:
    from sojourn.wsgi import SessionMiddleware

    cookie = CookieSettings() if secure else CookieSettings(name="sid", secure=False)
    app = SessionMiddleware(wsgi_read_write, store=MemoryStore(), cookie=cookie)
    return Adapter("wsgi", cookie.cookie_name, lambda p, h, s: call_wsgi(app, p, h, s))


def make_flask(secure: bool) -> Adapter:
    from tests.integrations.test_flask import make_app

    config = {} if secure else {"SESSION_COOKIE_NAME": "sid", "SESSION_COOKIE_SECURE": False}
    app = make_app(MemoryStore(), config=config)
    app.config["TESTING"] = False
    name = "__Host-sid" if secure else "sid"
    return Adapter("flask", name, lambda p, h, s: call_wsgi(app, p, h, s))


@contextmanager
def django_settings(secure: bool, store: MemoryStore) -> Iterator[None]:
    import django
    from django.conf import settings

    if not settings.configured:
        from tests.integrations import django_settings as module

        settings.configure(**{n: getattr(module, n) for n in dir(module) if n.isupper()})
        django.setup()
    from django.test import override_settings

    # Sojourn's middleware, as docs/frameworks/django.md asks: Django's own reads the key
    # through request.COOKIES, which keeps the last duplicate cookie (SEC-51).
    middleware = [
        "sojourn.django.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    with override_settings(
        SOJOURN_STORE=store, SESSION_COOKIE_SECURE=secure, MIDDLEWARE=middleware
    ):
        yield


def make_django(secure: bool) -> Adapter:
    stack = ExitStack()
    stack.enter_context(django_settings(secure, MemoryStore()))
    from django.core.handlers.wsgi import WSGIHandler

    app = WSGIHandler()
    adapter = Adapter("django", "sessionid", lambda p, h, s: call_wsgi(app, p, h, s))
    adapter.closers.append(stack.close)
    return adapter


# -- ASGI -----------------------------------------------------------------------------------


async def call_asgi_async(app: Any, path: str, headers: list[Header], scheme: str) -> Reply:
    route, _, query = path.partition("?")
    raw = [(b"host", b"testserver")] + [
        (k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers
    ]
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": scheme,
        "path": route,
        "raw_path": route.encode(),
        "query_string": query.encode(),
        "root_path": "",
        "headers": raw,
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 443 if scheme == "https" else 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []
    delivered = asyncio.Event()

    async def receive() -> dict[str, Any]:
        if not delivered.is_set():
            delivered.set()
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.sleep(3600)  # the client never disconnects mid-test
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    decoded = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in start["headers"]]
    return Reply(start["status"], decoded, body)


def asgi_adapter(name: str, app: Any, cookie: str) -> Adapter:
    runner = asyncio.Runner()
    adapter = Adapter(
        name, cookie, lambda p, h, s: runner.run(call_asgi_async(app, p, h, s)), [runner.close]
    )
    return adapter


def _asgi_cookie(secure: bool) -> CookieSettings:
    return CookieSettings() if secure else CookieSettings(name="sid", secure=False)


def make_asgi(secure: bool) -> Adapter:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    from sojourn.asgi import SessionMiddleware, get_session

    async def write(request: Request) -> JSONResponse:
        get_session(request)["user"] = request.query_params["user"]
        return JSONResponse({"user": "written"})

    async def read(request: Request) -> JSONResponse:
        return JSONResponse({"user": get_session(request).get("user")})

    app = Starlette(routes=[Route("/write", write), Route("/read", read)])
    cookie = _asgi_cookie(secure)
    wrapped = SessionMiddleware(app, store=AsyncMemoryStore(), cookie=cookie)
    return asgi_adapter("asgi", wrapped, cookie.cookie_name)


def make_fastapi(secure: bool) -> Adapter:
    from fastapi import FastAPI

    from sojourn.asgi import SessionMiddleware

    app = FastAPI()

    @app.get("/write")
    async def write(user: str, session: SessionDep) -> dict[str, str]:
        session["user"] = user
        return {"user": "written"}

    @app.get("/read")
    async def read(session: SessionDep) -> dict[str, Any]:
        return {"user": session.get("user")}

    cookie = _asgi_cookie(secure)
    app.add_middleware(SessionMiddleware, store=AsyncMemoryStore(), cookie=cookie)
    return asgi_adapter("fastapi", app, cookie.cookie_name)


def make_litestar(secure: bool) -> Adapter:
    from litestar import Litestar, Request, get
    from litestar.middleware import DefineMiddleware

    from sojourn.asgi import SessionMiddleware, get_session

    @get("/write")
    async def write(request: Request[Any, Any, Any], user: str) -> dict[str, str]:
        get_session(request)["user"] = user
        return {"user": "written"}

    @get("/read")
    async def read(request: Request[Any, Any, Any]) -> dict[str, Any]:
        return {"user": get_session(request).get("user")}

    cookie = _asgi_cookie(secure)
    middleware = DefineMiddleware(SessionMiddleware, store=AsyncMemoryStore(), cookie=cookie)
    app = Litestar(route_handlers=[write, read], middleware=[middleware])
    return asgi_adapter("litestar", app, cookie.cookie_name)


def make_quart(secure: bool) -> Adapter:
    from quart import Quart, request

    from sojourn.asgi import SessionMiddleware, get_session

    app = Quart(__name__)

    @app.get("/write")
    async def write() -> dict[str, str]:
        get_session(request)["user"] = request.args["user"]
        return {"user": "written"}

    @app.get("/read")
    async def read() -> dict[str, Any]:
        return {"user": get_session(request).get("user")}

    cookie = _asgi_cookie(secure)
    app.asgi_app = SessionMiddleware(app.asgi_app, store=AsyncMemoryStore(), cookie=cookie)  # type: ignore[method-assign]
    return asgi_adapter("quart", app, cookie.cookie_name)


MAKERS: dict[str, Callable[[bool], Adapter]] = {
    "asgi": make_asgi,
    "wsgi": make_wsgi,
    "flask": make_flask,
    "django": make_django,
    "fastapi": make_fastapi,
    "litestar": make_litestar,
    "quart": make_quart,
}


@contextmanager
def adapter(name: str, *, secure: bool = True) -> Iterator[Adapter]:
    made = MAKERS[name](secure)
    try:
        yield made
    finally:
        for close in reversed(made.closers):
            close()
