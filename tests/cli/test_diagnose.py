"""``stores._diagnose``: driver failures in one line, passwords never shown."""

from __future__ import annotations

import logging

import pytest

from sojourn import StoreUnavailable
from sojourn.stores._diagnose import MAX_LINE, capture_driver_warnings, cause, describe, scrub


def raised(outer: BaseException, inner: BaseException) -> BaseException:
    try:
        try:
            raise inner
        except BaseException as exc:
            raise outer from exc
    except BaseException as exc:
        return exc


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("redis://app:s3cret@cache:6379/0", "s3cret"),
        ("postgresql://u:p%40ss@db/x?sslmode=require", "p%40ss"),
        ("host=db password=hunter2 user=app", "hunter2"),
        ("PWD=abc123;Server=x", "abc123"),
    ],
)
def test_scrub_hides_passwords(text: str, hidden: str) -> None:
    assert hidden not in scrub(text)
    assert "***" in scrub(text)


def test_refused_names_the_address_from_the_socket_error() -> None:
    exc = raised(
        StoreUnavailable("MySQL is unavailable: OperationalError"),
        ConnectionRefusedError(111, "Connect call failed ('127.0.0.1', 3307)"),
    )
    assert describe(exc) == "connection refused at 127.0.0.1:3307"


def test_refused_falls_back_to_the_url_for_the_address() -> None:
    exc = raised(StoreUnavailable("x"), ConnectionRefusedError(111, "Connection refused"))
    assert describe(exc, url="postgresql://u:pw@db.internal/app") == (
        "connection refused at db.internal:5432"
    )


def test_a_pool_timeout_is_explained_by_the_pools_warning() -> None:
    exc = StoreUnavailable("PostgreSQL is unavailable: PoolTimeout (no answer in time)")
    note = (
        'connection failed: connection to server at "127.0.0.1", port 5432 failed: '
        'FATAL:  password authentication failed for user "app"'
    )
    assert describe(exc, notes=[note]) == "access denied for user 'app'"
    assert describe(exc, timeout=2, url="postgresql://db/app") == (
        "timed out after 2 s talking to db:5432"
    )


def test_mysql_access_denied_and_unknown_database() -> None:
    class OperationalError(Exception):
        pass

    denied = OperationalError(
        1045, "Access denied for user 'root'@'127.0.0.1' (using password: YES)"
    )
    assert describe(raised(StoreUnavailable("x"), denied)) == "access denied for user 'root'"
    unknown = OperationalError(1049, "Unknown database 'nosuch'")
    assert describe(raised(StoreUnavailable("x"), unknown)) == "database 'nosuch' does not exist"


def test_an_unknown_failure_keeps_its_message_on_one_short_line() -> None:
    exc = raised(StoreUnavailable("SQLite store 'x.db': disk I/O error"), OSError("disk\nI/O"))
    line = describe(exc)
    assert "\n" not in line
    assert "disk I/O error" in line
    assert len(describe(StoreUnavailable("y" * 1000))) == MAX_LINE


def test_cause_lists_the_chain_without_repeating_itself() -> None:
    exc = raised(
        StoreUnavailable("Redis is unavailable: ConnectionError: Error 111 connecting"),
        ConnectionRefusedError(111, "Connect call failed ('10.0.0.9', 6379)"),
    )
    assert cause(exc) == (
        "StoreUnavailable: Redis is unavailable: ConnectionError: Error 111 connecting"
        " <- ConnectionRefusedError: [Errno 111] Connect call failed ('10.0.0.9', 6379)"
    )
    assert "s3cret" not in cause(OSError("redis://u:s3cret@h/0 unreachable"))


def test_driver_warnings_are_captured_and_kept_off_the_terminal(
    capsys: pytest.CaptureFixture[str],
) -> None:
    pool = logging.getLogger("psycopg.pool")
    with capture_driver_warnings() as notes:
        pool.warning("error connecting in %r: %s", "sojourn", "password=x failed")
    pool_after = (pool.propagate, pool.handlers)
    assert notes == ["error connecting in 'sojourn': password=*** failed"]
    assert capsys.readouterr().err == ""
    assert pool_after == (True, [])
