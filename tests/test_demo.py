"""The demo app, driven in-process over ASGI: every feature the demo shows, end to end."""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from sojourn import AsyncMemoryStore, fingerprint
from sojourn.demo import create_app
from sojourn.stores.base import AsyncStore

BASE = "http://testserver"
CHROME_LINUX = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/120.0.0.0 Safari/537.36"
)
FIREFOX_WINDOWS = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
IDLE = 600.0
LIFETIME = 3600.0
ClientFactory = Callable[..., httpx.AsyncClient]


class Clock:
    """A fake clock the app, its sessions and its tokens all read."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def _stores(tmp_path: Path) -> dict[str, Callable[[], AsyncStore]]:
    from sojourn.stores.sqlite import AsyncSQLiteStore

    return {
        "memory": AsyncMemoryStore,
        "sqlite": lambda: AsyncSQLiteStore(str(tmp_path / "demo.db")),
    }


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture(params=["memory", "sqlite"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncStore]:
    store = _stores(tmp_path)[request.param]()
    yield store
    await store.aclose()


@pytest.fixture
def app(store: AsyncStore, clock: Clock) -> Starlette:
    return create_app(store, idle_timeout=IDLE, lifetime=LIFETIME, clock=clock)


@pytest.fixture
async def clients(app: Starlette) -> AsyncIterator[ClientFactory]:
    """Make clients that share the app (each with its own cookie jar); closed at the end."""
    async with AsyncExitStack() as stack:

        def make(
            cookies: dict[str, str] | None = None, user_agent: str = "demo-test"
        ) -> httpx.AsyncClient:
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url=BASE,
                cookies=cookies,
                headers={"user-agent": user_agent},
            )
            stack.push_async_callback(client.aclose)
            return client

        yield make


def csrf(page: str) -> str:
    match = re.search(r"name='csrf' value='([^']+)'", page)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def form_fingerprint(page: str) -> str:
    match = re.search(r"name='fp' value='([^']*)'", page)
    assert match is not None, "no fp field on the page"
    return match.group(1)


def shown_fingerprint(page: str) -> str:
    match = re.search(r"<code id='fingerprint'>([^<]+)</code>", page)
    assert match is not None
    return match.group(1)


def signed_in_as(page: str) -> str:
    """Who the home page says is signed in; ``no session`` when it says there is none."""
    if "id='no-session'" in page:
        return "no session"
    match = re.search(r"<span id='principal'>([^<]+)</span>", page)
    assert match is not None
    return match.group(1)


def ended_notice(page: str) -> str:
    match = re.search(r"<p class='ended' role='status'>([^<]+)</p>", page)
    assert match is not None, "no 'session ended' notice on the page"
    return match.group(1)


async def act(client: httpx.AsyncClient, item: str = "apple", base: str = "") -> None:
    """Add an item to the cart: the act that gives an anonymous visitor a session."""
    token = csrf((await client.get(f"{base}/")).text)
    response = await client.post(f"{base}/cart/add", data={"item": item, "csrf": token})
    assert response.status_code == 303


async def login(
    client: httpx.AsyncClient, user: str, password: str, base: str = ""
) -> httpx.Response:
    token = csrf((await client.get(f"{base}/")).text)
    return await client.post(
        f"{base}/login", data={"username": user, "password": password, "csrf": token}
    )


async def stored(store: AsyncStore, clock: Clock) -> int:
    return await store.count(clock())  # type: ignore[attr-defined, no-any-return]


# -- anonymous visitors ---------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_anonymous_visitor_who_only_reads_gets_no_session(
    clients: ClientFactory, store: AsyncStore, clock: Clock
) -> None:
    client = clients()
    for path in ("/", "/sessions", "/", "/device2/", "/device2/sessions"):
        response = await client.get(path)
        assert response.status_code == 200
        assert "set-cookie" not in response.headers
    assert not client.cookies
    assert await stored(store, clock) == 0
    page = (await client.get("/")).text
    assert signed_in_as(page) == "no session"
    assert "stored nothing and set no cookie" in page
    assert "<form class='login'" in page  # the forms still carry a token


@pytest.mark.sec("SEC-53")
@pytest.mark.anyio
async def test_home_shows_the_session_once_the_visitor_acts_but_never_its_id(
    clients: ClientFactory, store: AsyncStore, clock: Clock
) -> None:
    client = clients()
    await act(client)
    session_id = client.cookies["sid"]
    assert await stored(store, clock) == 1
    page = (await client.get("/")).text
    assert shown_fingerprint(page) == fingerprint(session_id)
    assert signed_in_as(page) == "nobody"
    assert session_id not in page
    assert "alice/alice" in page
    assert "Demo-only" in page


@pytest.mark.anyio
async def test_the_cookie_is_plain_http_lax_and_httponly(clients: ClientFactory) -> None:
    client = clients()
    token = csrf((await client.get("/")).text)
    response = await client.post("/cart/add", data={"item": "x", "csrf": token})
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("sid=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    assert "Secure" not in set_cookie


# -- signing in -----------------------------------------------------------------------------


@pytest.mark.anyio
async def test_login_rotates_the_id_and_shows_both_fingerprints(clients: ClientFactory) -> None:
    client = clients()
    await act(client)
    before = client.cookies["sid"]
    response = await login(client, "alice", "alice")
    assert response.status_code == 303
    after = client.cookies["sid"]
    assert after != before
    page = (await client.get("/")).text
    assert (
        f"session ID rotated: fingerprint {fingerprint(before)} -&gt; {fingerprint(after)}" in page
    )
    assert signed_in_as(page) == "alice"
    # The rotation stays visible on the page, not only in the one-time message.
    assert f"<code id='before-login'>{fingerprint(before)}</code>" in page
    page = (await client.get("/")).text
    assert "session ID rotated" not in page
    assert f"<code id='before-login'>{fingerprint(before)}</code>" in page
    # The old ID is dead: a request still carrying it reads as anonymous and is told why.
    stale_client = clients({"sid": before})
    stale = await stale_client.get("/")
    assert stale.status_code == 200
    assert "set-cookie" not in stale.headers
    assert signed_in_as(stale.text) == "no session"
    assert "alice" not in stale.text.replace("alice/alice", "")  # only the demo users' hint
    assert "(ID rotation): the old ID no longer works" in ended_notice(stale.text)
    # A write with it gets no session of its own either (its cookie would replace the
    # login's), but is told the ID was rotated.
    write = await stale_client.post("/cart/add", data={"item": "x", "csrf": csrf(stale.text)})
    assert write.status_code == 409
    assert write.headers["sojourn-session"] == "rotated"
    assert "set-cookie" not in write.headers


@pytest.mark.anyio
async def test_signing_in_without_a_session_says_there_was_none_before(
    clients: ClientFactory,
) -> None:
    client = clients()
    assert (await login(client, "bob", "bob")).status_code == 303
    page = (await client.get("/")).text
    assert signed_in_as(page) == "bob"
    assert f"session ID rotated: fingerprint new -&gt; {fingerprint(client.cookies['sid'])}" in page
    assert "none (no session before sign-in)" in page


@pytest.mark.anyio
async def test_a_wrong_password_fails_and_stores_nothing(
    clients: ClientFactory, store: AsyncStore, clock: Clock
) -> None:
    client = clients()
    response = await login(client, "alice", "bob")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert "set-cookie" not in response.headers
    assert await stored(store, clock) == 0
    await act(client)
    before = client.cookies["sid"]
    response = await login(client, "alice", "bob")
    assert response.status_code == 401
    assert client.cookies["sid"] == before
    assert signed_in_as((await client.get("/")).text) == "nobody"


@pytest.mark.anyio
async def test_an_unknown_user_fails(clients: ClientFactory) -> None:
    response = await login(clients(), "mallory", "mallory")
    assert response.status_code == 401


# -- the cart -------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_cart_persists_and_is_escaped(clients: ClientFactory) -> None:
    client = clients()
    token = csrf((await client.get("/")).text)
    for item in ("apple", "<b>pear</b>"):
        # The page's token keeps working after the first add created the session.
        response = await client.post("/cart/add", data={"item": item, "csrf": token})
        assert response.status_code == 303
    page = (await client.get("/")).text
    assert "<li>apple</li>" in page
    assert "<li>&lt;b&gt;pear&lt;/b&gt;</li>" in page
    assert "<b>pear</b>" not in page
    await client.post("/cart/clear", data={"csrf": token})
    page = (await client.get("/")).text
    assert "<li>apple</li>" not in page
    assert "<em>empty</em>" in page


@pytest.mark.anyio
async def test_the_cart_survives_login(clients: ClientFactory) -> None:
    client = clients()
    await act(client, "apple")
    await login(client, "bob", "bob")
    page = (await client.get("/")).text
    assert signed_in_as(page) == "bob"
    assert "<li>apple</li>" in page


# -- devices --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_your_devices_lists_both_devices_and_revokes_one(
    clients: ClientFactory, clock: Clock
) -> None:
    laptop = clients(user_agent=CHROME_LINUX)
    phone = clients({}, user_agent=FIREFOX_WINDOWS)
    await login(laptop, "alice", "alice")
    clock.advance(5)
    await login(phone, "alice", "alice")
    await login(clients(), "bob", "bob")  # someone else's session is never listed
    page = (await laptop.get("/sessions")).text
    assert "Your devices (2)" in page
    assert page.count("this device") == 1
    phone_fp = fingerprint(phone.cookies["sid"])
    laptop_fp = fingerprint(laptop.cookies["sid"])
    assert phone_fp in page
    # Parsed names, not raw user-agent strings; this device first.
    assert "Chrome 120 on Linux" in page
    assert "Firefox 121 on Windows" in page
    assert CHROME_LINUX not in page
    cards = re.findall(r"data-fingerprint='([0-9a-f]+)'", page)
    assert cards == [laptop_fp, phone_fp]
    for label in ("signed in at", "ends if idle", "ends at the latest"):
        assert page.count(f"<dt>{label}</dt>") == 2
    response = await laptop.post("/sessions/revoke", data={"target": phone_fp, "csrf": csrf(page)})
    assert response.status_code == 303
    page = (await laptop.get("/sessions")).text
    assert "Your devices (1)" in page
    assert f"Signed out device {phone_fp}: its next page will say so." in page
    # The revoked device is told, on its next page, what happened and why.
    page = (await phone.get("/")).text
    assert signed_in_as(page) == "no session"
    assert "signed out from another device" in ended_notice(page)
    assert "<form class='login'" in page


@pytest.mark.anyio
async def test_the_devices_page_lists_the_newest_sign_in_first_after_this_device(
    clients: ClientFactory, clock: Clock
) -> None:
    devices = [clients() for _ in range(3)]
    for device in devices:
        await login(device, "alice", "alice")
        clock.advance(10)
    page = (await devices[1].get("/sessions")).text
    cards = re.findall(r"data-fingerprint='([0-9a-f]+)'", page)
    order = [devices[1], devices[2], devices[0]]
    assert cards == [fingerprint(d.cookies["sid"]) for d in order]


@pytest.mark.anyio
async def test_sign_out_everywhere_else_keeps_this_device(clients: ClientFactory) -> None:
    laptop, phone, tablet = clients(), clients(), clients()
    for client in (laptop, phone, tablet):
        await login(client, "alice", "alice")
    page = (await laptop.get("/sessions")).text
    await laptop.post("/sessions/revoke-others", data={"csrf": csrf(page)})
    for other in (phone, tablet):
        page = (await other.get("/")).text
        assert signed_in_as(page) == "no session"
        assert "sign out everywhere else" in ended_notice(page)
    page = (await laptop.get("/sessions")).text
    assert "Your devices (1)" in page
    assert "Signed out 2 other device(s)." in page


@pytest.mark.anyio
async def test_the_second_device_is_a_separate_session_in_the_same_browser(
    clients: ClientFactory,
) -> None:
    browser = clients()
    await login(browser, "alice", "alice")
    page = (await browser.get("/")).text
    assert "href='/device2/' target='_blank'" in page
    response = await login(browser, "alice", "alice", base="/device2")
    assert response.status_code == 303
    assert response.headers["location"] == "/device2/"
    assert "Path=/device2" in response.headers["set-cookie"]
    first, second = browser.cookies["sid"], browser.cookies["sid2"]
    assert first != second
    page = (await browser.get("/sessions")).text
    assert "Your devices (2)" in page
    assert "second device" not in (await browser.get("/")).text.split("<nav>")[0]
    # Revoking the second device from the first: the second's next page explains.
    await browser.post("/sessions/revoke", data={"target": fingerprint(second), "csrf": csrf(page)})
    page = (await browser.get("/device2/")).text
    assert "second device" in page
    assert "signed out from another device" in ended_notice(page)
    assert signed_in_as((await browser.get("/")).text) == "alice"


# -- signing out and stale forms ------------------------------------------------------------


@pytest.mark.anyio
async def test_logout_clears_the_cookie_kills_the_old_one_and_says_so(
    clients: ClientFactory,
) -> None:
    client = clients()
    await login(client, "alice", "alice")
    old = client.cookies["sid"]
    token = csrf((await client.get("/")).text)
    response = await client.post("/logout", data={"csrf": token})
    assert response.status_code == 303
    set_cookies = response.headers.get_list("set-cookie")
    assert any(c.startswith("sid=;") for c in set_cookies)
    assert "sid" not in client.cookies
    page = (await client.get("/")).text
    assert "You signed out at" in ended_notice(page)
    assert "sid-ended" not in client.cookies  # the hint is read once
    assert "id='no-session'" in (await client.get("/")).text
    assert "class='ended'" not in (await client.get("/")).text
    stale = await clients({"sid": old}).get("/")
    assert signed_in_as(stale.text) == "no session"


@pytest.mark.anyio
async def test_a_stale_form_after_sign_out_explains_and_offers_to_sign_in(
    clients: ClientFactory,
) -> None:
    client = clients()
    await login(client, "alice", "alice")
    stale_page = (await client.get("/")).text
    await client.post("/logout", data={"csrf": csrf(stale_page)})
    response = await client.post(
        "/cart/add",
        data={"item": "x", "csrf": csrf(stale_page), "fp": form_fingerprint(stale_page)},
    )
    assert response.status_code == 403
    notice = ended_notice(response.text)
    assert notice.startswith("Nothing was done: this form belonged to a session that has ended.")
    assert "You signed out at" in notice
    assert "<form class='login'" in response.text
    # The refused page's own form works: signing in again from it succeeds.
    again = await client.post(
        "/login", data={"username": "alice", "password": "alice", "csrf": csrf(response.text)}
    )
    assert again.status_code == 303
    assert signed_in_as((await client.get("/")).text) == "alice"


@pytest.mark.anyio
async def test_a_stale_form_of_a_revoked_device_explains(clients: ClientFactory) -> None:
    laptop, phone = clients(), clients()
    await login(laptop, "alice", "alice")
    await login(phone, "alice", "alice")
    phone_page = (await phone.get("/")).text
    page = (await laptop.get("/sessions")).text
    target = fingerprint(phone.cookies["sid"])
    await laptop.post("/sessions/revoke", data={"target": target, "csrf": csrf(page)})
    form = {"csrf": csrf(phone_page), "fp": form_fingerprint(phone_page)}  # as a browser sends
    response = await phone.post("/logout", data=form)
    assert response.status_code == 403
    assert "signed out from another device" in ended_notice(response.text)
    assert "<form class='login'" in response.text


@pytest.mark.anyio
async def test_an_anonymous_page_is_refused_once_a_session_exists(
    clients: ClientFactory,
) -> None:
    client = clients()
    old_tab = (await client.get("/")).text
    await act(client)  # in another tab
    response = await client.post("/cart/add", data={"item": "x", "csrf": csrf(old_tab)})
    assert response.status_code == 403
    assert "loaded before your session started" in ended_notice(response.text)
    assert "<li>x</li>" not in (await client.get("/")).text


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path",
    [
        "/login",
        "/logout",
        "/cart/add",
        "/cart/clear",
        "/sessions/revoke",
        "/sessions/revoke-others",
    ],
)
async def test_post_without_the_csrf_token_is_rejected(clients: ClientFactory, path: str) -> None:
    client = clients()
    await login(client, "alice", "alice")
    response = await client.post(path, data={"item": "x", "username": "bob", "password": "bob"})
    assert response.status_code == 403
    assert "Nothing was done" in response.text
    assert signed_in_as((await client.get("/")).text) == "alice"


@pytest.mark.anyio
async def test_post_with_a_wrong_csrf_token_is_rejected(clients: ClientFactory) -> None:
    client, other = clients(), clients()
    await act(client)
    await act(other)
    foreign = csrf((await other.get("/")).text)  # a valid token, but of another session
    response = await client.post("/cart/add", data={"item": "x", "csrf": foreign})
    assert response.status_code == 403
    assert "<li>x</li>" not in (await client.get("/")).text


@pytest.mark.anyio
async def test_a_forged_or_old_form_token_is_rejected(
    clients: ClientFactory, store: AsyncStore, clock: Clock
) -> None:
    client = clients()
    token = csrf((await client.get("/")).text)
    prefix, issued, nonce, mac = token.split(".")
    forged = f"{prefix}.{issued}.{nonce}.{'0' * len(mac)}"
    response = await client.post("/cart/add", data={"item": "x", "csrf": forged})
    assert response.status_code == 403
    clock.advance(3601)
    response = await client.post("/cart/add", data={"item": "x", "csrf": token})
    assert response.status_code == 403
    assert await stored(store, clock) == 0


@pytest.mark.anyio
@pytest.mark.parametrize(
    "headers",
    [
        {"origin": "http://127.0.0.1:9999"},
        {"sec-fetch-site": "cross-site"},
        {"sec-fetch-site": "same-site"},
    ],
)
async def test_a_form_from_another_origin_is_refused(
    clients: ClientFactory, headers: dict[str, str]
) -> None:
    client = clients()
    token = csrf((await client.get("/")).text)
    data = {"username": "alice", "password": "alice", "csrf": token}
    response = await client.post("/login", data=data, headers=headers)
    assert response.status_code == 403
    assert "sent from another site or origin" in response.text
    assert "sid" not in client.cookies
    same = {"origin": BASE, "sec-fetch-site": "same-origin"}
    assert (await client.post("/login", data=data, headers=same)).status_code == 303


# -- expiry ---------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_an_idle_session_says_it_expired_idle(clients: ClientFactory, clock: Clock) -> None:
    client = clients()
    await login(client, "alice", "alice")
    clock.advance(IDLE + 5)
    page = (await client.get("/")).text
    assert signed_in_as(page) == "no session"
    notice = ended_notice(page)
    assert "left idle for longer than 10:00" in notice
    assert "still holds the old session cookie" in notice


@pytest.mark.anyio
async def test_a_session_past_its_lifetime_says_it_expired_absolute(
    clients: ClientFactory, clock: Clock
) -> None:
    client = clients()
    await login(client, "alice", "alice")
    for _ in range(int(LIFETIME // (IDLE / 2)) + 1):
        clock.advance(IDLE / 2)  # active all along: the idle deadline never passes
        page = (await client.get("/")).text
    assert signed_in_as(page) == "no session"
    assert "absolute lifetime of 1 h 00 min" in ended_notice(page)


@pytest.mark.anyio
async def test_the_page_shows_both_deadlines_with_a_countdown(
    clients: ClientFactory, clock: Clock
) -> None:
    client = clients()
    await login(client, "alice", "alice")
    page = (await client.get("/")).text
    deadlines = [int(d) for d in re.findall(r"data-deadline='(\d+)'", page)]
    assert deadlines == [math.ceil(clock() + IDLE), math.ceil(clock() + LIFETIME)]
    assert "<script src='/demo.js' defer></script>" in page
    script = await client.get("/demo.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "countdown" in script.text


# -- headers --------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_devices_page_asks_anonymous_visitors_to_sign_in(
    clients: ClientFactory,
) -> None:
    response = await clients().get("/sessions")
    assert response.status_code == 200
    assert "You are not signed in, so there are no devices to show." in response.text
    assert "class='notice'" not in response.text
    assert "<form class='login'" in response.text


@pytest.mark.anyio
async def test_pages_forbid_caching_framing_and_foreign_scripts(clients: ClientFactory) -> None:
    response = await clients().get("/")
    assert "no-store" in response.headers["cache-control"]
    policy = response.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in policy
    assert "script-src 'self'" in policy
    assert "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]


@pytest.mark.anyio
async def test_with_secure_cookies_both_devices_use_prefixed_names(store: AsyncStore) -> None:
    app = create_app(store, secure_cookies=True)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as client:
        for base in ("", "/device2"):
            response = await login(client, "alice", "alice", base=base)
            assert response.status_code == 303
            assert "Secure" in response.headers["set-cookie"]
        assert set(client.cookies.keys()) == {"__Host-sid", "__Secure-sid2"}
        page = (await client.get("/")).text
        response = await client.post(
            "/logout", data={"csrf": csrf(page), "fp": form_fingerprint(page)}
        )
        hint = [c for c in response.headers.get_list("set-cookie") if "-ended=" in c]
        assert hint[0].startswith("__Host-sid-ended=")
        assert "Secure" in hint[0]
        assert "You signed out at" in ended_notice((await client.get("/")).text)
