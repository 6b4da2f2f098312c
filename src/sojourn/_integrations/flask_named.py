"""Flask: sessions beside ``flask.session``, each with its own name, cookie, store and policy.

Flask has one ``SessionInterface``, so the unnamed Sojourn session stays ``flask.session``;
``Sojourn(app, store=..., name="admin", cookie=CookieSettings(name="__Host-admin"))`` adds a
named one, opened by a ``before_request`` hook, committed by an ``after_request`` hook, and
reached as ``sessions["admin"]`` (:data:`sessions`) or :func:`named_session`. It is a plain
:class:`~sojourn.Session` (``login``, ``regenerate``, ``invalidate``): Flask's
``SESSION_COOKIE_*`` settings configure ``flask.session`` only, so a named session's cookie is
the one its options name. The rules are its manager's; a store outage answers ``503`` and a
lost write ``409``, as for ``flask.session``.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from flask import Flask, Response, request

from .._core.errors import ConfigurationError, SessionGone, StoreUnavailable
from .._core.opening import UNAVAILABLE_BODY, UNAVAILABLE_HEADERS, Outcome
from .._core.session import Session
from ..stores._diagnose import cause
from ..stores.base import ClientSideStore, Store
from ._flask_codec import TaggedJSONCodec
from ._named import (
    ISSUED_KEY,
    MANAGERS_KEY,
    SESSIONS_KEY,
    check_apart,
)
from ._options import build_options, sync_manager
from .flask import _become_conflict, _become_unavailable, _merge
from .wsgi import request_headers

logger = logging.getLogger("sojourn")

NAMED_KEY = "sojourn.named"
"""Where ``app.extensions`` keeps an app's named sessions, by name."""
UNSAVED_KEY = "sojourn.unsaved"
"""The names of a request's sessions opened anonymously while their store was down."""


class NamedSession:
    """One named session of a Flask app: its manager and the two hooks that run it.

    Args:
        name: the session's name (``sessions[name]``).
        store: a sync store, or a client-side ``CookieStore``.
        clock: the time source, in epoch seconds; tests inject a fake one.
        **options: the adapter options of :func:`sojourn._integrations._options.build_options`
            (``cookie``, ``idle_timeout``, ``lifetime`` …); the value codec defaults to
            Flask's tagged JSON, as for ``flask.session``.
    """

    def __init__(
        self,
        name: str,
        store: Store | ClientSideStore,
        *,
        clock: Callable[[], float] = time.time,
        **options: Any,
    ) -> None:
        options.setdefault("codec", TaggedJSONCodec())
        self.name = name
        built = build_options(**options)
        self.manager = sync_manager(store, built, clock)

    def install(self, app: Flask, primary: str | None) -> None:
        """Register the hooks on ``app``.

        Args:
            app: the application.
            primary: where ``flask.session`` keeps its ID, if Sojourn runs it (a
                :func:`~._named.slot` label).

        Raises:
            ConfigurationError: another session of ``app`` has this name or this cookie.
        """
        named: dict[str, NamedSession] = app.extensions.setdefault(NAMED_KEY, {})
        others = [(n, s.manager.engine.transport) for n, s in named.items()]
        check_apart(self.name, self.manager.engine.transport, [*others, (None, primary)])
        named[self.name] = self
        app.before_request_funcs.setdefault(None, []).insert(0, self.open)
        app.after_request_funcs.setdefault(None, []).append(self.commit)

    def open(self) -> Response | None:
        """The ``before_request`` hook: open the session, or answer 503 (store down)."""
        environ = request.environ
        opened = self.manager.open(
            request_headers(environ),
            environ.get("QUERY_STRING", ""),
            user_agent=environ.get("HTTP_USER_AGENT"),
            client_ip=environ.get("REMOTE_ADDR"),
        )
        environ.setdefault(SESSIONS_KEY, {})[self.name] = opened.session
        environ.setdefault(MANAGERS_KEY, {})[self.name] = self.manager
        if opened.refuse:
            return Response(UNAVAILABLE_BODY, status=503, headers=UNAVAILABLE_HEADERS)
        if not opened.save:
            environ.setdefault(UNSAVED_KEY, set()).add(self.name)
        return None

    def commit(self, response: Response) -> Response:
        """The ``after_request`` hook: save the session and add its headers to ``response``."""
        environ = request.environ
        session = environ.get(SESSIONS_KEY, {}).get(self.name)
        if session is None:  # an earlier before_request hook answered: never opened
            return response
        manager = self.manager
        vary = manager.engine.transport.vary if session.accessed else None
        if self.name in environ.get(UNSAVED_KEY, ()) or response.status_code >= 500:
            _merge(response, Outcome(), vary)  # not saved (SEC-59), but the answer used it
            return response
        try:
            outcome = manager.commit(session, final=True)
        except StoreUnavailable as exc:
            logger.error("session.store_error: the session store failed on save: %s", cause(exc))
            _become_unavailable(response)
            return response
        except SessionGone as exc:  # the changes did not land: say so, send no cookie
            _become_conflict(response, exc.reason)
            return response
        if outcome.headers:  # rare: an ID issued or cleared; a sibling may need them
            environ.setdefault(ISSUED_KEY, []).extend(outcome.headers)
        _merge(response, outcome, vary)
        return response


class _Sessions(Mapping[str, Session]):
    """``sessions["admin"]``: the current request's named sessions, by name."""

    def __getitem__(self, name: str) -> Session:
        return named_session(name)

    def __iter__(self) -> Iterator[str]:
        return iter(request.environ.get(SESSIONS_KEY, {}))

    def __len__(self) -> int:
        return len(request.environ.get(SESSIONS_KEY, {}))


def named_session(name: str) -> Session:
    """The current request's session named ``name``.

    Raises:
        ConfigurationError: the app has no session of that name (``Sojourn(app, name=...)``).
        RuntimeError: outside a request.
    """
    try:
        session: Session = request.environ[SESSIONS_KEY][name]
    except KeyError:
        raise ConfigurationError(
            f"no Sojourn session named {name!r} on this request: add "
            f"Sojourn(app, store=..., name={name!r}, cookie=CookieSettings(name=...))"
        ) from None
    return session


sessions: Mapping[str, Session] = _Sessions()
"""The current request's named sessions: ``sessions["admin"]``."""


def check_apart_from_named(app: Flask, primary: str | None) -> None:
    """Refuse ``flask.session`` on a cookie a named session of ``app`` already uses.

    Raises:
        ConfigurationError: the clash.
    """
    named: dict[str, NamedSession] = app.extensions.get(NAMED_KEY, {})
    check_apart(None, primary, [(n, s.manager.engine.transport) for n, s in named.items()])


__all__ = [
    "NAMED_KEY",
    "NamedSession",
    "check_apart_from_named",
    "named_session",
    "sessions",
]
