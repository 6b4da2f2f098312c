"""Flask: a ``SessionInterface`` so that ``flask.session`` is a Sojourn session.

A drop-in for Flask's signed-cookie session and for Flask-Session: application code keeps using
``flask.session`` as a dict, and gains ``session.login(user)``, ``session.regenerate()`` and
``session.invalidate()``. Values are stored as JSON, one key at a time (never pickled); tuples
are stored as lists so that ``flask.flash`` keeps working.

Flask opens and saves sessions synchronously, so the interface drives the sync
:class:`~sojourn.Manager` against a sync store (memory, SQLite, or a server store's sync
flavour). The commit happens in ``save_session``, while the response headers can still change:
``Set-Cookie`` only when an ID is issued or cleared, ``Vary: Cookie`` whenever the session was
touched (SEC-17). A store outage answers ``503`` before any view runs (or replaces the response
when it happens on save); responses with a 5xx status are not saved (SEC-59).

Configuration: Flask's ``SESSION_COOKIE_NAME``, ``_DOMAIN``, ``_PATH``, ``_HTTPONLY`` and
``_SAMESITE`` map onto :class:`~sojourn.CookieSettings` when they differ from Flask's defaults;
the cookie is ``Secure`` unless ``cookie=CookieSettings(secure=False)`` is passed, because
Flask's default (``SESSION_COOKIE_SECURE = False``) cannot be told apart from an explicit
choice. ``PERMANENT_SESSION_LIFETIME``, when set, is the idle timeout. Keyword options passed
to :class:`Sojourn` win over the config.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from datetime import timedelta
from typing import Any

from flask import Flask, Request, Response, request
from flask import session as flask_session
from flask.sessions import SessionInterface, SessionMixin

from .._core.cookies import CookieSettings
from .._core.errors import StoreUnavailable
from .._core.headers import merge_response_headers
from .._core.session import Session
from .._sync.manager import Manager
from ..stores.base import ClientSideStore, Store
from ._options import AdapterOptions, build_options, metadata
from .wsgi import UNAVAILABLE_BODY, UNAVAILABLE_HEADERS, request_headers

logger = logging.getLogger("sojourn")

STORE_ERROR_KEY = "sojourn.store_error"
FLASK_DEFAULT_LIFETIME = timedelta(days=31)
MAX_CONVERT_DEPTH = 32


def _jsonable(value: Any, depth: int = 0) -> Any:
    """Tuples become lists (Flask's flash() stores tuples); everything else is left as is.

    Values without a tuple are returned unchanged (the same object), so in-place edits after
    assignment are still seen by the session's change detection.
    """
    if depth >= MAX_CONVERT_DEPTH:
        return value
    if isinstance(value, tuple):
        return [_jsonable(item, depth + 1) for item in value]
    if isinstance(value, list):
        items = [_jsonable(item, depth + 1) for item in value]
        return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
    if isinstance(value, dict):
        pairs = {k: _jsonable(v, depth + 1) for k, v in value.items()}
        return pairs if any(pairs[k] is not v for k, v in value.items()) else value
    return value


class FlaskSession(SessionMixin):
    """What ``flask.session`` is: a Sojourn :class:`~sojourn.Session` seen through Flask.

    Reads and writes go to the Sojourn session, which detects changes itself, so ``modified``
    is accepted and ignored. ``permanent`` is remembered for the request but does not change
    the cookie: whether the cookie outlives the browser is ``CookieSettings.persistent``, and
    the server enforces the idle and absolute timeouts either way.
    """

    def __init__(self, session: Session, *, save: bool = True) -> None:
        self.sojourn = session
        self.accessed = False
        self.modified = False
        self._save = save
        self._permanent = False

    # -- the mapping --------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.sojourn[key]

    def __setitem__(self, key: str, value: Any) -> None:
        self.sojourn[key] = _jsonable(value)

    def __delitem__(self, key: str) -> None:
        del self.sojourn[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.sojourn)

    def __len__(self) -> int:
        return len(self.sojourn)

    def __contains__(self, key: object) -> bool:
        return key in self.sojourn

    def clear(self) -> None:
        """Remove every key (the session lives on; see :meth:`invalidate`)."""
        self.sojourn.clear()

    def __repr__(self) -> str:
        return f"<FlaskSession {self.sojourn!r}>"

    # -- Flask's attributes -------------------------------------------------------------------

    @property
    def permanent(self) -> bool:
        """Accepted for compatibility; see the class docstring."""
        return self._permanent

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self._permanent = bool(value)

    @property
    def new(self) -> bool:  # type: ignore[override]
        """True if no stored record backs this session yet."""
        return self.sojourn.is_new

    # -- Sojourn's lifecycle ------------------------------------------------------------------

    def login(self, principal: str) -> None:
        """New ID, ``principal`` recorded; call it right after authenticating the user."""
        self.sojourn.login(principal)

    def regenerate(self) -> None:
        """New ID, same data; call it whenever the user's privileges change."""
        self.sojourn.regenerate()

    def invalidate(self) -> None:
        """Log out: the record is deleted and the cookie cleared."""
        self.sojourn.invalidate()

    @property
    def principal(self) -> str | None:
        """The logged-in user, as given to :meth:`login`."""
        return self.sojourn.principal

    @property
    def fingerprint(self) -> str | None:
        """A short, non-secret label of the session for pages and logs."""
        return self.sojourn.fingerprint

    @property
    def authenticated_at(self) -> float | None:
        """When :meth:`login` was last called (epoch seconds)."""
        return self.sojourn.authenticated_at

    @property
    def expires_at(self) -> float:
        """When the session ends if left idle (epoch seconds)."""
        return self.sojourn.expires_at


class SojournSessionInterface(SessionInterface):
    """Opens and saves ``flask.session`` through a Sojourn manager; installed by :class:`Sojourn`.

    Args:
        store: a sync store.
        clock: the time source, in epoch seconds; tests inject a fake one.
        **options: the adapter options of :func:`sojourn.integrations._options.build_options`.
    """

    pickle_based = False

    def __init__(
        self,
        store: Store | ClientSideStore,
        *,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self.options: AdapterOptions = build_options(**options)
        self.manager = Manager(store, self.options.engine, clock=clock)

    def open_session(self, app: Flask, request: Request) -> FlaskSession:
        environ = request.environ
        raw_ids = self.manager.engine.transport.extract(
            request_headers(environ), environ.get("QUERY_STRING", "")
        )
        meta = None
        if self.options.track_metadata:
            meta = metadata(environ.get("HTTP_USER_AGENT"), environ.get("REMOTE_ADDR"))
        environ["sojourn.manager"] = self.manager
        try:
            return FlaskSession(self.manager.load(raw_ids, meta=meta))
        except StoreUnavailable:
            logger.error("session.store_error: the session store is unavailable on load")
            if self.options.on_store_error == "fail":
                environ[STORE_ERROR_KEY] = True  # the before_request hook answers 503
            fresh = self.manager.engine.new(self.manager.clock(), meta=meta)
            return FlaskSession(fresh, save=False)

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession):
            return
        used = session.accessed or session.sojourn.accessed
        vary = self.manager.engine.transport.vary if used else None
        headers: tuple[tuple[str, str], ...] = ()
        if session._save and response.status_code < 500:
            try:
                outcome = self.manager.commit(session.sojourn, final=True)
            except StoreUnavailable:
                logger.error("session.store_error: the session store failed on save")
                _become_unavailable(response)
                return
            headers, vary = outcome.headers, outcome.vary or vary
        if headers or vary:
            merged = merge_response_headers(list(response.headers.items()), headers, vary)
            response.headers.clear()
            response.headers.extend(merged)


def _become_unavailable(response: Response) -> None:
    """Turn the application's response into the 503 a store outage answers."""
    response.status_code = 503
    response.headers.clear()
    response.set_data(UNAVAILABLE_BODY)
    response.headers.extend(UNAVAILABLE_HEADERS)


def _refuse_when_store_is_down() -> Response | None:
    if request.environ.get(STORE_ERROR_KEY):
        return Response(UNAVAILABLE_BODY, status=503, headers=UNAVAILABLE_HEADERS)
    return None


def options_from_config(config: Mapping[str, Any], options: Mapping[str, Any]) -> dict[str, Any]:
    """Adapter options from Flask's ``SESSION_COOKIE_*`` and ``PERMANENT_SESSION_LIFETIME``.

    A config value equal to Flask's default counts as unset, so Sojourn's secure defaults
    (``__Host-sid``, ``SameSite=Lax``, a 30-minute idle timeout) stay in force.
    """
    merged = dict(options)
    if not any(k in merged for k in ("cookie", "transport", "engine")):
        cookie: dict[str, Any] = {}
        name = config.get("SESSION_COOKIE_NAME")
        if name and name != "session":
            cookie["name"] = name
        if config.get("SESSION_COOKIE_DOMAIN"):
            cookie["domain"] = config["SESSION_COOKIE_DOMAIN"]
        if config.get("SESSION_COOKIE_PATH"):
            cookie["path"] = config["SESSION_COOKIE_PATH"]
        if config.get("SESSION_COOKIE_HTTPONLY") is False:
            cookie["http_only"] = False
        if config.get("SESSION_COOKIE_SAMESITE"):
            cookie["same_site"] = str(config["SESSION_COOKIE_SAMESITE"]).lower()
        if cookie:
            merged["cookie"] = CookieSettings(**cookie)
    lifetime = config.get("PERMANENT_SESSION_LIFETIME")
    if "engine" not in merged and "idle_timeout" not in merged and lifetime is not None:
        idle = lifetime if isinstance(lifetime, timedelta) else timedelta(seconds=lifetime)
        if idle != FLASK_DEFAULT_LIFETIME:
            merged["idle_timeout"] = idle
            if "lifetime" not in merged and idle > timedelta(days=1):
                merged["lifetime"] = idle
    return merged


class Sojourn:
    """The Flask extension: ``Sojourn(app, store=MemoryStore())`` or ``init_app`` later.

    Args:
        app: the application, or ``None`` to call :meth:`init_app` later.
        store: a sync store shared by every request.
        clock: the time source, in epoch seconds; tests inject a fake one.
        **options: ``idle_timeout``, ``lifetime``, ``renew_interval``, ``cookie``,
            ``transport``, ``limits``, ``on_store_error``, ``track_metadata``, ``engine`` (the
            same as the middleware); they win over the Flask config.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        store: Store | ClientSideStore,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self.store = store
        self.clock = clock
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> SojournSessionInterface:
        """Install the session interface on ``app`` (reading its config now)."""
        interface = SojournSessionInterface(
            self.store, clock=self.clock, **options_from_config(app.config, self.options)
        )
        app.session_interface = interface
        app.extensions["sojourn"] = interface
        app.before_request_funcs.setdefault(None, []).insert(0, _refuse_when_store_is_down)
        return interface


def current_session() -> FlaskSession:
    """``flask.session`` with its real type, for type checkers (``session.login`` etc.).

    Raises:
        RuntimeError: outside a request, or when :class:`Sojourn` is not installed.
    """
    current = flask_session._get_current_object()  # type: ignore[attr-defined]
    if not isinstance(current, FlaskSession):
        raise RuntimeError("flask.session is not a Sojourn session: call Sojourn(app, store=...)")
    return current


def get_manager(app: Flask) -> Manager:
    """The manager of ``app``, for "your sessions" pages and revocation."""
    interface: SojournSessionInterface = app.extensions["sojourn"]
    return interface.manager


__all__ = [
    "FlaskSession",
    "Sojourn",
    "SojournSessionInterface",
    "current_session",
    "get_manager",
]
