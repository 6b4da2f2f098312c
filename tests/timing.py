"""The timeouts the remember-me and per-session-timeout tests share, one set for every adapter:
ordinary sessions live an hour idle / eight hours at most, remembered ones two weeks / thirty
days (seven days idle for the adapters that take options), anonymous ones ten minutes / an hour.
"""

from __future__ import annotations

from typing import Any

HOUR = 3600.0
DAY = 24 * HOUR

OPTIONS: dict[str, Any] = {
    "idle_timeout": HOUR,
    "lifetime": 8 * HOUR,
    "remember_idle_timeout": 7 * DAY,
    "remember_lifetime": 30 * DAY,
    "anonymous_idle_timeout": 600,
    "anonymous_lifetime": HOUR,
}
"""Adapter options (ASGI, WSGI, Flask) and, as keywords, a :class:`~sojourn.Policy`."""

__all__ = ["DAY", "HOUR", "OPTIONS"]
