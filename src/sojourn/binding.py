"""Session binding's public face: ``bind(user_agent=True, ip=True)`` for any adapter's
``binding=`` option (SEC-62; the trade-offs are in docs/security.md).

The user-agent *family* comes from ``ua-parser`` (the ``binding`` extra,
``pip install 'sojourn[binding]'``), a well-kept port of the parser browsers' statistics use:
the browser's family and the OS's family (``"Chrome/Windows"``), no versions, so a browser
update keeps its sessions. The core stays dependency-free: it takes the family as a function,
so an application may pass its own to :class:`~sojourn._core.binding.Binding`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from ._core.binding import Binding
from ._core.errors import ConfigurationError

PARSED_USER_AGENTS = 4096
"""How many distinct user agents the family lookup remembers (a parse costs ~1 ms in pure
Python; a site's traffic repeats a few hundred strings)."""


def _parser() -> Callable[[str], Any]:
    try:
        from ua_parser import parse
    except ImportError as exc:
        raise ConfigurationError(
            "binding to a user-agent family needs ua-parser: pip install 'sojourn[binding]'"
        ) from exc
    return parse


@lru_cache(maxsize=PARSED_USER_AGENTS)
def user_agent_family(user_agent: str) -> str:
    """``"<browser family>/<OS family>"`` of a ``User-Agent`` (``"Other/Other"`` when the
    parser knows neither).

    Raises:
        ConfigurationError: ua-parser is not installed.
    """
    result = _parser()(user_agent)
    browser = result.user_agent.family if result.user_agent is not None else "Other"
    system = result.os.family if result.os is not None else "Other"
    return f"{browser}/{system}"


def bind(
    *,
    user_agent: bool = False,
    ip: bool = False,
    ipv4_prefix: int = 24,
    ipv6_prefix: int = 56,
) -> Binding:
    """A :class:`~sojourn._core.binding.Binding` to the user-agent family and/or IP prefix.

    Raises:
        ConfigurationError: neither asked for, a prefix out of range, or ``user_agent=True``
            without ua-parser installed (the message names the extra).
    """
    if user_agent:
        _parser()  # refuse now, at configuration, not on the first request
    return Binding(
        user_agent_family=user_agent_family if user_agent else None,
        ip=ip,
        ipv4_prefix=ipv4_prefix,
        ipv6_prefix=ipv6_prefix,
    )


__all__ = ["PARSED_USER_AGENTS", "Binding", "bind", "user_agent_family"]
