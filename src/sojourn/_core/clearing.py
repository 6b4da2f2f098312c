"""The ``Clear-Site-Data`` header a logout may send (SEC-29), validated once.

On logout, a browser told ``Clear-Site-Data: "cache", "storage"`` drops what the site left on
the device (cached pages that showed the user's data, local storage, and so on), so the next
person at a shared computer finds nothing. Opt-in, because it also throws away what the site
may want kept (a cached app shell, another tab's storage); the application names the
directives. Browsers honour it only over HTTPS. Pure; no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from .errors import ConfigurationError

CLEAR_SITE_DATA = "clear-site-data"
DIRECTIVES = ("cache", "cookies", "storage", "executionContexts", "*")
"""The directives the specification defines (W3C Clear Site Data), spelled as it spells them."""


def directives(chosen: str | Iterable[str]) -> tuple[str, ...]:
    """The directives ``chosen`` names, checked: a single string is one directive, and quotes
    around a name are allowed.

    Raises:
        ConfigurationError: an unknown or repeated directive, or ``"*"`` beside others (it
            already means every one).
    """
    names = [chosen] if isinstance(chosen, str) else list(chosen)
    found: list[str] = []
    for raw in names:
        if not isinstance(raw, str):
            raise ConfigurationError("clear_site_data directives are strings")
        name = raw.strip().strip('"')
        if name not in DIRECTIVES:
            raise ConfigurationError(
                f"unknown Clear-Site-Data directive {raw!r}; use one of "
                + ", ".join(repr(d) for d in DIRECTIVES)
            )
        if name in found:
            raise ConfigurationError(f"Clear-Site-Data directive {name!r} given twice")
        found.append(name)
    if "*" in found and len(found) > 1:
        raise ConfigurationError("Clear-Site-Data '*' already clears everything: give it alone")
    return tuple(found)


def header_value(names: Iterable[str]) -> str:
    """The header's value: each directive a quoted string, as the specification requires."""
    return ", ".join(f'"{name}"' for name in names)


__all__ = ["CLEAR_SITE_DATA", "DIRECTIVES", "directives", "header_value"]
