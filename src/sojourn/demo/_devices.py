"""Readable device names from user-agent strings, with ua-parser (the ``demo`` extra).

The devices page says "Chrome 120 on Linux" rather than a raw user-agent string. Parsing is
left to ua-parser's maintained rule set; results are cached, since a page lists the same few
browsers again and again.
"""

from __future__ import annotations

import functools

import ua_parser

UNKNOWN = "an unknown browser"


@functools.lru_cache(maxsize=256)
def device_name(user_agent: str | None) -> str:
    """``"Chrome 120 on Linux"``; the raw string's family when a part is unknown."""
    if not user_agent:
        return UNKNOWN
    result = ua_parser.parse(user_agent[:512])
    browser = result.user_agent
    system = result.os
    name = UNKNOWN
    if browser is not None and browser.family != "Other":
        name = f"{browser.family} {browser.major}" if browser.major else browser.family
    if system is not None and system.family != "Other":
        name = f"{name} on {system.family}"
    return name


__all__ = ["UNKNOWN", "device_name"]
