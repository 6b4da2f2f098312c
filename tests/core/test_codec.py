"""The strict JSON codec (SEC-38, SEC-40)."""

from __future__ import annotations

import datetime
import math
import pickle

import pytest

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
def test_non_json_values_are_rejected_with_the_key_named(value: object) -> None:
    with pytest.raises(UnencodableValue, match="'cart'"):
        encode_value("cart", {"inner": [value]})


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
def test_bad_stored_bytes_are_corrupt(data: bytes) -> None:
    with pytest.raises(CorruptSession):
        decode_value(data)


def test_a_pickle_is_never_unpickled(monkeypatch: pytest.MonkeyPatch) -> None:
    def sentinel(*args: object, **kwargs: object) -> None:
        raise AssertionError("pickle.loads was called")

    monkeypatch.setattr(pickle, "loads", sentinel)
    with pytest.raises(CorruptSession):
        decode_value(pickle.dumps(["x"]))
