"""The demo: a small Starlette app that makes every session feature visible.

It serves plain HTTP on localhost, so the cookie is configured without ``Secure`` (``sid``).
The users are hard-coded and exist only for the demo.

CSRF protection is deliberately simple: each session holds a random token (``csrf``), every
form carries it in a hidden field, and a POST whose field does not match (constant-time
comparison) is answered with 403. ``SameSite=Lax`` on the cookie already keeps cross-site POSTs
from carrying the session; the token also covers same-site attackers (other localhost ports).
"""

from __future__ import annotations

import contextlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from .._core.cookies import CookieSettings
from .._core.session import Session
from ..asgi import SessionMiddleware, get_manager
from ..stores.base import AsyncStore, Store
from ..stores.urls import open_store
from . import _pages as pages

DEFAULT_STORE_URL = "sqlite:///sojourn-demo.db"
IDLE_TIMEOUT = 30 * 60

# Demo-only credentials, shown on the page. Never do this in a real application.
DEMO_USERS = {"alice": "alice", "bob": "bob"}

MAX_CART_ITEMS = 20
MAX_ITEM_LENGTH = 40
MAX_FLASH = 5

SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'"
    ),
}

Handler = Callable[[Request], Awaitable[Response]]


def session_of(request: Request) -> Session:
    """The sojourn session the middleware put in the scope."""
    session: Session = request.scope["session"]
    return session


def csrf_token(session: Session) -> str:
    """This session's CSRF token, created (and so the session stored) on first use."""
    token = session.get("csrf")
    if not isinstance(token, str):
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def flash(session: Session, message: str) -> None:
    """Queue a one-time message for the next page."""
    queued = session.get("flash")
    messages = list(queued) if isinstance(queued, list) else []
    session["flash"] = [*messages, message][-MAX_FLASH:]


def _html(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def _see_other(path: str = "/") -> RedirectResponse:
    return RedirectResponse(path, status_code=303, headers={"cache-control": "no-store"})


def _field(form: Any, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def protected(handler: Callable[[Request, Session, Any], Awaitable[Response]]) -> Handler:
    """A POST handler that runs only when the form's CSRF token matches the session's."""

    async def endpoint(request: Request) -> Response:
        session = session_of(request)
        form = await request.form()
        sent = form.get("csrf")
        expected = session.get("csrf")
        if not (
            isinstance(sent, str)
            and isinstance(expected, str)
            and hmac.compare_digest(sent.encode(), expected.encode())
        ):
            return _html(
                pages.page("Forbidden", pages.notices(["CSRF token missing or wrong."], "error")),
                403,
            )
        return await handler(request, session, form)

    return endpoint


def _check_password(username: str, password: str) -> bool:
    expected = DEMO_USERS.get(username)
    # Compare even for unknown users, so timing does not tell which names exist.
    ok = hmac.compare_digest(password.encode(), (expected or "\x00").encode())
    return ok and expected is not None


async def home(request: Request) -> Response:
    session = session_of(request)
    token = csrf_token(session)
    messages = session.pop("flash", None) or []
    rotated_from = session.pop("rotated_from", None)
    if rotated_from is not None:
        messages = [
            f"session ID rotated: fingerprint {rotated_from} -> {session.fingerprint or 'new'}",
            *messages,
        ]
    return _html(_home_page(session, token, [str(m) for m in messages]))


def _home_page(
    session: Session, token: str, messages: Sequence[str], errors: Sequence[str] = ()
) -> str:
    principal = session.principal
    cart = session.get("cart")
    body = [
        pages.notices(messages),
        pages.notices(errors, "error"),
        pages.session_facts(
            session.fingerprint,
            session.created_at,
            max(0, int(session.expires_at - time.time())),
            principal,
        ),
    ]
    if principal is None:
        body.append(pages.login_form(token, DEMO_USERS))
    body.append(pages.cart_section(token, [str(i) for i in cart] if isinstance(cart, list) else []))
    if principal is not None:
        body.append(pages.logout_section(token))
    return pages.page("Home", "".join(body))


async def login(request: Request, session: Session, form: Any) -> Response:
    username = _field(form, "username", 64)
    password = _field(form, "password", 128)
    if not _check_password(username, password):
        token = csrf_token(session)
        return _html(_home_page(session, token, [], ["Wrong user name or password."]), 401)
    session["rotated_from"] = session.fingerprint or "new"
    session.login(username)
    return _see_other()


async def logout(request: Request, session: Session, form: Any) -> Response:
    session.invalidate()
    return _see_other()


async def cart_add(request: Request, session: Session, form: Any) -> Response:
    item = _field(form, "item", MAX_ITEM_LENGTH)
    cart = session.get("cart")
    items = list(cart) if isinstance(cart, list) else []
    if item and len(items) < MAX_CART_ITEMS:
        session["cart"] = [*items, item]
    elif item:
        flash(session, f"the cart holds at most {MAX_CART_ITEMS} items")
    return _see_other()


async def cart_clear(request: Request, session: Session, form: Any) -> Response:
    session.pop("cart", None)
    return _see_other()


async def sessions(request: Request) -> Response:
    session = session_of(request)
    token = csrf_token(session)
    principal = session.principal
    messages = [str(m) for m in session.pop("flash", None) or []]
    if principal is None:
        body = pages.notices(["Sign in to see your sessions."])
    else:
        listing = await get_manager(request.scope).sessions_of(principal, current=session)
        body = pages.notices(messages) + pages.sessions_table(token, listing)
    return _html(pages.page("Your sessions", body))


async def revoke(request: Request, session: Session, form: Any) -> Response:
    principal = session.principal
    fingerprint = _field(form, "fingerprint", 64)
    if principal is None:
        return _see_other()
    if fingerprint and fingerprint == session.fingerprint:
        session.invalidate()  # revoking this device is signing out
        return _see_other()
    done = await get_manager(request.scope).revoke(principal, fingerprint)
    flash(session, f"revoked session {fingerprint}" if done else "no such session")
    return _see_other("/sessions")


async def revoke_others(request: Request, session: Session, form: Any) -> Response:
    principal = session.principal
    if principal is None:
        return _see_other()
    count = await get_manager(request.scope).revoke_all(principal, keep=session)
    flash(session, f"signed out {count} other session(s)")
    return _see_other("/sessions")


def create_app(
    store: AsyncStore | Store,
    *,
    secure_cookies: bool = False,
    idle_timeout: float = IDLE_TIMEOUT,
) -> Starlette:
    """The demo application on ``store``.

    Args:
        store: where sessions live; it is closed when the application shuts down.
        secure_cookies: send the cookie with ``Secure`` (and the ``__Host-`` name); leave it
            off when serving plain HTTP, or browsers will not send the cookie back.
        idle_timeout: seconds of inactivity after which a session ends.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        closer = getattr(store, "aclose", None)
        if closer is not None:
            await closer()
        else:
            store.close()  # type: ignore[union-attr]

    routes = [
        Route("/", home, methods=["GET"]),
        Route("/login", protected(login), methods=["POST"]),
        Route("/logout", protected(logout), methods=["POST"]),
        Route("/cart/add", protected(cart_add), methods=["POST"]),
        Route("/cart/clear", protected(cart_clear), methods=["POST"]),
        Route("/sessions", sessions, methods=["GET"]),
        Route("/sessions/revoke", protected(revoke), methods=["POST"]),
        Route("/sessions/revoke-others", protected(revoke_others), methods=["POST"]),
    ]
    cookie = CookieSettings(secure=secure_cookies)
    middleware = [
        Middleware(
            SessionMiddleware,
            store=store,
            cookie=cookie,
            idle_timeout=idle_timeout,
            track_metadata=True,
        )
    ]
    app = Starlette(routes=routes, middleware=middleware, lifespan=lifespan)
    app.state.store = store
    app.state.cookie_name = cookie.cookie_name
    return app


def build_demo(store_url: str = DEFAULT_STORE_URL, *, secure_cookies: bool = False) -> Starlette:
    """The demo application on the store named by ``store_url`` (see :mod:`sojourn.stores.urls`).

    Raises:
        ConfigurationError: the URL is not understood.
    """
    return create_app(open_store(store_url), secure_cookies=secure_cookies)


__all__ = ["DEFAULT_STORE_URL", "build_demo", "create_app"]
