"""µs per request for Django session engines: ``sojourn.django`` beside Django's own.

Run: ``.venv/bin/python -m benchmarks.django_bench [--n 1000] [--rounds 7]``

One minimal Django project, configured in-process (``settings.configure`` once, the URLconf a
module object built here), driven through WSGI with no server in front, with each engine:

- Django with no session middleware at all: the framework's own cost, subtracted from every row;
- ``django.contrib.sessions.backends.signed_cookies`` (no server-side state);
- ``django.contrib.sessions.backends.cache`` on ``LocMemCache`` (in-process, no network);
- ``django.contrib.sessions.backends.db`` on SQLite (a temporary file, the sessions table made
  by ``migrate``; ``CONN_MAX_AGE = None``, one persistent connection, as a tuned deployment has
  it: Django's default of 0 would reopen the file on every request);
- ``sojourn.django`` with ``sojourn.django.SessionMiddleware``, on ``MemoryStore`` and on
  ``SQLiteStore`` (a temporary file).

How the engines are switched: Django's ``SessionMiddleware`` reads ``SESSION_ENGINE`` once, when
it is built, so each engine gets its own WSGI handler (``get_wsgi_application()`` called after
``SESSION_ENGINE`` and ``MIDDLEWARE`` are assigned on ``settings``). Every other setting the
engines read at request time is the same for all of them, except ``SOJOURN_STORE``, which the
two Sojourn rows hold as store objects and which is assigned before each of their cells is
timed, never inside the timed loop. At set-up, each engine's write sets a cookie, and the
read request that carries it must answer the value written (so *read* reads a live session).

Requests: *anonymous* (no cookie, a view that reads one key), *read* (a live session, the same
view) and *write* (a live session, one key incremented). Variants are interleaved: each round
measures every cell once, in turn, and the table gives the median round, so a noisy moment on a
shared machine hits every variant alike. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import io
import statistics
import tempfile
import time
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ._overhead import overhead_table
from ._wsgi import call_wsgi, wsgi_environ

REQUESTS = ("anonymous", "read", "write")
BARE = "Django, no session"

DJANGO_MIDDLEWARE = "django.contrib.sessions.middleware.SessionMiddleware"
SOJOURN_MIDDLEWARE = "sojourn.django.SessionMiddleware"

# setup name -> (SESSION_ENGINE, session middleware, SOJOURN_STORE kind or None)
ENGINES: dict[str, tuple[str, str, str | None]] = {
    "signed_cookies": (
        "django.contrib.sessions.backends.signed_cookies",
        DJANGO_MIDDLEWARE,
        None,
    ),
    "cache (LocMemCache)": ("django.contrib.sessions.backends.cache", DJANGO_MIDDLEWARE, None),
    "db (SQLite file)": ("django.contrib.sessions.backends.db", DJANGO_MIDDLEWARE, None),
    "sojourn.django (MemoryStore)": ("sojourn.django", SOJOURN_MIDDLEWARE, "memory"),
    "sojourn.django (SQLiteStore)": ("sojourn.django", SOJOURN_MIDDLEWARE, "sqlite"),
}
SETUPS = tuple(ENGINES)
COOKIE_PEER, DB_PEER = "signed_cookies", "db (SQLite file)"


def urlconf() -> types.ModuleType:
    """A URLconf module object with the three views (``ROOT_URLCONF`` may be a module)."""
    from django.http import HttpRequest, HttpResponse
    from django.urls import path

    def read(request: HttpRequest) -> HttpResponse:
        return HttpResponse(str(request.session.get("n", "")))

    def write(request: HttpRequest) -> HttpResponse:
        request.session["n"] = int(request.session.get("n", 0)) + 1
        return HttpResponse("ok")

    def plain(request: HttpRequest) -> HttpResponse:
        return HttpResponse("")

    module = types.ModuleType("benchmarks.django_bench_urls")
    module.urlpatterns = [  # type: ignore[attr-defined]  # a URLconf's one attribute
        path("read", read),
        path("write", write),
        path("plain", plain),
    ]
    return module


def configure(tmp: Path) -> None:
    """Configure Django once for the process, with the sessions table on a SQLite file."""
    import django
    from django.conf import settings
    from django.core.management import call_command

    if settings.configured:
        raise SystemExit("django_bench configures Django itself: run it in a fresh process")
    settings.configure(
        SECRET_KEY="bench-only-not-a-secret",
        DEBUG=False,
        ALLOWED_HOSTS=["testserver"],
        USE_TZ=True,
        ROOT_URLCONF=urlconf(),
        INSTALLED_APPS=["django.contrib.sessions"],
        MIDDLEWARE=[],
        DATABASES={
            "default": {
                "ENGINE": "django.db.backends.sqlite3",
                "NAME": str(tmp / "django.db"),
                "CONN_MAX_AGE": None,
            }
        },
        CACHES={"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        DEFAULT_AUTO_FIELD="django.db.models.AutoField",
        SESSION_COOKIE_SECURE=True,
        SOJOURN_STORE=None,
    )
    django.setup()
    call_command("migrate", run_syncdb=True, verbosity=0)


def handler(engine: str | None, middleware: str | None) -> Any:
    """A WSGI handler built with this engine and middleware (read once, at construction)."""
    from django.conf import settings
    from django.core.wsgi import get_wsgi_application

    if engine is not None:
        settings.SESSION_ENGINE = engine
    settings.MIDDLEWARE = [middleware] if middleware is not None else []
    return get_wsgi_application()


def read_body(app: Any, environ: dict[str, Any]) -> bytes:
    """The response body of one request (set-up checks only; the timed calls use call_wsgi)."""
    env = dict(environ)
    env["wsgi.input"] = io.BytesIO()
    body = app(env, lambda status, headers, exc_info=None: lambda data: None)
    try:
        return b"".join(body)
    finally:
        if hasattr(body, "close"):
            body.close()


Cell = tuple[str, str]


def cells(tmp: Path) -> tuple[dict[Cell, Callable[[], Any]], dict[Cell, object]]:
    """Every (setup, request) cell as a zero-argument call, and the store each one needs."""
    from django.conf import settings

    from sojourn import MemoryStore
    from sojourn.stores.sqlite import SQLiteStore

    stores: dict[str, object] = {"memory": MemoryStore(), "sqlite": SQLiteStore(tmp / "sj.db")}
    bare = handler(None, None)
    found = {(BARE, "plain"): caller(bare, wsgi_environ("/plain", None))}
    needs: dict[Cell, object] = {}
    for setup, (engine, middleware, kind) in ENGINES.items():
        store = stores[kind] if kind is not None else None
        settings.SOJOURN_STORE = store
        app = handler(engine, middleware)
        status, cookies = call_wsgi(app, wsgi_environ("/write", None))
        assert status == 200, (setup, status)
        assert len(cookies) == 1, (setup, cookies)
        cookie = cookies[0].strip()  # Django's Set-Cookie value starts with a space
        assert cookie.startswith("sessionid="), (setup, cookies)
        environs = {
            "anonymous": wsgi_environ("/read", None),
            "read": wsgi_environ("/read", cookie),
            "write": wsgi_environ("/write", cookie),
        }
        assert read_body(app, environs["anonymous"]) == b"", setup
        assert read_body(app, environs["read"]) == b"1", (setup, "the cookie reads no session")
        for request, environ in environs.items():
            found[(setup, request)] = caller(app, environ)
            needs[(setup, request)] = store
    return found, needs


def caller(app: Any, environ: dict[str, Any]) -> Callable[[], Any]:
    return lambda: call_wsgi(app, environ)


def measure(fn: Callable[[], Any], n: int, store: object) -> float:
    from django.conf import settings

    settings.SOJOURN_STORE = store  # outside the timed loop; None for Django's engines
    start = time.perf_counter()
    for _ in range(n):
        fn()
    return (time.perf_counter() - start) / n * 1e6


def table(medians: dict[tuple[str, str], float]) -> str:
    return overhead_table(
        medians,
        baseline=(BARE, "plain"),
        title="Django with no session middleware",
        setups=SETUPS,
        requests=REQUESTS,
        peers=[("cookie", COOKIE_PEER), ("db", DB_PEER)],
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.django_bench", description=__doc__)
    parser.add_argument("--n", type=int, default=1000, help="requests per cell per round")
    parser.add_argument("--rounds", type=int, default=7, help="interleaved rounds (median kept)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        configure(Path(tmp))
        calls, needs = cells(Path(tmp))
        for cell, fn in calls.items():  # warm up every cell
            measure(fn, min(200, args.n), needs.get(cell))
        samples: dict[Cell, list[float]] = {cell: [] for cell in calls}
        for _ in range(args.rounds):
            for cell, fn in calls.items():
                samples[cell].append(measure(fn, args.n, needs.get(cell)))
    medians = {cell: statistics.median(values) for cell, values in samples.items()}
    print(table(medians))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
