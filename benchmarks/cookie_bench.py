"""Client-side sessions: what sealing a session into its cookie costs, and what rejecting costs.

Two tables, all measured in one run:

1. **Seal and open**, µs per operation, for a small session (3 keys) and a ~2 KB one: sojourn's
   ``CookieStore`` (AES-256-GCM, a fresh HKDF subkey per token: the session is *encrypted*)
   beside the cookie codecs the peers use, which *sign* the session but leave it readable:

   - Starlette's ``SessionMiddleware``: JSON, base64, itsdangerous ``TimestampSigner``;
   - Flask's default session: itsdangerous ``URLSafeTimedSerializer`` as built by
     ``SecureCookieSessionInterface.get_signing_serializer`` (Flask's tagged JSON, HMAC-SHA1;
     it zlib-compresses when that is shorter, hence its short tokens for repetitive data);
   - Django's ``signed_cookies`` backend: ``django.core.signing.dumps``/``loads`` (here with
     ``compress=False``; the backend itself compresses when that is shorter).

   Every row goes from a dict to a token and back to a dict, checking the expiry on the way
   back, so the rows do the same job. The sojourn row therefore includes its per-key value
   codec (``encode_value``/``decode_value``) and building the record; a second sojourn row
   times ``CookieStore.seal``/``unseal`` alone, on a ready-made record. Token length is the
   cookie value in bytes: sojourn's carries the session's metadata (key digest, times) too.

2. **Rejection by where the token is damaged**: one byte flipped at the start, middle or end
   of the binary token, a character that is not base64url at the start or the end, a truncated
   token, a token sealed under an unknown key, and valid tokens, with 1 key and with 3 keys
   (the two old keys after the newest). ``CookieStore`` promises that the time to reject does
   not depend on where a token was tampered with; the max/min ratio over the damaged rows
   measures that promise.

Each cell is the best of ``--repeat`` runs of ``--n`` operations, after a warm-up; the cells
of one table are measured in turns within each run, so a busy moment hits them all alike.
Run: ``python -m benchmarks.cookie_bench`` (or ``python -m benchmarks`` for all).
"""

from __future__ import annotations

import argparse
import base64
import gc
import hashlib
import json
import platform
import secrets
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import itsdangerous
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from sojourn._core.codec import decode_value, encode_value
from sojourn.stores.base import Record
from sojourn.stores.cookie import CookieStore, generate_key

Session = dict[str, Any]
Op = Callable[[], object]

COOKIE = "session"
LIFETIME = 14 * 24 * 60 * 60  # Starlette's default max_age; the others are set to match
SECRET = "benchmark-secret-key-benchmark-secret-key"
DJANGO_SALT = "django.contrib.sessions.backends.signed_cookies"
SOJOURN = "sojourn CookieStore (dict ↔ token)"


# -- the sessions ------------------------------------------------------------------------------


def small_session() -> Session:
    """What most sessions hold: a user id, a CSRF token and a preference."""
    return {"user_id": 42, "csrf": secrets.token_urlsafe(32), "theme": "dark"}


def large_session(target: int = 2048) -> Session:
    """A session of about ``target`` bytes of JSON: a small one plus a shopping cart."""
    session = small_session()
    cart: list[dict[str, Any]] = []
    session["cart"] = cart
    while len(json.dumps(session, separators=(",", ":"))) < target:
        number = len(cart) + 1
        cart.append({"sku": f"SKU-{number:05d}", "qty": number % 3 + 1, "title": f"Item {number}"})
    return session


# -- the contenders ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Contender:
    """One way of turning a session into a cookie value and back."""

    name: str
    seal: Op
    open: Op
    token: str
    gives_dict: bool = True  # ``open`` returns the session (not a record) and is checked


def sojourn_contenders(session: Session) -> list[Contender]:
    """The like-for-like row (dict ↔ token) and the store API alone (record ↔ token)."""
    store = CookieStore([generate_key()])
    key = hashlib.sha256(secrets.token_bytes(32)).hexdigest()

    def to_record(data: Session) -> Record:
        now = time.time()
        return Record(
            key=key,
            fields={name: encode_value(name, value) for name, value in data.items()},
            principal=None,
            created_at=now,
            renewed_at=now,
            expires_at=now + LIFETIME,
        )

    def dumps() -> str:
        return store.seal(to_record(session), COOKIE)

    token = dumps()

    def loads() -> Session:
        opened = store.unseal(token, COOKIE, time.time())
        if opened is None:
            raise RuntimeError("sojourn: a valid token was rejected")
        return {name: decode_value(value) for name, value in opened.record.fields.items()}

    record = to_record(session)
    return [
        Contender(SOJOURN, dumps, loads, token),
        Contender(
            "sojourn CookieStore.seal / unseal only",
            lambda: store.seal(record, COOKIE),
            lambda: store.unseal(token, COOKIE, time.time()),
            token,
            gives_dict=False,
        ),
    ]


def starlette_contender(session: Session) -> Contender:
    """Starlette's ``SessionMiddleware`` codec: JSON, standard base64, ``TimestampSigner``."""
    signer = itsdangerous.TimestampSigner(SECRET)

    def dumps() -> str:
        return signer.sign(base64.b64encode(json.dumps(session).encode("utf-8"))).decode()

    token = dumps()

    def loads() -> Session:
        data: Session = json.loads(base64.b64decode(signer.unsign(token, max_age=LIFETIME)))
        return data

    return Contender("Starlette SessionMiddleware (itsdangerous)", dumps, loads, token)


def flask_contender(session: Session) -> Contender:
    """Flask's default session: the serializer its session interface builds for an app."""
    app = Flask("cookie_bench")
    app.secret_key = SECRET
    serializer = SecureCookieSessionInterface().get_signing_serializer(app)
    if serializer is None:  # pragma: no cover - the secret key is set just above
        raise RuntimeError("Flask built no serializer")
    max_age = int(app.permanent_session_lifetime.total_seconds())

    def dumps() -> str:
        return serializer.dumps(session)

    token = dumps()

    def loads() -> Session:
        data: Session = serializer.loads(token, max_age=max_age)
        return data

    return Contender("Flask session (itsdangerous)", dumps, loads, token)


def django_contender(session: Session) -> Contender:
    """Django's ``signed_cookies`` session codec, ``django.core.signing`` with compress=False."""
    from django.conf import settings

    if not settings.configured:
        settings.configure(SECRET_KEY=SECRET, SECRET_KEY_FALLBACKS=[])
    from django.core import signing

    def dumps() -> str:
        token: str = signing.dumps(
            session, salt=DJANGO_SALT, serializer=signing.JSONSerializer, compress=False
        )
        return token

    token = dumps()

    def loads() -> Session:
        data: Session = signing.loads(
            token, salt=DJANGO_SALT, serializer=signing.JSONSerializer, max_age=LIFETIME
        )
        return data

    return Contender("Django signing (signed_cookies)", dumps, loads, token)


def contenders(session: Session) -> list[Contender]:
    """Every row of the sealing table; each is checked to give the session back."""
    rows = [
        *sojourn_contenders(session),
        starlette_contender(session),
        flask_contender(session),
        django_contender(session),
    ]
    for row in rows:
        row.seal()
        opened = row.open()
        if opened is None or (row.gives_dict and opened != session):
            raise RuntimeError(f"{row.name}: the session did not survive the round trip")
    return rows


# -- measuring ---------------------------------------------------------------------------------


def best_of(ops: Mapping[str, Op], n: int, repeat: int) -> dict[str, float]:
    """Best µs per call of each op: ``repeat`` runs of ``n`` calls, the ops taking turns."""
    for op in ops.values():
        for _ in range(max(20, n // 10)):  # warm-up
            op()
    best = dict.fromkeys(ops, float("inf"))
    gc_enabled = gc.isenabled()
    gc.disable()  # as timeit does: no collection pause lands on one op by chance
    try:
        for _ in range(repeat):
            for name, op in ops.items():
                start = time.perf_counter()
                for _ in range(n):
                    op()
                best[name] = min(best[name], time.perf_counter() - start)
    finally:
        if gc_enabled:
            gc.enable()
    return {name: seconds / n * 1e6 for name, seconds in best.items()}


def sealing_table(session: Session, n: int, repeat: int) -> str:
    """A Markdown table: seal and open µs, token bytes, each with its ratio to sojourn."""
    rows = contenders(session)
    ops: dict[str, Op] = {}
    for row in rows:
        ops[f"seal {row.name}"] = row.seal
        ops[f"open {row.name}"] = row.open
    micros = best_of(ops, n, repeat)
    base = next(row for row in rows if row.name == SOJOURN)
    base_seal, base_open = micros[f"seal {SOJOURN}"], micros[f"open {SOJOURN}"]
    lines = [
        "| codec | seal µs | ÷ sojourn | open µs | ÷ sojourn | token bytes | ÷ sojourn |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for row in rows:
        seal, opened, size = micros[f"seal {row.name}"], micros[f"open {row.name}"], len(row.token)
        lines.append(
            f"| {row.name} | {seal:.1f} | {seal / base_seal:.2f} | {opened:.1f} | "
            f"{opened / base_open:.2f} | {size} | {size / len(base.token):.2f} |"
        )
    return "\n".join(lines)


# -- damaged tokens ----------------------------------------------------------------------------


def _decode(token: str) -> bytearray:
    return bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))


def _encode(blob: bytes | bytearray) -> str:
    return base64.urlsafe_b64encode(bytes(blob)).rstrip(b"=").decode("ascii")


def _flip(token: str, index: int) -> str:
    blob = _decode(token)
    blob[index] ^= 0x01
    return _encode(blob)


def damaged_tokens(token: str, unknown_key_token: str) -> dict[str, str]:
    """Tokens that must all be rejected, named by where the damage is."""
    middle = len(_decode(token)) // 2
    return {
        "byte 0 flipped (version)": _flip(token, 0),
        f"byte {middle} flipped (middle)": _flip(token, middle),
        "last byte flipped (tag)": _flip(token, -1),
        "not base64url at char 0": "!" + token[1:],
        "not base64url at last char": token[:-1] + "!",
        "truncated (last 4 chars cut)": token[:-4],
        "sealed with an unknown key": unknown_key_token,
    }


def rejection_table(n: int, repeat: int) -> tuple[str, dict[str, float]]:
    """A Markdown table of unseal µs per token, 1 key and 3 keys; and max/min per key count."""
    newest, old, oldest = generate_key(), generate_key(), generate_key()
    stores = {"1 key": CookieStore([newest]), "3 keys": CookieStore([newest, old, oldest])}
    now = time.time()
    record = Record(
        key=hashlib.sha256(secrets.token_bytes(32)).hexdigest(),
        fields={name: encode_value(name, value) for name, value in small_session().items()},
        principal=None,
        created_at=now,
        renewed_at=now,
        expires_at=now + LIFETIME,
    )
    token = stores["1 key"].seal(record, COOKIE)
    stale = CookieStore([oldest]).seal(record, COOKIE)
    damaged = damaged_tokens(token, CookieStore([generate_key()]).seal(record, COOKIE))
    cases = {"valid (newest key)": token, "valid (oldest of 3 keys)": stale, **damaged}

    ops: dict[str, Op] = {}
    for label, store in stores.items():
        for case, value in cases.items():
            if label == "1 key" and case == "valid (oldest of 3 keys)":
                continue  # under one key that token is simply one sealed with an unknown key
            opened = store.unseal(value, COOKIE, now)
            if (opened is None) != (case in damaged):
                raise RuntimeError(f"{label}, {case}: unexpected result {opened!r}")

            def op(store: CookieStore = store, value: str = value) -> object:
                return store.unseal(value, COOKIE, time.time())

            ops[f"{label}|{case}"] = op
    micros = best_of(ops, n, repeat)

    lines = ["| token | bytes | 1 key µs | 3 keys µs |", "| --- | ---: | ---: | ---: |"]
    for case, value in cases.items():
        cells = [
            f"{micros[f'{label}|{case}']:.1f}" if f"{label}|{case}" in micros else "n/a"
            for label in stores
        ]
        lines.append(f"| {case} | {len(value)} | " + " | ".join(cells) + " |")
    spread = {
        label: max(micros[f"{label}|{case}"] for case in damaged)
        / min(micros[f"{label}|{case}"] for case in damaged)
        for label in stores
    }
    return "\n".join(lines), spread


# -- the command -------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.cookie_bench", description=__doc__)
    parser.add_argument("--n", type=int, default=2000, help="operations per run")
    parser.add_argument("--repeat", type=int, default=5, help="runs per cell (best is kept)")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    where = f"Python {platform.python_version()}, {platform.machine()}"
    print(f"\n### Sealing and opening a session cookie: µs per operation ({where})")
    print(f"(best of {args.repeat} runs of {args.n}; ÷ sojourn = this row / the sojourn row)")
    for title, session in (("small session (3 keys)", small_session()), (None, large_session())):
        size = len(json.dumps(session, separators=(",", ":")))
        print(f"\n#### {title or f'~2 KB session ({len(session)} keys)'}: {size} bytes of JSON\n")
        print(sealing_table(session, args.n, args.repeat), flush=True)
    print(f"\n### Rejecting damaged tokens: µs per CookieStore.unseal ({where})\n")
    rejection, spread = rejection_table(args.n, args.repeat)
    print(rejection)
    print(
        "\nmax/min over the damaged rows: "
        + ", ".join(f"{label} {ratio:.2f}" for label, ratio in spread.items())
    )
    print(f"\n(total {time.perf_counter() - started:.1f} s)", file=sys.stderr)


if __name__ == "__main__":
    main()
