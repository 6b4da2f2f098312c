"""Where the session ID travels: a cookie (default), a request header, or a query parameter.

A transport only moves text: it pulls candidate IDs out of a request and says which response
headers carry a new ID or clear an old one. Validation of the candidates happens in the engine,
before any store call. An ID is accepted only from the configured transport (never from a
query string unless :class:`QueryTransport` is chosen on purpose).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol
from urllib.parse import parse_qsl

from .cookies import CookieFinder, CookieSettings
from .errors import ConfigurationError

logger = logging.getLogger("sojourn.security")

Headers = Sequence[tuple[str, str]]
"""Request headers as ``(lower-case name, value)`` pairs, repeated names kept."""


def reads(transport: object) -> tuple[frozenset[str] | None, bool]:
    """The request headers a transport reads (``None``: it may read any) and whether it
    reads the query string, so an adapter translates only those.

    Built-in transports say so in ``request_headers`` and ``reads_query``; a transport that
    does not is handed every header and the query string.
    """
    names = getattr(transport, "request_headers", None)
    return (
        None if names is None else frozenset(names),
        bool(getattr(transport, "reads_query", True)),
    )


MAX_TOKEN_HEADER_BYTES = 4096


class Transport(Protocol):
    """Reads candidate IDs from a request and writes a new or cleared ID to a response."""

    @property
    def vary(self) -> str | None:
        """The request header a cache must key on when the session was used, if any."""
        ...

    def extract(self, headers: Headers, query: str) -> list[str]:
        """Every candidate ID in the request, unvalidated; ``[]`` if there is none."""
        ...

    def issue(self, session_id: str, max_age: float | None, now: float) -> list[tuple[str, str]]:
        """Response headers that hand the client ``session_id``."""
        ...

    def clear(self) -> list[tuple[str, str]]:
        """Response headers that tell the client to forget its ID."""
        ...


def _header_values(headers: Headers, name: str) -> list[str]:
    return [value for key, value in headers if key == name]


@dataclass(frozen=True, slots=True)
class CookieTransport:
    """The ID in a cookie: the default, with secure attributes (see :class:`CookieSettings`)."""

    cookie: CookieSettings = field(default_factory=CookieSettings)
    _find: CookieFinder = field(init=False, repr=False, compare=False)

    request_headers = ("cookie",)
    reads_query = False

    def __post_init__(self) -> None:
        finder = CookieFinder(self.cookie.cookie_name, self.cookie.max_header_bytes)
        object.__setattr__(self, "_find", finder)

    @property
    def vary(self) -> str:
        return "Cookie"

    @property
    def cookie_name(self) -> str:
        """The cookie's name; a transport with one carries sealed (client-side) sessions."""
        return self.cookie.cookie_name

    def extract(self, headers: Headers, query: str) -> list[str]:
        values = [value for key, value in headers if key == "cookie"]
        return self._find(values) if values else []

    def issue(self, session_id: str, max_age: float | None, now: float) -> list[tuple[str, str]]:
        age = max_age if self.cookie.persistent else None
        return [("set-cookie", self.cookie.render(session_id, age, now))]

    def issue_exact(
        self, session_id: str, max_age: float | None, now: float
    ) -> list[tuple[str, str]]:
        """As :meth:`issue`, with ``max_age`` taken as given whatever ``persistent`` says
        (``None``: a browser-session cookie): the engine decides per session (remember-me)."""
        return [("set-cookie", self.cookie.render(session_id, max_age, now))]

    def clear(self) -> list[tuple[str, str]]:
        return [("set-cookie", self.cookie.render_clear())]


def _single_token(values: list[str], what: str) -> list[str]:
    """One distinct non-empty value, or nothing: differing duplicates are rejected (SEC-19)."""
    tokens = {value.strip(" \t") for value in values if value.strip(" \t")}
    if len(tokens) > 1 or any("," in token for token in tokens):
        logger.warning("session.ambiguous_token: differing %s values in one request", what)
        return []
    return [token for token in tokens if len(token) <= MAX_TOKEN_HEADER_BYTES]


@dataclass(frozen=True, slots=True)
class HeaderTransport:
    """The ID in a request header, for APIs and mobile clients that do not keep cookies.

    Attributes:
        header: the request header to read. ``"authorization"`` (the default) expects
            ``Bearer <id>``; any other header carries the bare ID.
        response_header: the response header that carries a new ID, and is sent empty when
            the session ends. Responses that carry it are marked ``Cache-Control: no-store``.
    """

    header: str = "authorization"
    response_header: str = "x-session-token"

    def __post_init__(self) -> None:
        for name in (self.header, self.response_header):
            if not name or name != name.lower() or not name.replace("-", "").isalnum():
                raise ConfigurationError("header names must be lower-case tokens")

    reads_query = False

    @property
    def request_headers(self) -> tuple[str, ...]:
        return (self.header,)

    @property
    def vary(self) -> str:
        return self.header.title()

    def extract(self, headers: Headers, query: str) -> list[str]:
        values = _header_values(headers, self.header)
        if self.header == "authorization":
            tokens = []
            for value in values:
                scheme, _, token = value.strip(" \t").partition(" ")
                if scheme.lower() == "bearer":
                    tokens.append(token)
            values = tokens
        return _single_token(values, self.header)

    def issue(self, session_id: str, max_age: float | None, now: float) -> list[tuple[str, str]]:
        return [(self.response_header, session_id)]

    def clear(self) -> list[tuple[str, str]]:
        return [(self.response_header, "")]


@dataclass(frozen=True, slots=True)
class QueryTransport:
    """The ID in a URL query parameter: opt-in, for clients that can carry nothing else.

    IDs in URLs leak through logs, ``Referer`` headers, browser history and shared links; use
    this only where cookies and headers are impossible, over HTTPS, with short timeouts. New
    IDs are returned in ``response_header``; the application puts them in its links.
    """

    parameter: str = "sid"
    response_header: str = "x-session-token"

    request_headers = ()
    reads_query = True

    @property
    def vary(self) -> str | None:
        return None  # caches key on the URL already; no header selects the session

    def extract(self, headers: Headers, query: str) -> list[str]:
        if len(query) > 8192:
            return []
        values = [v for k, v in parse_qsl(query, keep_blank_values=False) if k == self.parameter]
        return _single_token(values, "query parameter")

    def issue(self, session_id: str, max_age: float | None, now: float) -> list[tuple[str, str]]:
        return [(self.response_header, session_id)]

    def clear(self) -> list[tuple[str, str]]:
        return [(self.response_header, "")]


__all__ = [
    "MAX_TOKEN_HEADER_BYTES",
    "CookieTransport",
    "HeaderTransport",
    "Headers",
    "QueryTransport",
    "Transport",
    "reads",
]
