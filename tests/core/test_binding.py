"""The binding's pure parts: marks, IP prefixes, comparison, reserved metadata (SEC-62)."""

from __future__ import annotations

import sys

import pytest

from sojourn import Binding, ConfigurationError
from sojourn._core.binding import ABSENT, BOUND_IP, BOUND_UA, ip_prefix, visible_meta
from sojourn.binding import bind, user_agent_family

CHROME_119_WINDOWS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/119.0.0.0 Safari/537.36"
)
CHROME_120_WINDOWS = CHROME_119_WINDOWS.replace("119.0", "120.0")
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CHROME_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)


def upper(user_agent: str) -> str:
    return user_agent.upper()


# -- the user-agent family (ua-parser) -------------------------------------------------------


def test_a_browser_update_keeps_the_family() -> None:
    assert user_agent_family(CHROME_119_WINDOWS) == user_agent_family(CHROME_120_WINDOWS)
    assert user_agent_family(CHROME_120_WINDOWS) == "Chrome/Windows"


def test_another_browser_or_another_os_is_another_family() -> None:
    families = {user_agent_family(ua) for ua in (CHROME_120_WINDOWS, FIREFOX_WINDOWS, CHROME_MAC)}
    assert len(families) == 3


def test_an_unknown_user_agent_has_a_family_too() -> None:
    assert user_agent_family("definitely not a browser") == "Other/Other"


def test_binding_to_the_user_agent_without_ua_parser_names_the_extra(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "ua_parser", None)  # as if it were not installed
    with pytest.raises(ConfigurationError, match=r"sojourn\[binding\]"):
        bind(user_agent=True)
    assert bind(ip=True).ip  # an IP binding needs no parser


# -- configuration ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "options",
    [
        {},
        {"ip": True, "ipv4_prefix": 0},
        {"ip": True, "ipv4_prefix": 33},
        {"ip": True, "ipv6_prefix": 0},
        {"ip": True, "ipv6_prefix": 129},
    ],
)
def test_a_binding_that_binds_nothing_or_a_prefix_out_of_range_is_refused(
    options: dict[str, object],
) -> None:
    with pytest.raises(ConfigurationError):
        Binding(**options)  # type: ignore[arg-type]


# -- marks -----------------------------------------------------------------------------------


def test_marks_hold_only_what_is_bound() -> None:
    assert Binding(user_agent_family=upper).marks("ua", "203.0.113.9") == {BOUND_UA: "UA"}
    assert Binding(ip=True).marks("ua", "203.0.113.9") == {BOUND_IP: "203.0.113.0/24"}


def test_a_request_without_user_agent_or_address_is_its_own_family_and_prefix() -> None:
    both = Binding(user_agent_family=upper, ip=True)
    assert both.marks(None, None) == {BOUND_UA: ABSENT, BOUND_IP: ABSENT}
    assert both.marks("", "") == {BOUND_UA: ABSENT, BOUND_IP: ABSENT}


def test_a_long_user_agent_is_cut_before_it_is_parsed() -> None:
    seen: list[int] = []

    def family(user_agent: str) -> str:
        seen.append(len(user_agent))
        return "F" * 1000

    marks = Binding(user_agent_family=family).marks("x" * 10_000, None)
    assert seen == [512]
    assert len(marks[BOUND_UA]) == 128


@pytest.mark.parametrize(
    ("address", "expected"),
    [
        ("203.0.113.9", "203.0.113.0/24"),
        ("203.0.113.250", "203.0.113.0/24"),
        ("::ffff:203.0.113.9", "203.0.113.0/24"),  # dual-stack sockets report IPv4 this way
        ("2001:db8:1234:5678::1", "2001:db8:1234:5600::/56"),
        ("2001:db8:1234:56ff:ffff::9", "2001:db8:1234:5600::/56"),
        ("testclient", "testclient"),  # not an address: compared as it is
        (None, ABSENT),
    ],
)
def test_ip_prefixes_default_to_slash_24_and_slash_56(address: str | None, expected: str) -> None:
    assert ip_prefix(address, 24, 56) == expected


def test_prefix_lengths_are_configurable() -> None:
    assert ip_prefix("203.0.113.9", 16, 56) == "203.0.0.0/16"
    assert ip_prefix("2001:db8:1234:5678::1", 24, 48) == "2001:db8:1234::/48"
    marks = Binding(ip=True, ipv4_prefix=32).marks(None, "203.0.113.9")
    assert marks == {BOUND_IP: "203.0.113.9/32"}


# -- comparison ------------------------------------------------------------------------------


def test_the_same_family_and_prefix_match() -> None:
    binding = Binding(user_agent_family=upper, ip=True)
    stored = binding.marks("ua", "203.0.113.9")
    assert binding.mismatch(stored, binding.marks("ua", "203.0.113.77")) is None


def test_a_different_family_or_prefix_is_named() -> None:
    binding = Binding(user_agent_family=upper, ip=True)
    stored = {**binding.marks("ua", "203.0.113.9"), "user_agent": "ua"}
    assert binding.mismatch(stored, binding.marks("other", "203.0.113.9")) == "user_agent"
    assert binding.mismatch(stored, binding.marks("ua", "198.51.100.9")) == "ip"


def test_a_record_without_marks_is_unbound() -> None:
    binding = Binding(ip=True)
    assert binding.mismatch({"user_agent": "ua"}, binding.marks(None, "203.0.113.9")) == "unbound"


def test_a_request_whose_marks_were_not_passed_never_matches() -> None:
    binding = Binding(ip=True)
    stored = binding.marks(None, "203.0.113.9")
    assert binding.mismatch(stored, {}) == "ip"  # fails closed, never adopts


def test_marks_the_binding_no_longer_asks_for_are_ignored() -> None:
    stored = Binding(user_agent_family=upper, ip=True).marks("ua", "203.0.113.9")
    narrower = Binding(ip=True)
    assert narrower.mismatch(stored, narrower.marks("other", "203.0.113.1")) is None


def test_reserved_entries_are_not_user_metadata() -> None:
    meta = {"user_agent": "ua", "ip": "203.0.113.9", BOUND_UA: "UA", BOUND_IP: "203.0.113.0/24"}
    assert visible_meta(meta) == {"user_agent": "ua", "ip": "203.0.113.9"}
