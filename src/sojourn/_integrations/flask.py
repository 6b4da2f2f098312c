"""Flask: a ``SessionInterface`` so that ``flask.session`` is a Sojourn session.

A drop-in for Flask's signed-cookie session and for Flask-Session: the app's code, config and
tests keep working, and ``flask.session`` gains ``login(user)``, ``regenerate()`` and
``invalidate()``. What Flask's own session does, this does too:

- the cookie is Flask's: ``SESSION_COOKIE_NAME`` (default ``session``) and every other
  ``SESSION_COOKIE_*`` / ``APPLICATION_ROOT`` setting are read per request through Flask's
  ``get_cookie_*`` helpers and rendered by Werkzeug (see :mod:`._flask_cookie`); an explicit
  ``cookie=CookieSettings(...)`` wins for the fields it names. The ``__Host-`` hardening is an
  opt-in: ``SESSION_COOKIE_NAME = "__Host-session"`` with ``SESSION_COOKIE_SECURE = True``;
- ``modified``, ``accessed``, ``new`` and ``permanent`` mean what they mean in Flask; the cookie
  is (re)sent when Flask would send it (``should_set_cookie``: modified, or permanent with
  ``SESSION_REFRESH_EACH_REQUEST``), with ``Expires`` from ``PERMANENT_SESSION_LIFETIME`` for a
  permanent session, and ``Vary: Cookie`` exactly when the session was accessed;
- values round-trip as Flask's tagged JSON (:class:`TaggedJSONCodec`): tuples, ``bytes``,
  ``Markup``, ``UUID``, ``datetime`` — so flashed ``(category, message)`` tuples stay tuples.

What Sojourn adds: the cookie carries only a 256-bit ID (the store sees its SHA-256 digest),
an unknown ID is never adopted, the idle and absolute timeouts are enforced on the server, a
commit writes only the keys a request changed, a store outage answers ``503`` (before any view
runs, or instead of the response when it happens on save), 5xx responses are not saved (SEC-59),
and when Flask-Login's ``_user_id`` appears or changes the ID rotates and the user becomes the
session's principal (when it is popped, the session continues under a new ID with no principal).
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from inspect import getattr_static
from typing import TYPE_CHECKING, Any

from flask import Flask, Request, Response, request
from flask import session as flask_session
from flask.sessions import SessionInterface, SessionMixin
from werkzeug.datastructures import Headers
from werkzeug.sansio.response import Response as BaseResponse

from .._core.cookies import CookieSettings
from .._core.errors import ConfigurationError, SessionGone, StoreUnavailable
from .._core.headers import merge_response_headers
from .._core.opening import (
    CONFLICT_BODY,
    CONFLICT_STATUS,
    UNAVAILABLE_BODY,
    UNAVAILABLE_HEADERS,
    Outcome,
    conflict_headers,
)
from .._core.plan import Engine
from .._core.policy import DEFAULT_IDLE_TIMEOUT, DEFAULT_LIFETIME, Policy
from .._core.session import Session
from .._sync.manager import Manager
from ..stores._diagnose import cause
from ..stores.base import ClientSideStore, Store
from ._flask_codec import TaggedJSONCodec as TaggedJSONCodec
from ._flask_cookie import (
    ConflictLog,
    FlaskCookie,
    config_key,
    flask_cookie,
    helpers_are_flasks,
    plain_config_key,
)
from ._named import ISSUED_KEY, check_name, cookie_slot, slot
from ._options import AdapterOptions, build_options, seconds
from .wsgi import request_headers

if TYPE_CHECKING:
    from .flask_named import NamedSession

logger = logging.getLogger("sojourn")

STORE_ERROR_KEY = "sojourn.store_error"
FLASK_DEFAULT_LIFETIME = timedelta(days=31)
FLASK_LOGIN_USER_KEY = "_user_id"
MAX_CONFIGURATIONS = 64  # distinct cookie/lifetime configurations remembered per interface


class FlaskSession(SessionMixin):
    """What ``flask.session`` is: a Sojourn :class:`~sojourn.Session` seen through Flask.

    ``modified`` is set by every mutating call, as on Flask's own session (and may be set by
    hand); the store write does not depend on it, because Sojourn compares each value with what
    was loaded, so in-place edits of nested values are saved too. ``permanent`` is Flask's
    ``_permanent`` key, kept in the data exactly as Flask keeps it.
    """

    def __init__(
        self,
        session: Session,
        *,
        save: bool = True,
        presented: Iterable[str] = (),
        manager: Manager | None = None,
        cookie: FlaskCookie | None = None,
        principal_key: str | None = None,
    ) -> None:
        self.sojourn = session
        self.accessed = False
        self.modified = False
        self._save = save
        self._presented = tuple(presented)
        self._manager = manager
        self._cookie = cookie
        self._principal_key = principal_key
        self._principal_changed = False
        self._refused = False  # counted in _REFUSALS until saved

    # -- the mapping --------------------------------------------------------------------------

    def __getitem__(self, key: str) -> Any:
        return self.sojourn[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``session[key]``, or ``default`` when the key is absent, as ``Mapping.get`` answers
        but without raising and catching a ``KeyError`` for an absent key: Flask asks for
        ``_permanent`` (``session.permanent``) on most saves, and apps ``get`` absent keys."""
        return self.sojourn.get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        self.sojourn[key] = value
        self.modified = True
        if key == self._principal_key:
            self._principal_changed = True

    def __delitem__(self, key: str) -> None:
        del self.sojourn[key]
        self.modified = True
        if key == self._principal_key:
            self._principal_changed = True

    def __iter__(self) -> Iterator[str]:
        return iter(self.sojourn)

    def __len__(self) -> int:
        return len(self.sojourn)

    def __contains__(self, key: object) -> bool:
        return key in self.sojourn

    def clear(self) -> None:
        """Remove every key (the session lives on; see :meth:`invalidate`)."""
        if self._principal_key is not None and self._principal_key in self.sojourn:
            self._principal_changed = True
        self.sojourn.clear()
        self.modified = True

    def update(self, *args: Any, **kwargs: Any) -> None:
        """Set several keys; marks the session modified, as Flask's does."""
        super().update(*args, **kwargs)
        self.modified = True

    def __repr__(self) -> str:
        return f"<FlaskSession {self.sojourn!r}>"

    @property
    def permanent(self) -> bool:
        """Flask's ``_permanent`` key, read as ``SessionMixin.permanent`` reads it, one call
        shorter (Flask reads it on every save that does not modify the session)."""
        permanent: bool = self.sojourn.get("_permanent", False)  # as stored, like Flask's
        return permanent

    @permanent.setter
    def permanent(self, value: bool) -> None:
        self["_permanent"] = bool(value)

    @property
    def new(self) -> bool:  # type: ignore[override]
        """True if no stored record backs this session yet."""
        return self.sojourn.is_new

    # -- Sojourn's lifecycle ------------------------------------------------------------------

    def login(self, principal: str) -> None:
        """New ID, ``principal`` recorded; call it right after authenticating the user."""
        self.sojourn.login(principal)
        self.modified = True

    def regenerate(self) -> None:
        """New ID, same data; call it whenever the user's privileges change."""
        self.sojourn.regenerate()
        self.modified = True

    def invalidate(self) -> None:
        """Log out: the record is deleted and the cookie cleared."""
        self.sojourn.invalidate()
        self.modified = True

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

    def _follow_principal(self) -> None:
        """Flask-Login's user key set or changed: rotate and record the user; popped: a new
        ID with no principal, the rest of the data kept (its flashes, ``_remember``)."""
        key = self._principal_key
        if key is None or not self._principal_changed:
            return
        user = self.sojourn.get(key)
        self.sojourn.follow_principal(None if user is None else str(user))


class SojournSessionInterface(SessionInterface):
    """Opens and saves ``flask.session`` through a Sojourn manager; installed by :class:`Sojourn`.

    Args:
        store: a sync store.
        clock: the time source, in epoch seconds; tests inject a fake one.
        principal_key: the session key whose value names the logged-in user (Flask-Login's
            ``_user_id`` by default); ``None`` to follow only :meth:`FlaskSession.login`.
        **options: the adapter options of :func:`sojourn._integrations._options.build_options`.
    """

    pickle_based = False

    def __init__(
        self,
        store: Store | ClientSideStore,
        *,
        clock: Callable[[], float] = time.time,
        principal_key: str | None = FLASK_LOGIN_USER_KEY,
        **options: Any,
    ) -> None:
        codec = options.setdefault("codec", TaggedJSONCodec())
        self.serializer = getattr(codec, "serializer", None)
        self.store = store
        self.clock = clock
        self.principal_key = principal_key
        self.options: AdapterOptions = build_options(**options)
        self.manager = self._manager_for(self.options.engine)
        self._sealed = isinstance(store, ClientSideStore)  # decided once: ~10 µs per check
        # Flask's cookie config applies unless the app chose another transport or an engine.
        self._follow_config = options.get("transport") is None and options.get("engine") is None
        self._explicit_cookie: CookieSettings | None = options.get("cookie")
        # CookieSettings(persistent=True): every session's cookie lasts, as if permanent
        # (Flask-Session's SESSION_PERMANENT); otherwise only sessions marked permanent.
        self._every_session_persistent = bool(
            self._explicit_cookie is not None and self._explicit_cookie.persistent
        )
        self._explicit_policy = {
            name: options[name]
            for name in ("idle_timeout", "lifetime", "renew_interval")
            if name in options
        }
        self._managers: dict[tuple[Any, ...], tuple[Manager, FlaskCookie]] = {}
        self._conflicts = ConflictLog()
        # Decided once: a subclass that overrides a cookie helper has it called per request.
        self._plain_helpers = helpers_are_flasks(self)
        # App classes seen, by whether plain_config_key reads what Flask's helpers would.
        self._plain_apps: set[type[Flask]] = set()
        self._other_apps: set[type[Flask]] = set()

    # -- per-request configuration ------------------------------------------------------------

    def _resolve(self, app: Flask) -> tuple[Manager, FlaskCookie | None]:
        """The manager for this request's config (remembered per distinct configuration).

        The config is read on every request, as Flask reads it; with Flask's own helpers (the
        usual case) straight from ``app.config`` (:func:`plain_config_key`), else through them.
        """
        if not self._follow_config:
            return self.manager, None
        if type(app) in self._plain_apps:
            key = plain_config_key(app)
        elif type(app) in self._other_apps or not self._learn_app(app):
            key = config_key(app, self)
        else:
            key = plain_config_key(app)
        found = self._managers.get(key)
        if found is None:
            found = self._configure(app)
            if len(self._managers) >= MAX_CONFIGURATIONS:
                self._managers.clear()
            self._managers[key] = found
        return found

    def _learn_app(self, app: Flask) -> bool:
        """Whether :func:`plain_config_key` reads what Flask's helpers would for this app:
        this interface keeps Flask's cookie helpers, and ``app.permanent_session_lifetime`` is
        Flask's own config attribute (an app class may override it); remembered per class."""
        plain = self._plain_helpers and getattr_static(
            type(app), "permanent_session_lifetime", None
        ) is getattr_static(Flask, "permanent_session_lifetime")
        (self._plain_apps if plain else self._other_apps).add(type(app))
        return plain

    def _configure(self, app: Flask) -> tuple[Manager, FlaskCookie]:
        """The manager and cookie of this request's config, read through Flask's helpers."""
        cookie = flask_cookie(app, config_key(app, self), self._explicit_cookie, self._conflicts)
        if not cookie.secure and not (app.debug or app.testing):
            # Flask's default; the other adapters refuse it unless asked (SEC-10).
            logger.warning(
                "sojourn.flask: the session cookie %r is sent without Secure "
                "(SESSION_COOKIE_SECURE = False, Flask's default): set it to True in "
                "production",
                cookie.name,
            )
        policy = self._policy(app.permanent_session_lifetime)
        engine = replace(self.options.engine, transport=cookie, policy=policy)
        return self._manager_for(engine), cookie

    def _manager_for(self, engine: Engine) -> Manager:
        return Manager(
            self.store,
            engine,
            clock=self.clock,
            on_store_error=self.options.on_store_error,
            track_metadata=self.options.track_metadata,
            on_lost_write=self.options.on_lost_write,
            hooks=self.options.sync_hooks(),
            metrics=self.options.metrics,
        )

    def _policy(self, flask_lifetime: timedelta) -> Policy:
        """The server-side timeouts for a Flask config; explicit options win.

        Idle: Sojourn's 30 minutes, or ``PERMANENT_SESSION_LIFETIME`` when the app changed it
        from Flask's 31 days. Absolute: ``PERMANENT_SESSION_LIFETIME`` (at least Sojourn's 24
        hours and the idle timeout), so a permanent session's cookie, which Flask dates that far
        ahead, expires with the session (SEC-61) rather than outliving it.
        """
        explicit = self._explicit_policy
        flask_seconds = flask_lifetime.total_seconds()
        idle = seconds(explicit.get("idle_timeout", DEFAULT_IDLE_TIMEOUT))
        if "idle_timeout" not in explicit and flask_lifetime != FLASK_DEFAULT_LIFETIME:
            idle = flask_seconds
        default_lifetime = max(flask_seconds, idle, DEFAULT_LIFETIME)
        lifetime = seconds(explicit.get("lifetime", default_lifetime))
        renew = explicit.get("renew_interval")
        return replace(  # rotation as configured, the timeouts from Flask's config
            self.options.engine.policy,
            idle_timeout=idle,
            lifetime=lifetime,
            renew_interval=None if renew is None else seconds(renew),
        )

    def slot(self, app: Flask) -> str | None:
        """Where this interface keeps the ID for ``app`` as now configured (a
        :func:`~._named.slot` label), to keep named sessions off its cookie."""
        if not self._follow_config:
            return slot(self.options.engine.transport)
        explicit = self._explicit_cookie
        if explicit is not None and "name" in explicit.given:
            return cookie_slot(explicit.cookie_name)
        return cookie_slot(str(app.config["SESSION_COOKIE_NAME"]))

    # -- Flask's SessionInterface -------------------------------------------------------------

    def open_session(self, app: Flask, request: Request) -> FlaskSession:
        manager, cookie = self._resolve(app)
        environ = request.environ
        if cookie is not None:  # only the Cookie header matters: skip building the rest
            headers = [("cookie", environ["HTTP_COOKIE"])] if "HTTP_COOKIE" in environ else []
        else:
            headers = request_headers(environ)
        opened = manager.open(
            headers,
            environ.get("QUERY_STRING", ""),
            user_agent=environ.get("HTTP_USER_AGENT"),
            client_ip=environ.get("REMOTE_ADDR"),
        )
        environ["sojourn.manager"] = manager
        session = FlaskSession(
            opened.session,
            save=opened.save,
            presented=opened.presented,
            manager=manager,
            cookie=cookie,
            principal_key=self.principal_key,
        )
        if opened.refuse:
            _REFUSALS.add()  # before the flag: the hook looks at the flag only while counted
            session._refused = True
            environ[STORE_ERROR_KEY] = True  # the before_request hook answers 503
        return session

    def save_session(self, app: Flask, session: SessionMixin, response: Response) -> None:
        if not isinstance(session, FlaskSession):
            return
        if session._refused:  # its before_request hook has run (or never will)
            session._refused = False
            _REFUSALS.discard()
        accessed = session.accessed or session.sojourn.accessed
        manager = session._manager or self.manager
        if not session._save or response.status_code >= 500:
            if accessed:
                response.vary.add(manager.engine.transport.vary or "Cookie")
            return
        if session._principal_changed:  # the usual request leaves the principal key alone
            session._follow_principal()
        if accessed:  # an untouched session's permanent flag cannot have changed
            _follow_permanent(session.sojourn)
        try:
            outcome = manager.commit(session.sojourn, final=True)
        except StoreUnavailable as exc:
            logger.error("session.store_error: the session store failed on save: %s", cause(exc))
            _become_unavailable(response)
            return
        except SessionGone as exc:  # the changes did not land: say so, send no cookie
            _become_conflict(response, exc.reason)
            return
        if session._cookie is None or self._sealed:
            # Another transport, or a sealed token that is itself the cookie: pass it on.
            _merge(response, outcome, manager.engine.transport.vary if accessed else None)
            return
        self._write_cookie(app, session, session._cookie, outcome, accessed, response)

    def get_expiration_time(self, app: Flask, session: SessionMixin) -> datetime | None:
        """Flask's (now + ``PERMANENT_SESSION_LIFETIME`` for a permanent session, or for every
        session with ``CookieSettings(persistent=True)``), never past the session's absolute
        deadline (SEC-61)."""
        expires = super().get_expiration_time(app, session)
        if expires is None and self._every_session_persistent:
            expires = datetime.now(UTC) + app.permanent_session_lifetime
        if expires is None or not isinstance(session, FlaskSession) or session._manager is None:
            return expires
        deadline = session.sojourn.lifetime_ends_at  # its own (remembered: the longer one)
        return min(expires, datetime.fromtimestamp(deadline, UTC))

    def _write_cookie(
        self,
        app: Flask,
        session: FlaskSession,
        cookie: FlaskCookie,
        outcome: Outcome,
        accessed: bool,
        response: Response,
    ) -> None:
        """Flask's own cookie rules (``SecureCookieSessionInterface.save_session``), applied
        to the ID the commit left."""
        if outcome.headers:
            _extra_headers(response, outcome)
        line = self._cookie_line(app, session, cookie, outcome)
        if line is not None:
            _add_header(response.headers, "Set-Cookie", line)
        if accessed or line is not None:
            _vary_cookie(response)

    def _cookie_line(
        self, app: Flask, session: FlaskSession, cookie: FlaskCookie, outcome: Outcome
    ) -> str | None:
        """The ``Set-Cookie`` value Flask would send for this session now, if any."""
        session_id = outcome.session_id
        if outcome.gone or outcome.previous:
            return None  # rotated or ended under this request: the cookie is not ours to touch
        if session_id is None:  # nothing stored: Flask's "if not session"
            return cookie.clear()[0][1] if session.modified or outcome.headers else None
        issued = session_id not in session._presented
        if not issued and not self.should_set_cookie(app, session):
            return None
        return cookie.render(session_id, self.get_expiration_time(app, session))


def _follow_permanent(session: Session) -> None:
    """Flask's ``session.permanent`` is remember-me (``Session.remember``): a permanent session
    gets the remembered timeouts, stored with it; turned off, the ordinary ones."""
    permanent = bool(session.get("_permanent", False))
    if permanent != bool(session.remembered):
        session.remember(True if permanent else None)


def _extra_headers(response: Response, outcome: Outcome) -> None:
    """The commit's headers other than its own ``Set-Cookie`` (``Cache-Control: no-store`` on
    responses that issue or clear an ID)."""
    for name, value in outcome.headers:
        if name != "set-cookie":
            response.headers[name] = value


_VARY = BaseResponse.vary
# Werkzeug's Headers keep their (name, value) pairs in a list; where it is there (every
# Werkzeug Flask 3 runs on), the two headers every save may add are appended to it directly.
_HEADER_LIST = isinstance(getattr(Headers(), "_list", None), list)


def _add_header(headers: Headers, name: str, value: str) -> None:
    """``headers.add(name, value)``: the same pair appended, with its newline check (a regular
    expression search, the dearest part of ``add``) done as two substring tests. A value with
    a newline, or headers of another class, go to ``add``, which raises or does its own."""
    if _HEADER_LIST and type(headers) is Headers and "\r" not in value and "\n" not in value:
        headers._list.append((name, value))
    else:
        headers.add(name, value)


def _vary_cookie(response: Response) -> None:
    """``response.vary.add("Cookie")``, without its parse and re-serialisation of ``Vary``
    when the answer is plain: with no ``Vary`` header yet it appends ``Vary: Cookie`` (what the
    property's setter appends), and with a first ``Vary`` of exactly ``Cookie`` (the one the
    property reads) there is nothing to add. Any other ``Vary``, headers that are not
    Werkzeug's ``Headers``, or a response class with its own ``vary``, go through the
    property itself."""
    headers = response.headers
    if _HEADER_LIST and type(headers) is Headers and type(response).vary is _VARY:
        for name, value in headers._list:
            if len(name) == 4 and name.lower() == "vary":  # Headers match names by lower()
                if value == "Cookie":
                    return
                break
        else:
            headers._list.append(("Vary", "Cookie"))
            return
    response.vary.add("Cookie")


def _merge(response: Response, outcome: Outcome, vary_if_accessed: str | None) -> None:
    """A transport's headers (header/query transports, sealed cookies) merged as is."""
    vary = outcome.vary or vary_if_accessed
    if outcome.headers or vary:
        merged = merge_response_headers(list(response.headers.items()), outcome.headers, vary)
        response.headers.clear()
        response.headers.extend(merged)


def _become_conflict(response: Response, reason: str) -> None:
    """Turn the application's response into the 409 a lost write answers."""
    response.status_code = CONFLICT_STATUS
    response.headers.clear()
    response.set_data(CONFLICT_BODY)
    response.headers.extend(conflict_headers(reason))
    _keep_issued(response)


def _become_unavailable(response: Response) -> None:
    """Turn the application's response into the 503 a store outage answers."""
    response.status_code = 503
    response.headers.clear()
    response.set_data(UNAVAILABLE_BODY)
    response.headers.extend(UNAVAILABLE_HEADERS)
    _keep_issued(response)


def _keep_issued(response: Response) -> None:
    """Carry over the ``Set-Cookie`` of a named session already committed on this response:
    its record is saved, so its cookie must still go out."""
    for name, value in request.environ.get(ISSUED_KEY, ()):
        if name != "cache-control":
            response.headers.add(name, value)


class _Refusals:
    """How many sessions were opened refused (the store was down) and are not yet saved.

    The before_request hook runs on every request, and reading ``request.environ`` through
    Flask's context proxy costs more than the rest of the hook; while no refused session is
    outstanding, no request can carry the flag, and the hook answers without looking. A
    refused session is counted before its request is flagged, in the same thread, and
    uncounted when it is saved, which Flask does after the hook; a session that is never
    saved stays counted, which only makes every hook look again. Changes take a lock
    (refusals are rare); the hook reads the count without one.
    """

    __slots__ = ("_lock", "open")

    def __init__(self) -> None:
        self.open = 0
        self._lock = threading.Lock()

    def add(self) -> None:
        with self._lock:
            self.open += 1

    def discard(self) -> None:
        with self._lock:
            self.open -= 1


_REFUSALS = _Refusals()


def _refuse_when_store_is_down() -> Response | None:
    if _REFUSALS.open and request.environ.get(STORE_ERROR_KEY):
        return Response(UNAVAILABLE_BODY, status=503, headers=UNAVAILABLE_HEADERS)
    return None


def store_from_config(config: Mapping[str, Any]) -> tuple[Store | ClientSideStore, bool]:
    """The store named by ``SOJOURN_STORE`` (a URL or a store object), or by Flask-Session's
    ``SESSION_TYPE = "redis"`` with ``SESSION_REDIS``; and whether it was built here.

    Raises:
        ConfigurationError: neither is set, or ``SESSION_TYPE`` names a backend Sojourn has no
            drop-in for.
    """
    from ..stores.urls import open_sync_store

    value = config.get("SOJOURN_STORE")
    if isinstance(value, str):
        return open_sync_store(value), True
    if value is not None:
        store: Store | ClientSideStore = value
        return store, False
    kind = config.get("SESSION_TYPE")
    if kind == "redis" and config.get("SESSION_REDIS") is not None:
        from ..stores.redis import RedisStore

        return RedisStore(config["SESSION_REDIS"]), False
    if kind is not None:
        raise ConfigurationError(
            f"SESSION_TYPE = {kind!r} has no Sojourn drop-in: set SOJOURN_STORE to a store URL "
            '(e.g. "redis://127.0.0.1:6379/0", "sqlite:///sessions.db", "postgresql://…")'
        )
    raise ConfigurationError(
        "Sojourn(app) needs a store: pass store=..., or set SOJOURN_STORE in app.config "
        '(e.g. "sqlite:///sessions.db" or "redis://127.0.0.1:6379/0")'
    )


class Sojourn:
    """The Flask extension: ``Sojourn(app, store=SQLiteStore("s.db"))`` or ``init_app`` later.

    Args:
        app: the application, or ``None`` to call :meth:`init_app` later.
        store: a sync store shared by every request; if omitted, ``app.config["SOJOURN_STORE"]``
            (a store URL for :func:`~sojourn.stores.urls.open_store`, or a store object).
        clock: the time source, in epoch seconds; tests inject a fake one.
        name: ``None`` (default) makes this ``flask.session``; a name adds a session beside it,
            ``sessions[name]`` (see :mod:`.flask_named`), with the cookie its options name.
        **options: ``idle_timeout``, ``lifetime``, ``renew_interval``, ``cookie``,
            ``transport``, ``limits``, ``codec``, ``on_store_error``, ``track_metadata``,
            ``shape``, ``migrate``, ``engine``, ``hooks`` (lifecycle-event hooks, plain
            functions; the same as the middleware), ``metrics``, the timeouts of permanent
            (remembered) and anonymous sessions (``remember_idle_timeout``,
            ``remember_lifetime``, ``anonymous_idle_timeout``, ``anonymous_lifetime``), and
            ``principal_key``; they win over the Flask config.

    Raises:
        ConfigurationError: another Sojourn session of the app has the same name or cookie.
    """

    def __init__(
        self,
        app: Flask | None = None,
        *,
        store: Store | ClientSideStore | None = None,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        self.store = store
        self.clock = clock
        # One of the options, not a parameter: callers pass option dicts typed loosely.
        self.name = check_name(options.pop("name", None))
        self.options = options
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> SojournSessionInterface | NamedSession:
        """Install the session interface (or, given a name, the named session) on ``app``."""
        from .flask_named import NamedSession, check_apart_from_named  # it builds on this module

        store = self.store
        if store is None:
            store, built = store_from_config(app.config)
            if built:
                atexit.register(store.close)  # type: ignore[union-attr]
        current = app.extensions.get("sojourn")
        if self.name is not None:
            named = NamedSession(self.name, store, clock=self.clock, **self.options)
            named.install(app, None if current is None else current.slot(app))
            return named
        interface = SojournSessionInterface(store, clock=self.clock, **self.options)
        check_apart_from_named(app, interface.slot(app))
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


def get_manager(app: Flask, name: str | None = None) -> Manager:
    """The manager of ``app`` as currently configured (of its session named ``name``, if
    given), for "your sessions" pages and revocation."""
    if name is not None:
        from .flask_named import NAMED_KEY

        named: NamedSession = app.extensions[NAMED_KEY][name]
        return named.manager
    interface: SojournSessionInterface = app.extensions["sojourn"]
    return interface._resolve(app)[0]


__all__ = [
    "FlaskSession",
    "Sojourn",
    "SojournSessionInterface",
    "TaggedJSONCodec",
    "current_session",
    "get_manager",
    "store_from_config",
]
