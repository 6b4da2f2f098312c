"""Session IDs: generation, validation, and the digests that stores and logs see.

An ID is 32 bytes from :mod:`secrets`, base64url without padding (43 characters). Stores never
see it: they are keyed by its SHA-256 digest, so a leaked table or a Redis ``SCAN`` hands out no
live sessions, and lookups are not timing oracles. Pages and logs show a *fingerprint*, a short
label derived from the digest that cannot be turned back into either.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import secrets
from collections.abc import Callable

from .errors import ConfigurationError

ID_BYTES = 32
MIN_ID_BYTES = 16
_ALPHABET = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")

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

    Length and alphabet first (cheap, bounded), then canonical base64 so two spellings never
    map to one ID.
    """
    if len(value) != encoded_length(nbytes) or not value.isascii():
        return False
    raw = value.encode("ascii")
    if not _ALPHABET.issuperset(raw):
        return False
    try:
        decoded = base64.urlsafe_b64decode(raw + b"=" * (-len(raw) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - alphabet already checked
        return False
    return len(decoded) == nbytes and base64.urlsafe_b64encode(decoded).rstrip(b"=") == raw


def store_key(session_id: str) -> str:
    """The SHA-256 hex digest of an ID: the only form in which a store sees it."""
    return hashlib.sha256(session_id.encode("ascii")).hexdigest()


def fingerprint_of_key(key: str) -> str:
    """A 12-character label for a session, safe for pages and logs.

    Derived from the store key with its own domain separator, so it reveals neither the ID nor
    the store key, yet the same session always gets the same label.
    """
    return hashlib.sha256(b"sojourn.fingerprint\0" + key.encode("ascii")).hexdigest()[:12]


def fingerprint(session_id: str) -> str:
    """The fingerprint of an ID (see :func:`fingerprint_of_key`)."""
    return fingerprint_of_key(store_key(session_id))
