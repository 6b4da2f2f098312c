"""CookieStore: keys, sealing, binding, expiry, rotation, and every kind of bad token.

The bad-token suite is exhaustive where it can be (every byte position of a real token, every
truncation) and property-based where it cannot (arbitrary text, arbitrary edits).
"""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sojourn import ConfigurationError
from sojourn.stores.base import ClientSideStore, Record
from sojourn.stores.cookie import (
    KEY_PREFIX,
    MAX_TOKEN_CHARS,
    CookieStore,
    decode_payload,
    encode_payload,
    generate_key,
    parse_key,
)

KEY_A = generate_key()
KEY_B = generate_key()
NAME = "__Host-sid"
NOW = 1_700_000_000.0
B64 = string.ascii_letters + string.digits + "-_"


def record(**changes: object) -> Record:
    base: dict[str, object] = {
        "key": "ab" * 32,
        "fields": {"cart": b'[1,2,{"sku":"x"}]', "name": '"Zoë"'.encode()},
        "principal": "alice",
        "created_at": NOW - 10,
        "renewed_at": NOW - 5,
        "expires_at": NOW + 600,
        "authenticated_at": NOW - 10,
        "meta": {"ip": "192.0.2.1"},
    }
    base.update(changes)
    return Record(**base)  # type: ignore[arg-type]


@pytest.fixture
def store() -> CookieStore:
    return CookieStore([KEY_A])


@pytest.fixture
def token(store: CookieStore) -> str:
    return store.seal(record(), NAME)


# -- keys -------------------------------------------------------------------------------------


@pytest.mark.sec("SEC-35")
def test_generated_keys_are_text_of_32_random_bytes() -> None:
    assert KEY_A.startswith(KEY_PREFIX)
    assert len(parse_key(KEY_A)) == 32
    assert KEY_A != KEY_B


def test_raw_bytes_keys_are_accepted() -> None:
    raw = bytes(range(32))
    sealed = CookieStore([raw]).seal(record(), NAME)
    assert CookieStore([raw]).unseal(sealed, NAME, NOW) is not None


@pytest.mark.parametrize(
    "bad",
    [
        b"x" * 31,
        b"",
        KEY_PREFIX + "c2hvcnQ",  # "short"
        "correct horse battery staple and more words to pass 32",  # a password is not a key
        KEY_PREFIX + "not*base64*at*all",
    ],
)
@pytest.mark.sec("SEC-35")
def test_short_or_malformed_keys_are_refused(bad: bytes | str) -> None:
    with pytest.raises(ConfigurationError):
        CookieStore([bad])


@pytest.mark.sec("SEC-35")
def test_no_keys_a_bare_key_or_an_empty_purpose_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least one"):
        CookieStore([])
    with pytest.raises(ConfigurationError, match="list"):
        CookieStore(KEY_A)
    with pytest.raises(ConfigurationError, match="purpose"):
        CookieStore([KEY_A], purpose="")


@pytest.mark.sec("SEC-35")
def test_the_repr_shows_no_key(store: CookieStore) -> None:
    assert KEY_A not in repr(store)
    assert KEY_A[len(KEY_PREFIX) :] not in repr(store)


def test_it_is_recognised_as_a_client_side_store(store: CookieStore) -> None:
    assert isinstance(store, ClientSideStore)


# -- sealing -----------------------------------------------------------------------------------


def test_a_sealed_record_opens_unchanged(store: CookieStore, token: str) -> None:
    opened = store.unseal(token, NAME, NOW)
    assert opened is not None
    assert opened.record == record()
    assert opened.stale_key is False


@pytest.mark.sec("SEC-32")
def test_the_token_reveals_nothing_of_the_session(token: str) -> None:
    assert "alice" not in token
    assert "cart" not in token
    assert set(token) <= set(B64)


@pytest.mark.sec("SEC-32")
def test_two_seals_of_one_record_differ(store: CookieStore) -> None:
    assert store.seal(record(), NAME) != store.seal(record(), NAME)


@pytest.mark.sec("SEC-33")
def test_a_token_is_bound_to_its_cookie_name(store: CookieStore, token: str) -> None:
    assert store.unseal(token, "other", NOW) is None


@pytest.mark.sec("SEC-33")
def test_a_token_is_bound_to_its_purpose(token: str) -> None:
    assert CookieStore([KEY_A], purpose="csrf").unseal(token, NAME, NOW) is None


@pytest.mark.sec("SEC-22")
def test_an_expired_token_is_refused(store: CookieStore) -> None:
    sealed = store.seal(record(expires_at=NOW + 1), NAME)
    assert store.unseal(sealed, NAME, NOW) is not None
    assert store.unseal(sealed, NAME, NOW + 1) is None
    assert store.unseal(sealed, NAME, NOW + 10_000) is None


@pytest.mark.sec("SEC-28")
def test_the_accept_hook_can_revoke() -> None:
    revoked_before = {"alice": NOW - 5}

    def accept(sealed: Record) -> bool:
        return (sealed.authenticated_at or 0) >= revoked_before.get(sealed.principal or "", 0)

    store = CookieStore([KEY_A], accept=accept)
    old = store.seal(record(authenticated_at=NOW - 10), NAME)
    new = store.seal(record(authenticated_at=NOW - 1), NAME)
    assert store.unseal(old, NAME, NOW) is None
    assert store.unseal(new, NAME, NOW) is not None


# -- rotation ----------------------------------------------------------------------------------


@pytest.mark.sec("SEC-36")
def test_old_keys_open_and_say_so_until_removed() -> None:
    old_token = CookieStore([KEY_A]).seal(record(), NAME)
    rotated = CookieStore([KEY_B, KEY_A])
    opened = rotated.unseal(old_token, NAME, NOW)
    assert opened is not None
    assert opened.stale_key is True
    resealed = rotated.seal(opened.record, NAME)
    assert CookieStore([KEY_B]).unseal(resealed, NAME, NOW) is not None  # newest key sealed it
    assert CookieStore([KEY_B]).unseal(old_token, NAME, NOW) is None  # old key retired


@pytest.mark.sec("SEC-34", "SEC-36")
def test_a_token_under_an_unknown_key_is_refused(token: str) -> None:
    assert CookieStore([KEY_B]).unseal(token, NAME, NOW) is None


# -- bad tokens --------------------------------------------------------------------------------


@pytest.mark.sec("SEC-30")
def test_changing_any_character_to_any_other_is_refused(store: CookieStore, token: str) -> None:
    for position, original in enumerate(token):
        for replacement in B64 + "=.+/ ~é":
            if replacement == original:
                continue
            tampered = token[:position] + replacement + token[position + 1 :]
            assert store.unseal(tampered, NAME, NOW) is None, (position, replacement)


@pytest.mark.sec("SEC-30")
def test_flipping_any_bit_of_the_binary_token_is_refused(store: CookieStore, token: str) -> None:
    import base64

    blob = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    for position in range(len(blob)):
        for bit in range(8):
            damaged = bytearray(blob)
            damaged[position] ^= 1 << bit
            text = base64.urlsafe_b64encode(bytes(damaged)).rstrip(b"=").decode()
            assert store.unseal(text, NAME, NOW) is None, (position, bit)


@pytest.mark.sec("SEC-31")
def test_every_truncation_is_refused(store: CookieStore, token: str) -> None:
    for length in range(len(token)):
        assert store.unseal(token[:length], NAME, NOW) is None, length
        assert store.unseal(token[length + 1 :], NAME, NOW) is None, length


@pytest.mark.sec("SEC-31")
@pytest.mark.parametrize("suffix", ["A", "AA", "AAAA", "=", "==", " ", "\x00", "x" * 64])
def test_extended_or_padded_tokens_are_refused(store: CookieStore, token: str, suffix: str) -> None:
    assert store.unseal(token + suffix, NAME, NOW) is None
    assert store.unseal(suffix + token, NAME, NOW) is None


@pytest.mark.parametrize(
    "value", ["", "A", "é" * 100, "\x00" * 64, "😀", "null", "{}", "x" * (MAX_TOKEN_CHARS + 4)]
)
@pytest.mark.sec("SEC-31")
def test_junk_is_refused(store: CookieStore, value: str) -> None:
    assert store.unseal(value, NAME, NOW) is None


@pytest.mark.sec("SEC-31")
def test_a_token_spliced_from_two_tokens_is_refused(store: CookieStore) -> None:
    first = store.seal(record(principal="alice"), NAME)
    second = store.seal(record(principal="mallory"), NAME)
    middle = len(first) // 2
    assert store.unseal(first[:middle] + second[middle:], NAME, NOW) is None
    assert store.unseal(second[:middle] + first[middle:], NAME, NOW) is None


@pytest.mark.sec("SEC-30", "SEC-31")
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(max_size=600))
def test_arbitrary_text_is_refused_without_raising(store: CookieStore, text: str) -> None:
    assert store.unseal(text, NAME, NOW) is None


@pytest.mark.sec("SEC-30")
@settings(max_examples=300, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_arbitrary_edits_of_a_real_token_are_refused(
    store: CookieStore, token: str, data: st.DataObject
) -> None:
    start = data.draw(st.integers(0, len(token)), label="start")
    end = data.draw(st.integers(start, min(len(token), start + 8)), label="end")
    insert = data.draw(st.text(alphabet=B64, max_size=8), label="insert")
    edited = token[:start] + insert + token[end:]
    opened = store.unseal(edited, NAME, NOW)
    if edited == token:
        assert opened is not None
    else:
        assert opened is None


# -- the payload -------------------------------------------------------------------------------

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200)
@given(
    fields=st.dictionaries(st.text(min_size=1, max_size=20), json_values, max_size=5),
    principal=st.none() | st.text(min_size=1, max_size=30),
    meta=st.dictionaries(st.text(max_size=10), st.text(max_size=20), max_size=3),
)
def test_payloads_round_trip(
    fields: dict[str, object], principal: str | None, meta: dict[str, str]
) -> None:
    from sojourn._core.codec import encode_value

    original = record(
        fields={k: encode_value(k, v) for k, v in fields.items()}, principal=principal, meta=meta
    )
    assert decode_payload(encode_payload(original)) == original


@pytest.mark.parametrize(
    "payload",
    [
        b"",
        b"[]",
        b"{}",
        b'{"k":1}',
        b"\xff",
        b'{"k":"a","d":{},"p":1,"c":0,"r":0,"e":0,"a":null,"m":{}}',
    ],
)
@pytest.mark.sec("SEC-39")
def test_payloads_we_would_not_write_decode_to_nothing(payload: bytes) -> None:
    assert decode_payload(payload) is None


# -- the security checklist's client-side items (SEC-22, 30, 32, 34, 35, 36) -------------------


@pytest.mark.sec("SEC-35")
@pytest.mark.parametrize("weak", [b"\x00" * 32, b"ab" * 16, b"secret" * 6])
def test_patterned_keys_are_refused(weak: bytes) -> None:
    with pytest.raises(ConfigurationError, match="random"):
        CookieStore([weak])


@pytest.mark.sec("SEC-22")
def test_a_token_stamped_in_the_future_is_refused(store: CookieStore) -> None:
    ahead = store.seal(
        record(created_at=NOW + 3600, renewed_at=NOW + 3600, expires_at=NOW + 7200), NAME
    )
    assert store.unseal(ahead, NAME, NOW) is None
    slightly = store.seal(record(renewed_at=NOW + 30), NAME)  # within the allowed clock skew
    assert store.unseal(slightly, NAME, NOW) is not None


@pytest.mark.sec("SEC-30")
def test_rejected_tokens_are_never_decoded(
    store: CookieStore, token: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from sojourn.stores import cookie as module

    calls: list[bytes] = []
    real = module.decode_payload

    def spy(payload: bytes) -> Record | None:
        calls.append(payload)
        return real(payload)

    monkeypatch.setattr(module, "decode_payload", spy)
    for position in range(len(token)):
        swapped = "A" if token[position] != "A" else "B"
        assert store.unseal(token[:position] + swapped + token[position + 1 :], NAME, NOW) is None
    assert calls == []
    assert store.unseal(token, NAME, NOW) is not None
    assert len(calls) == 1


@pytest.mark.sec("SEC-32")
def test_every_seal_uses_a_fresh_salt(store: CookieStore) -> None:
    import base64

    salts = set()
    for _ in range(10_000):
        sealed = store.seal(record(fields={}), NAME)
        blob = base64.urlsafe_b64decode(sealed + "=" * (-len(sealed) % 4))
        salts.add(blob[1:17])
    assert len(salts) == 10_000


@pytest.mark.sec("SEC-34")
def test_a_forged_plain_json_cookie_is_refused(store: CookieStore) -> None:
    import base64

    forged = encode_payload(record(principal="admin"))
    assert store.unseal(base64.urlsafe_b64encode(forged).rstrip(b"=").decode(), NAME, NOW) is None


@pytest.mark.sec("SEC-34")
def test_an_unknown_version_is_refused_even_when_authentic() -> None:
    import base64
    import secrets

    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    from cryptography.hazmat.primitives.kdf.hkdf import HKDF

    version, salt = b"\x02", secrets.token_bytes(16)
    subkey = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=salt, info=b"sojourn cookie-session v1\0session"
    ).derive(parse_key(KEY_A))
    aad = version + b"\0" + NAME.encode() + b"\0session"
    sealed = AESGCM(subkey).encrypt(bytes(12), encode_payload(record()), aad)
    token = base64.urlsafe_b64encode(version + salt + sealed).rstrip(b"=").decode()
    assert CookieStore([KEY_A]).unseal(token, NAME, NOW) is None
    # The same construction with version 1 opens: the refusal above is the version's doing.
    version = b"\x01"
    aad = version + b"\0" + NAME.encode() + b"\0session"
    sealed = AESGCM(subkey).encrypt(bytes(12), encode_payload(record()), aad)
    token = base64.urlsafe_b64encode(version + salt + sealed).rstrip(b"=").decode()
    assert CookieStore([KEY_A]).unseal(token, NAME, NOW) is not None


@pytest.mark.sec("SEC-36")
def test_new_tokens_under_a_rotated_list_use_the_newest_key() -> None:
    fresh = CookieStore([KEY_B, KEY_A]).seal(record(), NAME)  # Flask CVE-2025-47278
    assert CookieStore([KEY_B]).unseal(fresh, NAME, NOW) is not None
    assert CookieStore([KEY_A]).unseal(fresh, NAME, NOW) is None


@pytest.mark.sec("SEC-28")
def test_the_docs_warn_that_logout_does_not_stop_a_copied_cookie() -> None:
    from pathlib import Path

    text = (Path(__file__).parents[2] / "docs" / "stores" / "cookie.md").read_text()
    assert "Logout does not stop a copied cookie" in text
    assert "accept" in text


@pytest.mark.sec("SEC-39")
def test_an_authentic_token_with_a_bad_payload_is_refused_and_logged(
    store: CookieStore, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from sojourn.stores import cookie as module

    monkeypatch.setattr(module, "encode_payload", lambda _record: b'{"k":"x","d":[]}')
    sealed = store.seal(record(), NAME)
    with caplog.at_level("WARNING", logger="sojourn.security"):
        assert store.unseal(sealed, NAME, NOW) is None
    assert "session.corrupt" in caplog.text


@pytest.mark.sec("SEC-35")
def test_keygen_text_passed_as_bytes_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="as str"):
        CookieStore([KEY_A.encode()])


def test_the_shortest_token_length_matches_the_format() -> None:
    from sojourn._core.ids import encoded_length
    from sojourn.stores.base import MIN_TOKEN_CHARS
    from sojourn.stores.cookie import SALT_BYTES, TAG_BYTES

    assert encoded_length(1 + SALT_BYTES + TAG_BYTES) == MIN_TOKEN_CHARS
    assert len(CookieStore([KEY_A]).seal(record(fields={}, meta={}), NAME)) > MIN_TOKEN_CHARS


def test_a_failing_accept_hook_is_an_outage_not_an_open_door(token: str) -> None:
    from sojourn import StoreUnavailable

    def broken(_record: Record) -> bool:
        raise ConnectionError("revocation list unreachable")

    with pytest.raises(StoreUnavailable, match="accept hook"):
        CookieStore([KEY_A], accept=broken).unseal(token, NAME, NOW)
