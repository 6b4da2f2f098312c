"""One cookie parser and one ``Set-Cookie`` renderer, both strict and linear-time.

Parsing follows RFC 6265bis §5.6 rather than :mod:`http.cookies` (which aborts on one bad pair,
unquotes names, and had the quadratic CVE-2024-7592): split on ``;``, split each pair at the
first ``=``, trim only SP and HTAB, never decode names, skip nameless pairs and junk. A header
over the size cap is ignored whole, so no input costs more than a bounded linear pass.

Duplicate-cookie policy: :func:`cookie_values` returns *every* value of the name, in order; the
manager then uses the session only if exactly one of them is live (see ``Manager.load``), and
never picks by position. The ``__Host-`` prefix, on by default, already stops cookie tossing.

Rendering validates instead of escaping: a name that is not an RFC 9110 token, a value outside
``cookie-octet``, or a path/domain with ``;`` or control characters raises.
"""

from __future__ import annotations

import functools
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from email.utils import formatdate
from typing import Any, TypeVar

from .errors import ConfigurationError, SessionTooLarge

logger = logging.getLogger("sojourn.security")

MAX_COOKIE_BYTES = 4096  # name + value, RFC 6265bis §5.6 step 5
MAX_ATTRIBUTE_BYTES = 1024  # RFC 6265bis §5.6 step 6
MAX_AGE_CAP = 400 * 24 * 60 * 60  # user agents cap Max-Age at 400 days
DEFAULT_MAX_HEADER_BYTES = 16 * 1024

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COOKIE_OCTETS = re.compile(r"[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]*")
_AV_OCTETS = re.compile(r"[\x20-\x3a\x3c-\x7e]*")
SAME_SITE = {"lax": "Lax", "strict": "Strict", "none": "None"}
"""Each valid ``SameSite`` value, lower-case, to the spelling a ``Set-Cookie`` carries."""
_EPOCH_HTTP_DATE = "Thu, 01 Jan 1970 00:00:00 GMT"


def parse_cookie_header(
    header: str, max_bytes: int = DEFAULT_MAX_HEADER_BYTES
) -> list[tuple[str, str]]:
    """Split a ``Cookie`` header into ``(name, value)`` pairs, tolerating junk.

    Quotes around a value are removed (RFC 6265 allows them); names are taken as they are.
    A header longer than ``max_bytes`` yields no pairs at all.
    """
    if len(header) > max_bytes:
        return []
    pairs: list[tuple[str, str]] = []
    for chunk in header.split(";"):
        name, sep, value = chunk.partition("=")
        if not sep:
            continue
        name = name.strip(" \t")
        if not name:
            continue  # nameless pairs such as "=__Host-sid=x" are dropped (CVE-2023-23934)
        value = value.strip(" \t")
        if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
            value = value[1:-1]
        pairs.append((name, value))
    return pairs


def cookie_values(
    headers: list[str], name: str, max_bytes: int = DEFAULT_MAX_HEADER_BYTES
) -> list[str]:
    """Every value of cookie ``name`` across one or more ``Cookie`` header lines.

    HTTP/2 may split cookies over several lines; their total size is capped as one header.
    """
    return _finder(name, max_bytes)(headers)


class CookieFinder:
    """Finds one cookie's values in ``Cookie`` header lines, as :func:`parse_cookie_header`
    would, by one search per line instead of splitting every pair (a test checks the two
    agree). Made once per cookie name: a transport holds one.
    """

    __slots__ = ("_pattern", "max_bytes", "name")

    def __init__(self, name: str, max_bytes: int = DEFAULT_MAX_HEADER_BYTES) -> None:
        self.name = name
        self.max_bytes = max_bytes
        # Only a token (no "=", ";" or blanks) can be searched for as a pair's name.
        self._pattern = (
            re.compile(f"(?:^|;)[ \t]*{re.escape(name)}[ \t]*=([^;]*)")
            if _TOKEN.fullmatch(name)
            else None
        )

    def __call__(self, headers: list[str]) -> list[str]:
        """The values, in order; none when the lines together are over ``max_bytes``."""
        name, max_bytes = self.name, self.max_bytes
        if (len(headers[0]) if len(headers) == 1 else sum(map(len, headers))) > max_bytes:
            return []
        pattern = self._pattern
        if pattern is None:
            return [v for h in headers for n, v in parse_cookie_header(h, max_bytes) if n == name]
        found: list[str] = []
        for header in headers:
            if name not in header:
                continue  # most requests without a session still carry other cookies
            for raw in pattern.findall(header):
                value = raw.strip(" \t")
                if len(value) >= 2 and value[0] == '"' and value[-1] == '"':
                    value = value[1:-1]
                found.append(value)
        return found


@functools.lru_cache(maxsize=64)
def _finder(name: str, max_bytes: int) -> CookieFinder:
    return CookieFinder(name, max_bytes)


def http_date(timestamp: float) -> str:
    """An IMF-fixdate for an ``Expires`` attribute."""
    return formatdate(timestamp, usegmt=True)


_Settings = TypeVar("_Settings")


def _remember_given(cls: type[_Settings]) -> type[_Settings]:
    """Record which fields a constructor call named, in ``given``.

    An adapter that merges these settings with its framework's own configuration (Flask's
    ``SESSION_COOKIE_*``) must tell a field the application chose from one left at its
    default: ``CookieSettings(secure=True)`` is a choice to keep, even though ``True`` is also
    the default.
    """
    generated: Callable[..., None] = cls.__init__
    names = [f.name for f in fields(cls) if f.init]  # type: ignore[arg-type]

    @functools.wraps(generated)
    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        generated(self, *args, **kwargs)
        object.__setattr__(self, "given", frozenset(names[: len(args)]) | frozenset(kwargs))

    cls.__init__ = __init__  # type: ignore[method-assign]
    return cls


@_remember_given
@dataclass(frozen=True, slots=True)
class CookieSettings:
    """How the session cookie is named and scoped. Defaults are the secure ones.

    Attributes:
        name: the cookie name; ``None`` picks ``__Host-sid`` when ``secure`` (and no domain,
            path ``/``), ``__Secure-sid`` when secure with a domain or path, else ``sid``.
        secure: send the cookie over HTTPS only. Turning it off is for plain-HTTP
            development and logs a warning.
        http_only: hide the cookie from JavaScript.
        same_site: ``"lax"`` (default), ``"strict"`` or ``"none"`` (needs ``secure``).
        path: the cookie path; must start with ``/``.
        domain: the cookie domain; ``None`` (host-only) is safest.
        persistent: give the cookie ``Max-Age``/``Expires`` up to the session's absolute
            deadline ("remember me"); ``False`` makes a browser-session cookie.
        max_header_bytes: ``Cookie`` headers longer than this are ignored for session purposes.
        given: the names of the fields the constructor was called with (``replace()`` names
            them all); adapters that merge framework settings let exactly these win.
    """

    name: str | None = None
    secure: bool = True
    http_only: bool = True
    same_site: str = "lax"
    path: str = "/"
    domain: str | None = None
    persistent: bool = False
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    given: frozenset[str] = field(default=frozenset(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.name is None:
            if self.secure and self.domain is None and self.path == "/":
                default = "__Host-sid"
            else:
                default = "__Secure-sid" if self.secure else "sid"
            object.__setattr__(self, "name", default)
        name = self.cookie_name
        if not _TOKEN.fullmatch(name):
            raise ConfigurationError("cookie name must be an RFC 9110 token")
        if self.same_site.lower() not in SAME_SITE:
            raise ConfigurationError("same_site must be 'lax', 'strict' or 'none'")
        if self.same_site.lower() == "none" and not self.secure:
            raise ConfigurationError("same_site='none' requires secure=True")
        if not self.path.startswith("/") or not _AV_OCTETS.fullmatch(self.path):
            raise ConfigurationError("cookie path must start with '/' and contain no ';' or CTL")
        if self.domain is not None and (
            not self.domain or not _AV_OCTETS.fullmatch(self.domain) or " " in self.domain
        ):
            raise ConfigurationError("cookie domain contains characters that are not allowed")
        for attribute in (self.path, self.domain or ""):
            if len(attribute) > MAX_ATTRIBUTE_BYTES:
                raise ConfigurationError("cookie attribute over 1024 bytes")
        lowered = name.lower()
        if lowered.startswith("__host-") and (
            not self.secure or self.domain is not None or self.path != "/"
        ):
            raise ConfigurationError("a __Host- cookie needs secure=True, path='/' and no domain")
        if lowered.startswith("__secure-") and not self.secure:
            raise ConfigurationError("a __Secure- cookie needs secure=True")
        if self.max_header_bytes <= 0:
            raise ConfigurationError("max_header_bytes must be positive")
        if not self.secure:
            logger.warning(
                "session cookies are configured without Secure: use this only for plain-HTTP "
                "development"
            )

    @property
    def cookie_name(self) -> str:
        """The cookie name in force (the default resolved)."""
        assert self.name is not None  # set in __post_init__
        return self.name

    def _attributes(self) -> list[str]:
        parts = [f"Path={self.path}"]
        if self.domain is not None:
            parts.append(f"Domain={self.domain}")
        if self.secure:
            parts.append("Secure")
        if self.http_only:
            parts.append("HttpOnly")
        parts.append(f"SameSite={SAME_SITE[self.same_site.lower()]}")
        return parts

    def render(self, value: str, max_age: float | None = None, now: float = 0.0) -> str:
        """A ``Set-Cookie`` header value carrying ``value``.

        Args:
            value: the cookie value; must be ``cookie-octet`` text (IDs are base64url).
            max_age: seconds until the cookie expires, or ``None`` for a browser-session
                cookie; clamped to 400 days.
            now: the current time, for the ``Expires`` twin of ``Max-Age``.

        Raises:
            SessionTooLarge: name plus value exceed 4096 bytes.
            ValueError: the value has characters a cookie cannot carry.
        """
        if not _COOKIE_OCTETS.fullmatch(value):
            raise ValueError("cookie value has characters outside cookie-octet")
        size = len(self.cookie_name) + len(value)
        if size > MAX_COOKIE_BYTES:
            raise SessionTooLarge(
                f"cookie is {size} bytes; browsers drop cookies over {MAX_COOKIE_BYTES} bytes "
                "(name plus value)"
            )
        parts = [f"{self.cookie_name}={value}"]
        if max_age is not None:
            seconds = max(0, min(int(max_age), MAX_AGE_CAP))
            parts += [f"Max-Age={seconds}", f"Expires={http_date(now + seconds)}"]
        return "; ".join(parts + self._attributes())

    def render_clear(self) -> str:
        """A ``Set-Cookie`` value that deletes the cookie (same path and domain as when set)."""
        return "; ".join(
            [
                f"{self.cookie_name}=",
                "Max-Age=0",
                f"Expires={_EPOCH_HTTP_DATE}",
                *self._attributes(),
            ]
        )


__all__ = [
    "DEFAULT_MAX_HEADER_BYTES",
    "MAX_AGE_CAP",
    "MAX_ATTRIBUTE_BYTES",
    "MAX_COOKIE_BYTES",
    "SAME_SITE",
    "CookieFinder",
    "CookieSettings",
    "cookie_values",
    "http_date",
    "parse_cookie_header",
]
