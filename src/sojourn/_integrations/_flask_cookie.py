"""The Flask session cookie, configured the way Flask configures it: per request, from config.

Flask reads ``SESSION_COOKIE_*``, ``APPLICATION_ROOT``, ``PERMANENT_SESSION_LIFETIME`` and
``SESSION_REFRESH_EACH_REQUEST`` on every request through ``SessionInterface.get_cookie_*``, so
settings changed after start-up (and in tests) take effect. :func:`flask_cookie` does the same,
merged field by field with an explicit :class:`~sojourn.CookieSettings` passed to ``Sojourn``:
a field the application named there wins, and a config value it overrides is logged once.

The cookie is rendered by Werkzeug's ``dump_cookie``, as Flask renders its own, so attributes
(``Partitioned``, a ``SameSite`` of ``None``, a leading-dot domain) come out exactly as Flask's
do, and an invalid ``SESSION_COOKIE_SAMESITE`` raises ``ValueError`` as it does in Flask.

Flask re-sends the cookie on every request that modifies the session, and ``dump_cookie`` costs
more than the rest of such a request's cookie handling (it quotes the path, encodes the domain,
formats the date and joins the attributes). Only the value changes between two such cookies of
one configuration, so each :class:`FlaskCookie` asks ``dump_cookie`` once for the text around a
placeholder value (once per expiry second for a dated cookie) and splices each ID into it; a
value ``dump_cookie`` would quote, a cookie over its size limit (it warns) and anything else
the template cannot vouch for go to ``dump_cookie`` itself. ``test_flask_cookie`` checks the
spliced text against ``dump_cookie`` byte for byte across many settings.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from werkzeug.http import dump_cookie

from .._core.cookies import DEFAULT_MAX_HEADER_BYTES, SAME_SITE, CookieSettings, cookie_values
from .._core.errors import ConfigurationError
from .._core.transport import Headers

if TYPE_CHECKING:
    from flask import Flask
    from flask.sessions import SessionInterface

logger = logging.getLogger("sojourn")

# CookieSettings field -> the Flask config key it overrides
CONFIG_KEYS = {
    "name": "SESSION_COOKIE_NAME",
    "domain": "SESSION_COOKIE_DOMAIN",
    "path": "SESSION_COOKIE_PATH",
    "http_only": "SESSION_COOKIE_HTTPONLY",
    "secure": "SESSION_COOKIE_SECURE",
    "same_site": "SESSION_COOKIE_SAMESITE",
}

# A value made only of these is written by dump_cookie as is (it quotes only characters outside
# RFC 6265's cookie-octets, a superset of these): Sojourn's IDs are base64url, so every ID.
_PLAIN_VALUE = re.compile(r"[A-Za-z0-9_-]*")
_PLACEHOLDER = "sojourn-session-id-placeholder"  # plain, and unlikely in any attribute
MAX_COOKIE_BYTES = 4093  # dump_cookie's default max_size: a longer cookie makes it warn
MAX_EXPIRY_TEMPLATES = 8  # expiry seconds remembered per cookie (one is in use at a time)
_UNSEEN: Any = object()

Template = tuple[str, str]
"""A rendered cookie's text before and after its value."""


@dataclass(frozen=True, slots=True)
class FlaskCookie:
    """The session cookie of one Flask configuration; a Sojourn transport.

    ``issue`` renders a browser-session cookie: the Flask interface adds ``Expires`` for
    permanent sessions itself, since permanence belongs to each session, not to the config.
    """

    name: str
    domain: str | None
    path: str
    http_only: bool
    secure: bool
    same_site: str | None
    partitioned: bool
    max_header_bytes: int = DEFAULT_MAX_HEADER_BYTES
    _clear_line: str = field(default="", init=False, repr=False, compare=False)
    _template: Template | None = field(default=None, init=False, repr=False, compare=False)
    _dated: dict[datetime, Template | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        if self.name.lower().startswith("__host-") and (
            not self.secure or self.domain is not None or self.path != "/"
        ):
            raise ConfigurationError(
                f"a __Host- cookie name ({self.name}) needs SESSION_COOKIE_SECURE = True, "
                "SESSION_COOKIE_PATH = '/' (or APPLICATION_ROOT '/') and no SESSION_COOKIE_DOMAIN"
            )
        if self.name.lower().startswith("__secure-") and not self.secure:
            raise ConfigurationError(
                f"a __Secure- cookie name ({self.name}) needs SESSION_COOKIE_SECURE = True"
            )
        if self.same_site is None or self.same_site.lower() in SAME_SITE:
            # An invalid SameSite raises at the first Set-Cookie, as in Flask, not here (and
            # with no template, every render goes to dump_cookie, which raises).
            object.__setattr__(self, "_clear_line", self.render_clear())
            object.__setattr__(self, "_template", self._make_template(None))

    @property
    def vary(self) -> str:
        return "Cookie"

    @property
    def cookie_name(self) -> str:
        """The cookie's name (sealed client-side sessions are bound to it)."""
        return self.name

    def extract(self, headers: Headers, query: str) -> list[str]:
        lines = [value for key, value in headers if key == "cookie"]
        return cookie_values(lines, self.name, self.max_header_bytes)

    def render(self, value: str, expires: datetime | float | None = None) -> str:
        """A ``Set-Cookie`` value carrying ``value``, as Flask's ``response.set_cookie``: the
        value spliced into this configuration's template when one vouches for it, else
        ``dump_cookie``'s output (the same text either way)."""
        template = self._template
        if expires is not None and template is not None:
            template = self._dated_template(expires)
        if template is not None and _PLAIN_VALUE.fullmatch(value) is not None:
            line = template[0] + value + template[1]
            if len(line) <= MAX_COOKIE_BYTES:
                return line
        return self._dump(value, expires=expires)

    def _dated_template(self, expires: datetime | float) -> Template | None:
        """The template for a cookie that expires at ``expires``, if one can be shared.

        Only an exact UTC ``datetime`` (what Flask's ``get_expiration_time`` returns) is
        templated: ``dump_cookie`` writes it to the second, so every ``expires`` within one
        second shares a template. Other zones, naive times, numbers and strings are rare and
        rendered by ``dump_cookie``, which converts them itself.
        """
        if type(expires) is not datetime or expires.tzinfo is not UTC:
            return None
        second = expires.replace(microsecond=0)
        dated = self._dated
        found: Template | None = dated.get(second, _UNSEEN)
        if found is _UNSEEN:  # not seen yet (a template may be None: not shareable)
            if len(dated) >= MAX_EXPIRY_TEMPLATES:
                dated.clear()
            found = dated[second] = self._make_template(second)
        return found

    def _make_template(self, expires: datetime | None) -> Template | None:
        """``dump_cookie``'s text around a placeholder value, or ``None`` if the placeholder
        is not found exactly once (a name or attribute that contains it)."""
        # max_size=0: the template's length is not the cookie's; render() checks the cookie's.
        line = self._dump(_PLACEHOLDER, expires=expires, max_size=0)
        if line.count(_PLACEHOLDER) != 1:
            return None
        before, _, after = line.partition(_PLACEHOLDER)
        return before, after

    def render_clear(self) -> str:
        """A ``Set-Cookie`` value deleting the cookie, as Flask's ``response.delete_cookie``."""
        return self._dump("", expires=0, max_age=0)

    def _dump(
        self,
        value: str,
        *,
        expires: datetime | float | None,
        max_age: int | None = None,
        max_size: int = MAX_COOKIE_BYTES,
    ) -> str:
        return dump_cookie(
            self.name,
            value,
            max_age=max_age,
            expires=expires,
            path=self.path,
            domain=self.domain,
            secure=self.secure,
            httponly=self.http_only,
            max_size=max_size,
            samesite=self.same_site,
            partitioned=self.partitioned,
        )

    def issue(self, session_id: str, max_age: float | None, now: float) -> list[tuple[str, str]]:
        return [("set-cookie", self.render(session_id))]

    def clear(self) -> list[tuple[str, str]]:
        # The engine asks for this on most commits; rendering it costs more than the rest of
        # the commit (Werkzeug formats a date), and it never changes: render it once.
        return [("set-cookie", self._clear_line or self.render_clear())]


class ConflictLog:
    """Logs each config value the application set that an explicit ``CookieSettings``
    overrides, once per value (Flask's own defaults are not conflicts)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, object]] = set()

    def override(self, app: Flask, field_name: str, config_value: object, chosen: object) -> None:
        setting = CONFIG_KEYS[field_name]
        if app.config.get(setting) == app.default_config.get(setting):
            return
        key = (field_name, config_value)
        if config_value != chosen and key not in self._seen:
            self._seen.add(key)
            logger.warning(
                "sojourn.flask: %s = %r is overridden by Sojourn(cookie=CookieSettings(%s=%r))",
                setting,
                config_value,
                field_name,
                chosen,
            )


# The helpers config_key calls; when an interface keeps Flask's own, each reads app.config alone.
COOKIE_HELPERS = (
    "get_cookie_name",
    "get_cookie_domain",
    "get_cookie_path",
    "get_cookie_httponly",
    "get_cookie_secure",
    "get_cookie_samesite",
    "get_cookie_partitioned",
)


def helpers_are_flasks(interface: SessionInterface) -> bool:
    """True if ``interface`` keeps Flask's own ``get_cookie_*`` helpers (and Flask has all
    of them), so that :func:`plain_config_key` reads exactly what they would read."""
    from flask.sessions import SessionInterface

    cls = type(interface)
    return all(
        getattr(SessionInterface, name, None) is not None
        and getattr(cls, name) is getattr(SessionInterface, name)
        for name in COOKIE_HELPERS
    )


def plain_config_key(app: Flask) -> tuple[Any, ...]:
    """:func:`config_key` for an interface whose helpers are Flask's (:func:`helpers_are_flasks`)
    and an app whose ``permanent_session_lifetime`` is Flask's: the same config values, read
    from ``app.config`` as those helpers read them, in a third of the time (the helpers are a
    method call each). Equal keys still mean equal cookies and timeouts: each entry is what
    its helper returns, except the lifetime, which is the value Flask converts to a timedelta
    (equal values convert alike), and ``partitioned``, which :func:`flask_cookie` makes a bool.
    """
    config = app.config
    return (
        config["SESSION_COOKIE_NAME"],
        config["SESSION_COOKIE_DOMAIN"],
        config["SESSION_COOKIE_PATH"] or config["APPLICATION_ROOT"],
        config["SESSION_COOKIE_HTTPONLY"],
        config["SESSION_COOKIE_SECURE"],
        config["SESSION_COOKIE_SAMESITE"],
        config["SESSION_COOKIE_PARTITIONED"],
        config["PERMANENT_SESSION_LIFETIME"],
    )


def config_key(app: Flask, interface: SessionInterface) -> tuple[Any, ...]:
    """Everything in this request's config that shapes the cookie and the timeouts, read
    through Flask's helpers; equal keys give equal cookies (a dict lookup per request)."""
    partitioned = getattr(interface, "get_cookie_partitioned", None)
    return (
        interface.get_cookie_name(app),
        interface.get_cookie_domain(app),
        interface.get_cookie_path(app),
        interface.get_cookie_httponly(app),
        interface.get_cookie_secure(app),
        interface.get_cookie_samesite(app),
        bool(partitioned(app)) if partitioned is not None else False,
        app.permanent_session_lifetime,
    )


def flask_cookie(
    app: Flask,
    key: tuple[Any, ...],
    explicit: CookieSettings | None,
    conflicts: ConflictLog,
) -> FlaskCookie:
    """The cookie for a :func:`config_key`: Flask's config, with ``explicit``'s named fields
    winning (each overridden config value logged once)."""
    name, domain, path, http_only, secure, same_site, partitioned, _ = key
    config: dict[str, Any] = {
        "name": name,
        "domain": domain,
        "path": path,
        "http_only": http_only,
        "secure": secure,
        "same_site": same_site,
    }
    max_header_bytes = DEFAULT_MAX_HEADER_BYTES
    if explicit is not None:
        for field_name in explicit.given:
            if field_name in config:
                chosen: Any = getattr(explicit, field_name)
                if field_name == "same_site":
                    chosen = SAME_SITE[str(chosen).lower()]
                conflicts.override(app, field_name, config[field_name], chosen)
                config[field_name] = chosen
        max_header_bytes = explicit.max_header_bytes
    return FlaskCookie(
        name=str(config["name"]),
        domain=config["domain"],
        path=str(config["path"]),
        http_only=bool(config["http_only"]),
        secure=bool(config["secure"]),
        same_site=config["same_site"],
        partitioned=partitioned,
        max_header_bytes=max_header_bytes,
    )


__all__ = [
    "CONFIG_KEYS",
    "COOKIE_HELPERS",
    "MAX_COOKIE_BYTES",
    "ConflictLog",
    "FlaskCookie",
    "Template",
    "config_key",
    "flask_cookie",
    "helpers_are_flasks",
    "plain_config_key",
]
