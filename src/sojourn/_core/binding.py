"""Binding a session to the client that made it: its user-agent family and/or IP prefix.

A session bound at creation (and again at login) carries *marks* in its record's metadata:
reserved entries (:data:`BOUND_UA`, :data:`BOUND_IP`) that are never shown as user metadata.
Every load compares the marks the configured :class:`Binding` asks for with the request's; a
session presented from elsewhere is ended, never adopted. A session with no marks (made before
binding was turned on) does not match either: it is ended once, rather than bound to whoever
presents it first (which may be the thief of a cookie that binding should have stopped).

This is detection, not prevention: a thief on the same network with the same browser passes.
The user-agent *family* (browser and OS families, not versions) is computed by a pluggable
function, so that the core needs no parser (``sojourn.binding`` supplies one from the
``binding`` extra). A request without a user agent, or without a client address, is its own
family or prefix (:data:`ABSENT`): leaving the header off never slips past a bound session.
Pure; no I/O.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .errors import ConfigurationError

BOUND_UA = "_bound_ua"
"""The metadata entry holding the user-agent family a session is bound to."""
BOUND_IP = "_bound_ip"
"""The metadata entry holding the client IP prefix a session is bound to."""
RESERVED_PREFIX = "_"
"""Metadata entries whose names start with this are Sojourn's own, not the user's."""
ABSENT = "-"
"""The family (or prefix) of a request that sent no user agent (or has no client address)."""
MAX_MARK = 128
MAX_PARSED = 512


@dataclass(frozen=True, slots=True)
class Binding:
    """What a session is bound to (opt-in; see the module docstring and docs/security.md).

    Attributes:
        user_agent_family: maps a ``User-Agent`` to its family (such as ``"Chrome/Windows"``);
            ``None`` binds nothing to the user agent. :func:`sojourn.binding.bind` passes
            one built on ``ua-parser``.
        ip: bind to the client's address prefix.
        ipv4_prefix: how many leading bits of an IPv4 address must stay the same (``/24``).
        ipv6_prefix: the same for IPv6 (``/56``, a typical customer allocation).
    """

    user_agent_family: Callable[[str], str] | None = None
    ip: bool = False
    ipv4_prefix: int = 24
    ipv6_prefix: int = 56

    def __post_init__(self) -> None:
        if self.user_agent_family is None and not self.ip:
            raise ConfigurationError("a Binding binds to a user-agent family, an IP prefix or both")
        if not 0 < self.ipv4_prefix <= 32:
            raise ConfigurationError("ipv4_prefix must be between 1 and 32")
        if not 0 < self.ipv6_prefix <= 128:
            raise ConfigurationError("ipv6_prefix must be between 1 and 128")

    def marks(self, user_agent: str | None, client_ip: str | None) -> dict[str, str]:
        """The reserved metadata entries a request's session is bound to."""
        marks: dict[str, str] = {}
        family = self.user_agent_family
        if family is not None:
            # Cut before parsing: a parser's cache must not keep 8 KB headers.
            marks[BOUND_UA] = family(user_agent[:MAX_PARSED])[:MAX_MARK] if user_agent else ABSENT
        if self.ip:
            marks[BOUND_IP] = ip_prefix(client_ip, self.ipv4_prefix, self.ipv6_prefix)
        return marks

    def mismatch(self, stored: Mapping[str, str], request: Mapping[str, str]) -> str | None:
        """What differs between a record's metadata and the request's (from :meth:`marks`):
        ``"user_agent"``, ``"ip"`` or ``"unbound"`` (the record lacks a mark this binding
        needs); ``None`` when they match. A mark the request lacks counts as :data:`ABSENT`,
        so a caller that forgot to pass the request's marks ends sessions, never adopts them.
        """
        names: list[tuple[str, str]] = []
        if self.user_agent_family is not None:
            names.append((BOUND_UA, "user_agent"))
        if self.ip:
            names.append((BOUND_IP, "ip"))
        for name, what in names:
            wanted = request.get(name, ABSENT)
            found = stored.get(name)
            if found is None:
                return "unbound"
            if found != wanted:
                return what
        return None


def ip_prefix(address: str | None, ipv4_prefix: int, ipv6_prefix: int) -> str:
    """The network of ``address`` (``"203.0.113.0/24"``); an IPv4-mapped IPv6 address counts
    as IPv4 (dual-stack sockets report both). An address that does not parse (a Unix socket,
    a test client's name) is kept as it is; none at all is :data:`ABSENT`."""
    if not address:
        return ABSENT
    try:
        parsed = ipaddress.ip_address(address.strip())
    except ValueError:
        return address[:MAX_MARK]
    if isinstance(parsed, ipaddress.IPv6Address) and parsed.ipv4_mapped is not None:
        parsed = parsed.ipv4_mapped
    bits = ipv4_prefix if parsed.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network((parsed, bits), strict=False))


def visible_meta(meta: Mapping[str, str]) -> dict[str, str]:
    """The user metadata of a record (user agent, IP): reserved entries left out."""
    return {k: v for k, v in meta.items() if not k.startswith(RESERVED_PREFIX)}


def carried(stored: Mapping[str, str], request: Mapping[str, str]) -> dict[str, str]:
    """A loaded session's metadata when the request brings its own (tracked user agent and
    IP, a binding's marks): the request's entries, and the record's reserved ones it does not
    set, which travel with the session whatever the request says."""
    kept = {k: v for k, v in stored.items() if k.startswith(RESERVED_PREFIX)}
    kept.update(request)
    return kept


__all__ = [
    "ABSENT",
    "BOUND_IP",
    "BOUND_UA",
    "RESERVED_PREFIX",
    "Binding",
    "carried",
    "ip_prefix",
    "visible_meta",
]
