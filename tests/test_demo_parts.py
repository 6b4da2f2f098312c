"""The demo's parts on their own: the ledger of endings, form tokens, the origin check, names."""

from __future__ import annotations

import pytest

from sojourn import SessionEvent
from sojourn.demo import _ledger as ledger
from sojourn.demo._csrf import FORM_TOKEN_MAX_AGE, Forms, same_origin
from sojourn.demo._devices import UNKNOWN, device_name

LIFETIME = 3600.0


def event(kind: str, fp: str, at: float, reason: str | None = None, **kw: str) -> SessionEvent:
    return SessionEvent(kind=kind, fingerprint=fp, principal="alice", reason=reason, at=at, **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("logout", ledger.SIGNED_OUT),
        ("revoked", ledger.REVOKED),
        ("revoked_all", ledger.REVOKED_ALL),
        ("evicted", ledger.EVICTED),
        ("corrupt", ledger.ENDED_OTHER),
    ],
)
def test_the_ledger_remembers_why_a_session_was_destroyed(reason: str, expected: str) -> None:
    book = ledger.Ledger(LIFETIME)
    book.hook(event("destroyed", "f1", 100.0, reason))
    assert book.ending("f1", 101.0) == ledger.Ending(expected, 100.0)
    assert book.ending("f2", 101.0) is None
    assert book.ending("", 101.0) is None
    assert book.ending(None, 101.0) is None


def test_the_ledger_tells_idle_from_absolute_expiry() -> None:
    book = ledger.Ledger(LIFETIME)
    book.hook(event("created", "idle", 0.0))
    book.hook(event("created", "old", 0.0))
    book.hook(event("expired", "idle", LIFETIME - 1, "load"))
    book.hook(event("expired", "old", LIFETIME + 1, "load"))
    book.hook(event("expired", "unknown", 5.0, "load"))
    assert book.ending("idle", 0.0) == ledger.Ending(ledger.EXPIRED_IDLE, LIFETIME - 1)
    assert book.ending("old", 0.0) == ledger.Ending(ledger.EXPIRED_ABSOLUTE, LIFETIME + 1)
    assert book.ending("unknown", 0.0) == ledger.Ending(ledger.EXPIRED_UNKNOWN, 5.0)


def test_a_login_restarts_the_lifetime_and_other_rotations_carry_it() -> None:
    book = ledger.Ledger(LIFETIME)
    book.hook(event("created", "a", 0.0))
    book.hook(event("rotated", "a", 1000.0, "login", successor="b"))
    book.hook(event("rotated", "b", 2000.0, "periodic", successor="c"))
    assert book.ending("b", 2500.0) == ledger.Ending(ledger.ROTATED_AWAY, 2000.0, "c")
    assert book.ending("a", 2500.0) == ledger.Ending(ledger.ROTATED_AWAY, 2000.0, "c")
    # c inherited b's deadline, 1000 + LIFETIME: expiring before it is an idle expiry.
    book.hook(event("expired", "c", 1000 + LIFETIME - 1, "load"))
    assert book.ending("c", 0.0) == ledger.Ending(ledger.EXPIRED_IDLE, 1000 + LIFETIME - 1)
    # A form or cookie of the first ID hears how the session ended in the end.
    assert book.ending("a", 0.0) == ledger.Ending(ledger.EXPIRED_IDLE, 1000 + LIFETIME - 1)


def test_the_ledger_is_bounded_and_forgets_after_an_hour() -> None:
    book = ledger.Ledger(LIFETIME, capacity=3)
    for index in range(5):
        book.hook(event("destroyed", f"f{index}", 0.0, "logout"))
    assert [book.ending(f"f{i}", 0.0) is not None for i in range(5)] == [False, False] + [True] * 3
    assert book.ending("f4", ledger.KEEP_SECONDS + 1) is None


class FakeSession(dict[str, object]):
    """Just the mapping part of a session, which is all the token logic reads and writes."""


class Clock:
    def __init__(self) -> None:
        self.now = 1_000_000.0

    def __call__(self) -> float:
        return self.now


def test_a_form_token_is_accepted_only_from_a_page_made_for_no_session() -> None:
    clock = Clock()
    forms = Forms(b"k" * 32, clock)
    anonymous = FakeSession()
    token = forms.token(anonymous)  # type: ignore[arg-type]
    assert token.startswith("a.")
    assert "csrf" not in anonymous  # issuing a token stores nothing
    assert forms.accepts(anonymous, token, "")  # type: ignore[arg-type]
    assert not forms.accepts(anonymous, token, "f00dfeed0000")  # type: ignore[arg-type]
    assert not forms.accepts(anonymous, None, "")  # type: ignore[arg-type]
    assert not Forms(b"x" * 32, clock).accepts(anonymous, token, "")  # type: ignore[arg-type]
    clock.now += FORM_TOKEN_MAX_AGE + 1
    assert not forms.accepts(anonymous, token, "")  # type: ignore[arg-type]


def test_a_session_adopts_the_token_it_acted_with_and_then_wants_only_that() -> None:
    forms = Forms(b"k" * 32, Clock())
    session = FakeSession()
    sent = forms.form_token()
    forms.adopt(session, sent)  # type: ignore[arg-type]
    assert session["csrf"] == sent
    assert forms.token(session) == sent  # type: ignore[arg-type]
    assert forms.accepts(session, sent, "")  # type: ignore[arg-type]
    other = forms.form_token()  # valid, but not this session's
    assert not forms.accepts(session, other, "")  # type: ignore[arg-type]
    forms.adopt(session, other)  # type: ignore[arg-type]
    assert session["csrf"] == sent  # a session keeps its token


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({}, True),
        ({"sec-fetch-site": "same-origin", "origin": "null"}, True),
        ({"sec-fetch-site": "none"}, True),
        ({"sec-fetch-site": "same-site"}, False),
        ({"sec-fetch-site": "cross-site", "origin": "http://127.0.0.1:8000"}, False),
        ({"origin": "http://127.0.0.1:8000"}, True),
        ({"origin": "http://127.0.0.1:8001"}, False),
        ({"origin": "null"}, False),
    ],
)
def test_same_origin_reads_what_browsers_send(headers: dict[str, str], ok: bool) -> None:
    assert same_origin(headers, "http", "127.0.0.1:8000") is ok


def test_device_names_come_from_the_parser() -> None:
    safari = (
        "Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.0 Mobile/15E148 Safari/604.1"
    )
    assert device_name(safari) == "Mobile Safari 17 on iOS"
    assert device_name("curl/8.5.0") == "curl 8"
    assert device_name(None) == UNKNOWN
    assert device_name("") == UNKNOWN
