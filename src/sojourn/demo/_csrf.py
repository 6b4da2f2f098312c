"""CSRF tokens for the demo's forms, without storing a session for a visitor who only reads.

The README promises that an anonymous request that only reads stores nothing and sets no
cookie. A classic synchronizer token lives in the session, so showing a form would have to
create one. The demo uses two kinds of token instead:

- **A session's token.** Once a session exists (the visitor acted: added to the cart or signed
  in) it holds a token under ``csrf``, compared in constant time. It survives login (the data
  moves with the rotation) and dies with the session.
- **A form token for visitors without a session**: ``a.<issued>.<nonce>.<mac>``, an HMAC under a
  key the application draws at start-up, valid for an hour. It is not bound to anything (there
  is nothing yet to bind it to), so it only proves the form came from this server; it is
  accepted only while the request has no session with a token of its own. When the visitor
  acts, the token they sent becomes their new session's token.

Both are checked together with the browser's ``Origin`` and ``Sec-Fetch-Site`` headers, which a
page on another origin (another localhost port included) cannot forge: a browser POST from
elsewhere is refused whatever token it carries. That check is what stops login CSRF for the
unbound form token; ``SameSite=Lax`` already keeps other sites' POSTs from carrying the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Mapping

from .._core.session import Session

FORM_TOKEN_MAX_AGE = 3600.0
_PREFIX = "a"


class Forms:
    """Issues and checks the tokens the demo's forms carry.

    Args:
        key: the HMAC key for form tokens; random per process unless given (tests pass one).
        clock: the clock the tokens' age is measured with.
    """

    def __init__(self, key: bytes | None = None, clock: Callable[[], float] = time.time) -> None:
        self._key = key if key is not None else secrets.token_bytes(32)
        self._clock = clock

    def token(self, session: Session) -> str:
        """The token for a page's forms: the session's own, or a form token if it has none.

        Reading never creates a session: a visitor without one gets a form token.
        """
        own = session.get("csrf")
        if isinstance(own, str):
            return own
        return self.form_token()

    def form_token(self) -> str:
        """A fresh unbound form token (for a page shown to a visitor without a session)."""
        issued = str(int(self._clock()))
        nonce = secrets.token_urlsafe(12)
        return f"{_PREFIX}.{issued}.{nonce}.{self._mac(issued, nonce)}"

    def accepts(self, session: Session, sent: object, made_for: str) -> bool:
        """Whether ``sent`` is the right token for a POST on ``session``.

        Args:
            session: the request's session.
            sent: the form's ``csrf`` field.
            made_for: the form's ``fp`` field, the label of the session its page was made for
                (``""``: none). A form token is accepted only from a page made for no session:
                once a session's token, it must not outlive that session as an unbound one.
                The field can only make the check stricter.
        """
        if not isinstance(sent, str):
            return False
        own = session.get("csrf")
        if isinstance(own, str):
            return hmac.compare_digest(sent.encode(), own.encode())
        return not made_for and self._valid_form_token(sent)

    @staticmethod
    def adopt(session: Session, sent: object) -> None:
        """Give a session that is about to be stored its own token (when the visitor acts).

        The form token the visitor just sent (already checked) becomes the session's token,
        so the page they acted from keeps working. An attacker cannot know it: each page
        gets a fresh nonce, and only the visitor's own page held this one.
        """
        if not isinstance(session.get("csrf"), str):
            session["csrf"] = sent if isinstance(sent, str) else secrets.token_urlsafe(32)

    def _valid_form_token(self, sent: str) -> bool:
        parts = sent.split(".")
        if len(parts) != 4 or parts[0] != _PREFIX or not parts[1].isdigit():
            return False
        _, issued, nonce, mac = parts
        if not hmac.compare_digest(mac.encode(), self._mac(issued, nonce).encode()):
            return False
        age = self._clock() - int(issued)
        return -60 <= age <= FORM_TOKEN_MAX_AGE

    def _mac(self, issued: str, nonce: str) -> str:
        message = f"sojourn-demo-form\0{issued}\0{nonce}".encode()
        return hmac.new(self._key, message, hashlib.sha256).hexdigest()


def same_origin(headers: Mapping[str, str], scheme: str, host: str) -> bool:
    """False when the browser says the request came from another origin.

    Browsers send ``Sec-Fetch-Site`` (every current one) or at least ``Origin`` on form POSTs,
    and pages cannot forge either. ``Sec-Fetch-Site`` decides when present: the demo's
    ``Referrer-Policy: no-referrer`` makes Chromium send ``Origin: null`` even for its own
    forms. A client that sends neither (curl, the test client) is not a browser that could be
    tricked into a cross-site request, so it passes this check and still needs a valid token.
    """
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site in ("same-origin", "none")
    origin = headers.get("origin")
    return origin is None or origin == f"{scheme}://{host}"


__all__ = ["FORM_TOKEN_MAX_AGE", "Forms", "same_origin"]
