"""One "device" of the demo: its routes, on its own cookie, under its own path prefix.

The demo serves two of these on one store: the first device at ``/`` (cookie ``sid``) and a
second device at ``/device2`` (cookie ``sid2`` on path ``/device2``), so a single browser can
hold two sessions of one user and try revocation with one click. Both share the lifecycle
ledger, so either can say how the other's session ended.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from .._core.cookies import CookieSettings
from .._core.ids import fingerprint
from .._core.session import Session
from ..asgi import SessionMiddleware, get_manager
from ..stores.base import AsyncStore, Store
from . import _explain as explain
from . import _screens as screens
from ._common import (
    DEMO_USERS,
    ENDED_HINT_SECONDS,
    MAX_CART_ITEMS,
    MAX_ITEM_LENGTH,
    Messages,
    Shared,
    check_password,
    field,
    flash,
    html_response,
    session_of,
)
from ._csrf import same_origin
from ._ledger import Ending
from ._pages import Site


class DeviceSite:
    """The routes of one device, mounted at ``base`` with its own session cookie."""

    def __init__(self, shared: Shared, base: str, cookie: CookieSettings, label: str = "") -> None:
        self.shared = shared
        self.base = base
        self.cookie = cookie
        self.label = label
        self.hint_cookie = f"{cookie.cookie_name}-ended"
        self.second_device: str | None = None  # the other device's cookie name, if linked

    def app(self, store: AsyncStore | Store) -> Starlette:
        """This device as an ASGI application with its own session middleware."""
        post = self._protected
        routes = [
            Route("/", self.home, methods=["GET"]),
            Route("/sessions", self.devices, methods=["GET"]),
            Route("/login", post(self.login), methods=["POST"]),
            Route("/logout", post(self.logout), methods=["POST"]),
            Route("/cart/add", post(self.cart_add), methods=["POST"]),
            Route("/cart/clear", post(self.cart_clear), methods=["POST"]),
            Route("/sessions/revoke", post(self.revoke), methods=["POST"]),
            Route("/sessions/revoke-others", post(self.revoke_others), methods=["POST"]),
        ]
        middleware = Middleware(
            SessionMiddleware,
            store=store,
            cookie=self.cookie,
            idle_timeout=self.shared.idle_timeout,
            lifetime=self.shared.lifetime,
            track_metadata=True,
            clock=self.shared.clock,
            hooks=[self.shared.ledger.hook],
        )
        return Starlette(routes=routes, middleware=[middleware])

    # -- helpers ------------------------------------------------------------------------------

    def _site(self, session: Session) -> Site:
        token = self.shared.forms.token(session)
        return Site(self.base, token, session.fingerprint or "", self.label)

    def _see_other(self, path: str = "/") -> RedirectResponse:
        return RedirectResponse(
            self.base + path, status_code=303, headers={"cache-control": "no-store"}
        )

    def _dead_cookie_ending(self, request: Request, session: Session) -> tuple[bool, Ending | None]:
        """Whether the browser sent an ID the store does not know, and how it ended if known."""
        sent = request.cookies.get(self.cookie.cookie_name)
        if session.fingerprint is not None or not sent:
            return False, None
        try:
            label = fingerprint(sent)
        except (UnicodeEncodeError, ValueError):
            return True, None
        return True, self.shared.ledger.ending(label, self.shared.clock())

    def _endings(self, request: Request, session: Session) -> Messages:
        """The "your session ended" notice for the first page after it ended, if any."""
        shared = self.shared
        dead, ending = self._dead_cookie_ending(request, session)
        if not dead and session.fingerprint is None:
            hint = request.cookies.get(self.hint_cookie, "")[:64]
            ending = shared.ledger.ending(hint, shared.clock())
            dead = ending is not None
        if not dead:
            return []
        text = explain.ended(ending, shared.idle_timeout, shared.lifetime)
        if request.cookies.get(self.cookie.cookie_name):
            # Clearing it here could race a sign-in in another tab; the library never does.
            text += " " + explain.DEAD_COOKIE
        return [("ended", text)]

    def _flashes(self, session: Session) -> Messages:
        if "flash" not in session:
            return []
        return [("notice", str(m)) for m in session.pop("flash") or []]

    def _respond(self, request: Request, body: str, status: int = 200) -> Response:
        response = html_response(body, status)
        if self.hint_cookie in request.cookies:
            response.delete_cookie(
                self.hint_cookie, path=self.cookie.path, secure=self.shared.secure, httponly=True
            )
        return response

    def _protected(
        self, handler: Callable[[Request, Session, Any], Awaitable[Response]]
    ) -> Callable[[Request], Awaitable[Response]]:
        """A POST handler that runs only for a same-origin form with the right token."""

        async def endpoint(request: Request) -> Response:
            session = session_of(request)
            form = await request.form()
            shared = self.shared
            if not same_origin(request.headers, request.url.scheme, request.url.netloc):
                reason = explain.CROSS_ORIGIN
            elif shared.forms.accepts(session, form.get("csrf"), field(form, "fp", 64)):
                return await handler(request, session, form)
            else:
                form_fp = field(form, "fp", 64)
                ending = shared.ledger.ending(form_fp, shared.clock())
                if ending is None:
                    ending = self._dead_cookie_ending(request, session)[1]
                reason = explain.stale_form(
                    ending,
                    form_fp,
                    session.fingerprint is not None,
                    shared.idle_timeout,
                    shared.lifetime,
                )
            page = screens.refused(
                self._site(session), reason, DEMO_USERS, session.principal is not None
            )
            return self._respond(request, page, 403)

        return endpoint

    # -- pages --------------------------------------------------------------------------------

    def _facts(self, session: Session, ended: bool = False) -> screens.Facts:
        before = session.get("before_login")
        return screens.Facts(
            fingerprint=session.fingerprint,
            principal=session.principal,
            created_at=session.created_at,
            expires_at=session.expires_at,
            absolute_at=session.created_at + self.shared.lifetime,
            rotated_from=before if isinstance(before, str) else None,
            now=self.shared.clock(),
            ended=ended,
        )

    def _home(self, request: Request, session: Session, messages: Messages) -> str:
        cart = session.get("cart")
        return screens.home(
            self._site(session),
            self._facts(session, any(css == "ended" for css, _ in messages)),
            [str(i) for i in cart] if isinstance(cart, list) else [],
            DEMO_USERS,
            messages,
            self.second_device,
        )

    async def home(self, request: Request) -> Response:
        session = session_of(request)
        messages = self._endings(request, session)
        rotated_from = session.pop("rotated_from", None) if "rotated_from" in session else None
        if rotated_from is not None:
            after = session.fingerprint or "new"
            messages.append(
                ("notice", f"session ID rotated: fingerprint {rotated_from} -> {after}")
            )
        messages += self._flashes(session)
        return self._respond(request, self._home(request, session, messages))

    async def devices(self, request: Request) -> Response:
        session = session_of(request)
        messages = self._endings(request, session)
        principal = session.principal
        if principal is None:
            body = screens.signed_out_devices(self._site(session), DEMO_USERS, messages)
            return self._respond(request, body)
        listing = await get_manager(request.scope).sessions_of(principal, current=session)
        body = screens.devices(
            self._site(session),
            listing,
            self.shared.lifetime,
            self.shared.clock(),
            messages + self._flashes(session),
            self.second_device,
        )
        return self._respond(request, body)

    # -- actions ------------------------------------------------------------------------------

    async def login(self, request: Request, session: Session, form: Any) -> Response:
        username = field(form, "username", 64)
        password = field(form, "password", 128)
        if not check_password(username, password):
            errors = [("error", "Wrong user name or password.")]
            return self._respond(request, self._home(request, session, errors), 401)
        before = session.fingerprint or ""
        self.shared.forms.adopt(session, form.get("csrf"))
        session["before_login"] = before
        session["rotated_from"] = before or "new"
        session.login(username)
        flash(session, f"Signed in as {username}.")
        return self._see_other()

    def _signed_out(self, session: Session) -> Response:
        label = session.fingerprint
        session.invalidate()
        response = self._see_other()
        if label:
            # Names the ended session only; the reason shown comes from the server's ledger.
            response.set_cookie(
                self.hint_cookie,
                label,
                max_age=ENDED_HINT_SECONDS,
                path=self.cookie.path,
                secure=self.shared.secure,
                httponly=True,
                samesite="lax",
            )
        return response

    async def logout(self, request: Request, session: Session, form: Any) -> Response:
        return self._signed_out(session)

    async def cart_add(self, request: Request, session: Session, form: Any) -> Response:
        item = field(form, "item", MAX_ITEM_LENGTH)
        cart = session.get("cart")
        items = list(cart) if isinstance(cart, list) else []
        if item and len(items) < MAX_CART_ITEMS:
            self.shared.forms.adopt(session, form.get("csrf"))
            session["cart"] = [*items, item]
        elif item:
            flash(session, f"the cart holds at most {MAX_CART_ITEMS} items")
        return self._see_other()

    async def cart_clear(self, request: Request, session: Session, form: Any) -> Response:
        if "cart" in session:
            session.pop("cart")
        return self._see_other()

    async def revoke(self, request: Request, session: Session, form: Any) -> Response:
        principal = session.principal
        target = field(form, "target", 64)
        if principal is None:
            return self._see_other()
        if target and target == session.fingerprint:
            return self._signed_out(session)  # revoking this device is signing out
        done = await get_manager(request.scope).revoke(principal, target)
        flash(
            session,
            f"Signed out device {target}: its next page will say so."
            if done
            else "That device was already signed out.",
        )
        return self._see_other("/sessions")

    async def revoke_others(self, request: Request, session: Session, form: Any) -> Response:
        principal = session.principal
        if principal is None:
            return self._see_other()
        count = await get_manager(request.scope).revoke_all(principal, keep=session)
        flash(session, f"Signed out {count} other device(s).")
        return self._see_other("/sessions")


__all__ = ["DeviceSite"]
