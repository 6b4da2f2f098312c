"""Transports: where IDs are read from, and what responses carry (SEC-12, SEC-19)."""

from __future__ import annotations

import pytest

from sojourn import CookieTransport, HeaderTransport, QueryTransport

ID = "A" * 43


@pytest.mark.sec("SEC-12")
def test_cookies_are_read_only_from_cookie_headers() -> None:
    transport = CookieTransport()
    headers = [("cookie", f"__Host-sid={ID}"), ("x-session-token", "other")]
    assert transport.extract(headers, f"sid={ID}") == [ID]
    assert transport.extract([], f"__Host-sid={ID}") == []


@pytest.mark.sec("SEC-19")
def test_bearer_tokens() -> None:
    transport = HeaderTransport()
    assert transport.extract([("authorization", f"Bearer {ID}")], "") == [ID]
    assert transport.extract([("authorization", f"bearer   {ID}")], "") == [ID.strip()]
    assert transport.extract([("authorization", f"Basic {ID}")], "") == []
    assert transport.extract([("authorization", "Bearer ")], "") == []
    assert transport.vary == "Authorization"


@pytest.mark.sec("SEC-19")
def test_differing_duplicate_tokens_are_rejected() -> None:
    transport = HeaderTransport(header="x-session-token")
    assert transport.extract([("x-session-token", "a"), ("x-session-token", "b")], "") == []
    assert transport.extract([("x-session-token", "a, b")], "") == []
    assert transport.extract([("x-session-token", "a"), ("x-session-token", "a")], "") == ["a"]


@pytest.mark.sec("SEC-19")
def test_header_transport_issues_and_clears_in_a_response_header() -> None:
    transport = HeaderTransport()
    assert transport.issue(ID, None, 0) == [("x-session-token", ID)]
    assert transport.clear() == [("x-session-token", "")]


@pytest.mark.sec("SEC-12")
def test_query_transport_is_opt_in_and_reads_one_parameter() -> None:
    transport = QueryTransport()
    assert transport.extract([("cookie", f"sid={ID}")], f"sid={ID}&x=1") == [ID]
    assert transport.extract([], f"sid={ID}&sid=other") == []
    assert transport.vary is None
