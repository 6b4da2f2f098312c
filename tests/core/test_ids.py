"""Session IDs: entropy, shape, validation before any store call (SEC-01, SEC-43)."""

from __future__ import annotations

import base64
import random
import re

import pytest

from sojourn import ConfigurationError, fingerprint, new_session_id
from sojourn._core.ids import is_valid_session_id, store_key


@pytest.mark.sec("SEC-01")
def test_ids_are_43_url_safe_characters_and_unique() -> None:
    ids = [new_session_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[A-Za-z0-9_-]{43}", i) for i in ids)
    assert all(len(base64.urlsafe_b64decode(i + "=")) == 32 for i in ids[:100])


@pytest.mark.sec("SEC-01")
def test_ids_do_not_use_the_random_module(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom(*args: object) -> None:
        raise AssertionError("random used")

    monkeypatch.setattr(random, "random", boom)
    monkeypatch.setattr(random, "getrandbits", boom)
    assert is_valid_session_id(new_session_id())


@pytest.mark.sec("SEC-01")
def test_every_bit_is_about_half_set() -> None:
    ids = [base64.urlsafe_b64decode(new_session_id() + "=") for _ in range(4000)]
    for bit in range(0, 256, 7):
        share = sum((raw[bit // 8] >> (bit % 8)) & 1 for raw in ids) / len(ids)
        assert 0.44 < share < 0.56


@pytest.mark.sec("SEC-01")
def test_short_ids_are_refused() -> None:
    with pytest.raises(ConfigurationError):
        new_session_id(15)


@pytest.mark.parametrize(
    "value",
    [
        "",
        " ",
        "a" * 42,
        "a" * 44,
        "+" * 43,
        "/" * 43,
        "=" * 43,
        "../../etc/passwd",
        "' OR '1'='1",
        "\u00e9" * 43,
        "a" * 42 + "\x00",
        "%41" * 14 + "a",
        "a" * 42 + "B",  # non-canonical: the last character carries non-zero padding bits
    ],
)
@pytest.mark.sec("SEC-43")
def test_malformed_ids_are_invalid(value: str) -> None:
    assert not is_valid_session_id(value)


@pytest.mark.sec("SEC-41", "SEC-53")
def test_store_keys_and_fingerprints_reveal_nothing() -> None:
    session_id = new_session_id()
    key = store_key(session_id)
    assert re.fullmatch(r"[0-9a-f]{64}", key)
    label = fingerprint(session_id)
    assert len(label) == 12
    assert label not in session_id
    assert label not in key
    assert fingerprint(session_id) == label


def _canonical_by_decoding(value: str, nbytes: int) -> bool:
    """The reference: the text decodes to ``nbytes`` bytes that encode back to the same text."""
    if not re.fullmatch(r"[A-Za-z0-9_-]*", value):
        return False
    try:
        raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return False
    return len(raw) == nbytes and base64.urlsafe_b64encode(raw).rstrip(b"=").decode() == value


@pytest.mark.sec("SEC-43")
@pytest.mark.parametrize("nbytes", [16, 24, 32, 33, 48])
def test_validation_agrees_with_decoding_and_reencoding(nbytes: int) -> None:
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    valid = new_session_id(nbytes)
    for last in alphabet + "+/=.":  # every last character: the padding bits decide
        value = valid[:-1] + last
        assert is_valid_session_id(value, nbytes) is _canonical_by_decoding(value, nbytes)
    for _ in range(200):
        value = "".join(random.choice(alphabet + "+/") for _ in range(len(valid)))
        assert is_valid_session_id(value, nbytes) is _canonical_by_decoding(value, nbytes)
    assert is_valid_session_id(valid, nbytes)
