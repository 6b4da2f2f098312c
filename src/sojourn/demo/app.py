"""The demo: a small Starlette app that makes every session feature visible and explains it.

It serves plain HTTP on localhost, so the cookie is configured without ``Secure`` (``sid``).
The users are hard-coded and exist only for the demo.

Two "devices" share one store: the first at ``/`` and a second at ``/device2`` with a cookie
of its own (:mod:`._site`), so one browser can try revocation with one click. Forms carry CSRF
tokens that need no stored session for a visitor who only reads (:mod:`._csrf`), and the
manager's lifecycle hooks feed a ledger (:mod:`._ledger`) so the page after a session ended
says how it ended.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Callable

from starlette.applications import Starlette
from starlette.routing import Mount, Route

from .._core.cookies import CookieSettings
from ..stores.base import AsyncStore, Store
from ..stores.urls import open_store
from ._common import Shared
from ._csrf import Forms
from ._ledger import Ledger
from ._script import script
from ._site import DeviceSite

DEFAULT_STORE_URL = "sqlite:///sojourn-demo.db"
IDLE_TIMEOUT = 30 * 60
LIFETIME = 8 * 3600
SECOND_DEVICE = "/device2"


def create_app(
    store: AsyncStore | Store,
    *,
    secure_cookies: bool = False,
    idle_timeout: float = IDLE_TIMEOUT,
    lifetime: float = LIFETIME,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    """The demo application on ``store``.

    Args:
        store: where sessions live; it is closed when the application shuts down.
        secure_cookies: send the cookies with ``Secure`` (and the ``__Host-`` / ``__Secure-``
            names); leave it off when serving plain HTTP.
        idle_timeout: seconds of inactivity after which a session ends.
        lifetime: seconds after sign-in (or creation) after which a session ends regardless.
        clock: the time source for sessions, tokens and pages (tests pass a fake one).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        closer = getattr(store, "aclose", None)
        if closer is not None:
            await closer()
        else:
            store.close()  # type: ignore[union-attr]

    shared = Shared(
        idle_timeout=idle_timeout,
        lifetime=lifetime,
        clock=clock,
        forms=Forms(clock=clock),
        ledger=Ledger(lifetime),
        secure=secure_cookies,
    )
    first_cookie = CookieSettings(secure=secure_cookies)
    second_cookie = CookieSettings(
        name="__Secure-sid2" if secure_cookies else "sid2",
        secure=secure_cookies,
        path=SECOND_DEVICE,
    )
    first = DeviceSite(shared, "", first_cookie)
    second = DeviceSite(shared, SECOND_DEVICE, second_cookie, label="second device")
    first.second_device = second_cookie.cookie_name
    routes = [
        Route("/demo.js", script, methods=["GET"]),
        Mount(SECOND_DEVICE, app=second.app(store)),
        Mount("", app=first.app(store)),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.store = store
    app.state.cookie_name = first_cookie.cookie_name
    app.state.second_cookie_name = second_cookie.cookie_name
    app.state.ledger = shared.ledger
    return app


def build_demo(store_url: str = DEFAULT_STORE_URL, *, secure_cookies: bool = False) -> Starlette:
    """The demo application on the store named by ``store_url`` (see :mod:`sojourn.stores.urls`).

    Raises:
        ConfigurationError: the URL is not understood.
    """
    return create_app(open_store(store_url), secure_cookies=secure_cookies)


__all__ = ["DEFAULT_STORE_URL", "IDLE_TIMEOUT", "LIFETIME", "build_demo", "create_app"]
