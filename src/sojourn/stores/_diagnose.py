"""What a store failure really was, in one line a person can act on.

A store raises :class:`~sojourn.StoreUnavailable` ``from`` its driver's exception, and the
driver's own exception often wraps the socket error in turn. The useful fact ("connection
refused at 127.0.0.1:5432", "access denied for user 'root'") sits somewhere in that chain, or,
for psycopg's pool, only in a warning the pool logs while it retries. This module reads the
chain (and such captured warnings) and says it once:

- :func:`describe` — the one line the ``sojourn`` command prints;
- :func:`cause` — the chain as ``Type: message`` pairs, for the managers' and adapters'
  ``session.store_error`` logs;
- :func:`scrub` — what both apply to any text: a password in a URL or a ``password=`` option
  becomes ``***``.

It matches on class names and message text rather than importing the drivers, so it needs no
extra. Store keys are digests and never IDs, so no session ID can reach a message here.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit

DEFAULT_PORTS = {
    "redis": 6379,
    "rediss": 6379,
    "postgresql": 5432,
    "postgres": 5432,
    "mysql": 3306,
    "mariadb": 3306,
}

DRIVER_LOGGERS = ("psycopg.pool",)
"""Loggers whose warnings carry the cause a driver's exception leaves out (psycopg's pool
raises only ``PoolTimeout``; why each connection attempt failed, it logs)."""

MAX_LINE = 300

_URL_PASSWORD = re.compile(r"(://[^:/@\s]*):[^@\s]*@")
_OPTION_PASSWORD = re.compile(r"(?i)\b(password|passwd|pwd)=\S+")
_QUOTED = r"""['"]([^'"]{1,100})['"]"""
_DENIED = (
    re.compile(r"Access denied for user " + _QUOTED),  # MySQL 1045 / 1698
    re.compile(r"password authentication failed for user " + _QUOTED),  # PostgreSQL
    re.compile(r"role " + _QUOTED + r" does not exist"),  # PostgreSQL
)
_REDIS_DENIED = re.compile(r"WRONGPASS|NOAUTH|invalid username-password|Authentication required")
_NO_DATABASE = (
    re.compile(r"Unknown database " + _QUOTED),  # MySQL 1049
    re.compile(r"database " + _QUOTED + r" does not exist"),  # PostgreSQL
)
_REFUSED = re.compile(r"Connection refused|Connect call failed|ECONNREFUSED", re.IGNORECASE)
_ADDRESS = (
    re.compile(r"\('([^']+)', (\d+)\)"),  # asyncio: Connect call failed ('127.0.0.1', 3307)
    re.compile(r'server at "([^"]+)", port (\d+)'),  # libpq
    re.compile(r"connecting to ([\w.\-\[\]:]+):(\d+)"),  # redis-py
)
_TIMEOUT_NAMES = frozenset({"TimeoutError", "PoolTimeout", "timeout", "ReadTimeout"})
_NO_HOST = re.compile(
    r"Name or service not known|nodename nor servname|could not translate host name"
    r"|getaddrinfo failed|Temporary failure in name resolution",
    re.IGNORECASE,
)


def scrub(text: str) -> str:
    """``text`` with passwords (``user:secret@`` in URLs, ``password=…``) replaced by ``***``."""
    text = _URL_PASSWORD.sub(r"\1:***@", text)
    return _OPTION_PASSWORD.sub(r"\1=***", text)


def chain(exc: BaseException) -> list[BaseException]:
    """``exc`` and every exception it was raised from or while handling, outermost first."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and all(current is not e for e in seen) and len(seen) < 20:
        seen.append(current)
        current = current.__cause__ or current.__context__
    return seen


def cause(exc: BaseException) -> str:
    """The chain of ``exc`` as ``Type: message`` pairs joined by `` <- ``, scrubbed, one line.

    For logs: an operator sees what failed and why without a traceback. Exceptions that are
    noise from a driver's own clean-up (a cancellation, an empty pop) are left out.
    """
    parts: list[str] = []
    for e in chain(exc):
        if _noise(e) or (parts and str(e) and str(e) in parts[-1]):
            continue  # a wrapper's message often already quotes its cause's
        parts.append(_pair(e))
    return _line(" <- ".join(parts) or type(exc).__name__)


def describe(
    exc: BaseException,
    *,
    url: str | None = None,
    timeout: float | None = None,
    notes: Sequence[str] = (),
) -> str:
    """One line saying what went wrong talking to the store, for a person.

    Args:
        exc: what was raised (usually a ``StoreUnavailable`` with the driver's error as cause).
        url: the store's URL, for the address (its password is never shown).
        timeout: the store's bound on one call, for "timed out after N s".
        notes: driver warnings captured meanwhile (see :func:`capture_driver_warnings`).

    Returns:
        e.g. ``connection refused at 127.0.0.1:5432``, ``access denied for user 'root'``,
        ``timed out after 2 s talking to 10.0.0.5:6379``, else the innermost message.
    """
    errors = [e for e in chain(exc) if not _noise(e)] or [exc]
    # The notes come first: a pool's warning names the cause its own exception leaves out.
    texts = [*notes, *(str(e) for e in errors)]
    target = _target(texts, url)
    for text in texts:
        for pattern in _DENIED:
            found = pattern.search(text)
            if found:
                return _line(f"access denied for user '{found.group(1)}'")
        if _REDIS_DENIED.search(text):
            return _line(f"access denied by Redis at {target or 'the server'} (authentication)")
        for pattern in _NO_DATABASE:
            found = pattern.search(text)
            if found:
                return _line(f"database '{found.group(1)}' does not exist")
    for text in texts:
        if _NO_HOST.search(text):
            return _line(f"cannot resolve the host {_host(url) or 'of the store URL'}")
    if any(isinstance(e, ConnectionRefusedError) for e in errors) or any(
        _REFUSED.search(t) for t in texts
    ):
        return _line(f"connection refused at {target or 'the store'}")
    if any(_timed_out(e) for e in errors) or any("no answer in time" in t for t in texts):
        after = f" after {timeout:g} s" if timeout is not None else ""
        return _line(f"timed out{after} talking to {target or 'the store'}")
    innermost = errors[-1]
    outer = errors[0]
    message = str(innermost) or type(innermost).__name__
    if innermost is not outer and str(outer) and str(innermost) not in str(outer):
        message = f"{outer}: {type(innermost).__name__}: {innermost}"
    elif str(outer):
        message = str(outer)
    return _line(message)


@contextmanager
def capture_driver_warnings() -> Iterator[list[str]]:
    """Collect (and keep off the terminal) the warnings of :data:`DRIVER_LOGGERS`.

    Yields the list the captured messages are appended to, for :func:`describe`'s ``notes``.
    """
    notes: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            notes.append(scrub(record.getMessage()))

    handler = Collect(logging.WARNING)
    loggers = [logging.getLogger(name) for name in DRIVER_LOGGERS]
    saved = [(lg.propagate, lg.level) for lg in loggers]
    for lg in loggers:
        lg.addHandler(handler)
        lg.propagate = False
        if lg.level == logging.NOTSET or lg.level > logging.WARNING:
            lg.setLevel(logging.WARNING)
    try:
        yield notes
    finally:
        for lg, (propagate, level) in zip(loggers, saved, strict=True):
            lg.removeHandler(handler)
            lg.propagate = propagate
            lg.setLevel(level)


def _pair(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _noise(exc: BaseException) -> bool:
    # aiomysql's and asyncio's clean-up after the real error; and bare re-raises with no text.
    return type(exc).__name__ in {"CancelledError", "IndexError"}


def _timed_out(exc: BaseException) -> bool:
    return isinstance(exc, TimeoutError) or type(exc).__name__ in _TIMEOUT_NAMES


def _target(texts: Sequence[str], url: str | None) -> str | None:
    """``host:port`` the failure was about: from the messages, else from the URL."""
    for text in texts:
        for pattern in _ADDRESS:
            found = pattern.search(text)
            if found:
                return f"{found.group(1)}:{found.group(2)}"
    host = _host(url)
    if host is None or url is None:
        return None
    scheme = url.split("://", 1)[0].lower()
    try:
        port = urlsplit(url).port or DEFAULT_PORTS.get(scheme)
    except ValueError:
        port = None
    return f"{host}:{port}" if port else host


def _host(url: str | None) -> str | None:
    if not url or "://" not in url:
        return None
    scheme = url.split("://", 1)[0].lower()
    try:
        return urlsplit(url).hostname or ("localhost" if scheme in DEFAULT_PORTS else None)
    except ValueError:
        return None


def _line(text: str) -> str:
    flat = " ".join(scrub(text).split())
    return flat if len(flat) <= MAX_LINE else flat[: MAX_LINE - 1] + "…"


__all__ = [
    "DEFAULT_PORTS",
    "DRIVER_LOGGERS",
    "MAX_LINE",
    "capture_driver_warnings",
    "cause",
    "chain",
    "describe",
    "scrub",
]
