"""A session's own timing (remember-me, per-session timeouts), kept in reserved metadata.

Remember-me and ``set_timeouts`` belong to one session, not to the application, so they travel
with its record: reserved entries of :attr:`Record.meta <sojourn._core.records.Record.meta>`,
which every store already keeps beside the data (no schema change). Their names start with
``sojourn:``, a prefix no tracked metadata uses; admin listings and ``Session.meta`` leave them
out (:func:`user_meta`).

- :data:`IDLE` and :data:`LIFETIME` hold the session's own timeouts in seconds, as the engine
  last wrote them. A store's read-path renewal uses them instead of the :class:`Renewal`'s
  when they are there (:func:`own_terms`), so a renewal never slides a session past its own
  deadline, and a remembered session renews up to its longer lifetime. A record without them
  has the policy's default timeouts and none is written for it (no cost for the usual one).
- :data:`REMEMBER` is ``"1"`` for a remembered session (a persistent cookie, the remembered
  timeouts) and ``"0"`` for one explicitly not (a browser-session cookie whatever the cookie
  settings say); absent: the cookie settings decide.
- :data:`CAPS` holds what ``set_timeouts`` asked for (``"<idle> <lifetime>"``, ``-`` for
  none), so a later change of class (a login, ``remember``) recomputes the timeouts and still
  keeps the caps.

The engine recomputes a session's timeouts from the policy on every load (and enforces them);
the stored :data:`IDLE` / :data:`LIFETIME` only tell stores what the engine decided.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

PREFIX = "sojourn:"
"""Every reserved metadata entry's name starts with this."""

IDLE = "sojourn:idle"
LIFETIME = "sojourn:lifetime"
REMEMBER = "sojourn:remember"
CAPS = "sojourn:timeouts"

_NO_CAPS: tuple[float | None, float | None] = (None, None)


def _seconds(text: str | None) -> float | None:
    """A positive, finite number of seconds from ``text``; ``None`` for anything else."""
    if not text or text == "-":
        return None
    try:
        value = float(text)
    except ValueError:
        return None
    return value if value > 0 and math.isfinite(value) else None


def own_terms(meta: Mapping[str, str]) -> tuple[float, float] | None:
    """The ``(idle, lifetime)`` a record's own entries give, or ``None`` when it has none (or
    they do not read as two positive numbers): the renewal's defaults then apply."""
    idle = _seconds(meta.get(IDLE))
    lifetime = _seconds(meta.get(LIFETIME))
    if idle is None or lifetime is None:
        return None
    return idle, lifetime


def remembered(meta: Mapping[str, str]) -> bool | None:
    """``True`` / ``False`` when the session was remembered / explicitly not; ``None`` else."""
    flag = meta.get(REMEMBER)
    return None if flag is None else flag == "1"


def caps(meta: Mapping[str, str]) -> tuple[float | None, float | None]:
    """The ``(idle, lifetime)`` caps ``set_timeouts`` stored (``None``: no cap)."""
    text = meta.get(CAPS)
    if not text:
        return _NO_CAPS
    idle, _, lifetime = text.partition(" ")
    return _seconds(idle), _seconds(lifetime)


def entries(
    remember: bool | None,
    idle_cap: float | None,
    lifetime_cap: float | None,
    terms: tuple[float, float],
    default: tuple[float, float],
) -> dict[str, str]:
    """The reserved entries a session with this timing stores (none for a default one)."""
    out: dict[str, str] = {}
    if terms != default:
        out[IDLE] = repr(terms[0])
        out[LIFETIME] = repr(terms[1])
    if remember is not None:
        out[REMEMBER] = "1" if remember else "0"
    if idle_cap is not None or lifetime_cap is not None:
        out[CAPS] = " ".join("-" if cap is None else repr(cap) for cap in (idle_cap, lifetime_cap))
    return out


def reserved(meta: Mapping[str, str]) -> dict[str, str]:
    """The reserved entries of ``meta``."""
    return {k: v for k, v in meta.items() if k.startswith(PREFIX)}


def user_meta(meta: Mapping[str, str]) -> dict[str, str]:
    """``meta`` without the reserved entries: what "your devices" pages and ``Session.meta``
    show (tracked user agent, IP)."""
    return {k: v for k, v in meta.items() if not k.startswith(PREFIX)}


def has_reserved(meta: Mapping[str, str]) -> bool:
    """True if ``meta`` holds any reserved entry."""
    return any(k.startswith(PREFIX) for k in meta)


__all__ = [
    "CAPS",
    "IDLE",
    "LIFETIME",
    "PREFIX",
    "REMEMBER",
    "caps",
    "entries",
    "has_reserved",
    "own_terms",
    "remembered",
    "reserved",
    "user_meta",
]
