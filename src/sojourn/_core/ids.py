"""Session IDs: generation, validation, and the digests that stores and logs see.

An ID is 32 bytes from :mod:`secrets`, base64url without padding (43 characters). Stores never
see it: they are keyed by its SHA-256 digest, so a leaked table or a Redis ``SCAN`` hands out no
live sessions, and lookups are not timing oracles. Pages and logs show a *fingerprint*, a short
label derived from the digest that cannot be turned back into either.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
import secrets
from collections.abc import Callable

from .errors import ConfigurationError

ID_BYTES = 32
MIN_ID_BYTES = 16
_ALPHABET_TEXT = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
"""base64url's 64 characters, in the order of the values they stand for."""

IdFactory = Callable[[], str]


def encoded_length(nbytes: int) -> int:
    """Length of the unpadded base64url text of ``nbytes`` random bytes."""
    return (nbytes * 4 + 2) // 3


def new_session_id(nbytes: int = ID_BYTES) -> str:
    """Return a fresh ID from the operating system's CSPRNG.

    Raises:
        ConfigurationError: ``nbytes`` is below 16 (128 bits, the OWASP ASVS 5 floor).
    """
    if nbytes < MIN_ID_BYTES:
        raise ConfigurationError(f"session IDs need at least {MIN_ID_BYTES} random bytes")
    return base64.urlsafe_b64encode(secrets.token_bytes(nbytes)).rstrip(b"=").decode("ascii")


def is_valid_session_id(value: str, nbytes: int = ID_BYTES) -> bool:
    """True if ``value`` has the exact shape of an ID we issue: checked before any store call.

    One bounded match: the exact length, the base64url alphabet, and a last character whose
    unused low bits are zero, which is what makes the text canonical (two spellings never map
    to one ID; ``test_ids`` checks this against a decode and re-encode).
    """
    return id_pattern(nbytes).fullmatch(value) is not None


@functools.cache
def id_pattern(nbytes: int = ID_BYTES) -> re.Pattern[str]:
    """The pattern of a canonical unpadded base64url text of ``nbytes`` bytes: what
    :func:`is_valid_session_id` matches (exact length included), for callers that hold it."""
    length = encoded_length(nbytes)
    spare = length * 6 - nbytes * 8  # low bits of the last character that carry nothing
    last = "".join(c for i, c in enumerate(_ALPHABET_TEXT) if i % (1 << spare) == 0)
    return re.compile(f"[A-Za-z0-9_-]{{{length - 1}}}[{re.escape(last)}]")


def store_key(session_id: str) -> str:
    """The SHA-256 hex digest of an ID: the only form in which a store sees it."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def marker_key(key: str) -> str:
    """Where the successor marker of the rotated store key ``key`` is kept.

    A digest of the old key with its own domain separator: a store key like any other (so
    every store can keep it), never the key of a session, and not derivable from a new ID.
    """
    return hashlib.sha256(b"sojourn.successor\0" + key.encode("ascii")).hexdigest()


def fingerprint_of_key(key: str) -> str:
    """A 12-character label for a session, safe for pages and logs.

    Derived from the store key with its own domain separator, so it reveals neither the ID nor
    the store key, yet the same session always gets the same label.
    """
    return hashlib.sha256(b"sojourn.fingerprint\0" + key.encode("ascii")).hexdigest()[:12]


def fingerprint(session_id: str) -> str:
    """The fingerprint of an ID (see :func:`fingerprint_of_key`)."""
    return fingerprint_of_key(store_key(session_id))


__all__ = [
    "ID_BYTES",
    "MIN_ID_BYTES",
    "IdFactory",
    "encoded_length",
    "fingerprint",
    "fingerprint_of_key",
    "id_pattern",
    "is_valid_session_id",
    "marker_key",
    "new_session_id",
    "store_key",
]
