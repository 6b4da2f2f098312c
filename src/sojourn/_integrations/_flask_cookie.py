"""The Flask session cookie, configured the way Flask configures it: per request, from config.

Flask reads ``SESSION_COOKIE_*``, ``APPLICATION_ROOT``, ``PERMANENT_SESSION_LIFETIME`` and
``SESSION_REFRESH_EACH_REQUEST`` on every request through ``SessionInterface.get_cookie_*``, so
settings changed after start-up (and in tests) take effect. :func:`flask_cookie` does the same,
merged field by field with an explicit :class:`~sojourn.CookieSettings` passed to ``Sojourn``:
a field the application named there wins, and a config value it overrides is logged once.

The cookie is rendered by Werkzeug's ``dump_cookie``, as Flask renders its own, so attributes
(``Partitioned``, a ``SameSite`` of ``None``, a leading-dot domain) come out exactly as Flask's
do, and an invalid ``SESSION_COOKIE_SAMESITE`` raises ``ValueError`` as it does in Flask.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
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
            # An invalid SameSite raises at the first Set-Cookie, as in Flask, not here.
            object.__setattr__(self, "_clear_line", self.render_clear())

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
        """A ``Set-Cookie`` value carrying ``value``, as Flask's ``response.set_cookie``."""
        return self._dump(value, expires=expires)

    def render_clear(self) -> str:
        """A ``Set-Cookie`` value deleting the cookie, as Flask's ``response.delete_cookie``."""
        return self._dump("", expires=0, max_age=0)

    def _dump(
        self, value: str, *, expires: datetime | float | None, max_age: int | None = None
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
