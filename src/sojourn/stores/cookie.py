"""Client-side sessions: the whole record sealed with AES-256-GCM in the cookie value.

Nothing is kept on the server. Use it for small sessions in applications with no server state;
use a server store when you need to revoke one session before it expires or list a user's
sessions (see ``docs/stores/cookie.md`` for what a client-side session cannot do).

Construction of a token (version 1)::

    token = base64url(version || salt || AES-256-GCM(subkey, nonce=0, payload, aad))
    subkey = HKDF-SHA256(key, salt, info="sojourn cookie-session v1" || 0 || purpose)
    aad = version || 0 || cookie name || 0 || purpose

- **A fresh subkey per token.** The 16-byte random salt gives every seal its own key, so the
  fixed nonce is never reused under one key and there is no 2^32-messages-per-key limit, as
  there would be with random 96-bit nonces.
- **Bound to its place.** The cookie name and the purpose are authenticated, so a token cut
  from another cookie (or another Sojourn deployment with another purpose) does not open here.
- **Versioned.** The version byte is authenticated too; a later format can be added beside it.
- **No compression before encryption.** Compression would let a session's length reveal its
  content, as in CRIME and BREACH.
- **Expiry is inside the payload** and is checked on every read, so a stolen old cookie stops
  working on time even though the server keeps nothing. A token stamped more than a minute in
  the future is refused too: we never seal one.
- **Every failure looks the same.** :meth:`CookieStore.unseal` returns ``None`` for a forged,
  damaged, wrongly keyed, expired or revoked token, never an exception. A token that cannot
  even be decoded still costs a decryption attempt under every key, so the time to reject does
  not depend on where it was tampered with.

Keys: a list, newest first. The newest seals; all are tried for opening; a token opened with an
older key is re-sealed with the newest on that response. A key is at least 32 random bytes;
:func:`generate_key` (``sojourn keygen``) prints one as text that this module reads back.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from .._core.errors import ConfigurationError, StoreUnavailable
from .base import Record, Unsealed

logger = logging.getLogger("sojourn.security")

VERSION = 1
MIN_KEY_BYTES = 32
SALT_BYTES = 16
TAG_BYTES = 16
KEY_PREFIX = "sojourn-key-v1:"
DEFAULT_PURPOSE = "session"
MAX_TOKEN_CHARS = 8192  # far over what one cookie can carry; bounds the work of a bad token
MAX_CLOCK_SKEW = 60.0  # a token stamped further in the future than this was not sealed by us
MIN_DISTINCT_KEY_BYTES = 8  # b"\0" * 32 or b"ab" * 16 is long enough but not random

_NONCE = bytes(12)  # every subkey seals exactly one message
_HEADER = bytes([VERSION])
_MIN_BLOB = 1 + SALT_BYTES + TAG_BYTES
_B64_ALPHABET = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

Accept = Callable[[Record], bool]
"""The revocation hook: called with each unsealed, unexpired record; ``False`` rejects it."""


def generate_key() -> str:
    """A new 256-bit key as text (``sojourn-key-v1:`` and base64url), for settings and env vars."""
    raw = secrets.token_bytes(MIN_KEY_BYTES)
    return KEY_PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def parse_key(key: bytes | str) -> bytes:
    """The raw bytes of a key given as bytes or as the text :func:`generate_key` prints.

    Raises:
        ConfigurationError: the key is shorter than 32 bytes, or text in another form (a
            password is not a key: it has far less than 256 bits of entropy).
    """
    if isinstance(key, bytes) and key.startswith(KEY_PREFIX.encode("ascii")):
        raise ConfigurationError(
            "this is keygen's text passed as bytes: pass it as str, or pass the raw key bytes"
        )
    if isinstance(key, str):
        if not key.startswith(KEY_PREFIX):
            raise ConfigurationError(
                f"a key given as text must be what `sojourn keygen` prints (it starts with "
                f"{KEY_PREFIX!r}); pass raw keys as bytes"
            )
        body = key[len(KEY_PREFIX) :].strip()
        raw = _b64decode(body)
        if raw is None:
            raise ConfigurationError("the key text is not valid base64url")
        key = raw
    if not isinstance(key, bytes):
        raise ConfigurationError("keys must be bytes or text from `sojourn keygen`")
    if len(key) < MIN_KEY_BYTES:
        raise ConfigurationError(
            f"a key must be at least {MIN_KEY_BYTES} bytes (256 bits); this one is {len(key)}"
        )
    if len(set(key)) < MIN_DISTINCT_KEY_BYTES:
        raise ConfigurationError("this key is a repeated pattern, not random bytes: use keygen")
    return key


def _b64decode(text: str) -> bytes | None:
    """Canonical unpadded base64url only, so no two spellings open the same token."""
    decoded, ok = _b64decode_evenly(text)
    return decoded if ok else None


def _b64decode_evenly(text: str) -> tuple[bytes, bool]:
    """Decode ``text`` doing the same work whatever is wrong with it, and say if it was valid.

    Each step runs over the whole input: a character outside base64url or a bad length swaps
    in a same-length stand-in that is decoded and re-encoded all the same. Only canonical,
    unpadded base64url counts as valid, so no two spellings open the same token.
    """
    raw = text.encode("ascii", "replace")
    valid = not raw.translate(None, _B64_ALPHABET) and len(raw) % 4 != 1
    source = raw if valid else b"A" * (len(raw) - (len(raw) % 4 == 1))
    try:
        decoded = base64.urlsafe_b64decode(source + b"=" * (-len(source) % 4))
    except (binascii.Error, ValueError):  # pragma: no cover - alphabet and length checked
        return b"", False
    canonical = base64.urlsafe_b64encode(decoded).rstrip(b"=") == source
    return decoded, valid and canonical


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


class CookieStore:
    """Seals whole sessions into cookie values; keeps nothing on the server.

    Args:
        keys: newest first, each at least 32 bytes (``bytes``) or the text ``sojourn keygen``
            prints. The first seals; all open.
        purpose: bound into every token, so two applications sharing keys (or one application
            with two kinds of cookie) cannot swap tokens.
        accept: the revocation hook, called with each record that opened and has not expired;
            return ``False`` to reject it (e.g. the principal's sessions were revoked after
            ``record.authenticated_at``). It is synchronous and, under ASGI, runs on the event
            loop: keep it fast and free of blocking I/O (an in-process set refreshed in the
            background, say). If it raises, :class:`StoreUnavailable` is raised, as for a
            server store that is down.

    Raises:
        ConfigurationError: no keys, a short key, or an empty purpose.
    """

    def __init__(
        self,
        keys: Sequence[bytes | str],
        *,
        purpose: str = DEFAULT_PURPOSE,
        accept: Accept | None = None,
    ) -> None:
        if isinstance(keys, bytes | str):
            raise ConfigurationError("keys must be a list, newest first")
        parsed = [parse_key(key) for key in keys]
        if not parsed:
            raise ConfigurationError("CookieStore needs at least one key")
        if not purpose or "\0" in purpose:
            raise ConfigurationError("purpose must be non-empty text without NUL")
        self.purpose = purpose
        self._keys = tuple(parsed)
        self._info = b"sojourn cookie-session v1\0" + purpose.encode("utf-8")
        self._accept = accept

    def __repr__(self) -> str:  # never the keys
        return f"<CookieStore purpose={self.purpose!r} keys={len(self._keys)}>"

    # -- sealing ----------------------------------------------------------------------------

    def _aad(self, version: bytes, context: str) -> bytes:
        return version + b"\0" + context.encode("utf-8") + b"\0" + self.purpose.encode("utf-8")

    def _aead(self, key: bytes, salt: bytes) -> AESGCM:
        subkey = HKDF(algorithm=hashes.SHA256(), length=32, salt=salt, info=self._info)
        return AESGCM(subkey.derive(key))

    def seal(self, record: Record, context: str) -> str:
        """The token carrying ``record``, sealed with the newest key and bound to ``context``."""
        salt = secrets.token_bytes(SALT_BYTES)
        sealed = self._aead(self._keys[0], salt).encrypt(
            _NONCE, encode_payload(record), self._aad(_HEADER, context)
        )
        return _b64encode(_HEADER + salt + sealed)

    def unseal(self, token: str, context: str, now: float) -> Unsealed | None:
        """The record inside ``token`` if it is authentic, unexpired and accepted; else ``None``.

        Every step runs in full, and every key is tried, even once the token turned out
        undecodable, so that rejection costs the same wherever the damage is.
        """
        blob, well_formed = _b64decode_evenly(token[:MAX_TOKEN_CHARS])
        well_formed = well_formed and len(token) <= MAX_TOKEN_CHARS and len(blob) >= _MIN_BLOB
        if len(blob) < _MIN_BLOB:
            blob = bytes(_MIN_BLOB)  # a stand-in, so that every key is still tried
        version, salt, sealed = blob[:1], blob[1 : 1 + SALT_BYTES], blob[1 + SALT_BYTES :]
        aad = self._aad(version, context)
        payload: bytes | None = None
        opened_with = -1
        for index, key in enumerate(self._keys):
            try:
                payload = self._aead(key, salt).decrypt(_NONCE, sealed, aad)
            except InvalidTag:
                continue
            opened_with = index
            break
        if payload is None or not well_formed or version != _HEADER:
            return None
        record = decode_payload(payload)
        if record is None:
            logger.warning("session.corrupt: a sealed session opened but its payload is invalid")
            return None
        if not record.expires_at > now:
            return None
        if max(record.created_at, record.renewed_at) > now + MAX_CLOCK_SKEW:
            logger.warning("session.future_timestamp: a sealed session is stamped in the future")
            return None
        if self._accept is not None and not self._accepted(record):
            logger.info("session.rejected: the accept hook refused a sealed session")
            return None
        return Unsealed(record, stale_key=opened_with > 0)

    def _accepted(self, record: Record) -> bool:
        """Run the hook; its failure is an outage (503), never a silently accepted session."""
        assert self._accept is not None
        try:
            return self._accept(record)
        except Exception as exc:
            raise StoreUnavailable(
                f"the CookieStore accept hook failed: {type(exc).__name__}"
            ) from exc

    def close(self) -> None:
        """Nothing to release; present so the store can be closed like any other."""

    async def aclose(self) -> None:
        """Nothing to release; present so the store can be closed like any other."""


# -- the payload -------------------------------------------------------------------------------


def encode_payload(record: Record) -> bytes:
    """The record as compact JSON; each field's encoded value is spliced in as it is."""
    head = {
        "k": record.key,
        "p": record.principal,
        "c": record.created_at,
        "r": record.renewed_at,
        "e": record.expires_at,
        "a": record.authenticated_at,
        "m": dict(record.meta),
    }
    fields = b",".join(
        json.dumps(name, ensure_ascii=False).encode("utf-8") + b":" + value
        for name, value in record.fields.items()
    )
    prefix = json.dumps(head, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return prefix[:-1] + b',"d":{' + fields + b"}}"


def _timestamp(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise TypeError("timestamp")
    return float(value)


def _optional_str(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise TypeError("str")
    return value


def _str_map(value: Any) -> Mapping[str, str]:
    if not isinstance(value, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in value.items()
    ):
        raise TypeError("meta")
    return value


def _fields(value: Any) -> dict[str, bytes]:
    """Each value back in the exact bytes ``encode_value`` wrote (JSON round-trips them).

    The payload is authenticated and was written by ``encode_value``, so its checks need not
    run again: re-encoding with the same settings gives the same bytes, several times faster.
    """
    if not isinstance(value, dict):
        raise TypeError("fields")
    return {
        name: json.dumps(item, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        for name, item in value.items()
    }


def decode_payload(payload: bytes) -> Record | None:
    """The record in an authenticated payload, or ``None`` if it is not one we would write.

    The payload was authenticated, so this guards against our own past bugs and format changes
    rather than against attackers; it still never raises.
    """
    try:
        data = json.loads(payload.decode("utf-8"))
        if not isinstance(data, dict) or not isinstance(data.get("k"), str):
            return None
        return Record(
            key=data["k"],
            fields=_fields(data["d"]),
            principal=_optional_str(data["p"]),
            created_at=_timestamp(data["c"]),
            renewed_at=_timestamp(data["r"]),
            expires_at=_timestamp(data["e"]),
            authenticated_at=None if data["a"] is None else _timestamp(data["a"]),
            meta=_str_map(data["m"]),
        )
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


__all__ = ["CookieStore", "generate_key", "parse_key"]
