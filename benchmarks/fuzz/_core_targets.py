"""Fuzz targets below the adapters: the cookie parser, ID validation and the three transports.

These take ``str`` (the adapters decode header bytes as latin-1; here arbitrary text, lone
surrogates included, is fair game too). None of them may raise on any text, and each answer is
checked against an independent statement of what it should be:

- ``parse_cookie_header``: names are non-empty, trimmed, hold no ``=`` or ``;``; values no
  ``;``; ``CookieFinder`` and ``cookie_values`` give exactly the parser's values for the name,
  per line and across lines (the fast path and the reference agree);
- ``is_valid_session_id``: true only for canonical unpadded base64url of 32 bytes;
- transports: the cookie transport yields what the parser yields; the header and query
  transports at most one token, of at most ``MAX_TOKEN_HEADER_BYTES``, comma-free, taken
  from the input.

Each call must also finish within :data:`MAX_CALL_SECONDS` (linear time on 1 MB inputs).
"""

from __future__ import annotations

import base64
import random
import string
import time
from collections.abc import Callable
from typing import Any, TypeVar

from sojourn._core.cookies import (
    DEFAULT_MAX_HEADER_BYTES,
    CookieFinder,
    cookie_values,
    parse_cookie_header,
)
from sojourn._core.ids import is_valid_session_id, new_session_id
from sojourn._core.transport import (
    MAX_TOKEN_HEADER_BYTES,
    CookieTransport,
    Headers,
    HeaderTransport,
    QueryTransport,
    Transport,
)

from ._checks import Failure
from ._inputs import Hostile, Request

T = TypeVar("T")
MAX_CALL_SECONDS = 0.5
BASE64URL = frozenset(string.ascii_letters + string.digits + "-_")
SESSION_COOKIE = "__Host-sid"


def timed(what: str, call: Callable[..., T], *args: Any) -> T:
    """``call(*args)``, failing when it takes longer than :data:`MAX_CALL_SECONDS`."""
    started = time.perf_counter()
    result = call(*args)
    elapsed = time.perf_counter() - started
    if elapsed > MAX_CALL_SECONDS:
        raise Failure(f"{what} took {elapsed:.2f} s")
    return result


def as_text(rng: random.Random, data: bytes) -> str:
    """Header bytes as a str: latin-1 as the adapters decode them, or UTF-8 with lone
    surrogates for bytes that are not UTF-8 (text a Python caller might hand in)."""
    if rng.random() < 0.7:
        return data.decode("latin-1")
    return data.decode("utf-8", "surrogateescape")


def check_parser(lines: list[str], names: list[str]) -> None:
    for line in lines:
        pairs = parse_cookie_header(line)
        assert isinstance(pairs, list)
        for name, value in pairs:
            if not name or name != name.strip(" \t") or "=" in name or ";" in name + value:
                raise Failure(f"parse_cookie_header gave the pair {name[:40]!r}={value[:40]!r}")
        for name in names:
            reference = [v for n, v in pairs if n == name]
            fast = timed("CookieFinder", CookieFinder(name), [line])
            if fast != reference:
                raise Failure(f"CookieFinder({name[:40]!r}) disagrees with the parser")
    total = sum(len(line) for line in lines)
    for name in names:
        across = timed("cookie_values", cookie_values, lines, name)
        if total > DEFAULT_MAX_HEADER_BYTES:
            expected: list[str] = []
        else:
            expected = [v for line in lines for n, v in parse_cookie_header(line) if n == name]
        if across != expected:
            raise Failure(f"cookie_values({name[:40]!r}) over {len(lines)} lines disagrees")


def canonical(value: str) -> bool:
    """Independent statement of a valid ID: 43 base64url characters decoding to 32 bytes
    that encode back to the same text."""
    if len(value) != 43 or not value.isascii():
        return False
    if any(
        c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in value
    ):
        return False
    raw = base64.urlsafe_b64decode(value + "=")
    return len(raw) == 32 and base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == value


def check_ids(values: list[str]) -> None:
    for value in values:
        if is_valid_session_id(value) != canonical(value):
            raise Failure(f"is_valid_session_id({value[:60]!r}) is {is_valid_session_id(value)}")


COOKIE_TRANSPORT = CookieTransport()
TRANSPORTS: dict[str, Transport] = {
    "cookie": COOKIE_TRANSPORT,
    "header": HeaderTransport(),
    "token-header": HeaderTransport(header="x-session-token"),
    "query": QueryTransport(),
}


def check_transports(headers: Headers, query: str) -> None:
    cookies = [value for name, value in headers if name == "cookie"]
    expected = cookie_values(cookies, SESSION_COOKIE) if cookies else []
    for label, transport in TRANSPORTS.items():
        found: object = timed(label, transport.extract, headers, query)
        if not isinstance(found, list) or not all(isinstance(v, str) for v in found):
            raise Failure(f"{label} transport returned {type(found).__name__}")
        if label == "cookie":
            if found != expected:
                raise Failure("the cookie transport disagrees with cookie_values")
            continue
        if len(found) > 1:
            raise Failure(f"{label} transport yielded {len(found)} tokens")
        for token in found:
            source = query if label == "query" else "\n".join(v for _, v in headers)
            if len(token) > MAX_TOKEN_HEADER_BYTES or "," in token or not token:
                raise Failure(f"{label} transport yielded {token[:60]!r}")
            if label != "query" and token not in source:
                raise Failure(f"{label} transport yielded text not in the request")


class CoreTarget:
    """One of the pure targets: ``parser``, ``ids`` or ``transports``."""

    note = ""
    conflicts = 0  # no HTTP here: never a 409

    def __init__(self, name: str, seed: int) -> None:
        self.name = name
        live = [new_session_id() for _ in range(8)]
        self.hostile = Hostile(seed, SESSION_COOKIE, lambda: live)
        self.rng = random.Random(seed ^ 0x5EED)

    def run_one(self, request: Request) -> None:
        rng = self.rng
        if self.name == "parser":
            lines = [as_text(rng, line) for line in request.cookies] or [""]
            names = [SESSION_COOKIE, "sid", self.hostile.cookie_name()]
            check_parser(lines, names)
        elif self.name == "ids":
            check_ids([self.hostile.value() for _ in range(4)] + [self.hostile.an_id()])
        else:
            headers = [(name.decode(), as_text(rng, value)) for name, value in request.headers()]
            check_transports(headers, as_text(rng, request.query))

    def close(self) -> None:
        """Nothing to release: the pure targets hold no resources."""


__all__ = ["CoreTarget", "check_ids", "check_parser", "check_transports"]
