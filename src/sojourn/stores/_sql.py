"""Helpers shared by the SQL stores (SQLite, PostgreSQL, MySQL), free of any dialect or driver.

The SQL stores keep one row per session in ``<table>`` and one row per session key in
``<table>_fields``, so a change set touches only the keys it names (contract 1 of
:mod:`sojourn.stores.base`). What every dialect does the same way lives here:

- table names are checked against an identifier pattern before they reach any SQL text
  (SEC-44): values travel as parameters, and names come only from validated configuration;
- the ``meta`` mapping is stored as JSON text, and anything that does not decode back to a
  ``dict[str, str]`` is :class:`~sojourn.CorruptSession`, never a crash;
- a session row plus its field rows become a :class:`~sojourn.stores.base.Record`;
- ``SCHEMA_VERSION`` is recorded in ``sojourn_schema`` (one row per table), so a later
  release can tell which layout a database holds and migrate it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal

from .._core.errors import ConfigurationError, CorruptSession
from .._core.timing import IDLE, LIFETIME
from .base import Record

SCHEMA_VERSION = 1
"""The layout version this release writes; bump it (and add a migration) on any change."""

SCHEMA_TABLE = "sojourn_schema"
"""The table recording ``(table_name, version)`` for every session table in a database."""

DEFAULT_TABLE = "sojourn_sessions"

SESSION_COLUMNS = (
    "key",
    "principal",
    "created_at",
    "renewed_at",
    "expires_at",
    "authenticated_at",
    "meta",
)
"""The session table's columns, in the order :func:`record_from_row` expects them."""

_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


def validate_table(name: object) -> str:
    """Return ``name`` if it is a plain SQL identifier, else raise.

    The name is interpolated into SQL text (placeholders cannot stand for names), so only
    letters, digits and underscores are let through, at most 63 characters (PostgreSQL's
    limit), never starting with a digit.

    Raises:
        ConfigurationError: ``name`` is not such an identifier.
    """
    if not isinstance(name, str) or _IDENTIFIER.fullmatch(name) is None:
        raise ConfigurationError(
            "table name must match [A-Za-z_][A-Za-z0-9_]{0,62} (letters, digits, underscores)"
        )
    return name


def check_schema_version(table: str, version: object) -> None:
    """Refuse a table whose recorded layout this release does not know.

    Every SQL store calls this after reading its ``sojourn_schema`` row, so an old or newer
    table is reported the same way everywhere instead of being read with the wrong layout.

    Raises:
        ConfigurationError: ``version`` is missing or not :data:`SCHEMA_VERSION`.
    """
    if isinstance(version, bool) or version != SCHEMA_VERSION:
        raise ConfigurationError(
            f"table {table!r} has schema version {version!r}; this release of Sojourn uses "
            f"version {SCHEMA_VERSION} (migrate the table or upgrade Sojourn)"
        )


def encode_meta(meta: Mapping[str, str]) -> str:
    """The JSON text stored for a record's metadata (compact, UTF-8 safe)."""
    return json.dumps(dict(meta), ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def decode_meta(text: object) -> dict[str, str]:
    """The metadata mapping stored as ``text``; ``None`` or ``""`` mean none.

    Raises:
        CorruptSession: the text is not a JSON object of strings.
    """
    if text is None or text == "":
        return {}
    if isinstance(text, (bytes, bytearray, memoryview)):
        try:
            text = bytes(text).decode()
        except UnicodeDecodeError as exc:
            raise CorruptSession("stored session metadata is not UTF-8") from exc
    if not isinstance(text, str):
        raise CorruptSession("stored session metadata is not text")
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise CorruptSession("stored session metadata is not JSON") from exc
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise CorruptSession("stored session metadata is not a mapping of strings")
    return value


def field_value(value: object) -> bytes:
    """A stored field value as ``bytes`` (drivers hand back bytes, bytearray or memoryview).

    Raises:
        CorruptSession: the value is not binary.
    """
    if isinstance(value, bytes):
        return value
    if isinstance(value, (bytearray, memoryview)):
        return bytes(value)
    raise CorruptSession("a stored session value is not binary")


def fields_from_rows(rows: Iterable[Sequence[object]]) -> dict[str, bytes]:
    """The ``fields`` mapping from ``(name, value)`` rows of the fields table.

    Raises:
        CorruptSession: a name is not text or a value is not binary.
    """
    fields: dict[str, bytes] = {}
    for name, value in rows:
        if not isinstance(name, str):
            raise CorruptSession("a stored session key is not text")
        fields[name] = field_value(value)
    return fields


def _time(value: object) -> float:
    # Decimal: a NUMERIC column read through psycopg or PyMySQL.
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal)):
        raise CorruptSession("a stored session timestamp is not a number")
    return float(value)


def record_from_row(row: Sequence[object], fields: Mapping[str, bytes]) -> Record:
    """Build a :class:`Record` from a session row (columns as in ``SESSION_COLUMNS``).

    Args:
        row: the session table's columns, in ``SESSION_COLUMNS`` order.
        fields: the record's fields, e.g. from :func:`fields_from_rows`.

    Raises:
        CorruptSession: a column holds a value of the wrong type, or ``meta`` is undecodable.
    """
    if len(row) != len(SESSION_COLUMNS):
        raise CorruptSession("a stored session row has the wrong shape")
    key, principal, created_at, renewed_at, expires_at, authenticated_at, meta = row
    if not isinstance(key, str):
        raise CorruptSession("a stored session key is not text")
    if principal is not None and not isinstance(principal, str):
        raise CorruptSession("a stored principal is not text")
    return Record(
        key=key,
        fields=dict(fields),
        principal=principal,
        created_at=_time(created_at),
        renewed_at=_time(renewed_at),
        expires_at=_time(expires_at),
        authenticated_at=None if authenticated_at is None else _time(authenticated_at),
        meta=decode_meta(meta),
    )


def group_joined_rows(
    rows: Iterable[Sequence[object]],
) -> list[tuple[Sequence[object], list[tuple[object, object]]]]:
    """``session LEFT JOIN fields`` rows (ordered by key) grouped per session, in order.

    Each row holds the ``SESSION_COLUMNS`` then a field's ``name`` and ``value`` (both
    ``NULL`` for a session without fields); each group is the session's columns and its
    ``(name, value)`` pairs. Build records with :func:`record_from_group`.
    """
    width = len(SESSION_COLUMNS)
    grouped: dict[object, tuple[Sequence[object], list[tuple[object, object]]]] = {}
    for row in rows:
        fields = grouped.setdefault(row[0], (row[:width], []))[1]
        if row[width] is not None:
            fields.append((row[width], row[width + 1]))
    return list(grouped.values())


def record_from_group(group: tuple[Sequence[object], list[tuple[object, object]]]) -> Record:
    """The record of one group from :func:`group_joined_rows` (bytes keys and names decoded).

    Raises:
        CorruptSession: a column holds a value of the wrong type.
    """
    session, fields = group
    return record_from_row(
        [_text(session[0]), _text(session[1]), *session[2:]],
        fields_from_rows((_text(name), value) for name, value in fields),
    )


def group_key(group: tuple[Sequence[object], list[tuple[object, object]]]) -> str:
    """The key of one group from :func:`group_joined_rows`, as text (a scan cursor)."""
    key = _text(group[0][0])
    if not isinstance(key, str):
        raise CorruptSession("a stored session key is not text")
    return key


# -- helpers for the server stores (PostgreSQL, MySQL) ---------------------------------------
# MySQL uses the <table>_fields layout above; PostgreSQL keeps a session's keys in a jsonb
# column of the session row instead (measured faster; see docs/stores/sql.md).

MAX_SERVER_TABLE = 48
"""The longest table name the server stores accept: index and table names derived from it
(``<table>_fields``, ``<table>_expires_at``) must stay within PostgreSQL's 63 and MySQL's 64."""


def validate_sql_table(name: object) -> str:
    """:func:`validate_table`, plus room for the names derived from it.

    Raises:
        ConfigurationError: ``name`` is not an identifier of at most ``MAX_SERVER_TABLE``.
    """
    table = validate_table(name)
    if len(table) > MAX_SERVER_TABLE:
        raise ConfigurationError(f"table name must be at most {MAX_SERVER_TABLE} characters")
    return table


def renewal_deadline(own: Callable[[str], str]) -> str:
    """The SQL deadline a renewal gives a row: ``LEAST(created_at + lifetime, now + idle)``
    with the row's own timeouts (the reserved ``sojourn:idle`` / ``sojourn:lifetime`` meta
    entries, see :mod:`sojourn._core.timing`) where it has them, else the renewal's
    (``%(idle)s``, ``%(lifetime)s``).

    Args:
        own: the dialect's expression for one reserved entry's number, ``NULL`` when absent
            (it should look for the name in the text before parsing any JSON: most rows have
            none).
    """
    lifetime = f"COALESCE({own(LIFETIME)}, %(lifetime)s)"
    idle = f"COALESCE({own(IDLE)}, %(idle)s)"
    return f"LEAST(created_at + {lifetime}, %(now)s + {idle})"


def _text(value: object) -> object:
    # MySQL keeps keys, names and principals in binary columns (exact, case- and
    # trailing-space-sensitive matching); they come back as bytes.
    if isinstance(value, (bytes, bytearray)):
        try:
            return bytes(value).decode()
        except UnicodeDecodeError as exc:
            raise CorruptSession("a stored session key or principal is not UTF-8") from exc
    return value


def record_from_session_row(row: Sequence[object]) -> Record:
    """A :class:`Record` without fields from a session row (``SESSION_COLUMNS`` order)."""
    values = list(row)
    values[0], values[1] = _text(values[0]), _text(values[1])
    return record_from_row(values, {})


def record_from_joined_rows(rows: Sequence[Sequence[object]]) -> Record | None:
    """The record from ``session LEFT JOIN fields`` rows, or ``None`` when there are none.

    Each row holds the ``SESSION_COLUMNS`` followed by a field's ``name`` and ``value``
    (both ``NULL`` for a session without fields). Reading the session and its fields in one
    statement keeps ``load`` to one round trip.

    Raises:
        CorruptSession: a column holds a value of the wrong type.
    """
    if not rows:
        return None
    width = len(SESSION_COLUMNS)
    fields = fields_from_rows(
        (_text(row[width]), row[width + 1]) for row in rows if row[width] is not None
    )
    record = record_from_session_row(rows[0][:width])
    return Record(
        key=record.key,
        fields=fields,
        principal=record.principal,
        created_at=record.created_at,
        renewed_at=record.renewed_at,
        expires_at=record.expires_at,
        authenticated_at=record.authenticated_at,
        meta=record.meta,
    )


def removed_record(row: Sequence[object]) -> Record:
    """A removed session row (``SESSION_COLUMNS`` order) as a :class:`Record` without fields,
    for the report of a purge or of ``take_expired``: a row that cannot be decoded is reported
    by its key alone (it is gone either way, and a report must not fail the removal)."""
    try:
        return record_from_session_row(row)
    except CorruptSession:
        key = row[0]
        name = bytes(key).decode(errors="replace") if isinstance(key, (bytes, bytearray)) else key
        return Record(
            key=str(name), fields={}, principal=None, created_at=0.0, renewed_at=0.0, expires_at=0.0
        )


__all__ = [
    "DEFAULT_TABLE",
    "MAX_SERVER_TABLE",
    "SCHEMA_TABLE",
    "SCHEMA_VERSION",
    "SESSION_COLUMNS",
    "check_schema_version",
    "decode_meta",
    "encode_meta",
    "field_value",
    "fields_from_rows",
    "group_joined_rows",
    "group_key",
    "record_from_group",
    "record_from_joined_rows",
    "record_from_row",
    "record_from_session_row",
    "removed_record",
    "renewal_deadline",
    "validate_sql_table",
    "validate_table",
]
