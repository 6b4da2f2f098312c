"""What every fuzzed answer must satisfy, whichever adapter gave it.

- a clean status: 200, a framework's own 400/431 refusal, or a 409 with
  ``Sojourn-Session: rotated|ended`` (a write under an ID a login or logout has replaced);
  never a 5xx, never anything else;
- an answer within :data:`MAX_SECONDS`;
- no response header (name or value) holding a canary of the request (no echo, SEC-58);
- every session ID handed out (``Set-Cookie`` of the session cookie, ``x-session-token``) is
  empty (a clear), or one this server issued before, or new: never one the request presented
  that the server had not issued (no adoption, no fixation), and always of the issued shape;
- no traceback in the body.

:class:`Issued` remembers the IDs a server handed out, so a later answer may re-send one
(Django re-sends the key of a saved session) and the input generator can present live ones.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field

from sojourn._core.ids import is_valid_session_id

from ._inputs import Request

MAX_SECONDS = 2.0
ALLOWED_STATUSES = frozenset({200, 400, 431})
TOKEN_HEADER = "x-session-token"


class Failure(Exception):
    """An invariant broken by one input."""


@dataclass
class Issued:
    """The session IDs a server issued, and the most recent ones for the generator."""

    all: set[str] = field(default_factory=set)
    recent: deque[str] = field(default_factory=lambda: deque(maxlen=64))

    def add(self, session_id: str) -> None:
        if session_id not in self.all:
            self.all.add(session_id)
            self.recent.append(session_id)

    def live(self) -> Sequence[str]:
        return self.recent


def lost_race(status: int, headers: Sequence[tuple[str, str]]) -> bool:
    """A 409 saying the presented session was rotated or ended meanwhile (docs/rotation.md):
    a write under an ID that a login or logout has already replaced is refused that way."""
    return status == 409 and any(
        name.lower() == "sojourn-session" and value.strip().lower() in ("rotated", "ended")
        for name, value in headers
    )


def handed_out(headers: Sequence[tuple[str, str]], cookie_name: str) -> list[str]:
    """The session IDs a response hands the client: session ``Set-Cookie`` values and the
    token header (``""`` for a clear)."""
    found = []
    for name, value in headers:
        lowered = name.lower()
        if lowered == "set-cookie":
            pair = value.split(";", 1)[0]
            key, sep, cookie = pair.partition("=")
            if sep and key.strip() == cookie_name:
                cookie = cookie.strip()
                found.append("" if cookie == '""' else cookie)
        elif lowered == TOKEN_HEADER:
            found.append(value.strip())
    return found


def check(
    request: Request,
    status: int,
    headers: Sequence[tuple[str, str]],
    body: bytes,
    seconds: float,
    cookie_name: str,
    issued: Issued,
) -> None:
    """Raise :class:`Failure` unless the answer to ``request`` keeps every invariant."""
    if status not in ALLOWED_STATUSES and not lost_race(status, headers):
        raise Failure(f"status {status}: {body[:300]!r}")
    if seconds > MAX_SECONDS:
        raise Failure(f"answered in {seconds:.2f} s (limit {MAX_SECONDS} s)")
    if request.canaries:
        text = "\n".join(f"{name}: {value}" for name, value in headers).lower()
        echoed = [c for c in request.canaries if c in text]
        if echoed:
            raise Failure(f"response headers echo request input ({echoed[0]}): {text[:300]!r}")
    presented = b"\n".join(value for _, value in request.headers()) + b"\n" + request.query
    for session_id in handed_out(headers, cookie_name):
        if not session_id or session_id in issued.all:
            continue
        if not is_valid_session_id(session_id):
            raise Failure(f"handed out a malformed session ID {session_id[:60]!r}")
        if session_id.encode("ascii") in presented:
            raise Failure("handed out an ID the request presented but the server never issued")
        issued.add(session_id)
    if b"Traceback (most recent call last)" in body:
        raise Failure("a traceback in the body")


__all__ = [
    "ALLOWED_STATUSES",
    "MAX_SECONDS",
    "Failure",
    "Issued",
    "check",
    "handed_out",
    "lost_race",
]
