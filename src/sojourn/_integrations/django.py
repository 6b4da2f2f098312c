"""Django: a session engine, ``SESSION_ENGINE = "sojourn.django"``, on the sync Manager.

``SessionStore`` is Django's ``SessionBase`` translated onto a :class:`~sojourn.Session`: each
Django method becomes one manager call, so the no-lost-update, no-resurrection and rotation
rules are the engine's, as in every other adapter.

- ``load()``: ``manager.load([key])``. An unknown, expired or corrupt key is never adopted
  (``session_key`` becomes ``None``); a corrupt or dead record is deleted at once. A store made
  by :meth:`SessionStore.presented` from several candidate keys (cookie tossing) hands all of
  them to ``manager.load``: the session is used only if exactly one is live, as in every other
  adapter (several live: no session, ``session.ambiguous_cookie`` logged).
- ``save()``: Django's dict is copied into the Sojourn session (changed keys set, missing keys
  removed), then committed; only the keys that changed are written. A new ``_auth_user_id``
  records the principal with ``Session.login`` (a rotation); a save after a concurrent delete
  raises ``UpdateError`` and writes nothing.
- ``cycle_key()``: ``Session.regenerate`` committed at once (the old key is dead on return);
  ``flush()`` and ``delete()``: ``Session.invalidate`` (or ``manager.delete`` by key).
- ``set_expiry`` is remember-me with the session's own timeouts, stored with it:
  ``set_expiry(n)`` remembers the session with an idle timeout of ``n`` seconds (within
  ``SOJOURN_REMEMBER_IDLE_TIMEOUT``, never past it); a ``datetime`` or ``timedelta``
  remembers it until then (a cap on its deadline, ``Session.cap_expiry``, within
  ``SOJOURN_REMEMBER_LIFETIME``); ``0`` makes it a browser-session one (``remember(False)``);
  ``None`` goes back to the settings. ``get_expiry_age()`` (the cookie's ``Max-Age``) is
  capped at the time left before the session's own absolute lifetime ends.

:class:`SessionMiddleware` is Django's, plus the 503 answer on a store outage and the header or
query transports of ``SOJOURN_TRANSPORT``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any, ParamSpec, Self, TypeVar

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers

from .._core.cookies import cookie_values
from .._core.errors import ConfigurationError, SessionGone, StoreUnavailable, TimeoutTooLong
from .._core.ids import fingerprint, is_valid_session_id, new_session_id
from .._core.opening import UNAVAILABLE_BODY, UNAVAILABLE_HEADERS
from .._core.session import Session
from .._core.transport import CookieTransport, Transport
from .._sync.manager import Manager
from .django_config import AUTH_USER_KEY, clock, configured_manager

EXPIRY_KEY = "_session_expiry"  # where Django's set_expiry keeps its value

P = ParamSpec("P")
T = TypeVar("T")


def _idle_seconds(expiry: object) -> bool:
    """Whether a ``set_expiry`` value is a positive age in seconds (Django keeps dates as ISO
    text): the session's idle timeout, as Django's "that many seconds of inactivity"."""
    return isinstance(expiry, (int, float)) and not isinstance(expiry, bool) and expiry > 0


class SessionStore(SessionBase):  # type: ignore[misc]  # Django ships no type information
    """Django's session API over a Sojourn store (see the module docstring).

    Attributes:
        store_error: the outage a store call met during this request, if any; the middleware
            answers 503 when it is set, whichever code (a view, another middleware) hit it.
        moved_away: a ``flush()`` found that a login elsewhere had already moved the session to
            a new key: the client holds that key now, and :class:`SessionMiddleware` does not
            delete its cookie.
        logged_out: this request ended its own session (``flush()``, ``delete()``): the
            middleware adds the logout's headers (``SOJOURN_CLEAR_SITE_DATA``).
        client: the request's user agent and client address, set by the middleware; a
            ``SOJOURN_BINDING`` compares them with the session's on load.
    """

    _session_key: str | None  # a validating property of SessionBase (annotation only)
    _session_cache: dict[str, Any]  # set by SessionBase on first access (annotation only)

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._sojourn: Session | None = None  # the session behind this key, once opened
        self._deleted = False  # delete() ended the session this key names: save() refuses
        self._manager: Manager | None = None  # looked up once per request, not per call
        self._candidates: list[str] | None = None  # several keys presented, not yet resolved
        self.store_error: StoreUnavailable | None = None
        self.moved_away = False
        self.logged_out = False
        self.client: tuple[str | None, str | None] = (None, None)

    @classmethod
    def presented(cls, raw: Sequence[str]) -> Self:
        """The store for a request that presented the candidate keys ``raw`` (a transport's).

        With at most one well-formed key this is ``cls(key)``, Django's own construction. With
        several, the key stays unknown until the session is first used: then the manager sees
        every candidate and picks the one live session, or none when several are live; until
        then nothing is read, and the session is not taken for empty (so no cookie is cleared).
        """
        keys = list(dict.fromkeys(value for value in raw if is_valid_session_id(value)))
        if len(keys) <= 1:
            return cls(keys[0] if keys else None)
        store = cls(None)
        store._candidates = keys
        return store

    @property
    def session_key(self) -> str | None:
        """The key of the session; with several candidates presented, resolved first."""
        if self._candidates is not None:
            self._open()
        key: str | None = self._get_session_key()
        return key

    def is_empty(self) -> bool:
        # Several candidates not yet looked at may still hold the session: not empty (yet).
        if self._candidates is not None:
            return False
        empty: bool = super().is_empty()
        return empty

    @classmethod
    def get_manager(cls) -> Manager:
        """The process's manager (override to pick one per request in a subclass)."""
        return configured_manager()

    def _mgr(self) -> Manager:
        manager = self._manager
        if manager is None:
            manager = self._manager = self.get_manager()
        return manager

    # -- keys -----------------------------------------------------------------------------------

    def _validate_session_key(self, key: str | None) -> bool:
        # Only IDs of the exact shape Sojourn issues; anything else never reaches the store.
        return isinstance(key, str) and is_valid_session_id(key)

    def _get_new_session_key(self) -> str:
        # 256 bits from the CSPRNG. Sojourn's engine issues the keys it stores; this is only
        # Django's API (some code asks for a fresh key).
        return new_session_id()

    async def _aget_new_session_key(self) -> str:
        return new_session_id()

    # -- one place for manager calls --------------------------------------------------------------

    def _call(self, operation: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """Run one manager call, remembering an outage for the middleware's 503."""
        try:
            return operation(*args, **kwargs)
        except StoreUnavailable as exc:
            self.store_error = exc
            raise

    def _open(self) -> Session:
        """The Sojourn session behind ``session_key``, loaded once per object."""
        session = self._sojourn
        if session is None:
            manager = self._mgr()
            candidates = self._candidates
            meta = manager.request_meta(*self.client)  # None unless bound: costs nothing
            if candidates is not None:
                self._candidates = None
                session = self._call(manager.load, candidates, meta=meta)
                self._session_key = self._chosen(session, candidates)
            else:
                key = self.session_key
                session = self._call(manager.load, [key] if key is not None else [], meta=meta)
            if session.is_new:
                # Deletes a corrupt or dead record the load found; costs nothing otherwise.
                self._call(manager.commit, session, final=False)
                self._session_key = None  # never adopt an unknown or dead key
            self._sojourn = session
        return session

    @staticmethod
    def _chosen(session: Session, candidates: list[str]) -> str | None:
        """Which candidate key the manager opened (the Session shows only its fingerprint)."""
        label = session.fingerprint
        if label is None:
            return None
        return next((key for key in candidates if fingerprint(key) == label), None)

    def _commit(self, session: Session, data: dict[str, Any], *, rotate: bool = False) -> None:
        """Make ``session`` hold ``data`` and store it (Django stores even an empty session)."""
        for key in [key for key in session if key not in data]:
            del session[key]
        for key, value in data.items():
            session[key] = value
        user = data.get(AUTH_USER_KEY)
        principal = str(user) if user is not None else None
        if rotate:
            session.regenerate()
        # A new user logs in (rotates); a user key gone without flush() ends the logged-in ID.
        session.follow_principal(principal)
        now = self._mgr().clock()
        self._follow_expiry(session, data, now)
        session.persist()
        try:
            outcome = self._call(self._mgr().commit, session, final=False)
        except SessionGone:  # its changes did not land: Django's own answer to that
            outcome = None
        if outcome is None or outcome.gone:
            self._session_key = None
            raise UpdateError  # deleted meanwhile (logout elsewhere): nothing resurrected
        self._session_key = outcome.session_id

    def _follow_expiry(self, session: Session, data: dict[str, Any], now: float) -> None:
        """Map Django's ``set_expiry`` value onto the session's own timing (module docstring)."""
        expiry = data.get(EXPIRY_KEY)
        if expiry is None or expiry == 0:
            session.remember(None if expiry is None else False)
            session.set_timeouts()
            session.cap_expiry(None)
            return
        session.remember(True)
        if _idle_seconds(expiry):
            try:
                session.set_timeouts(idle=expiry)
            except TimeoutTooLong:  # longer than the settings allow: as long as they do
                session.set_timeouts()
        else:
            session.set_timeouts()
        session.cap_expiry(self._expiry_cap(data, now))

    def _expiry_cap(self, data: dict[str, Any], now: float) -> float | None:
        """The deadline Django's ``set_expiry`` asks for, as epoch seconds (``None``: none):
        a date's (or a negative age's); a positive age is the session's idle timeout."""
        expiry = data.get(EXPIRY_KEY)
        if not expiry or _idle_seconds(expiry):
            return None
        modification = datetime.fromtimestamp(now, UTC)
        age: int = SessionBase.get_expiry_age(self, modification=modification, expiry=expiry)
        return now + age

    # -- Django's storage API -------------------------------------------------------------------

    def load(self) -> dict[str, Any]:
        self._sojourn = None  # load() always reads the store
        session = self._open()
        data = {key: session[key] for key in session}
        cap = self._expiry_cap(data, self._mgr().clock())
        if cap is not None and session.expires_at > cap:
            # A renewal on load slid the deadline past set_expiry's: write it back.
            session.cap_expiry(cap)
            self._call(self._mgr().commit, session, final=False)
        return data

    def exists(self, session_key: str | None) -> bool:
        if not isinstance(session_key, str):
            return False
        return self._call(self._mgr().exists, session_key)

    def create(self) -> None:
        """Store a new session under a fresh key now; the previous record is left alone."""
        manager = self._mgr()
        self._sojourn = self._call(manager.load, [], meta=manager.request_meta(*self.client))
        self._session_key = None
        self._deleted = False
        self._commit(self._sojourn, self._get_session(no_load=True))
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        if self._deleted and self.session_key is not None:
            raise UpdateError  # as Django: the record this key named was deleted
        data = self._get_session(no_load=must_create)
        session = self._open()  # after clear(): learn whether a record backs the key
        if must_create and not session.is_new:
            raise CreateError
        new = session.is_new
        self._commit(session, data)
        if new:
            self.modified = True  # Django's create(): the middleware sends the new key

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None or session_key == self.session_key:
            session = self._sojourn
            if session is not None and not session.is_new:
                session.invalidate()
                outcome = self._call(self._mgr().commit, session, final=False)
                self.moved_away = outcome.gone
                self.logged_out = not outcome.gone
            elif self.session_key is not None:
                self._call(self._mgr().delete, self.session_key)
                self.logged_out = True
            self._sojourn = None
            self._deleted = self.session_key is not None
        else:
            self._call(self._mgr().delete, session_key)

    def cycle_key(self) -> None:
        """Move the session to a new key now, data kept; the old key is dead on return.

        If the session was revoked meanwhile, nothing of it is carried over: the object becomes
        a fresh, empty session (``auth.login`` then writes its user into a new one).
        """
        data = self._session
        session = self._open()
        try:
            self._commit(session, data, rotate=True)
        except UpdateError:
            self._sojourn = None
            self._session_cache = {}
        self.modified = True

    def flush(self) -> None:
        self.clear()
        self.delete()
        self._session_key = None
        self._deleted = False

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()

    async def aflush(self) -> None:
        await sync_to_async(self.flush)()

    @classmethod
    def clear_expired(cls) -> None:
        """Purge expired records where the store needs a job for it (SQL, SQLite)."""
        cls.get_manager().purge()

    # -- expiry ---------------------------------------------------------------------------------

    def get_expiry_age(self, **kwargs: Any) -> int:
        """Django's expiry age, capped at the time left before the absolute lifetime ends."""
        age: int = super().get_expiry_age(**kwargs)
        session = self._sojourn
        if session is not None and not session.is_new:
            left = session.lifetime_ends_at - self._mgr().clock()  # its own (remembered) lifetime
            age = min(age, max(0, int(left)))
        return age

    def get_expiry_date(self, **kwargs: Any) -> datetime:
        """Django's expiry date, never past the session's own absolute deadline."""
        date: datetime = super().get_expiry_date(**kwargs)
        session = self._sojourn
        if session is None or session.is_new:
            return date
        if date.tzinfo is None:  # USE_TZ = False: naive local time, as Django's
            deadline = datetime.fromtimestamp(session.lifetime_ends_at)
        else:
            deadline = datetime.fromtimestamp(session.lifetime_ends_at, UTC)
        return min(date, deadline)

    async def aget_expiry_date(self, **kwargs: Any) -> datetime:
        await self._aget_session()
        return self.get_expiry_date(**kwargs)

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        await self._aget_session()
        return self.get_expiry_age(**kwargs)


# -- the middleware -------------------------------------------------------------------------------


def configured_transport() -> Transport | None:
    """The transport from ``SOJOURN_TRANSPORT``, or ``None`` for Django's own cookie.

    Raises:
        ConfigurationError: the setting is not a transport, or is a ``CookieTransport`` (the
            cookie is Django's, configured by ``SESSION_COOKIE_*``).
    """
    transport = getattr(settings, "SOJOURN_TRANSPORT", None)
    if transport is None:
        return None
    if isinstance(transport, CookieTransport):
        raise ConfigurationError(
            "leave SOJOURN_TRANSPORT unset for cookies: Django's SESSION_COOKIE_* settings "
            "configure the session cookie"
        )
    if not all(callable(getattr(transport, name, None)) for name in ("extract", "issue", "clear")):
        raise ConfigurationError(
            "SOJOURN_TRANSPORT must be a transport object such as sojourn.HeaderTransport() "
            f"or sojourn.QueryTransport(), not {type(transport).__name__}"
        )
    configured: Transport = transport
    return configured


def cookie_lines(request: HttpRequest) -> list[str]:
    """The request's ``Cookie`` header lines as the client sent them.

    Under ASGI they come from the scope, one per line: Django joins repeated headers into
    ``HTTP_COOKIE`` with commas, which would hide a second line's cookies from the parser.
    Under WSGI the server has already made them one ``HTTP_COOKIE`` value.
    """
    scope = getattr(request, "scope", None)
    if isinstance(scope, dict) and isinstance(scope.get("headers"), list | tuple):
        return [
            value.decode("latin-1")
            for name, value in scope["headers"]
            if name.lower() == b"cookie" and isinstance(value, bytes)
        ]
    header = request.META.get("HTTP_COOKIE", "")
    return [header] if isinstance(header, str) and header else []


def unavailable() -> HttpResponse:
    """The answer to a request whose session store is down: 503, ``Retry-After``."""
    response = HttpResponse(UNAVAILABLE_BODY, status=503)
    for name, value in UNAVAILABLE_HEADERS:
        response[name] = value
    return response


class SessionMiddleware(DjangoSessionMiddleware):  # type: ignore[misc]  # Django is untyped
    """Django's ``SessionMiddleware``, with a 503 on store outages and Sojourn transports.

    Put ``"sojourn.django.SessionMiddleware"`` where Django's middleware was. A store outage
    answers ``503`` with ``Retry-After`` (never a 500, never a silently empty session) whether
    a view, another middleware (messages, auth) or the save at the end of the request met it.

    Without ``SOJOURN_TRANSPORT`` the key travels in Django's cookie, read by Sojourn's cookie
    parser rather than Django's: every value of ``SESSION_COOKIE_NAME`` in the ``Cookie``
    header lines is a candidate, and the session is used only when exactly one is live (two
    live ones give no session and log ``session.ambiguous_cookie``), where Django would take
    the last one. With a header or query
    transport, the key is read from the request with the transport, a new key goes out in the
    transport's response header (``transport.issue``) with ``Cache-Control: private, no-store``,
    an emptied session is cleared with ``transport.clear()``, ``Vary`` names the transport's
    request header, and no cookie is read or set. Django's rules are kept: saves only when
    modified (or ``SESSION_SAVE_EVERY_REQUEST``), none on 5xx, ``SessionInterrupted`` when the
    session was deleted meanwhile.

    Only the server-side engine (``sojourn.django``) may leave the cookie: a sealed
    ``sojourn.django_cookies`` session belongs in a cookie, so that pairing is refused.
    """

    def __init__(self, get_response: Callable[..., Any]) -> None:
        super().__init__(get_response)
        self.transport = configured_transport()
        if self.transport is not None and not issubclass(self.SessionStore, SessionStore):
            if settings.SESSION_ENGINE == "sojourn.django_cookies":
                raise ConfigurationError(
                    "SOJOURN_TRANSPORT cannot be used with sojourn.django_cookies: sealed "
                    "sessions travel in the session cookie; use SESSION_ENGINE = "
                    '"sojourn.django" with a server-side store for header or query tokens'
                )
            raise ConfigurationError(
                f'SOJOURN_TRANSPORT needs SESSION_ENGINE = "sojourn.django", '
                f"not {settings.SESSION_ENGINE!r}"
            )

    def process_request(self, request: HttpRequest) -> None:
        server_side = issubclass(self.SessionStore, SessionStore)
        if self.transport is None:
            if not server_side:  # another engine (sealed cookies, Django's own): its rules
                super().process_request(request)
                return
            # Every value of the cookie, not the last one Django's parser keeps: the manager
            # uses the session only when exactly one candidate is live (cookie tossing).
            name = settings.SESSION_COOKIE_NAME
            raw = cookie_values(cookie_lines(request), name)
            # request.COOKIES already built (by code before us) or filled in by a test: its
            # value is one more candidate; the header's own duplicates are all in raw already.
            built = vars(request).get("COOKIES")
            value = built.get(name) if isinstance(built, dict) else None
            if isinstance(value, str) and value not in raw:
                raw = [*raw, value]
            request.session = self._presented(request, raw)
            return
        headers = [(name.lower(), value) for name, value in request.headers.items()]
        raw = self.transport.extract(headers, request.META.get("QUERY_STRING", ""))
        session = self._presented(request, raw)
        # What the client holds, to clear or replace (a transport yields at most one token).
        request.sojourn_presented_key = next((v for v in raw if is_valid_session_id(v)), None)
        request.session = session

    def _presented(self, request: HttpRequest, raw: Sequence[str]) -> SessionStore:
        """The request's session store, told who the client is (for ``SOJOURN_BINDING``)."""
        store: SessionStore = self.SessionStore.presented(raw)
        meta = request.META
        store.client = (meta.get("HTTP_USER_AGENT"), meta.get("REMOTE_ADDR"))
        return store

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, StoreUnavailable):
            return unavailable()
        return None

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        if getattr(getattr(request, "session", None), "store_error", None) is not None:
            return unavailable()  # met earlier, maybe by another middleware
        try:
            if self.transport is None:
                answered: HttpResponseBase = super().process_response(request, response)
                if self._stale_deletion(request, answered):
                    # The cookie now names the session a rotation moved to: not ours to delete.
                    answered.cookies.pop(settings.SESSION_COOKIE_NAME, None)
            else:
                answered = self._respond(request, response, self.transport)
        except StoreUnavailable:
            return unavailable()
        session = getattr(request, "session", None)
        if isinstance(session, SessionStore) and session.logged_out and not session.moved_away:
            for name, value in session._mgr().engine.logout_headers:  # Clear-Site-Data
                answered[name] = value
        return answered

    @staticmethod
    def _stale_deletion(request: HttpRequest, response: HttpResponseBase) -> bool:
        """Whether Django's middleware is deleting a cookie whose session was rotated away
        meanwhile (a stale logout, or a request that still carried the pre-rotation key and
        found nothing): the client holds the new key, which a deletion would throw away."""
        name = settings.SESSION_COOKIE_NAME
        morsel = response.cookies.get(name)
        if morsel is None or morsel.value:  # no cookie, or a key handed out: not a deletion
            return False
        session = getattr(request, "session", None)
        if not isinstance(session, SessionStore):
            return False
        if session.moved_away:
            return True
        presented = request.COOKIES.get(name)
        if not presented or session._deleted:  # this request's own logout: delete, as Django
            return False
        return session._call(session._mgr().was_rotated, presented)

    def _respond(
        self, request: HttpRequest, response: HttpResponseBase, transport: Transport
    ) -> HttpResponseBase:
        try:
            accessed = request.session.accessed
            modified = request.session.modified
            empty = request.session.is_empty()
        except AttributeError:
            return response
        presented: str | None = getattr(request, "sojourn_presented_key", None)
        issued: list[tuple[str, str]] = []
        if presented is not None and empty:
            issued = transport.clear()  # the key is unknown, expired or flushed: forget it
            used = True
        else:
            used = accessed
            saving = (modified or settings.SESSION_SAVE_EVERY_REQUEST) and not empty
            if saving and response.status_code < 500:  # Django saves nothing on a 5xx
                issued = self._save(request.session, transport, presented)
                used = True
        for name, value in issued:
            response[name] = value
        if issued:
            patch_cache_control(response, private=True, no_store=True)
        if used and transport.vary is not None:
            patch_vary_headers(response, (transport.vary,))
        return response

    @staticmethod
    def _save(
        session: SessionBase, transport: Transport, presented: str | None
    ) -> list[tuple[str, str]]:
        """Save the session; the headers that hand the client its key if that key is new."""
        try:
            session.save()
        except UpdateError as exc:
            raise SessionInterrupted(
                "The request's session was deleted before the request completed. "
                "The user may have logged out in a concurrent request, for example."
            ) from exc
        key: str = session.session_key
        if key == presented:  # the client holds this key already: nothing to send
            return []
        age = None if session.get_expire_at_browser_close() else session.get_expiry_age()
        return transport.issue(key, age, clock())


__all__ = [
    "SessionMiddleware",
    "SessionStore",
    "configured_transport",
    "cookie_lines",
    "unavailable",
]
