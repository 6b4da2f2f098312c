"""Pure-ASGI session middleware: Starlette, FastAPI, Litestar, Quart, or any ASGI app.

The session is loaded before the application runs (one store round trip, none when the request
carries no well-formed ID), placed at ``scope["session"]`` so that Starlette's and FastAPI's
``request.session`` work unchanged (a middleware given a ``name`` places its session at
``scope["sojourn.sessions"][name]`` instead, so several stack: see :mod:`._named`), and
committed when the response starts, because headers cannot be added later. A commit writes
only what changed; ``Set-Cookie`` is sent only when an ID is issued or cleared; ``Vary`` is
added whenever the session was used.

Failure policy (SEC-48): a store that is down answers ``503`` with a short body, before the
application runs (on load) or instead of its response (on commit), so no cookie ever points at
unsaved state. ``on_store_error="anonymous"`` serves the request with a fresh session whose
changes are discarded instead. Responses with a 5xx status are not committed (SEC-59).
WebSocket connections get the session read-only.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Iterable, MutableMapping, Sequence
from typing import Any, TypeVar

from .._async.manager import AsyncManager
from .._core.binding import Binding
from .._core.codec import DEFAULT_LIMITS, JSON, CodecLimits, ValueCodec
from .._core.cookies import CookieSettings
from .._core.errors import ConfigurationError, SessionError, SessionGone, StoreUnavailable
from .._core.events import AsyncEventHook
from .._core.headers import merge_response_headers
from .._core.observe import Observer
from .._core.opening import (
    CONFLICT_STATUS,
    UNAVAILABLE_BODY,
    UNAVAILABLE_HEADERS,
    UNAVAILABLE_STATUS,
    Outcome,
    conflict_body,
    conflict_headers,
)
from .._core.plan import Engine
from .._core.policy import DEFAULT_IDLE_TIMEOUT, DEFAULT_LIFETIME, DEFAULT_ROTATION_GRACE
from .._core.session import Session
from .._core.shape import Migrate
from .._core.transport import Transport
from ..stores._diagnose import cause
from ..stores.base import AsyncStore, ClientSideStore, Store
from ..stores.threaded import ThreadedStore as ThreadedStore
from ..stores.threaded import as_async_store as as_async_store
from ._named import ISSUED_KEY, MANAGERS_KEY, SESSIONS_KEY, check_apart, check_name, place, stacked
from ._options import AdapterOptions, OnCap, OnLostWrite, OnStoreError, Seconds, build_options

logger = logging.getLogger("sojourn")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[..., Awaitable[None]]
"""Any ASGI application. Loose on purpose: Starlette, Litestar and Quart each type the scope
differently (a dict, TypedDicts), and the middleware must wrap all of them without casts."""

T = TypeVar("T")


def get_session(request: Any, name: str | None = None) -> Session:
    """The typed session of a request (a Starlette ``Request``/``WebSocket``, or a scope).

    ``request.session`` works too for the unnamed session; this spelling tells a type checker
    it is a :class:`~sojourn.Session`, with ``login``, ``regenerate`` and ``invalidate``.

    Args:
        request: the request, the WebSocket or the scope.
        name: the ``name`` its middleware was given; ``None`` for the unnamed session.

    Raises:
        ConfigurationError: no middleware (of that name) wraps the application.
    """
    scope = getattr(request, "scope", request)
    try:
        session: Session = scope["session"] if name is None else scope[SESSIONS_KEY][name]
    except KeyError:
        named = "" if name is None else f"(..., name={name!r})"
        raise ConfigurationError(
            "no session on this request: wrap the application in "
            f"sojourn.asgi.SessionMiddleware{named}"
        ) from None
    return session


def get_manager(scope: Scope, name: str | None = None) -> AsyncManager:
    """The manager the middleware (named ``name``) installed, for "your sessions" pages and
    revocation."""
    manager: AsyncManager = scope["sojourn.manager"] if name is None else scope[MANAGERS_KEY][name]
    return manager


def _merged(raw: Iterable[tuple[bytes, bytes]], outcome: Outcome) -> list[tuple[bytes, bytes]]:
    if not isinstance(raw, list):
        raw = list(raw)  # ASGI allows any iterable, which may be read only once
    vary = outcome.vary
    if not outcome.headers and vary is not None:
        # The common case, a session used and nothing issued: add ``Vary`` unless the
        # application set one, without translating every header both ways (the length test
        # spares a lower-cased copy of every other name).
        for name, _ in raw:
            if len(name) == 4 and name.lower() == b"vary":
                break
        else:
            return [*raw, (b"vary", vary.encode("latin-1"))]
    existing = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in raw]
    merged = merge_response_headers(existing, outcome.headers, vary)
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in merged]


def _request_headers(raw: Iterable[tuple[bytes, bytes]]) -> list[tuple[str, str]]:
    """Every request header as text, names lower-cased (ASGI names are bytes)."""
    return [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw]


class SessionMiddleware:
    """ASGI middleware giving every request a server-side session.

    Args:
        app: the ASGI application to wrap.
        store: an async store, or a sync one (run in threads; the memory store directly), or
            a client-side ``CookieStore`` (the session sealed in the cookie).
        idle_timeout: seconds (or a timedelta) of inactivity that end a session (sliding).
        lifetime: seconds after creation or login that end a session regardless.
        renew_interval: the least time between renewals by read-only requests.
        cookie: cookie name and attributes (secure defaults); see :class:`CookieSettings`.
        transport: where the ID travels, instead of ``cookie``: ``HeaderTransport()`` or
            ``QueryTransport()``.
        limits: size and nesting limits of session values.
        on_store_error: ``"fail"`` answers 503 when the store is down; ``"anonymous"`` serves
            the request with a fresh session whose changes are discarded.
        track_metadata: record user agent and client IP for "your devices" pages.
        rotate_every: replace a session's ID once it is this old (periodic rotation, off by
            default); the previous ID serves requests in flight for ``rotation_grace`` seconds.
        on_lost_write: ``"conflict"`` answers ``409`` (``Sojourn-Session: rotated|ended``, no
            cookie) when a request's changes did not land because its session was rotated or
            ended meanwhile; ``"ignore"`` serves the application's response.
        remember_idle_timeout: the idle timeout of a session marked ``remember(True)``
            (default: ``idle_timeout``).
        remember_lifetime: the absolute lifetime of a remembered session, whose cookie is
            persistent up to it (default: ``lifetime``).
        anonymous_idle_timeout: the idle timeout of a session nobody logged in to (default:
            ``idle_timeout``).
        anonymous_lifetime: the absolute lifetime of such a session (default: ``lifetime``).
        max_sessions_per_user: the most live sessions one user may hold (SEC-63; ``None``:
            no cap), enforced by the store at each login; see ``docs/session-cap.md``.
        on_cap: past the cap, ``"evict_oldest"`` ends the user's oldest sessions;
            ``"refuse"`` refuses the login: ``409`` with ``Sojourn-Session: refused``, no
            cookie, the session as it was (an app that commits the login itself can catch
            :class:`~sojourn.TooManySessions` instead).
        clear_site_data: ``Clear-Site-Data`` directives to send on a logout's response
            (``("cache", "storage")``; any of ``"cache"``, ``"cookies"``, ``"storage"``,
            ``"executionContexts"``, or ``"*"`` alone); none by default.
        binding: bind each session to its user-agent family and/or IP prefix
            (:func:`sojourn.binding.bind`); a session presented from elsewhere is ended.
        shape: what the session holds (a ``TypedDict``, dataclass, msgspec ``Struct`` or
            pydantic model; see ``docs/typed-sessions.md``): writes that do not fit raise
            :class:`~sojourn.typed.ShapeError`; a stored record that does not fit is migrated
            or replaced by a fresh session, never a 500.
        migrate: turns a stored record's data that does not fit ``shape`` into data that does.
        engine: a fully configured :class:`~sojourn.Engine`, instead of the options above
            (``shape`` and ``migrate`` still apply to it).
        clock: the time source, in epoch seconds; tests inject a fake one.
        hooks: lifecycle-event hooks (plain or async functions), each given every
            :class:`~sojourn.SessionEvent`; one that raises is logged and fails nothing
            (see ``docs/events.md``).
        metrics: an observer to report to, such as
            :class:`~sojourn.metrics.prometheus.PrometheusMetrics`; see ``docs/metrics.md``.
        name: ``None`` (default) puts the session at ``scope["session"]``; a name puts it at
            ``scope["sojourn.sessions"][name]`` (:func:`get_session` with the name), so that
            several middlewares, each with its own cookie, store and policy, stack.

    Raises:
        ConfigurationError: invalid options, or another Sojourn middleware inside ``app`` has
            the same name or reads the same cookie.
    """

    def __init__(
        self,
        app: ASGIApp,
        store: AsyncStore | Store | ClientSideStore,
        *,
        idle_timeout: Seconds = DEFAULT_IDLE_TIMEOUT,
        lifetime: Seconds = DEFAULT_LIFETIME,
        renew_interval: Seconds | None = None,
        cookie: CookieSettings | None = None,
        transport: Transport | None = None,
        limits: CodecLimits = DEFAULT_LIMITS,
        codec: ValueCodec = JSON,
        on_store_error: OnStoreError = "fail",
        track_metadata: bool = False,
        rotate_every: Seconds | None = None,
        rotation_grace: Seconds = DEFAULT_ROTATION_GRACE,
        on_lost_write: OnLostWrite = "conflict",
        remember_idle_timeout: Seconds | None = None,
        remember_lifetime: Seconds | None = None,
        anonymous_idle_timeout: Seconds | None = None,
        anonymous_lifetime: Seconds | None = None,
        max_sessions_per_user: int | None = None,
        on_cap: OnCap = "evict_oldest",
        clear_site_data: str | Iterable[str] = (),
        binding: Binding | None = None,
        shape: Any = None,
        migrate: Migrate | None = None,
        engine: Engine | None = None,
        clock: Callable[[], float] = time.time,
        hooks: Sequence[AsyncEventHook] = (),
        metrics: Observer | None = None,
        name: str | None = None,
    ) -> None:
        self.app = app
        self.name = check_name(name)
        self.options: AdapterOptions = build_options(
            idle_timeout=idle_timeout,
            lifetime=lifetime,
            renew_interval=renew_interval,
            cookie=cookie,
            transport=transport,
            limits=limits,
            codec=codec,
            on_store_error=on_store_error,
            track_metadata=track_metadata,
            engine=engine,
            rotate_every=rotate_every,
            rotation_grace=rotation_grace,
            on_lost_write=on_lost_write,
            remember_idle_timeout=remember_idle_timeout,
            remember_lifetime=remember_lifetime,
            anonymous_idle_timeout=anonymous_idle_timeout,
            anonymous_lifetime=anonymous_lifetime,
            max_sessions_per_user=max_sessions_per_user,
            on_cap=on_cap,
            clear_site_data=clear_site_data,
            binding=binding,
            hooks=hooks,
            metrics=metrics,
            shape=shape,
            migrate=migrate,
        )
        self.manager = AsyncManager(
            as_async_store(store),
            self.options.engine,
            clock=clock,
            on_store_error=self.options.on_store_error,
            track_metadata=self.options.track_metadata,
            on_lost_write=self.options.on_lost_write,
            hooks=self.options.hooks,
            metrics=self.options.metrics,
        )
        names = self.manager.request_headers
        self._wanted = None if names is None else frozenset(n.encode("latin-1") for n in names)
        inside = stacked(app, SessionMiddleware)
        check_apart(name, self.options.engine.transport, ((m.name, m.transport) for m in inside))
        self._unchecked = True  # the first request checks the sessions outside this one
        # Bound once: a bound method made per request is an allocation it does not need.
        self._commit, self._commit_at_once = self.manager.commit, self.manager.commit_at_once

    @property
    def transport(self) -> Transport:
        """Where this middleware's session ID travels."""
        return self.manager.engine.transport

    def _place(self, scope: Scope, session: Session) -> None:
        """Put a named session (and its manager) where :func:`get_session` finds it; on the
        first request, check it against the sessions of the middlewares outside this one."""
        name = self.name
        assert name is not None  # only named middlewares place
        if self._unchecked:
            outside = [(n, m.engine.transport) for n, m in scope.get(MANAGERS_KEY, {}).items()]
            primary = scope.get("sojourn.manager")
            if isinstance(primary, AsyncManager):
                outside.append((None, primary.engine.transport))
            check_apart(name, self.transport, outside)
            self._unchecked = False
        place(scope, name, session, self.manager)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        # Typed as Any so that every framework's own scope and callable types are accepted.
        kind = scope["type"]
        if kind != "http" and kind != "websocket":
            await self.app(scope, receive, send)
            return
        manager = self.manager
        wanted = self._wanted
        if wanted is None:
            headers = _request_headers(scope["headers"])
        else:  # the usual: only the headers the transport reads (ASGI does not promise case,
            # but servers send lower case: a name already lower is not copied to be compared)
            headers = []
            for name, value in scope["headers"]:
                if name in wanted or (not name.islower() and name.lower() in wanted):
                    headers.append((name.decode("latin-1").lower(), value.decode("latin-1")))
        websocket = kind == "websocket"
        if manager.needs_client:
            client = scope.get("client")
            user_agent = next((v for k, v in headers if k == "user-agent"), None)
            client_ip = client[0] if client else None
        else:
            user_agent = client_ip = None
        query = scope.get("query_string", b"").decode("latin-1") if manager.reads_query else ""
        named = self.name is not None
        if not named:
            scope["sojourn.manager"] = manager
        session = manager.open_at_once(headers, query, read_only=websocket)
        if session is None:
            opened = await manager.open(
                headers, query, user_agent=user_agent, client_ip=client_ip, read_only=websocket
            )
            session = opened.session
            if opened.refuse:
                if not named:
                    scope["session"] = session
                await self._refuse(scope, send)
                return
            if not opened.save:  # anonymous while the store is down: nothing is saved
                if named:
                    self._place(scope, session)
                else:
                    scope["session"] = session
                await self.app(scope, receive, send)
                return
        if named:
            self._place(scope, session)
        else:
            scope["session"] = session
        if websocket:  # read-only
            await self.app(scope, receive, send)
            return
        committed = refused = False
        commit, commit_at_once = self._commit, self._commit_at_once

        async def send_with_session(message: Message) -> None:
            nonlocal committed, refused
            if refused:
                return  # the store failed at commit: the 503 went out instead
            # A failed request (5xx) saves nothing (SEC-59).
            if message["type"] == "http.response.start" and message["status"] < 500:
                committed = True
                try:
                    outcome = commit_at_once(session) or await commit(session, final=True)
                except StoreUnavailable as exc:
                    logger.error(
                        "session.store_error: the session store failed on commit: %s", cause(exc)
                    )
                    refused = True
                    await self._refuse(scope, send)
                    return
                except SessionGone as exc:  # the changes did not land: say so, send no cookie
                    refused = True
                    await _conflict(scope, send, exc.reason)
                    return
                if outcome.headers:  # rare: an ID issued or cleared; a sibling may need them
                    scope.setdefault(ISSUED_KEY, []).extend(outcome.headers)
                if outcome.headers or outcome.vary:
                    # A copy: an application may send the same message for every response,
                    # and one user's Set-Cookie must never stay in it for the next.
                    message = {**message, "headers": _merged(message.get("headers", []), outcome)}
            await send(message)

        await self.app(scope, receive, send_with_session)
        if committed and not refused and session.accessed:
            await self._late_commit(session)

    async def _late_commit(self, session: Session) -> None:
        """Save changes made after the headers went out (streaming), when no cookie is needed.

        Changes that would need a new cookie were already refused with ``ResponseStarted``.
        """
        try:
            await self.manager.commit(session, final=True)
        except SessionError as exc:
            logger.exception(
                "session.store_error: changes after the response start were lost: %s", cause(exc)
            )

    async def _refuse(self, scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1011})
            return
        headers = _encoded(scope, UNAVAILABLE_HEADERS)
        await send(
            {"type": "http.response.start", "status": UNAVAILABLE_STATUS, "headers": headers}
        )
        await send({"type": "http.response.body", "body": UNAVAILABLE_BODY})


def _encoded(scope: Scope, headers: Iterable[tuple[str, str]]) -> list[tuple[bytes, bytes]]:
    """A refusal's headers, plus the ``Set-Cookie`` of any other session already committed on
    this response (named sessions): its record is saved, so its cookie must still go out."""
    pairs = [(k.lower(), v) for k, v in headers]
    issued = scope.get(ISSUED_KEY)
    if issued:
        pairs += [(k, v) for k, v in issued if k != "cache-control"]
    return [(k.encode("latin-1"), v.encode("latin-1")) for k, v in pairs]


async def _conflict(scope: Scope, send: Send, reason: str) -> None:
    """The ``409`` a lost write answers instead of the application's response."""
    headers = _encoded(scope, conflict_headers(reason))
    await send({"type": "http.response.start", "status": CONFLICT_STATUS, "headers": headers})
    await send({"type": "http.response.body", "body": conflict_body(reason)})


__all__ = [
    "SessionMiddleware",
    "ThreadedStore",
    "as_async_store",
    "get_manager",
    "get_session",
]
