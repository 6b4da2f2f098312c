"""The fuzz harness (``make fuzz``): 2,000 inputs over every target, and proof that its checks
catch what they are there to catch (an echo, an adopted ID, a 500, an escaping exception).
"""

from __future__ import annotations

from typing import Any

import django
import pytest
from django.conf import settings

if not settings.configured:
    from tests.integrations import django_settings

    settings.configure(
        **{name: getattr(django_settings, name) for name in dir(django_settings) if name.isupper()}
    )
    django.setup()

from benchmarks import fuzz
from benchmarks.fuzz._adapters import ASGITarget
from benchmarks.fuzz._checks import Failure, Issued, check
from benchmarks.fuzz._core_targets import canonical, check_ids
from benchmarks.fuzz._inputs import Hostile, Request, find_canaries

from sojourn._core.ids import new_session_id


def test_two_thousand_inputs_pass_every_target(capsys: pytest.CaptureFixture[str]) -> None:
    outcomes = fuzz.run(2000, seed=3)
    assert {o.target for o in outcomes} == set(fuzz.SHARES)
    assert sum(o.inputs for o in outcomes) == 2000
    assert all(o.inputs > 0 for o in outcomes)
    failures = [sample for o in outcomes for sample in o.samples]
    assert failures == []
    assert "fuzz: PASS" in capsys.readouterr().out


def test_the_inputs_are_seeded() -> None:
    def first(seed: int) -> list[Request]:
        hostile = Hostile(seed, "sid", lambda: ["A" * 43])
        hostile.dead = ["B" * 43]  # the only unseeded part: fresh IDs
        return [hostile.request() for _ in range(50)]

    assert first(1) == first(1)
    assert first(1) != first(2)


def request_with(cookie: str) -> Request:
    data = cookie.encode()
    return Request(cookies=[data], canaries=find_canaries(data))


def test_an_echo_of_request_input_fails() -> None:
    request = request_with("sid=qzxabcdefgh%0d%0a")
    assert request.canaries == ["qzxabcdefgh"]
    with pytest.raises(Failure, match="echo"):
        check(request, 200, [("X-Debug", "saw qzxabcdefgh")], b"", 0.0, "sid", Issued())
    check(request, 200, [("X-Debug", "nothing")], b"", 0.0, "sid", Issued())


def test_handing_out_a_presented_id_the_server_never_issued_fails() -> None:
    forged = new_session_id()
    request = request_with(f"sid={forged}")
    set_cookie = [("Set-Cookie", f"sid={forged}; Path=/")]
    with pytest.raises(Failure, match="never issued"):
        check(request, 200, set_cookie, b"", 0.0, "sid", Issued())
    issued = Issued()
    issued.add(forged)  # re-sending an ID the server issued is fine (Django does)
    check(request, 200, set_cookie, b"", 0.0, "sid", issued)
    fresh = new_session_id()
    fresh_cookie = [("Set-Cookie", f"sid={fresh}; Path=/")]
    check(request, 200, fresh_cookie, b"", 0.0, "sid", issued)
    assert fresh in issued.all
    with pytest.raises(Failure, match="malformed"):
        check(request, 200, [("x-session-token", "not-an-id")], b"", 0.0, "sid", issued)


@pytest.mark.parametrize("status", [500, 503, 302, 404])
def test_an_unclean_status_fails(status: int) -> None:
    with pytest.raises(Failure, match=f"status {status}"):
        check(Request(), status, [], b"", 0.0, "sid", Issued())


def test_a_409_is_clean_only_with_the_sojourn_session_header() -> None:
    for value in ("rotated", "ended"):
        check(Request(), 409, [("Sojourn-Session", value)], b"", 0.0, "sid", Issued())
    for headers in ([], [("Sojourn-Session", "other")]):
        with pytest.raises(Failure, match="status 409"):
            check(Request(), 409, headers, b"", 0.0, "sid", Issued())


def test_a_slow_answer_fails() -> None:
    with pytest.raises(Failure, match="answered in"):
        check(Request(), 200, [], b"", 5.0, "sid", Issued())


def test_an_exception_escaping_an_adapter_fails() -> None:
    target = ASGITarget(seed=1)

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise RuntimeError("boom")

    try:
        target.apps = dict.fromkeys(target.apps, broken)
        with pytest.raises(Failure, match="RuntimeError escaped"):
            target.run_one(Request())
    finally:
        target.close()


def test_the_reference_id_check_agrees_on_known_cases() -> None:
    valid = new_session_id()
    assert canonical(valid)
    assert not canonical(valid[:-1])
    assert not canonical(valid[:-1] + "B")  # low bits set: a second spelling of some ID
    check_ids([valid, valid + "=", "", "x" * 43, f'"{valid}"'])
