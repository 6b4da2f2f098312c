"""WSGI session middleware: Flask, Django, Bottle, Pyramid, Falcon, or any WSGI app.

The same behaviour as the ASGI middleware, for threaded servers. The session is loaded before
the application runs (no store call when the request carries no well-formed ID) and placed at
``environ["sojourn.session"]``; the manager at ``environ["sojourn.manager"]``. The commit runs
inside ``start_response``, because headers can only be added before the response starts: the
application's own ``start_response`` call saves the session and adds ``Set-Cookie`` (when an ID
is issued or cleared) and ``Vary`` (when the session was used). A middleware given a ``name``
puts its session at ``environ["sojourn.sessions"][name]`` instead, so that several stack, each
with its own cookie, store and policy (see :mod:`._named`).

Failure policy (SEC-48): a store that is down answers ``503`` with a short text body, before the
application runs (on load) or instead of its response (on commit), so no cookie ever points at
unsaved state. ``on_store_error="anonymous"`` serves the request with a fresh session whose
changes are discarded. Responses with a 5xx status, and applications that raise, are not
committed (SEC-59).

Thread safety (SEC-56): every piece of per-request state lives in the environ or in locals of
``__call__``; the middleware object holds only configuration and the manager.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Iterator
from types import TracebackType
from typing import Any, Protocol

from .._core.errors import ConfigurationError, SessionError, SessionGone, StoreUnavailable
from .._core.headers import merge_response_headers
from .._core.opening import (
    CONFLICT_BODY,
    UNAVAILABLE_BODY,
    UNAVAILABLE_HEADERS,
    conflict_headers,
)
from .._core.session import Session
from .._sync.manager import Manager
from ..stores._diagnose import cause
from ..stores.base import ClientSideStore, Store
from ._named import ISSUED_KEY, MANAGERS_KEY, SESSIONS_KEY, check_apart, check_name, place, stacked
from ._options import AdapterOptions, build_options

logger = logging.getLogger("sojourn")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None]
Environ = dict[str, Any]


class StartResponse(Protocol):
    """PEP 3333's ``start_response`` callable."""

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = ...,
        /,
    ) -> Callable[[bytes], object]: ...


WSGIApp = Callable[[Environ, StartResponse], Iterable[bytes]]


def request_headers(environ: Environ) -> list[tuple[str, str]]:
    """The request headers of a WSGI environ as ``(lower-case name, value)`` pairs."""
    headers: list[tuple[str, str]] = []
    for key, value in environ.items():
        if key.startswith("HTTP_") and isinstance(value, str):
            headers.append((key[5:].replace("_", "-").lower(), value))
    return headers


def get_session(environ: Environ, name: str | None = None) -> Session:
    """The session the middleware (given ``name``, if any) installed for this request.

    Raises:
        ConfigurationError: no middleware of that name wraps the application.
    """
    try:
        session: Session = (
            environ["sojourn.session"] if name is None else environ[SESSIONS_KEY][name]
        )
    except KeyError:
        named = "" if name is None else f"(..., name={name!r})"
        raise ConfigurationError(
            f"no session on this request: wrap the application in "
            f"sojourn.wsgi.SessionMiddleware{named}"
        ) from None
    return session


def get_manager(environ: Environ, name: str | None = None) -> Manager:
    """The manager the middleware (given ``name``, if any) installed, for "your sessions"
    pages and revocation."""
    manager: Manager = environ["sojourn.manager"] if name is None else environ[MANAGERS_KEY][name]
    return manager


class _CommitFailed(Exception):
    """Raised through the application when the commit in ``start_response`` failed: the
    store was down (``reason`` empty: 503), or the changes did not land (``reason`` names
    why: 409). ``owner`` is the request whose commit failed: with several middlewares
    stacked, only its own middleware answers it."""

    def __init__(self, owner: object, reason: str = "") -> None:
        super().__init__(reason)
        self.owner = owner
        self.reason = reason


class _Request:
    """The state of one request: created per call, never shared between threads."""

    __slots__ = (
        "committed",
        "environ",
        "failed",
        "headers",
        "manager",
        "session",
        "start_response",
        "vary",
    )

    def __init__(
        self,
        manager: Manager,
        session: Session,
        start_response: StartResponse,
        environ: Environ,
    ) -> None:
        self.manager = manager
        self.environ = environ
        self.session = session
        self.start_response = start_response
        self.committed = False
        self.failed = False
        self.headers: tuple[tuple[str, str], ...] = ()
        self.vary: str | None = None

    def __call__(
        self,
        status: str,
        headers: list[tuple[str, str]],
        exc_info: ExcInfo | None = None,
        /,
    ) -> Callable[[bytes], object]:
        code = int(status[:3]) if status[:3].isdigit() else 500
        if not self.committed and code < 500:
            try:
                outcome = self.manager.commit(self.session, final=True)
            except StoreUnavailable as exc:
                logger.error(
                    "session.store_error: the session store failed on commit: %s", cause(exc)
                )
                self.failed = True
                raise _CommitFailed(self) from exc
            except SessionGone as exc:
                self.failed = True
                raise _CommitFailed(self, exc.reason) from exc
            self.committed = True
            self.headers, self.vary = outcome.headers, outcome.vary
            if outcome.headers:  # rare: an ID issued or cleared; a sibling may need them
                self.environ.setdefault(ISSUED_KEY, []).extend(outcome.headers)
        elif self.session.accessed:
            # not saved (5xx, SEC-59), but the response still depended on the session
            self.vary = self.vary or self.manager.engine.transport.vary
        if self.headers or self.vary:
            headers = merge_response_headers(headers, self.headers, self.vary)
        return self.start_response(status, headers, exc_info)

    def late_commit(self) -> None:
        """Save changes made while the body streamed, when they need no new cookie."""
        if self.committed and self.session.accessed:
            try:
                self.manager.commit(self.session, final=True)
            except SessionError as exc:
                logger.exception(
                    "session.store_error: changes after the response start were lost: %s",
                    cause(exc),
                )


class _Body:
    """The application's body, with the late commit run when the server closes it."""

    __slots__ = ("_iterator", "_request", "_result")

    def __init__(self, result: Iterable[bytes], body: Iterator[bytes], request: _Request) -> None:
        self._result = result
        self._request = request
        self._iterator = body

    def __iter__(self) -> Iterator[bytes]:
        return self._iterator

    def close(self) -> None:
        try:
            close = getattr(self._result, "close", None)
            if close is not None:
                close()
        finally:
            self._request.late_commit()


def _chain(first: list[bytes], rest: Iterator[bytes]) -> Iterator[bytes]:
    yield from first
    yield from rest


def _close(result: Iterable[bytes]) -> None:
    close = getattr(result, "close", None)
    if close is not None:
        close()


class SessionMiddleware:
    """WSGI middleware giving every request a server-side session.

    Args:
        app: the WSGI application to wrap.
        store: a sync store (:class:`~sojourn.MemoryStore`, the SQLite store, a server store).
        clock: the time source, in epoch seconds; tests inject a fake one.
        **options: ``idle_timeout``, ``lifetime``, ``renew_interval`` (seconds or timedelta),
            ``cookie`` (:class:`~sojourn.CookieSettings`), ``transport``, ``limits``,
            ``on_store_error`` (``"fail"`` or ``"anonymous"``), ``track_metadata``,
            ``rotate_every``, ``rotation_grace``, ``on_lost_write``, ``remember_idle_timeout``,
            ``remember_lifetime``, ``anonymous_idle_timeout``, ``anonymous_lifetime``,
            ``shape``, ``migrate``, ``engine``, ``hooks`` (plain functions only), ``metrics``,
            ``name`` — the same as the ASGI middleware.

    Raises:
        ConfigurationError: invalid options, or another Sojourn middleware inside ``app`` has
            the same name or reads the same cookie.
    """

    def __init__(
        self,
        app: WSGIApp,
        store: Store | ClientSideStore,
        *,
        clock: Callable[[], float] = time.time,
        name: str | None = None,
        **options: Any,
    ) -> None:
        self.app = app
        self.name = check_name(name)
        self.options: AdapterOptions = build_options(**options)
        self.manager = Manager(
            store,
            self.options.engine,
            clock=clock,
            on_store_error=self.options.on_store_error,
            track_metadata=self.options.track_metadata,
            on_lost_write=self.options.on_lost_write,
            hooks=self.options.sync_hooks(),
            metrics=self.options.metrics,
        )
        inside = [(m.name, m.manager.engine.transport) for m in stacked(app, SessionMiddleware)]
        check_apart(name, self.options.engine.transport, inside)

    def __call__(self, environ: Environ, start_response: StartResponse) -> Iterable[bytes]:
        opened = self.manager.open(
            request_headers(environ),
            environ.get("QUERY_STRING", ""),
            user_agent=environ.get("HTTP_USER_AGENT"),
            client_ip=environ.get("REMOTE_ADDR"),
        )
        session = opened.session
        if self.name is None:
            environ["sojourn.manager"] = self.manager
            environ["sojourn.session"] = session
        else:
            place(environ, self.name, session, self.manager)
        if opened.refuse:
            return self._refuse(environ, start_response)
        if not opened.save:  # anonymous while the store is down: never committed
            return self.app(environ, start_response)
        request = _Request(self.manager, session, start_response, environ)
        try:
            result = self.app(environ, request)
        except _CommitFailed as failed:
            if failed.owner is not request:  # another session's, for its own middleware
                raise
            return self._refuse(environ, start_response, failed.reason)
        # An application may call start_response lazily, on the first iteration of its body;
        # pull that first chunk here so a commit failure can still become a clean 503.
        if request.committed:
            return _Body(result, iter(result), request)
        iterator = iter(result)
        first: list[bytes] = []
        try:
            for chunk in iterator:
                first.append(chunk)
                break
        except _CommitFailed as failed:
            _close(result)
            if failed.owner is not request:
                raise
            return self._refuse(environ, start_response, failed.reason)
        except BaseException:
            _close(result)
            raise
        return _Body(result, _chain(first, iterator), request)

    @staticmethod
    def _refuse(environ: Environ, start_response: StartResponse, lost: str = "") -> list[bytes]:
        """503 when the store is down; 409 naming ``lost`` when the changes did not land.

        Either carries the ``Set-Cookie`` of another session already committed on this
        response (named sessions): its record is saved, so its cookie must still go out."""
        issued = [(k, v) for k, v in environ.get(ISSUED_KEY, ()) if k != "cache-control"]
        if lost:
            start_response("409 Conflict", [*conflict_headers(lost), *issued])
            return [CONFLICT_BODY]
        start_response("503 Service Unavailable", [*UNAVAILABLE_HEADERS, *issued])
        return [UNAVAILABLE_BODY]


__all__ = ["SessionMiddleware", "get_manager", "get_session", "request_headers"]
