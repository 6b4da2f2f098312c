"""What every page and action of the demo shares: users, limits, headers, small helpers."""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse

from .._core.session import Session
from ._csrf import Forms
from ._ledger import Ledger

# Demo-only credentials, shown on the page. Never do this in a real application.
DEMO_USERS = {"alice": "alice", "bob": "bob"}

MAX_CART_ITEMS = 20
MAX_ITEM_LENGTH = 40
MAX_FLASH = 5
ENDED_HINT_SECONDS = 120

SECURITY_HEADERS = {
    "cache-control": "no-store",
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "content-security-policy": (
        "default-src 'none'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    ),
}

Messages = list[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Shared:
    """What both devices share: timing, the clock, the form tokens and the ledger."""

    idle_timeout: float
    lifetime: float
    clock: Callable[[], float]
    forms: Forms
    ledger: Ledger
    secure: bool


def session_of(request: Request) -> Session:
    """The sojourn session the middleware put in the scope."""
    session: Session = request.scope["session"]
    return session


def flash(session: Session, message: str) -> None:
    """Queue a one-time message for the next page."""
    queued = session.get("flash")
    messages = list(queued) if isinstance(queued, list) else []
    session["flash"] = [*messages, message][-MAX_FLASH:]


def html_response(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def field(form: Any, name: str, limit: int = 200) -> str:
    value = form.get(name)
    return value.strip()[:limit] if isinstance(value, str) else ""


def check_password(username: str, password: str) -> bool:
    """Whether the demo user exists and the password is right (constant time either way)."""
    expected = DEMO_USERS.get(username)
    ok = hmac.compare_digest(password.encode(), (expected or "\x00").encode())
    return ok and expected is not None


__all__ = [
    "DEMO_USERS",
    "ENDED_HINT_SECONDS",
    "MAX_CART_ITEMS",
    "MAX_FLASH",
    "MAX_ITEM_LENGTH",
    "SECURITY_HEADERS",
    "Messages",
    "Shared",
    "check_password",
    "field",
    "flash",
    "html_response",
    "session_of",
]
