"""FastAPI: the session and the manager as typed dependencies.

FastAPI runs on Starlette, so sessions come from the ASGI middleware
(:class:`sojourn.asgi.SessionMiddleware`) and ``request.session`` already works. What this module
adds is the *type*: a handler that declares ``session: SessionDep`` receives the
:class:`~sojourn.Session` itself, so a type checker knows ``login``, ``regenerate`` and
``invalidate``, and no handler needs the ``Request`` just to reach its session.

FastAPI builds its middleware stack on the first request, so a missing middleware cannot be
detected when the app is made: the dependency raises :class:`~sojourn.ConfigurationError` with
a message that names the fix, and FastAPI answers 500. The same happens when ``scope["session"]``
holds something else, such as the dict of Starlette's own signed-cookie ``SessionMiddleware``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import Depends
from fastapi.requests import HTTPConnection

from .._async.manager import AsyncManager
from .._core.errors import ConfigurationError
from .._core.session import Session
from ._named import MANAGERS_KEY, SESSIONS_KEY, check_name

MISSING_MIDDLEWARE = (
    "no Sojourn session on this request: add "
    "app.add_middleware(sojourn.asgi.SessionMiddleware, store=...) to the FastAPI app"
)


def session_dependency(connection: HTTPConnection) -> Session:
    """The request's (or WebSocket's) Sojourn session; use it through :data:`SessionDep`.

    Raises:
        ConfigurationError: :class:`sojourn.asgi.SessionMiddleware` does not wrap the app.
    """
    session = connection.scope.get("session")
    if not isinstance(session, Session):
        raise ConfigurationError(MISSING_MIDDLEWARE)
    return session


def manager_dependency(connection: HTTPConnection) -> AsyncManager:
    """The middleware's manager, for "your sessions" pages and revocation.

    Raises:
        ConfigurationError: :class:`sojourn.asgi.SessionMiddleware` does not wrap the app.
    """
    manager = connection.scope.get("sojourn.manager")
    if not isinstance(manager, AsyncManager):
        raise ConfigurationError(MISSING_MIDDLEWARE)
    return manager


def named_session(name: str) -> Callable[[HTTPConnection], Session]:
    """A dependency giving the session of the middleware added with ``name=name``.

    ``admin: Annotated[Session, Depends(named_session("admin"))]`` in a handler receives the
    admin session beside the unnamed one (:data:`SessionDep`), each with its own cookie.

    Raises:
        ConfigurationError: ``name`` is empty (at once); no middleware of that name wraps the
            app (when a request asks).
    """
    check_name(name)
    missing = (
        f"no Sojourn session named {name!r} on this request: add "
        f"app.add_middleware(sojourn.asgi.SessionMiddleware, store=..., name={name!r})"
    )

    def dependency(connection: HTTPConnection) -> Session:
        session = connection.scope.get(SESSIONS_KEY, {}).get(name)
        if not isinstance(session, Session):
            raise ConfigurationError(missing)
        return session

    return dependency


def named_manager(name: str) -> Callable[[HTTPConnection], AsyncManager]:
    """A dependency giving the manager of the middleware added with ``name=name``.

    Raises:
        ConfigurationError: ``name`` is empty; no middleware of that name wraps the app.
    """
    check_name(name)

    def dependency(connection: HTTPConnection) -> AsyncManager:
        manager = connection.scope.get(MANAGERS_KEY, {}).get(name)
        if not isinstance(manager, AsyncManager):
            raise ConfigurationError(f"no Sojourn session named {name!r} on this request")
        return manager

    return dependency


SessionDep = Annotated[Session, Depends(session_dependency)]
"""A handler parameter annotated ``SessionDep`` receives the :class:`~sojourn.Session`."""

ManagerDep = Annotated[AsyncManager, Depends(manager_dependency)]
"""A handler parameter annotated ``ManagerDep`` receives the :class:`~sojourn.AsyncManager`."""

__all__ = [
    "ManagerDep",
    "SessionDep",
    "manager_dependency",
    "named_manager",
    "named_session",
    "session_dependency",
]
