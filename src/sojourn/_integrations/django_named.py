"""Django: sessions beside ``request.session``, each with its own name, cookie, store and policy.

``request.session`` stays Django's (``SESSION_ENGINE``); named ones are configured in settings
and reached as ``request.sessions["admin"]``, a plain :class:`~sojourn.Session` (its manager,
for "your sessions" pages and revocation, as ``request.sojourn_managers["admin"]``)::

    SOJOURN_SESSIONS = {
        "admin": {
            "store": "sojourn.stores.sqlite.SQLiteStore",   # as SOJOURN_STORE: an object, a
            "store_options": {"path": "admin.db"},           # class, a factory or a dotted path
            "cookie": CookieSettings(name="__Host-admin"),
            "idle_timeout": 15 * 60,
        },
    }
    MIDDLEWARE = [
        ...,
        "sojourn.django.SessionMiddleware",
        "sojourn.django.NamedSessionsMiddleware",
    ]

Every other key is an adapter option (``lifetime``, ``transport``, ``rotate_every``,
``on_store_error``, ``on_lost_write`` …, as for the ASGI middleware). The middleware opens each
session before the view and commits it after, with the same answers as every adapter: ``503``
when a store is down, ``409`` when a write did not land. Django writes cookies from
``response.cookies`` only, so a named session's ``Set-Cookie`` line (rendered by Sojourn) goes
there as a morsel that prints that line unchanged.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping
from http.cookies import Morsel
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.utils.cache import patch_vary_headers

from .._core.errors import ConfigurationError, SessionGone, StoreUnavailable
from .._core.opening import CONFLICT_BODY, CONFLICT_STATUS, conflict_headers
from .._core.session import Session
from .._sync.manager import Manager
from ..stores._diagnose import cause
from ._named import check_apart, check_name, cookie_slot, slot
from ._options import build_options, sync_manager
from .django import cookie_lines, unavailable
from .django_codec import DJANGO_JSON
from .django_config import _build

logger = logging.getLogger("sojourn")


class RenderedCookie(Morsel[str]):
    """A morsel that prints a ``Set-Cookie`` value Sojourn rendered, as it was rendered.

    Django's handlers and test client read ``key`` / ``value`` / ``coded_value`` and call
    ``output`` / ``OutputString``; re-parsing the line into morsel attributes would lose
    nothing today but could drift from the one cookie renderer every adapter shares.
    """

    def __init__(self, line: str) -> None:
        super().__init__()
        name, _, rest = line.partition("=")
        value = rest.split(";", 1)[0]
        self.set(name, value, value)
        self._line = line

    def OutputString(self, attrs: Any = None) -> str:  # the stdlib's name
        return self._line


def _managers() -> dict[str, Manager]:
    """A manager per entry of ``SOJOURN_SESSIONS``, refused when two would share a cookie
    (or the cookie of ``request.session``).

    Raises:
        ConfigurationError: a malformed entry, or a clash.
    """
    configured = getattr(settings, "SOJOURN_SESSIONS", None)
    if not isinstance(configured, Mapping) or not configured:
        raise ConfigurationError(
            'NamedSessionsMiddleware needs SOJOURN_SESSIONS = {"admin": {"store": ..., '
            '"cookie": CookieSettings(name="__Host-admin")}}'
        )
    clock: Callable[[], float] = getattr(settings, "SOJOURN_CLOCK", None) or time.time
    primary = getattr(settings, "SOJOURN_TRANSPORT", None)
    seen: list[tuple[str | None, Any]] = [
        (None, cookie_slot(settings.SESSION_COOKIE_NAME) if primary is None else slot(primary))
    ]
    managers: dict[str, Manager] = {}
    for name, entry in configured.items():
        check_name(name)
        if not isinstance(entry, Mapping) or "store" not in entry:
            raise ConfigurationError(f"SOJOURN_SESSIONS[{name!r}] must be a dict with a 'store'")
        options = dict(entry)
        store, _ = _build(options.pop("store"), options.pop("store_options", {}))
        options.setdefault("codec", DJANGO_JSON)
        try:
            built = build_options(**options)
        except TypeError as exc:  # a key that is no option (a typo): name the entry
            raise ConfigurationError(f"SOJOURN_SESSIONS[{name!r}]: {exc}") from None
        check_apart(name, built.engine.transport, seen)
        seen.append((name, built.engine.transport))
        managers[name] = sync_manager(store, built, clock)
    return managers


class NamedSessionsMiddleware:
    """Opens the sessions of ``SOJOURN_SESSIONS`` as ``request.sessions[name]``, and commits
    them on the way out.

    Raises:
        ConfigurationError: at start-up, when ``SOJOURN_SESSIONS`` is missing or malformed,
            or two sessions (``request.session`` included) would share a cookie.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response
        self.managers = _managers()

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        refused = self._open(request)
        if refused is not None:
            return refused
        return self._commit(request, self.get_response(request))

    def _open(self, request: HttpRequest) -> HttpResponseBase | None:
        headers = [("cookie", line) for line in cookie_lines(request)]
        headers += [(k.lower(), v) for k, v in request.headers.items() if k.lower() != "cookie"]
        query = request.META.get("QUERY_STRING", "")
        user_agent = request.META.get("HTTP_USER_AGENT")
        client_ip = request.META.get("REMOTE_ADDR")
        opened_sessions: dict[str, Session] = {}
        unsaved: set[str] = set()
        request.sessions = opened_sessions
        request.sojourn_managers = self.managers
        request.sojourn_unsaved = unsaved
        for name, manager in self.managers.items():
            opened = manager.open(headers, query, user_agent=user_agent, client_ip=client_ip)
            opened_sessions[name] = opened.session
            if opened.refuse:
                return unavailable()
            if not opened.save:
                unsaved.add(name)
        return None

    def _commit(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        issued: list[tuple[str, str]] = []
        for name, session in request.sessions.items():
            manager = self.managers[name]
            vary = manager.engine.transport.vary if session.accessed else None
            if name in request.sojourn_unsaved or response.status_code >= 500:
                if vary:
                    patch_vary_headers(response, (vary,))
                continue
            try:
                outcome = manager.commit(session, final=True)
            except StoreUnavailable as exc:
                logger.error(
                    "session.store_error: the session store failed on save: %s", cause(exc)
                )
                return _carry(response, unavailable(), issued)
            except SessionGone as exc:  # the changes did not land: say so, send no cookie
                return _carry(response, _conflict(exc.reason), issued)
            issued.extend(outcome.headers)
            _add(response, outcome.headers)
            vary = outcome.vary or vary
            if vary:
                patch_vary_headers(response, (vary,))
        return response


def _add(
    response: HttpResponseBase, headers: tuple[tuple[str, str], ...] | list[tuple[str, str]]
) -> None:
    for name, value in headers:
        if name == "set-cookie":
            cookie = RenderedCookie(value)
            response.cookies[cookie.key] = cookie
        else:
            response[name] = value


def _conflict(reason: str) -> HttpResponse:
    """The ``409`` a lost write answers: uncached, no cookie, the reason named."""
    response = HttpResponse(CONFLICT_BODY, status=CONFLICT_STATUS)
    for name, value in conflict_headers(reason):
        response[name] = value
    return response


def _carry(
    replaced: HttpResponseBase, answer: HttpResponse, issued: list[tuple[str, str]]
) -> HttpResponse:
    """``answer`` with the cookies of the sessions already committed on ``replaced``: the
    named ones before this one, and ``request.session``'s if its middleware ran first; their
    records are saved, so their cookies must still go out."""
    _add(answer, [(k, v) for k, v in issued if k != "cache-control"])
    primary = replaced.cookies.get(settings.SESSION_COOKIE_NAME)
    if primary is not None:
        answer.cookies[settings.SESSION_COOKIE_NAME] = primary
    return answer


__all__ = ["NamedSessionsMiddleware", "RenderedCookie"]
