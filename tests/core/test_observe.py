"""The kinds store errors are counted under (``sojourn._core.observe.error_kind``)."""

from __future__ import annotations

import pytest

from sojourn import CorruptSession, SessionError, StoreUnavailable
from sojourn.metrics import CORRUPT, OTHER, TIMEOUT, UNAVAILABLE, error_kind


def _caused(outer: BaseException, cause: BaseException) -> BaseException:
    try:
        try:
            raise cause
        except BaseException as exc:
            raise outer from exc
    except BaseException as raised:
        return raised


class PoolTimeout(Exception):
    """Named as psycopg-pool's, which does not subclass the builtin TimeoutError."""


@pytest.mark.parametrize(
    ("exc", "kind"),
    [
        (CorruptSession("bad bytes"), CORRUPT),
        (StoreUnavailable("down"), UNAVAILABLE),
        (_caused(StoreUnavailable("down"), ConnectionRefusedError()), UNAVAILABLE),
        (_caused(StoreUnavailable("slow"), TimeoutError()), TIMEOUT),
        (_caused(StoreUnavailable("slow"), PoolTimeout()), TIMEOUT),
        (TimeoutError(), TIMEOUT),
        (ConnectionResetError(), UNAVAILABLE),
        (ValueError("a bug"), OTHER),
        (SessionError("something else"), OTHER),
    ],
)
def test_each_exception_has_its_kind(exc: BaseException, kind: str) -> None:
    assert error_kind(exc) == kind


def test_a_cycle_of_causes_ends() -> None:
    first, second = StoreUnavailable("a"), StoreUnavailable("b")
    first.__cause__, second.__cause__ = second, first
    assert error_kind(first) == UNAVAILABLE


def test_a_failure_that_took_the_whole_bound_is_a_timeout() -> None:
    cut = _caused(StoreUnavailable("cut at the deadline"), ConnectionResetError())
    assert error_kind(cut, seconds=0.51, bound=0.5) == TIMEOUT
    assert error_kind(cut, seconds=0.01, bound=0.5) == UNAVAILABLE
    assert error_kind(cut, seconds=9.0, bound=None) == UNAVAILABLE
    assert error_kind(CorruptSession("x"), seconds=9.0, bound=0.5) == CORRUPT
