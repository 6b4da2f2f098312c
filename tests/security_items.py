"""The security checklist's items (SEC-01 … SEC-64) and where each one stands.

The checklist itself lives outside the repository; this list is the part of it that CI can
check. Every item is one of:

- ``TESTED``: implemented, and at least one test carries ``@pytest.mark.sec("SEC-xx")``;
- ``Documented(path)``: a documentation requirement, pinned by a test (marked with the item)
  that asserts the page at ``path`` says it;
- ``Unimplemented(reason)``: not built yet; no passing test may claim it.

``tests/test_security_checklist.py`` collects the whole suite and fails when an implemented
or documented item has no test, when a marker names an ID missing here, or when a passing test
names an item listed as not implemented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final


@dataclass(frozen=True, slots=True)
class Tested:
    """Implemented and pinned by tests that name it."""


@dataclass(frozen=True, slots=True)
class Documented:
    """A documentation item: a test asserts that ``path`` (relative to the repo) states it."""

    path: str


@dataclass(frozen=True, slots=True)
class Unimplemented:
    """Not built (yet): why, in one line."""

    reason: str


Status = Tested | Documented | Unimplemented

TESTED: Final = Tested()

ID_PATTERN: Final = re.compile(r"SEC-\d{2}")

ITEMS: Final[dict[str, Status]] = {
    # A. Session ID generation
    "SEC-01": TESTED,  # >= 128 bits of CSPRNG entropy
    "SEC-02": TESTED,  # must-create, retry after a collision
    "SEC-03": TESTED,  # the ID carries no meaning
    "SEC-04": TESTED,  # configurable, generic name
    # B. Strict mode, fixation, rotation
    "SEC-05": TESTED,  # never adopt an unknown ID
    "SEC-06": TESTED,  # lazy creation
    "SEC-07": TESTED,  # regenerate() rotates and kills the old ID
    "SEC-08": TESTED,  # adapters rotate on login and logout
    "SEC-09": TESTED,  # authenticated_at / created_at metadata
    # C. Transport
    "SEC-10": TESTED,  # secure cookie defaults
    "SEC-11": TESTED,  # prefixes validated at configuration
    "SEC-12": TESTED,  # the ID only from the configured transport
    "SEC-13": TESTED,  # no cookie over 4096 bytes
    "SEC-14": TESTED,  # cookie lifetime
    "SEC-15": TESTED,  # injection-proof Set-Cookie
    "SEC-16": TESTED,  # one Set-Cookie per name; deletion keeps Path and Domain
    "SEC-17": TESTED,  # Vary: Cookie, Cache-Control
    "SEC-18": TESTED,  # X-Forwarded-Proto is never trusted
    "SEC-19": TESTED,  # header transport
    # D. Lifetime
    "SEC-20": TESTED,  # idle timeout from stored timestamps, not the store's TTL
    "SEC-21": TESTED,  # absolute timeout
    "SEC-22": TESTED,  # client-side expiry inside the sealed payload
    "SEC-23": TESTED,  # periodic rotation (rotate_every) with a grace window
    "SEC-24": TESTED,  # expired records are purged
    # E. Termination
    "SEC-25": TESTED,  # destroy deletes the record and clears the cookie
    "SEC-26": TESTED,  # no resurrection
    "SEC-27": TESTED,  # invalidate every session of a user; listing without raw IDs
    "SEC-28": TESTED,  # client-side revocation hook, and the documented limitation
    "SEC-29": TESTED,  # Clear-Site-Data on a logout's response, opt-in, directives checked
    # F. Client-side cookies
    "SEC-30": TESTED,  # authenticate before decoding
    "SEC-31": TESTED,  # exact-length parsing
    "SEC-32": TESTED,  # AEAD only, fresh nonces, one error
    "SEC-33": TESTED,  # bound to purpose, cookie name, version
    "SEC-34": TESTED,  # format allowlist, no downgrade
    "SEC-35": TESTED,  # key hygiene
    "SEC-36": TESTED,  # key rotation order
    "SEC-37": Documented("docs/stores/cookie.md"),  # signed-only cookies are readable
    # G. Serialization and store hygiene
    "SEC-38": TESTED,  # no code-executing serializers
    "SEC-39": TESTED,  # corrupt data: empty session and a log event
    "SEC-40": TESTED,  # decoder limits
    "SEC-41": TESTED,  # stores see only SHA-256(ID)
    "SEC-42": TESTED,  # namespace isolation
    "SEC-43": TESTED,  # ID format checked before any store call
    "SEC-44": TESTED,  # parameterised SQL, validated table names
    "SEC-45": TESTED,  # atomic create and update
    "SEC-46": TESTED,  # never Redis KEYS
    "SEC-47": Documented("docs/security.md"),  # lost-update policy (also tested)
    "SEC-48": TESTED,  # store failures fail closed
    "SEC-49": TESTED,  # the memory store is bounded
    # H. Request parsing and DoS
    "SEC-50": TESTED,  # our own strict cookie parser
    "SEC-51": TESTED,  # duplicate session cookies
    "SEC-52": TESTED,  # input size guards
    # I. Logging and errors
    "SEC-53": TESTED,  # no raw IDs in logs, errors or repr
    "SEC-54": TESTED,  # structured security events
    "SEC-55": TESTED,  # generic error responses
    # J. Middleware and adapters
    "SEC-56": TESTED,  # no cross-request leakage
    "SEC-57": TESTED,  # ASGI specifics: websocket, lifespan, streaming
    "SEC-58": TESTED,  # nothing from the request is echoed into response headers
    "SEC-59": TESTED,  # nothing saved on a 5xx or an exception
    "SEC-60": TESTED,  # Django auth interoperation
    "SEC-61": TESTED,  # Flask SessionInterface
    "SEC-62": TESTED,  # opt-in binding to a user-agent family and/or IP prefix: ends, logs
    "SEC-63": Unimplemented("no cap on concurrent sessions per user"),
    "SEC-64": Documented("docs/security.md"),  # the security-decisions document
}

assert all(ID_PATTERN.fullmatch(key) for key in ITEMS)
assert list(ITEMS) == [f"SEC-{n:02d}" for n in range(1, 65)]

__all__ = ["ID_PATTERN", "ITEMS", "TESTED", "Documented", "Status", "Tested", "Unimplemented"]
