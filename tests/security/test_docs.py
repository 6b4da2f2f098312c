"""The documentation items of the checklist: the pages state what the items ask them to say.

SEC-28 (the client-side limitation), SEC-37 (signed-only cookies are readable by the client),
SEC-47 (the lost-update policy) and SEC-64 (the security-decisions document) are pinned here by
the text of the pages, which ship in the repository; relative links in them must resolve.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SECURITY = ROOT / "docs" / "security.md"
COOKIE = ROOT / "docs" / "stores" / "cookie.md"


def flat(markdown: str) -> str:
    """One line, blockquote markers dropped: wrapping never matters."""
    return " ".join(re.sub(r"^> ?", "", markdown, flags=re.M).split())


def text(path: Path) -> str:
    return flat(path.read_text(encoding="utf-8"))


def section(path: Path, heading: str) -> str:
    """The text under ``## heading`` up to the next heading of that level."""
    raw = path.read_text(encoding="utf-8")
    match = re.search(rf"^## {re.escape(heading)}\n(.*?)(?=^## |\Z)", raw, re.M | re.S)
    assert match is not None, f"{path.name} has no section {heading!r}"
    return flat(match.group(1))


@pytest.mark.sec("SEC-28")
def test_the_client_side_limitation_is_stated_loudly() -> None:
    cannot = section(COOKIE, "What a client-side session cannot do")
    assert "**Logout does not stop a copied cookie.**" in cannot
    assert "cannot be revoked from the server" in cannot
    assert "replay it until its sealed deadline passes" in cannot
    revocation = section(COOKIE, "Revocation: the `accept` hook")
    assert "accept" in revocation
    assert "cannot revoke a copied cookie" in text(SECURITY)


@pytest.mark.sec("SEC-37")
def test_signed_only_cookies_are_documented_as_readable_and_ours_as_encrypted() -> None:
    page = text(COOKIE)
    assert "none: signed only, readable by the client" in page
    assert "encrypted (AES-256-GCM)" in page
    assert "AES-256-GCM" in section(SECURITY, "Client-side sessions")


@pytest.mark.sec("SEC-47")
def test_the_lost_update_policy_is_documented() -> None:
    policy = section(SECURITY, "Concurrency")
    assert "only the keys the request changed are written" in policy
    assert "for the same key the later commit wins" in policy
    assert "a revoked session never comes back" in policy
    assert "the response that arrives last wins" in text(COOKIE)  # client-side: whole session


@pytest.mark.sec("SEC-64")
def test_the_security_decisions_document_covers_what_the_item_asks() -> None:
    timeouts = section(SECURITY, "Timeouts")
    assert "NIST SP 800-63B" in timeouts
    assert "30 minutes" in timeouts
    assert "24 hours" in timeouts
    assert section(SECURITY, "Concurrency")
    assert "Logout does not stop a copied cookie" in text(COOKIE)
    rotation = section(COOKIE, "Keys and rotation")
    assert "Rotation takes two deploys" in rotation
    assert "If a key leaks, remove it at once" in rotation
    assert "(stores/cookie.md)" in text(SECURITY)  # linked from the decisions page
    assert "docs/security.md" in text(ROOT / "README.md")


@pytest.mark.sec("SEC-64")
def test_the_security_decisions_document_has_a_threat_model() -> None:
    model = section(SECURITY, "Threat model")
    for part in ("**What is protected.**", "**Trust boundaries.**", "**Out of scope.**"):
        assert part in model
    for threat in ("Session fixation", "Cookie tossing", "Resurrection", "A leaked store dump"):
        assert threat in model


@pytest.mark.sec("SEC-64")
@pytest.mark.parametrize("page", [SECURITY, COOKIE, ROOT / "README.md"], ids=lambda p: p.name)
def test_relative_links_in_the_security_pages_resolve(page: Path) -> None:
    links = re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", page.read_text(encoding="utf-8"))
    local = [link for link in links if "://" not in link and not link.startswith("mailto:")]
    assert local, "the page links to other pages"
    missing = [link for link in local if not (page.parent / link).exists()]
    assert missing == []


@pytest.mark.sec("SEC-62")
def test_bindings_trade_offs_are_documented() -> None:
    binding = section(SECURITY, "Binding a session to its client (optional)")
    assert "**Mobile networks and roaming**" in binding
    assert "**Privacy relays and VPNs**" in binding
    assert "a browser update keeps its sessions" in binding
    assert "**Browser changes**" in binding
    assert "`/24` for IPv4 and `/56` for IPv6 by default" in binding
    assert "detection rather than prevention" in binding
    assert "pip install 'sojourn[binding]'" in binding
    for page in ("starlette.md", "wsgi.md", "flask.md", "django.md"):
        options = text(ROOT / "docs" / "frameworks" / page)
        assert "binding" in options
        assert "clear_site_data" in options.lower()


@pytest.mark.sec("SEC-29")
def test_clear_site_data_is_documented_as_opt_in_and_logout_only() -> None:
    clearing = section(SECURITY, "Logout: clearing the browser's copy (optional)")
    assert "Off by default" in clearing
    assert "It goes only on the response of a request that ended its own session" in clearing
    assert '`"*"` alone' in clearing
