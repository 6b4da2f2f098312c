"""Fuzz targets through whole adapters, in process, on memory stores: ASGI, WSGI, Flask, Django.

Each adapter is built three times over one store, with the cookie, header and query transports,
and each hostile request goes to one of them, then through :func:`._checks.check`. The app
behind the adapter reads, writes, logs in or logs out, as the request's ``action`` says, so the
checks see new IDs issued, IDs rotated and sessions ended, not only reads. WSGI environs are
built as a server builds them: bytes decoded as latin-1, repeated ``Cookie`` lines joined with
``"; "`` or ``", "``, other repeated headers with ``", "``; ASGI scopes carry the raw lines.
"""

from __future__ import annotations

import asyncio
import io
import random
import sys
import time
import traceback
from collections.abc import Callable, Iterable
from typing import Any

from sojourn import AsyncMemoryStore, MemoryStore
from sojourn._core.transport import HeaderTransport, QueryTransport, Transport

from .._wsgi import run_wsgi
from ._checks import Failure, Issued, check, lost_race
from ._inputs import Hostile, Request

Answer = tuple[int, list[tuple[str, str]], bytes]
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]
TRANSPORT_WEIGHTS = {"cookie": 0.7, "header": 0.15, "query": 0.15}


def transports() -> dict[str, Transport | None]:
    """The three transports each adapter is built with (``None``: its default, the cookie)."""
    return {"cookie": None, "header": HeaderTransport(), "query": QueryTransport()}


def method(request: Request) -> str:
    return "GET" if request.action == "read" else "POST"


# -- WSGI-shaped adapters (Sojourn's WSGI middleware, Flask, Django) ------------------------------


def environ(request: Request, rng: random.Random) -> dict[str, Any]:
    env: dict[str, Any] = {
        "REQUEST_METHOD": method(request),
        "SCRIPT_NAME": "",
        "PATH_INFO": "/" + request.action,
        "QUERY_STRING": request.query.decode("latin-1"),
        "SERVER_NAME": "testserver",
        "SERVER_PORT": "443",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_HOST": "testserver",
        "CONTENT_LENGTH": "0",
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https",
        "wsgi.input": io.BytesIO(b""),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": False,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    if request.cookies:
        joiner = "; " if rng.random() < 0.8 else ", "
        env["HTTP_COOKIE"] = joiner.join(line.decode("latin-1") for line in request.cookies)
    if request.authorization:
        env["HTTP_AUTHORIZATION"] = ", ".join(v.decode("latin-1") for v in request.authorization)
    if request.token:
        env["HTTP_X_SESSION_TOKEN"] = ", ".join(v.decode("latin-1") for v in request.token)
    return env


def call_wsgi(app: WSGIApp, env: dict[str, Any]) -> Answer:
    answered = run_wsgi(app, env)
    if answered is None:
        raise Failure("the application never started a response")
    return answered


def plain_wsgi_app(env: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    from sojourn.wsgi import get_session

    session = get_session(env)
    act(session, env["PATH_INFO"][1:])
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]


def act(session: Any, action: str) -> None:
    """What the fuzzed apps do with a Sojourn session (``Session`` or ``FlaskSession``)."""
    if action == "write":
        session["n"] = int(session.get("n", 0)) + 1
    elif action == "login":
        session.login("fuzz-user")
    elif action == "logout":
        session.invalidate()
    else:
        session.get("n")


class Target:
    """An adapter under fuzz: its apps per transport, its cookie name, the IDs it issued."""

    name = ""
    cookie_name = ""
    note = ""  # a limit of this run the report should state
    conflicts = 0  # 409s for a rotated or ended session: clean, counted apart

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed ^ 0xADA)
        self.issued = Issued()
        self.hostile = Hostile(seed, self.cookie_name, self.issued.live)

    def answer(self, transport: str, request: Request) -> Answer:
        raise NotImplementedError

    def run_one(self, request: Request) -> None:
        names, weights = zip(*TRANSPORT_WEIGHTS.items(), strict=True)
        transport = self.rng.choices(names, weights)[0]
        started = time.perf_counter()
        try:
            status, headers, body = self.answer(transport, request)
        except Failure:
            raise
        except Exception as exc:
            where = traceback.extract_tb(exc.__traceback__)[-1]
            raise Failure(
                f"{transport}: {type(exc).__name__} escaped at {where.filename}:{where.lineno}"
            ) from exc
        elapsed = time.perf_counter() - started
        try:
            check(request, status, headers, body, elapsed, self.cookie_name, self.issued)
        except Failure as exc:
            raise Failure(f"{transport} {request.action}: {exc}") from None
        if lost_race(status, headers):
            self.conflicts += 1

    def close(self) -> None:
        """Release what the target holds (event loops); stores are in memory."""


class WSGITarget(Target):
    name = "wsgi"
    cookie_name = "__Host-sid"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        from sojourn.wsgi import SessionMiddleware

        store = MemoryStore()
        self.apps: dict[str, WSGIApp] = {
            label: SessionMiddleware(plain_wsgi_app, store=store, transport=transport)
            for label, transport in transports().items()
        }

    def answer(self, transport: str, request: Request) -> Answer:
        return call_wsgi(self.apps[transport], environ(request, self.rng))


class FlaskTarget(Target):
    name = "flask"
    cookie_name = "session"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        from flask import Flask

        from sojourn.flask import Sojourn, current_session

        def view(action: str) -> str:
            act(current_session(), action)
            return "ok"

        store = MemoryStore()
        self.apps: dict[str, WSGIApp] = {}
        for label, transport in transports().items():
            app = Flask(f"fuzz_{label}")
            app.config.update(SECRET_KEY="fuzz-only", PROPAGATE_EXCEPTIONS=True)
            app.add_url_rule("/<action>", "act", view, methods=["GET", "POST"])
            options: dict[str, Any] = {} if transport is None else {"transport": transport}
            Sojourn(app, store=store, **options)
            self.apps[label] = app.wsgi_app

    def answer(self, transport: str, request: Request) -> Answer:
        return call_wsgi(self.apps[transport], environ(request, self.rng))


DJANGO_SETTINGS: dict[str, Any] = {
    "SECRET_KEY": "fuzz-only-not-a-secret",
    "DEBUG": False,
    "ALLOWED_HOSTS": ["testserver"],
    "USE_TZ": True,
    "INSTALLED_APPS": ["django.contrib.sessions"],
    "DATABASES": {},
}
"""Settings for a process where Django is not configured yet (``make fuzz``); under pytest the
tests' settings stand and the fuzz overrides only what it needs."""


def quadratic_unquote() -> bool:
    """Whether this CPython's ``http.cookies._unquote`` is quadratic in backslashes
    (CVE-2024-7592, fixed in 3.11.10, 3.12.6 and 3.13). Django's ``request.COOKIES`` uses it,
    and Django's ``SessionMiddleware`` (ours extends it) reads ``request.COOKIES``."""
    return sys.version_info < (3, 11, 10) or (3, 12) <= sys.version_info < (3, 12, 6)


class DjangoTarget(Target):
    name = "django"
    cookie_name = "sessionid"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        if quadratic_unquote():
            self.hostile.max_backslashes = 3000  # 30,000 take seconds in Django's parser
            self.note = (
                f"Python {sys.version.split()[0]} has CVE-2024-7592 (quadratic "
                "http.cookies._unquote, behind Django's request.COOKIES): backslash runs "
                "capped at 3000 for this target; upgrade to 3.11.10+ to fuzz the full length"
            )
        import django
        from django.conf import settings
        from django.core.handlers.wsgi import WSGIHandler
        from django.test import override_settings

        if not settings.configured:
            settings.configure(**DJANGO_SETTINGS)
            django.setup()
        self.store = MemoryStore()
        self.overrides = override_settings(
            ROOT_URLCONF="benchmarks.fuzz._django_urls",
            MIDDLEWARE=["sojourn.django.SessionMiddleware"],
            SESSION_ENGINE="sojourn.django",
            SOJOURN_STORE=self.store,
            SESSION_COOKIE_NAME=self.cookie_name,
            SESSION_COOKIE_SECURE=True,
            ALLOWED_HOSTS=["testserver"],
            DEBUG=False,
            DEBUG_PROPAGATE_EXCEPTIONS=True,
        )
        self.overrides.enable()
        self.apps: dict[str, WSGIApp] = {}
        for label, transport in transports().items():
            with override_settings(SOJOURN_TRANSPORT=transport):
                self.apps[label] = WSGIHandler()  # the middleware reads the setting once, here

    def answer(self, transport: str, request: Request) -> Answer:
        return call_wsgi(self.apps[transport], environ(request, self.rng))

    def close(self) -> None:
        self.overrides.disable()


# -- ASGI ------------------------------------------------------------------------------------------


async def plain_asgi_app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    act(scope["session"], scope["path"][1:])
    await send({"type": "http.response.start", "status": 200, "headers": [(b"x-app", b"1")]})
    await send({"type": "http.response.body", "body": b"ok"})


async def call_asgi(app: Any, request: Request) -> Answer:
    """One request through an ASGI app; after the (empty) body, ``receive`` waits for ever, as
    a client that stays connected (Django listens for a disconnect meanwhile)."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method(request),
        "scheme": "https",
        "path": "/" + request.action,
        "raw_path": ("/" + request.action).encode(),
        "query_string": request.query,
        "root_path": "",
        "headers": [(b"host", b"testserver"), *request.headers()],
        "client": ("127.0.0.1", 1),
        "server": ("testserver", 443),
    }
    messages: list[dict[str, Any]] = []
    sent_body = False

    async def receive() -> dict[str, Any]:
        nonlocal sent_body
        if not sent_body:
            sent_body = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await asyncio.Event().wait()  # cancelled when the app is done
        raise AssertionError("unreachable")

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    await app(scope, receive, send)
    start = next((m for m in messages if m["type"] == "http.response.start"), None)
    if start is None:
        raise Failure("no http.response.start")
    headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in start["headers"]]
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return int(start["status"]), headers, body


class ASGITarget(Target):
    name = "asgi"
    cookie_name = "__Host-sid"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        from sojourn.asgi import SessionMiddleware

        store = AsyncMemoryStore()
        self.apps: dict[str, Any] = {
            label: SessionMiddleware(plain_asgi_app, store=store, transport=transport)
            for label, transport in transports().items()
        }
        self.loop = asyncio.new_event_loop()

    def answer(self, transport: str, request: Request) -> Answer:
        return self.loop.run_until_complete(call_asgi(self.apps[transport], request))

    def close(self) -> None:
        self.loop.close()


class DjangoASGITarget(DjangoTarget):
    """Django through its ASGI handler: the ``Cookie`` lines come from the scope, one by one."""

    name = "django-asgi"

    def __init__(self, seed: int) -> None:
        super().__init__(seed)
        from django.core.handlers.asgi import ASGIHandler
        from django.test import override_settings

        self.asgi_apps: dict[str, Any] = {}
        for label, transport in transports().items():
            with override_settings(SOJOURN_TRANSPORT=transport):
                self.asgi_apps[label] = ASGIHandler()
        self.loop = asyncio.new_event_loop()

    def answer(self, transport: str, request: Request) -> Answer:
        return self.loop.run_until_complete(call_asgi(self.asgi_apps[transport], request))

    def close(self) -> None:
        self.loop.close()
        super().close()


ADAPTERS: dict[str, type[Target]] = {
    "asgi": ASGITarget,
    "wsgi": WSGITarget,
    "flask": FlaskTarget,
    "django": DjangoTarget,
    "django-asgi": DjangoASGITarget,
}

__all__ = ["ADAPTERS", "Target"]
