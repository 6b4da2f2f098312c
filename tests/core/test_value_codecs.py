"""Value codecs: the JSON default, Flask's tagged JSON, and ``codec=`` on every adapter.

A codec decides how one session value becomes bytes; change detection compares those bytes, so
a codec must be deterministic, and a Flask app sharing sessions with an ASGI app must write
plain JSON values exactly as the JSON codec does.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from werkzeug.test import Client
from werkzeug.wrappers import Request as WSGIRequest
from werkzeug.wrappers import Response as WSGIResponse

from sojourn import (
    JSON,
    AsyncMemoryStore,
    CodecLimits,
    CookieSettings,
    CorruptSession,
    JSONCodec,
    MemoryStore,
    SessionTooLarge,
    UnencodableValue,
    ValueCodec,
)
from sojourn.asgi import SessionMiddleware as ASGISessionMiddleware
from sojourn.flask import TaggedJSONCodec
from sojourn.wsgi import SessionMiddleware as WSGISessionMiddleware
from sojourn.wsgi import get_session

LIMITS = CodecLimits()
TAGGED = TaggedJSONCodec()

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    # Strings starting with a space look like Flask's tags (" t", " di" …) only as dict keys.
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4)
        | st.dictionaries(st.text(alphabet="abcxyzé", max_size=5), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_tagged_json_writes_plain_json_values_as_the_json_codec_does(value: Any) -> None:
    assert TAGGED.encode("k", value, LIMITS) == JSON.encode("k", value, LIMITS)


@given(json_values)
def test_both_codecs_round_trip_plain_json(value: Any) -> None:
    for codec in (JSON, TAGGED):
        assert codec.decode(codec.encode("k", value, LIMITS), LIMITS) == value


@pytest.mark.parametrize(
    "value",
    [
        (1, 2, 3),
        b"\xff\x00",
        Markup("<em>x</em>"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        datetime(2026, 12, 1, 9, 30, 15, tzinfo=UTC),
        {" t": "not-a-tuple"},
        {" di": "not-a-dict"},
        [("error", "a flashed message")],
    ],
)
def test_tagged_json_round_trips_flasks_types_exactly(value: Any) -> None:
    back = TAGGED.decode(TAGGED.encode("k", value, LIMITS), LIMITS)
    assert back == value
    assert type(back) is type(value)


def test_tagged_json_refuses_what_it_cannot_write_naming_the_key() -> None:
    with pytest.raises(UnencodableValue, match="'widget'"):
        TAGGED.check("widget", object(), LIMITS)
    with pytest.raises(UnencodableValue):
        TAGGED.encode("n", float("nan"), LIMITS)


def test_tagged_json_keeps_the_size_limit() -> None:
    with pytest.raises(SessionTooLarge):
        TAGGED.encode("big", "x" * 100, CodecLimits(max_value_bytes=50))


@pytest.mark.parametrize(
    "data",
    [b"", b"{", b"\xff", b'{" b":"!!not base64"}', b'{" u":"not-a-uuid"}', b"NaN", b"[" * 100_000],
)
def test_undecodable_tagged_bytes_are_corrupt_never_a_crash(data: bytes) -> None:
    with pytest.raises(CorruptSession):
        TAGGED.decode(data, LIMITS)


def test_codecs_satisfy_the_protocol() -> None:
    codecs: list[ValueCodec] = [JSON, TAGGED]
    assert all(callable(c.check) and callable(c.encode) and callable(c.decode) for c in codecs)


# -- codec= on the adapters ----------------------------------------------------------------------


async def asgi_write(request: Request) -> JSONResponse:
    request.session["pair"] = (1, "two")
    return JSONResponse({})


async def asgi_read(request: Request) -> JSONResponse:
    pair = request.session.get("pair")
    return JSONResponse({"type": type(pair).__name__})


def test_asgi_middleware_takes_a_codec() -> None:
    app = Starlette(routes=[Route("/w", asgi_write), Route("/r", asgi_read)])
    wrapped = ASGISessionMiddleware(
        app,
        store=AsyncMemoryStore(),
        codec=TAGGED,
        cookie=CookieSettings(secure=False),
    )
    with TestClient(wrapped) as client:
        client.get("/w")
        assert client.get("/r").json() == {"type": "tuple"}


def test_wsgi_middleware_takes_a_codec() -> None:
    def app(environ: dict[str, Any], start_response: Any) -> Any:
        session = get_session(environ)
        if WSGIRequest(environ).path == "/w":
            session["when"] = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
            body = ""
        else:
            body = type(session.get("when")).__name__
        return WSGIResponse(body)(environ, start_response)

    wrapped: Any = WSGISessionMiddleware(
        app, store=MemoryStore(), codec=TAGGED, cookie=CookieSettings(secure=False)
    )
    client = Client(wrapped)
    client.get("/w")
    assert client.get("/r").text == "datetime"


def test_the_json_codec_refuses_a_tuple_through_the_same_adapter() -> None:
    app = Starlette(routes=[Route("/w", asgi_write)])
    wrapped = ASGISessionMiddleware(
        app, store=AsyncMemoryStore(), cookie=CookieSettings(secure=False)
    )
    with TestClient(wrapped) as client, pytest.raises(UnencodableValue):
        client.get("/w")


def test_the_lenient_json_codec_converts_as_json_dumps_does_and_the_strict_one_refuses() -> None:
    lenient = JSONCodec(lenient=True)
    value = {"pair": (1, 2), "by_id": {1: "a", 2.5: "b", None: "c"}}
    assert lenient.decode(lenient.encode("k", value, LIMITS), LIMITS) == {
        "pair": [1, 2],
        "by_id": {"1": "a", "2.5": "b", "null": "c"},
    }
    for bad in ({"pair": (1, 2)}, {"by_id": {1: "a"}}):
        with pytest.raises(UnencodableValue):
            JSON.check("k", bad, LIMITS)
    for refused in (float("nan"), {float("inf"): 1}, {(1, 2): 1}, {1, 2}):
        with pytest.raises(UnencodableValue):
            lenient.check("k", refused, LIMITS)
