"""The demo walk-through in headless Chromium: what a person sees, and what the browser holds.

Each step is asserted twice: on the text the page shows, and on the cookies the browser keeps
(``context.cookies()``), so "anonymous visitors get no session" is checked where it matters.
"""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import BrowserContext, Page, expect

from sojourn import fingerprint
from tests.browser.conftest import ServerFactory


def cookies(context: BrowserContext) -> dict[str, dict[str, Any]]:
    return {c["name"]: dict(c) for c in context.cookies()}


def shown_fingerprint(page: Page) -> str:
    return page.locator("#fingerprint").inner_text()


def add_to_cart(page: Page, item: str) -> None:
    page.get_by_label("item").fill(item)
    page.get_by_role("button", name="add to cart").click()
    expect(page.locator("#cart")).to_contain_text(item)


def sign_in(page: Page, user: str = "alice") -> None:
    form = page.locator("form.login")
    form.get_by_label("user").fill(user)
    form.get_by_label("password").fill(user)
    form.get_by_role("button", name="sign in").click()
    expect(page.locator("#principal")).to_have_text(user)


def test_first_visit_stores_nothing_and_sets_no_cookie(
    server: str, context: BrowserContext, page: Page
) -> None:
    page.goto(server + "/")
    expect(page.locator("#no-session")).to_contain_text("stored nothing and set no cookie")
    page.goto(server + "/sessions")
    expect(page.locator("#not-signed-in")).to_contain_text("You are not signed in")
    expect(page.locator("form.login")).to_be_visible()
    assert context.cookies() == []


def test_cart_then_sign_in_shows_the_rotation(
    server: str, context: BrowserContext, page: Page
) -> None:
    page.goto(server + "/")
    add_to_cart(page, "apple")
    jar = cookies(context)
    assert set(jar) == {"sid"}
    sid = jar["sid"]
    assert (sid["httpOnly"], sid["sameSite"], sid["path"]) == (True, "Lax", "/")
    before = shown_fingerprint(page)
    assert before == fingerprint(sid["value"])
    sign_in(page)
    after_sid = cookies(context)["sid"]["value"]
    assert after_sid != sid["value"]
    after = shown_fingerprint(page)
    assert after == fingerprint(after_sid)
    expect(page.get_by_text(f"session ID rotated: fingerprint {before} -> {after}")).to_be_visible()
    expect(page.locator("#before-login")).to_have_text(before)
    expect(page.locator("#cart")).to_contain_text("apple")  # the cart survived the login


def test_the_countdown_runs_under_the_content_security_policy(
    server: str, context: BrowserContext, page: Page
) -> None:
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.goto(server + "/")
    sign_in(page)
    countdown = page.locator(".countdown").first
    first = countdown.inner_text()
    expect(countdown).not_to_have_text(first, timeout=3000)
    assert re.fullmatch(r"\d\d:\d\d", countdown.inner_text())
    assert errors == []


def test_second_device_revoke_and_the_revoked_device_is_told(
    server: str, context: BrowserContext, page: Page
) -> None:
    page.goto(server + "/")
    sign_in(page)
    with context.expect_page() as opened:
        page.locator("#second-device").click()
    second = opened.value
    second.wait_for_load_state()
    expect(second.locator("h1")).to_contain_text("second device")
    sign_in(second)
    jar = cookies(context)
    assert set(jar) == {"sid", "sid2"}
    assert jar["sid2"]["path"] == "/device2"
    second_fp = fingerprint(jar["sid2"]["value"])
    page.goto(server + "/sessions")
    expect(page.get_by_role("heading", name="Your devices (2)")).to_be_visible()
    cards = page.locator("section.card")
    expect(cards.first).to_contain_text("this device")
    expect(cards.first).to_contain_text("HeadlessChrome")  # parsed, not the raw string
    expect(cards.nth(1)).to_have_attribute("data-fingerprint", second_fp)
    cards.nth(1).get_by_role("button", name="revoke").click()
    expect(page.get_by_text(f"Signed out device {second_fp}")).to_be_visible()
    expect(page.get_by_role("heading", name="Your devices (1)")).to_be_visible()
    second.reload()
    expect(second.locator(".ended")).to_contain_text("signed out from another device")
    expect(second.locator("#no-session")).to_be_visible()
    assert cookies(context)["sid2"]["value"] == jar["sid2"]["value"]  # dead, and ignored
    page.goto(server + "/")
    expect(page.locator("#principal")).to_have_text("alice")  # this device is untouched


def test_sign_out_confirms_and_leaves_no_cookie(
    server: str, context: BrowserContext, page: Page
) -> None:
    page.goto(server + "/")
    sign_in(page)
    page.get_by_role("button", name="sign out").click()
    expect(page.locator(".ended")).to_contain_text("You signed out at")
    assert "sid" not in cookies(context)
    page.reload()
    expect(page.locator(".ended")).to_have_count(0)
    expect(page.locator("#no-session")).to_be_visible()
    assert context.cookies() == []


def test_a_stale_tab_explains_and_signs_in_again(
    server: str, context: BrowserContext, page: Page
) -> None:
    page.goto(server + "/")
    sign_in(page)
    stale = context.new_page()
    stale.goto(server + "/")
    expect(stale.locator("#principal")).to_have_text("alice")
    page.get_by_role("button", name="sign out").click()
    expect(page.locator(".ended")).to_contain_text("You signed out at")
    stale.get_by_label("item").fill("pear")
    stale.get_by_role("button", name="add to cart").click()
    notice = stale.locator(".ended")
    expect(notice).to_contain_text("Nothing was done: this form belonged to a session that")
    expect(notice).to_contain_text("You signed out at")
    assert "sid" not in cookies(context)
    sign_in(stale)
    expect(stale.locator("#cart")).not_to_contain_text("pear")
    assert "sid" in cookies(context)


def test_the_devices_page_fits_a_phone(server: str, context: BrowserContext) -> None:
    phone = context.new_page()
    phone.set_viewport_size({"width": 360, "height": 740})
    phone.goto(server + "/")
    sign_in(phone)
    phone.goto(server + "/sessions")
    expect(phone.locator("section.card")).to_have_count(1)
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 360


def test_the_countdown_reaches_zero_and_the_next_page_says_the_session_expired(
    serve: ServerFactory, context: BrowserContext, page: Page
) -> None:
    server = serve(idle_timeout=2, lifetime=3600)
    page.goto(server + "/")
    sign_in(page)
    idle = page.locator(".countdown").first
    expect(idle).to_have_text("now: reload the page to see what happened", timeout=5000)
    page.reload()
    expect(page.locator(".ended")).to_contain_text("it was left idle for longer than 00:02")
    expect(page.locator("#no-session")).to_contain_text("No session now")
    assert "sid" in cookies(context)  # the dead cookie stays until the visitor acts
