"""Seeded hostile requests: the categories of SECURITY-CHECKLIST.md section (c), combined and
mutated at random.

Every input is made of raw bytes, as a server would receive them: ``Cookie`` header lines
(several lines sometimes, as HTTP/2 sends them), ``Authorization`` and ``X-Session-Token``
values, and a query string. Values are drawn from the checklist's families (structure, name
tricks, ID look-alikes, injection payloads, control and non-latin-1 bytes, invalid UTF-8,
Unicode whitespace and homoglyphs, backslash runs, oversized values, very many pairs,
duplicates of live and dead IDs), then sometimes mutated byte by byte.

Free text carries a *canary*, a random marker the fuzzer then looks for in every response
header: finding one means request input was echoed (SEC-58). Live IDs come from the target
(IDs its server really issued), so duplicates of live sessions are exercised too.
"""

from __future__ import annotations

import base64
import random
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from sojourn._core.ids import new_session_id

CANARY_PREFIX = "qzx"
"""Canaries look like ``qzx`` and 8 lower-case letters: never part of a header Sojourn writes."""

UNICODE_BLANKS = ["\u2000", "\u00a0", "\u0085", "\ufeff", "\u200b", "\x0b", "\t", " "]
TRICKY_TEXT = [
    "\u202e",  # right-to-left override
    "\u0430",  # Cyrillic a, a homoglyph
    "\u200d",  # zero-width joiner
    "\ud800",  # a lone surrogate (only in str inputs)
    "\U0001f36a",
    "\uff1b",  # fullwidth semicolon
    "\uff1d",  # fullwidth equals sign
]
PAYLOADS = [
    "../../etc/passwd", "..\\..\\", "%2e%2e%2f", "/tmp/x", "C:\\x", "abc\x00.json",
    "' OR '1'='1", "x'; DROP TABLE sessions;--", "1) UNION SELECT 1--",
    "*", "?", "[a-z]", "a b\r\nset x 0 0 1\r\n1", '{"$ne": null}',
    "\x00", "\r", "\n", "\r\n", "\x7f", "\\", '"', '""', '"\\"', ";", ",", "=", "==",
    "$Version=1", "$Path=/", "$Domain=example.com", "Path=/", "HttpOnly", "Max-Age=0",
]  # fmt: skip
"""Injection and structure payloads from the checklist, sections 1.3 and 2."""


def canary(rng: random.Random) -> str:
    return CANARY_PREFIX + "".join(rng.choices(string.ascii_lowercase, k=8))


@dataclass
class Request:
    """One hostile request, as raw bytes."""

    cookies: list[bytes] = field(default_factory=list)
    """``Cookie`` header lines (none, one, or several)."""
    authorization: list[bytes] = field(default_factory=list)
    token: list[bytes] = field(default_factory=list)
    """``X-Session-Token`` header lines."""
    query: bytes = b""
    action: str = "read"
    """What the app does with the session: read, write, login or logout."""
    canaries: list[str] = field(default_factory=list)

    def headers(self) -> list[tuple[bytes, bytes]]:
        """The request's session-related header lines, names lower-case, as ASGI has them."""
        lines = [(b"cookie", value) for value in self.cookies]
        lines += [(b"authorization", value) for value in self.authorization]
        lines += [(b"x-session-token", value) for value in self.token]
        return lines

    def size(self) -> int:
        return sum(len(v) for _, v in self.headers()) + len(self.query)


BROKEN_UTF8 = [b"\xc0\xaf", b"\xff", b"\xed\xa0\x80", b"\x80"]  # overlong, invalid, surrogate
NOT_IN_QUERIES = bytes(range(0x21)) + b"\x7f"
ACTIONS = ("read", "read", "write", "write", "login", "logout")


class Hostile:
    """A seeded source of hostile requests for a target whose session cookie is ``name``."""

    def __init__(self, seed: int, name: str, live: Callable[[], Sequence[str]]) -> None:
        self.rng = random.Random(seed)
        self.name = name
        self.live = live  # IDs the target's server issued (some may have ended since)
        self.dead = [new_session_id() for _ in range(8)]  # well-formed, never issued
        self.max_backslashes = 30_000  # CVE-2024-7592's reproducer; a target may lower it

    # -- values --------------------------------------------------------------------------------

    def an_id(self) -> str:
        """A live, dead, or near-miss session ID."""
        rng = self.rng
        live = self.live()
        pick = rng.random()
        if live and pick < 0.35:
            return rng.choice(live)
        if pick < 0.55:
            return rng.choice(self.dead)
        base = rng.choice(live) if live and rng.random() < 0.5 else rng.choice(self.dead)
        return self.near_miss(base)

    def near_miss(self, valid: str) -> str:
        """An ID one step from valid: off-by-one length, wrong alphabet, non-canonical end,
        padding, percent-encoding, quoting, case, or a stray character."""
        rng = self.rng
        i = rng.randrange(len(valid))
        kind = rng.randrange(14)
        if kind == 0:
            return valid[:-1]
        if kind == 1:
            return valid + rng.choice("Aa0-_")
        if kind == 2:
            return valid[:i] + rng.choice("+/=.~!") + valid[i + 1 :]
        if kind == 3:
            return valid[:-1] + rng.choice("BCDFbcdf1239")  # low bits set: not canonical
        if kind == 4:
            return valid + "="
        if kind == 5:
            return "".join(f"%{ord(c):02X}" for c in valid)
        if kind == 6:
            return f'"{valid}"'
        if kind == 7:
            return f'"{valid}'
        if kind == 8:
            return valid.swapcase()
        if kind == 9:
            return valid[:i] + rng.choice(UNICODE_BLANKS + TRICKY_TEXT) + valid[i:]
        if kind == 10:
            return base64.b64encode(valid.encode()).decode()
        if kind == 11:
            return valid.encode().hex()
        if kind == 12:
            return valid * 2
        return valid.upper()

    def text(self) -> str:
        """Free hostile text (with a canary), from the checklist's families."""
        rng = self.rng
        roll = rng.random()
        mark = canary(rng)
        if roll < 0.25:
            return mark + rng.choice(PAYLOADS)
        if roll < 0.4:
            return rng.choice(PAYLOADS) + mark + rng.choice(UNICODE_BLANKS + TRICKY_TEXT)
        if roll < 0.5:
            return mark + "".join(chr(rng.randrange(0, 0x100)) for _ in range(rng.randrange(20)))
        if roll < 0.58:
            run = min(rng.choice([2, 30, 3000, 30_000]), self.max_backslashes)
            return mark + '"' + "\\" * run + '"'
        if roll < 0.66:
            return mark + rng.choice("ab%") * rng.choice([1024, 4096, 10_000])
        if roll < 0.663:
            return mark + "x" * rng.choice([100_000, 1_000_000])  # rare: oversized
        if roll < 0.8:
            return mark + "".join(rng.choice(TRICKY_TEXT + UNICODE_BLANKS) for _ in range(4))
        return mark

    def value(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.55:
            return self.an_id()
        if roll < 0.6:
            return rng.choice(["", " ", "\t", '""', '"'])
        return self.text()

    def cookie_name(self) -> str:
        """The session cookie's name, a look-alike of it, or another name."""
        rng = self.rng
        name = self.name
        roll = rng.random()
        if roll < 0.6:
            return name
        return rng.choice(
            [
                name.lower(),
                name.upper(),
                name.swapcase(),
                "".join(f"%{ord(c):02X}" if rng.random() < 0.3 else c for c in name),
                f'"{name}"',
                rng.choice(UNICODE_BLANKS) + name,
                name + rng.choice(UNICODE_BLANKS),
                "$Version",
                "$Path",
                "",
                "=" + name,
                "csrftoken",
                "a",
                canary(rng),
            ]
        )

    # -- header lines ----------------------------------------------------------------------------

    def cookie_header(self) -> str:
        rng = self.rng
        roll = rng.random()
        if roll < 0.03:
            return rng.choice(["", " ", ";;; ;", "=", ";"])
        if roll < 0.05:  # very many pairs, the session cookie somewhere among them
            many = ["a=1"] * rng.choice([180, 1000, 20_000])
            many.insert(rng.randrange(len(many)), f"{self.name}={self.an_id()}")
            return "; ".join(many)
        if roll < 0.06:  # one huge cookie before the session cookie
            return f"big={'b' * 100_000}; {self.name}={self.an_id()}"
        pairs = []
        for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4, 8])):
            sep = rng.choice(["=", "=", "=", " = ", "==", ""])
            pairs.append(f"{self.cookie_name()}{sep}{self.value()}")
        joiner = rng.choice(["; ", "; ", ";", ", ", " ; ", ";\t", ";;"])
        return joiner.join(pairs)

    def encode(self, text: str) -> bytes:
        """Bytes of ``text`` as a client might send them: UTF-8 (sometimes broken) or latin-1."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            data = text.encode("utf-8", "surrogatepass")
        else:
            data = text.encode("latin-1", "replace")
        if rng.random() < 0.05:  # invalid or overlong UTF-8
            i = rng.randrange(len(data) + 1)
            data = (
                data[:i] + rng.choice([b"\xc0\xaf", b"\xff", b"\xed\xa0\x80", b"\x80"]) + data[i:]
            )
        return data

    def mutate(self, data: bytes) -> bytes:
        """A few random byte edits (flip, insert, delete, duplicate a slice)."""
        rng = self.rng
        buf = bytearray(data)
        for _ in range(rng.randrange(1, 5)):
            op = rng.randrange(4)
            i = rng.randrange(len(buf) + 1)
            if op == 0 and buf and i < len(buf):
                buf[i] ^= 1 << rng.randrange(8)
            elif op == 1:
                buf[i:i] = bytes([rng.choice(b';=," \t\x00\r\n\x7f\xff\\')])
            elif op == 2 and buf:
                del buf[i : i + rng.randrange(1, 4)]
            elif buf:
                j = rng.randrange(len(buf))
                buf[i:i] = buf[j : j + rng.randrange(1, 50)]
        return bytes(buf)

    def line(self, text: str) -> bytes:
        data = self.encode(text)
        return self.mutate(data) if self.rng.random() < 0.2 else data

    def request(self) -> Request:
        """The next hostile request."""
        rng = self.rng
        request = Request(action=rng.choice(ACTIONS))
        roll = rng.random()
        if roll > 0.1:  # no Cookie header at all sometimes
            lines = 1 if rng.random() < 0.8 else rng.choice([2, 3, 5])
            request.cookies = [self.line(self.cookie_header()) for _ in range(lines)]
        if rng.random() < 0.3:
            for _ in range(rng.choice([1, 1, 2])):
                scheme = rng.choice(["Bearer ", "bearer ", "Bearer  ", "Basic ", "", "Bearer\t"])
                request.authorization.append(self.line(scheme + self.value()))
        if rng.random() < 0.15:
            request.token.append(self.line(self.value()))
        if rng.random() < 0.3:
            parts = [
                f"{rng.choice(['sid', 'SID', 'sid[]', 'a', ''])}={self.value()}"
                for _ in range(rng.choice([1, 1, 2, 3]))
            ]
            query = self.encode("&".join(parts)[:16_384])
            # A query string carries no raw space, CR, LF or NUL: a server would have refused it.
            request.query = query.translate(None, NOT_IN_QUERIES)
        request.canaries = [
            part
            for raw in [*request.cookies, *request.authorization, *request.token, request.query]
            for part in find_canaries(raw)
        ]
        return request


def find_canaries(data: bytes) -> list[str]:
    """The canaries in ``data`` (as written: a mutation may have broken some, that is fine)."""
    found = []
    start = data.find(CANARY_PREFIX.encode())
    while start != -1:
        found.append(data[start : start + len(CANARY_PREFIX) + 8].decode("latin-1"))
        start = data.find(CANARY_PREFIX.encode(), start + 1)
    return [c for c in found if len(c) == len(CANARY_PREFIX) + 8 and c.isalpha()]


__all__ = ["CANARY_PREFIX", "Hostile", "Request", "find_canaries"]
