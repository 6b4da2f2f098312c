"""Django: client-side sessions, ``SESSION_ENGINE = "sojourn.django_cookies"``.

Like Django's own ``signed_cookies`` backend, the session key *is* the session: Django's
``SessionMiddleware`` writes ``request.session.session_key`` into the cookie, and here that key is
the whole record sealed by :class:`~sojourn.stores.cookie.CookieStore` (AES-256-GCM, bound to
``SESSION_COOKIE_NAME``). Nothing is kept on the server. Unlike ``signed_cookies``, the data is
encrypted, not just signed; values are JSON through Sojourn's codec, never pickled; and the idle
and absolute timeouts are sealed inside the token and enforced on every read.

Settings:

``SOJOURN_COOKIE_KEYS`` (required)
    A list of keys, newest first: ``bytes`` of at least 32 random bytes, or the text
    ``sojourn keygen`` prints. The newest seals; all open; a token opened with an older key is
    re-sealed with the newest on that response.
``SOJOURN_COOKIE_PURPOSE``
    Bound into every token (default ``"session"``), so applications sharing keys cannot swap
    tokens.
``SOJOURN_COOKIE_ACCEPT``
    The revocation hook: a callable, or a dotted path to one, given each unsealed, unexpired
    :class:`~sojourn.stores.base.Record`; ``False`` rejects the session.
``SOJOURN_IDLE_TIMEOUT`` / ``SOJOURN_LIFETIME`` / ``SOJOURN_CLOCK``
    As for ``sojourn.django``.

What a client-side session cannot do: end one session before its sealed deadline (``flush()``
and ``auth.logout`` clear *this* browser's cookie, but a copy of the old cookie still opens until
it expires, unless the accept hook refuses it), or list a user's sessions.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Hashable
from typing import Any

from asgiref.sync import sync_to_async
from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpResponse
from django.utils.module_loading import import_string

from .._core.client_side import check_sealed_cookie_size
from .._core.codec import DEFAULT_LIMITS, decode_value, encode_value
from .._core.errors import ConfigurationError, CorruptSession
from .._core.ids import new_session_id, store_key
from ..stores.base import Record
from .django_config import AUTH_USER_KEY, clock, configured_policy

try:
    from ..stores.cookie import DEFAULT_PURPOSE, MAX_TOKEN_CHARS, CookieStore
except ModuleNotFoundError as exc:  # pragma: no cover - the extra is installed for the tests
    raise ImportError(
        'SESSION_ENGINE = "sojourn.django_cookies" needs cryptography: '
        "pip install 'sojourn[cookie]'"
    ) from exc

logger = logging.getLogger("sojourn.security")


def expiry_deadline(session: SessionBase, created_at: float, now: float) -> float:
    """The deadline a seal at ``now`` gives a session: the Sojourn timeouts, shortened (never
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


@functools.lru_cache(maxsize=8)
def _cookie_store(keys: tuple[bytes | str, ...], purpose: str, accept: Hashable) -> CookieStore:
    hook = import_string(accept) if isinstance(accept, str) else accept
    if hook is not None and not callable(hook):
        raise ConfigurationError("SOJOURN_COOKIE_ACCEPT must be a callable or a dotted path to one")
    return CookieStore(keys, purpose=purpose, accept=hook)


def configured_cookie_store() -> CookieStore:
    """The sealer built from ``SOJOURN_COOKIE_KEYS`` / ``_PURPOSE`` / ``_ACCEPT``.

    Built once per distinct setting values (so ``override_settings`` in tests takes effect).

    Raises:
        ConfigurationError: no keys, a key that is not one, an accept hook that is not
            callable, or a setting only the server-side engine honours.
    """
    for name in ("SOJOURN_BINDING", "SOJOURN_CLEAR_SITE_DATA"):
        if getattr(settings, name, None):  # refused, never silently ignored
            raise ConfigurationError(
                f'{name} needs SESSION_ENGINE = "sojourn.django" (a server-side store); '
                '"sojourn.django_cookies" does not support it'
            )
    keys = getattr(settings, "SOJOURN_COOKIE_KEYS", None)
    if not keys:
        raise ConfigurationError(
            'SESSION_ENGINE = "sojourn.django_cookies" needs SOJOURN_COOKIE_KEYS: a list of keys '
            "printed by `sojourn keygen`, newest first"
        )
    if isinstance(keys, bytes | str):
        raise ConfigurationError("SOJOURN_COOKIE_KEYS must be a list, newest first")
    purpose = getattr(settings, "SOJOURN_COOKIE_PURPOSE", None) or DEFAULT_PURPOSE
    accept = getattr(settings, "SOJOURN_COOKIE_ACCEPT", None)
    return _cookie_store(tuple(keys), purpose, accept)


class SessionStore(SessionBase):  # type: ignore[misc]  # Django ships no type information
    """Django's session API over a sealed cookie (see the module docstring)."""

    _session_key: str | None  # a validating property of SessionBase (annotation only)
    _session_cache: dict[str, Any]  # set by SessionBase on first access (annotation only)

    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        # The record the token opened to: its metadata lives here, beside the user's data.
        self._record: Record | None = None
        self._opened = False  # the token has been unsealed (or there was none to unseal)
        self._new_key = False  # cycle_key asked for a new record key

    @classmethod
    def get_cookie_store(cls) -> CookieStore:
        """The configured sealer (override to pick keys per request in a subclass)."""
        return configured_cookie_store()

    def _validate_session_key(self, key: str | None) -> bool:
        # Any bounded text may be a token; unseal decides. Empty means "no cookie".
        return isinstance(key, str) and 0 < len(key) <= MAX_TOKEN_CHARS

    # -- reading --------------------------------------------------------------------------------

    def _open(self) -> dict[str, Any]:
        """Unseal the token once; a bad, expired or refused token is no session at all."""
        self._opened = True
        self._record = None
        token = self.session_key
        if token is None:
            return {}
        now = clock()
        policy = configured_policy()
        unsealed = self.get_cookie_store().unseal(token, settings.SESSION_COOKIE_NAME, now)
        record = unsealed.record if unsealed is not None else None
        data: dict[str, Any] = {}
        if record is not None and policy.is_alive(
            record.created_at, record.renewed_at, record.expires_at, now
        ):
            try:
                data = {k: decode_value(v, DEFAULT_LIMITS) for k, v in record.fields.items()}
            except CorruptSession:
                logger.warning("session.corrupt: a sealed Django session has an invalid value")
                record = None
        else:
            record = None
        if unsealed is None or record is None:
            self._session_key = None  # never carry a bad token forward
            return {}
        self._record = record
        if unsealed.stale_key or policy.renewal_due(record.created_at, record.renewed_at, now):
            # A new cookie is needed to slide the idle deadline or to move to the newest key.
            self.modified = True
        return data

    def load(self) -> dict[str, Any]:
        return self._open()

    def exists(self, session_key: str | None) -> bool:
        """Always ``False``: there is nothing on the server to look up."""
        return False

    async def aexists(self, session_key: str | None) -> bool:
        return False

    # -- writing --------------------------------------------------------------------------------

    def _identity(self, data: dict[str, Any], now: float) -> tuple[str | None, float, float | None]:
        """The principal, created_at and authenticated_at the next seal will carry.

        A login (a new ``_auth_user_id``) restarts the absolute lifetime, as in
        ``sojourn.django``; nothing else does, so rewriting a session never extends it.
        """
        user = data.get(AUTH_USER_KEY)
        principal = str(user) if user is not None else None
        previous = self._record
        if previous is None:
            return principal, now, now if principal is not None else None
        if principal == previous.principal:
            return principal, previous.created_at, previous.authenticated_at
        if principal is None:
            return None, previous.created_at, None
        return principal, now, now

    def create(self) -> None:
        """Start a new session: a fresh record key at the next save, and a cookie to send."""
        self._session_key = None
        self._record = None
        self._opened = True
        self._new_key = False
        self.modified = True

    def save(self, must_create: bool = False) -> None:
        """Seal the session into ``session_key`` for the middleware to send.

        Raises:
            SessionTooLarge: the ``Set-Cookie`` header would be over 4096 bytes.
            UnencodableValue: a value is not JSON.
        """
        data = self._get_session(no_load=must_create)
        if not self._opened and self.session_key is not None and not must_create:
            self._open()  # data was set without a load (clear()): learn what the token holds
        now = clock()
        encoded = {k: encode_value(k, v, DEFAULT_LIMITS) for k, v in data.items()}
        principal, created_at, authenticated_at = self._identity(data, now)
        previous = self._record
        key = previous.key if previous is not None and not self._new_key else None
        record = Record(
            key=key or store_key(new_session_id()),
            fields=encoded,
            principal=principal,
            created_at=created_at,
            renewed_at=now,
            expires_at=expiry_deadline(self, created_at, now),
            authenticated_at=authenticated_at,
        )
        token = self.get_cookie_store().seal(record, settings.SESSION_COOKIE_NAME)
        check_sealed_cookie_size(
            self._cookie_bytes(token), 'use a server-side store (SESSION_ENGINE = "sojourn.django")'
        )
        self._session_key = token
        self._record = record
        self._opened = True
        self._new_key = False
        self.modified = True

    def _cookie_bytes(self, token: str) -> int:
        """The size of the ``Set-Cookie`` value SessionMiddleware will send for ``token``.

        Rendered by Django itself with the same arguments the middleware uses (name, value,
        ``Max-Age``/``expires`` and the ``SESSION_COOKIE_*`` attributes), so the count is exact.
        Browsers limit name plus value to 4096 bytes; counting the attributes too keeps a margin.
        """
        name = settings.SESSION_COOKIE_NAME
        max_age = None if self.get_expire_at_browser_close() else self.get_expiry_age()
        response = HttpResponse()
        response.set_cookie(
            name,
            token,
            max_age=max_age,
            domain=settings.SESSION_COOKIE_DOMAIN,
            path=settings.SESSION_COOKIE_PATH,
            secure=settings.SESSION_COOKIE_SECURE or None,
            httponly=settings.SESSION_COOKIE_HTTPONLY or None,
            samesite=settings.SESSION_COOKIE_SAMESITE,
        )
        return len(response.cookies[name].OutputString().encode("utf-8"))

    def delete(self, session_key: str | None = None) -> None:
        """Drop this session's cookie. Another token cannot be deleted: none is stored."""
        if session_key is not None and session_key != self.session_key:
            return
        self._session_key = None
        self._session_cache = {}
        self._record = None
        self._opened = True
        self._new_key = False
        self.modified = True

    def cycle_key(self) -> None:
        """Seal the data under a new record key now (``auth.login`` calls this).

        The previous cookie is not revoked — nothing is stored to revoke — but it only carries
        what the session held before, never the login that follows.
        """
        data = self._session
        self._new_key = True
        self._session_cache = data
        self.save()

    async def acycle_key(self) -> None:
        # In a thread: unsealing may call the accept hook, which may query the database.
        await sync_to_async(self.cycle_key)()

    @classmethod
    def clear_expired(cls) -> None:
        """Nothing to do: expired sessions live only in browsers, and are refused on read."""

    @classmethod
    async def aclear_expired(cls) -> None:
        """Nothing to do (see :meth:`clear_expired`)."""

    # -- expiry ---------------------------------------------------------------------------------

    def get_expiry_age(self, **kwargs: Any) -> int:
        """Django's expiry age, capped at the time left before the absolute lifetime ends.

        The lifetime is counted from the ``created_at`` the next seal will carry, so the cookie
        sent with a login lasts the full lifetime.
        """
        age: int = super().get_expiry_age(**kwargs)
        _, created_at, _ = self._identity(self._session, clock())
        return capped_expiry_age(age, created_at)

    async def aget_expiry_age(self, **kwargs: Any) -> int:
        await self._aget_session()
        return self.get_expiry_age(**kwargs)


__all__ = ["SessionStore", "configured_cookie_store"]
