"""Django: a session engine, ``SESSION_ENGINE = "sojourn.django"``.

Django's own ``SessionMiddleware`` keeps handling cookies (``SESSION_COOKIE_*``), ``Vary``
and the ``SESSION_SAVE_EVERY_REQUEST`` rule; this module's :class:`SessionStore` keeps the data
in a Sojourn store. ``request.session`` and ``django.contrib.auth`` work unchanged:
``auth.login`` calls :meth:`SessionStore.cycle_key` (the record moves to a new ID, data and all)
and ``auth.logout`` calls ``flush()`` (the record is deleted; a new ID is issued when something
is written again).

What Sojourn adds: session keys are Sojourn's 256-bit IDs (43 characters), and the store only
sees their SHA-256 digests; an unknown key is never adopted; values are JSON, one record field
per key (so two concurrent requests that change different keys both survive), never pickled —
``SESSION_SERIALIZER`` is not used; the idle and absolute timeouts are enforced on every load.

Settings:

``SOJOURN_STORE`` (required)
    A dotted path to a store class or factory (``"sojourn.stores.memory.MemoryStore"``), called
    once with ``SOJOURN_STORE_OPTIONS`` (a dict, default empty) as keyword arguments; or a store
    object; or a factory callable. The store is built lazily and shared by the process.
``SOJOURN_IDLE_TIMEOUT`` / ``SOJOURN_LIFETIME``
    Seconds or ``timedelta``; defaults 30 minutes and 24 hours, as everywhere in Sojourn.
``SOJOURN_CLOCK``
    A callable returning epoch seconds (tests inject a fake clock); default ``time.time``.
``SOJOURN_TRANSPORT``
    Read by :class:`SessionMiddleware` (this module's replacement for Django's): a
    ``HeaderTransport()`` or ``QueryTransport()`` carries the key instead of the cookie;
    unset or ``None`` keeps Django's cookie.

Django's expiry API maps as follows: ``set_expiry(n)`` (seconds, ``timedelta`` or
``datetime``) shortens the record's deadline at each save but never extends it past the
Sojourn timeouts; ``set_expiry(0)`` and ``SESSION_EXPIRE_AT_BROWSER_CLOSE`` give a
browser-session cookie; ``get_expiry_age()`` (the cookie's ``Max-Age``) is capped at the time
left before the absolute lifetime ends.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import CreateError, SessionBase, UpdateError
from django.contrib.sessions.exceptions import SessionInterrupted
from django.contrib.sessions.middleware import SessionMiddleware as DjangoSessionMiddleware
from django.http import HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.module_loading import import_string

from ._core.codec import DEFAULT_LIMITS, decode_value, encode_value
from ._core.errors import (
    ConfigurationError,
    CorruptSession,
    SessionError,
    SessionExists,
    SessionTooLarge,
    StoreUnavailable,
)
from ._core.ids import fingerprint_of_key, is_valid_session_id, new_session_id, store_key
from ._core.policy import DEFAULT_IDLE_TIMEOUT, DEFAULT_LIFETIME, Policy
from ._core.transport import CookieTransport, Transport
from .stores.base import Changes, Login, Record, Renewal, Store, SupportsPurge

logger = logging.getLogger("sojourn.security")

AUTH_USER_KEY = "_auth_user_id"  # django.contrib.auth.SESSION_KEY
CREATE_ATTEMPTS = 3

_stores: dict[object, Store] = {}
_stores_lock = threading.Lock()


def _seconds(value: float | int | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def configured_store() -> Store:
    """The store named by ``settings.SOJOURN_STORE``, built once per process.

    Raises:
        ConfigurationError: the setting is missing.
    """
    value = getattr(settings, "SOJOURN_STORE", None)
    if value is None:
        raise ConfigurationError(
            'SESSION_ENGINE = "sojourn.django" needs SOJOURN_STORE, e.g. '
            '"sojourn.stores.memory.MemoryStore"'
        )
    if not isinstance(value, str | type) and not (callable(value) and not hasattr(value, "load")):
        store: Store = value  # a store object
        return store
    options: Mapping[str, Any] = getattr(settings, "SOJOURN_STORE_OPTIONS", None) or {}
    cache_key = (value if isinstance(value, str) else id(value), id(options))
    with _stores_lock:
        if cache_key not in _stores:
            factory = import_string(value) if isinstance(value, str) else value
            _stores[cache_key] = factory(**options)
        return _stores[cache_key]


def configured_policy() -> Policy:
    """The idle timeout and lifetime from ``SOJOURN_IDLE_TIMEOUT`` / ``SOJOURN_LIFETIME``."""
    return Policy(
        idle_timeout=_seconds(getattr(settings, "SOJOURN_IDLE_TIMEOUT", DEFAULT_IDLE_TIMEOUT)),
        lifetime=_seconds(getattr(settings, "SOJOURN_LIFETIME", DEFAULT_LIFETIME)),
    )


def clock() -> float:
    """The current time from ``SOJOURN_CLOCK`` (tests inject a fake clock), else ``time.time``."""
    configured: Callable[[], float] = getattr(settings, "SOJOURN_CLOCK", None) or time.time
    return configured()


def expiry_deadline(session: SessionBase, created_at: float, now: float) -> float:
    """The deadline a save at ``now`` gives a session: the Sojourn timeouts, shortened (never
    extended) by Django's ``set_expiry``."""
    deadline = configured_policy().deadline(created_at, now)
    if session.get("_session_expiry"):
        deadline = min(deadline, now + SessionBase.get_expiry_age(session))
    return deadline


def capped_expiry_age(age: int, created_at: float | None) -> int:
    """Django's expiry age (the cookie's ``Max-Age``), capped at the time left before the
    absolute lifetime of a session created at ``created_at`` ends."""
    if created_at is not None:
        left = created_at + configured_policy().lifetime - clock()
        age = min(age, max(0, int(left)))
    return age


def _call(operation: Callable[..., Any], *args: Any) -> Any:
    """Run one store operation, translating stray driver errors in one place."""
    try:
        return operation(*args)
    except SessionError:
        raise
    except (OSError, TimeoutError) as exc:
        raise StoreUnavailable(f"session store failed: {type(exc).__name__}") from exc


class SessionStore(SessionBase):  # type: ignore[misc]  # Django ships no type information
    """Django's session API over a Sojourn store (see the module docstring)."""

    _session_key: str | None  # a validating property of SessionBase (annotation only)

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._known: str | None = None  # the key a record was loaded or created under
        self._baseline: dict[str, bytes] = {}  # encoded values as last loaded or saved
        self._principal: str | None = None
        self._created_at: float | None = None

    @classmethod
    def get_store(cls) -> Store:
        """The configured store (override to pick one per request in a subclass)."""
        return configured_store()

    # -- keys -----------------------------------------------------------------------------------

    def _validate_session_key(self, key: str | None) -> bool:
        # Only IDs of the exact shape Sojourn issues; anything else never reaches the store.
        return isinstance(key, str) and is_valid_session_id(key)

    def _get_new_session_key(self) -> str:
        # 256 bits from the CSPRNG; a collision is caught by must_create, not by a lookup.
        return new_session_id()

    async def _aget_new_session_key(self) -> str:
        return new_session_id()

    def _forget(self) -> None:
        self._known = None
        self._baseline = {}
        self._principal = None
        self._created_at = None

    # -- Django's storage API -------------------------------------------------------------------

    def load(self) -> dict[str, Any]:
        session_id = self.session_key
        self._forget()
        if session_id is None:
            return {}
        now = clock()
        policy = configured_policy()
        renewal = Renewal(
            now=now,
            idle_timeout=policy.idle_timeout,
            lifetime=policy.lifetime,
            interval=policy.effective_renew_interval,
        )
        key = store_key(session_id)
        try:
            record: Record | None = _call(self.get_store().load, key, now, renewal)
            if record is None or not policy.is_alive(
                record.created_at, record.renewed_at, record.expires_at, now
            ):
                record = None
            data = (
                {k: decode_value(v, DEFAULT_LIMITS) for k, v in record.fields.items()}
                if record is not None
                else {}
            )
        except CorruptSession:
            logger.warning("session.corrupt: session %s", fingerprint_of_key(key))
            record, data = None, {}
        if record is None:
            self._session_key = None  # never adopt an unknown or dead ID
            return {}
        self._known = session_id
        self._baseline = dict(record.fields)
        self._principal = record.principal
        self._created_at = record.created_at
        return data

    def exists(self, session_key: str | None) -> bool:
        if session_key is None or not is_valid_session_id(session_key):
            return False
        record = _call(self.get_store().load, store_key(session_key), clock())
        return record is not None

    def create(self) -> None:
        for _ in range(CREATE_ATTEMPTS):
            self._session_key = self._get_new_session_key()
            try:
                self.save(must_create=True)
            except CreateError:
                continue  # a 256-bit ID collided: try a fresh one
            self.modified = True
            return
        raise StoreUnavailable("could not create a session with a fresh ID")

    def save(self, must_create: bool = False) -> None:
        if self.session_key is None:
            self.create()
            return
        data = self._get_session(no_load=must_create)
        if not must_create and self._known != self.session_key:
            # The data was set without a load (``clear()``): learn whether a record backs this
            # key before writing, so that an unknown ID is never adopted.
            self.load()
            if self.session_key is None:
                self.create()
                return
        encoded = {k: encode_value(k, v, DEFAULT_LIMITS) for k, v in data.items()}
        size = sum(len(v) for v in encoded.values())
        if size > DEFAULT_LIMITS.max_session_bytes:
            raise SessionTooLarge(f"session data is {size} bytes, over the limit")
        user = data.get(AUTH_USER_KEY)
        principal = str(user) if user is not None else None
        now = clock()
        key = store_key(self.session_key)
        store = self.get_store()
        if must_create:
            created = now
            record = Record(
                key=key,
                fields=encoded,
                principal=principal,
                created_at=created,
                renewed_at=now,
                expires_at=self._deadline(created, now),
                authenticated_at=now if principal else None,
            )
            try:
                _call(store.create, record)
            except SessionExists as exc:
                raise CreateError from exc
            self._created_at = created
        else:
            login = None
            if principal is not None and principal != self._principal:
                login = Login(principal, now)
                self._created_at = now  # a login restarts the absolute lifetime
            created = self._created_at if self._created_at is not None else now
            changes = Changes(
                now=now,
                expires_at=self._deadline(created, now),
                set={k: v for k, v in encoded.items() if self._baseline.get(k) != v},
                remove=frozenset(k for k in self._baseline if k not in encoded),
                login=login,
            )
            if not _call(store.apply, key, changes):
                self._forget()
                raise UpdateError  # deleted meanwhile (logout elsewhere): never resurrect
        self._known = self.session_key
        self._baseline = encoded
        self._principal = principal if principal is not None else self._principal

    def delete(self, session_key: str | None = None) -> None:
        if session_key is None:
            session_key = self.session_key
            if session_key is None:
                return
            self._forget()
        if is_valid_session_id(session_key):
            _call(self.get_store().delete, store_key(session_key))

    def cycle_key(self) -> None:
        """Move the session to a new ID, keeping its data; the old ID stops working."""
        data = self._session
        old = self.session_key
        if old is None or self._known != old:
            self.create()
            self._session_cache = data
            if old is not None:
                self.delete(old)
            return
        new = self._get_new_session_key()
        moved = _call(self.get_store().rename, store_key(old), store_key(new), clock())
        if not moved:  # expired or revoked meanwhile: start afresh rather than resurrect
            self._forget()
            self._session_key = None
            self.create()
            self._session_cache = data
            return
        self._session_key = new
        self._known = new
        self.modified = True

    async def acycle_key(self) -> None:
        await sync_to_async(self.cycle_key)()

    @classmethod
    def clear_expired(cls) -> None:
        """Purge expired records when the store needs a job for it (SQL, SQLite)."""
        store = cls.get_store()
        if isinstance(store, SupportsPurge):
            _call(store.purge_expired, clock())

    # -- expiry ---------------------------------------------------------------------------------

    def get_expiry_age(self, **kwargs: Any) -> int:
        """Django's expiry age, capped at the time left before the absolute lifetime ends."""
        return capped_expiry_age(super().get_expiry_age(**kwargs), self._created_at)

    def _deadline(self, created_at: float, now: float) -> float:
        return expiry_deadline(self, created_at, now)


# -- the middleware: keys from a Sojourn transport -----------------------------------------------


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


class SessionMiddleware(DjangoSessionMiddleware):  # type: ignore[misc]  # Django is untyped
    """Django's ``SessionMiddleware`` with the key carried by ``SOJOURN_TRANSPORT``.

    Put ``"sojourn.django.SessionMiddleware"`` where Django's middleware was. Without
    ``SOJOURN_TRANSPORT`` it *is* Django's middleware (the cookie). With a header or query
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
        if self.transport is None:
            super().process_request(request)
            return
        headers = [(name.lower(), value) for name, value in request.headers.items()]
        raw = self.transport.extract(headers, request.META.get("QUERY_STRING", ""))
        key = next((value for value in raw if is_valid_session_id(value)), None)
        request.sojourn_presented_key = key  # what the client holds, to clear or replace
        request.session = self.SessionStore(key)

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        transport = self.transport
        if transport is None:
            return super().process_response(request, response)
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
    "capped_expiry_age",
    "clock",
    "configured_policy",
    "configured_store",
    "configured_transport",
    "expiry_deadline",
]
