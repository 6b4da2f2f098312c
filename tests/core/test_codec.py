"""The strict JSON codec (SEC-38, SEC-40)."""

from __future__ import annotations

import datetime
import json
import math
import pickle

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sojourn import CodecLimits, CorruptSession, SessionTooLarge, UnencodableValue
from sojourn._core.codec import decode_value, encode_value


@pytest.mark.parametrize(
    "value",
    [None, True, 0, -1, 2**60, 1.5, "", "\u00e9\U0001f600", [], {}, [1, [2, {"a": None}]]],
)
def test_json_values_round_trip(value: object) -> None:
    assert decode_value(encode_value("k", value)) == value


@pytest.mark.parametrize(
    "value",
    [math.nan, math.inf, (1, 2), {1, 2}, b"x", datetime.date(2020, 1, 1), object(), {1: "a"}],
)
@pytest.mark.sec("SEC-38")
def test_non_json_values_are_rejected_with_the_key_named(value: object) -> None:
    with pytest.raises(UnencodableValue, match="'cart'"):
        encode_value("cart", {"inner": [value]})


@pytest.mark.sec("SEC-40")
def test_depth_and_size_limits() -> None:
    limits = CodecLimits(max_value_bytes=100, max_depth=3)
    encode_value("ok", [[["x"]]][0], limits)
    with pytest.raises(UnencodableValue, match="nesting"):
        encode_value("deep", [[[["x"]]]], limits)
    with pytest.raises(SessionTooLarge, match="100 bytes"):
        encode_value("big", "x" * 200, limits)


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"{",
        b"\xff\xfe",
        b"NaN",
        b"[Infinity]",
        b"[" * 100_000 + b"]" * 100_000,
        b"1" * 5000,
        pickle.dumps({"a": 1}),
        b"x" * (64 * 1024 + 1),
    ],
)
@pytest.mark.sec("SEC-39", "SEC-40")
def test_bad_stored_bytes_are_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptSession):
        decode_value(data)


@pytest.mark.sec("SEC-38")
def test_a_pickle_is_never_unpickled(monkeypatch: pytest.MonkeyPatch) -> None:
    def sentinel(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle.loads was called")

    monkeypatch.setattr(pickle, "loads", sentinel)
    with pytest.raises(CorruptSession):
        decode_value(pickle.dumps(["x"]))


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_encoding_is_byte_for_byte_what_json_writes(value: object) -> None:
    # The fast paths for ints and strings must not change one stored byte: change detection
    # compares bytes, and records written before them must still compare equal.
    expected = json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    assert encode_value("k", value) == expected.encode("utf-8")
    assert decode_value(encode_value("k", value)) == value


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=' \t\n\r0123456789.eE+-[]{}",:truefalsnNaIiy\\u', max_size=24))
def test_decoding_accepts_and_refuses_exactly_what_json_loads_does(text: str) -> None:
    # The scanner-only fast path must agree with the full decoder on every input.
    try:
        expected = json.loads(text, parse_constant=lambda name: (_ for _ in ()).throw(ValueError))
    except (ValueError, RecursionError):
        with pytest.raises(CorruptSession):
            decode_value(text.encode())
        return
    assert decode_value(text.encode()) == expected


@pytest.mark.sec("SEC-40")
def test_a_small_int_limit_still_applies_to_ints() -> None:
    with pytest.raises(SessionTooLarge):
        encode_value("n", 10**20, CodecLimits(max_value_bytes=10))
