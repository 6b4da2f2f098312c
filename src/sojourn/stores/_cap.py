"""The one rule every store applies for a cap on sessions per principal (SEC-63).

A store gathers the principal's *other* live sessions inside its atomic step (a transaction
holding the principal's lock, a script, a lock) and asks :func:`to_evict` what to do; the
rule lives here once so that every store evicts the same sessions and refuses at the same
count. Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable

from .._core.errors import TooManySessions
from .base import Cap, Changes, Login, Record


def login_of(changes: Changes) -> Login:
    """The login of a capped change set (only logins are capped).

    Raises:
        ValueError: ``changes`` does not log in.
    """
    if changes.login is None:
        raise ValueError("a capped apply needs a change set that logs in")
    return changes.login


def principal_of(record: Record) -> str:
    """The principal of a capped record (only logged-in records are capped).

    Raises:
        ValueError: ``record`` has no principal.
    """
    if record.principal is None:
        raise ValueError("a capped create needs a record with a principal")
    return record.principal


def login_order(record: Record) -> tuple[float, float, str]:
    """How old a session is for eviction: when it logged in, then created, then its key (a
    total order, so every store and every app server picks the same sessions)."""
    at = record.authenticated_at
    return (record.created_at if at is None else at, record.created_at, record.key)


def to_evict(others: Iterable[Record], cap: Cap) -> list[Record]:
    """The sessions to delete so that one more login fits under ``cap``, oldest first.

    Args:
        others: the principal's live sessions other than the one logging in.

    Raises:
        TooManySessions: the cap is reached and ``cap.refuse`` is set.
    """
    listed = list(others)
    excess = len(listed) - cap.limit + 1
    if excess <= 0:
        return []
    if cap.refuse:
        raise TooManySessions(cap.limit)
    return sorted(listed, key=login_order)[:excess]


__all__ = ["login_of", "login_order", "principal_of", "to_evict"]
