"""The demo app, driven in-process over ASGI: every feature the demo shows, end to end."""

from __future__ import annotations

import re
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
ClientFactory = Callable[..., httpx.AsyncClient]


def _stores(tmp_path: Path) -> dict[str, Callable[[], AsyncStore]]:
    from sojourn.stores.sqlite import AsyncSQLiteStore

    return {
        "memory": AsyncMemoryStore,
        "sqlite": lambda: AsyncSQLiteStore(str(tmp_path / "demo.db")),
    }


@pytest.fixture(params=["memory", "sqlite"])
async def app(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Starlette]:
    store = _stores(tmp_path)[request.param]()
    yield create_app(store)
    await store.aclose()


@pytest.fixture
async def clients(app: Starlette) -> AsyncIterator[ClientFactory]:
    """Make clients that share the app (each with its own cookie jar); closed at the end."""
    async with AsyncExitStack() as stack:

        def make(cookies: dict[str, str] | None = None) -> httpx.AsyncClient:
            client = httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app),
                base_url=BASE,
                cookies=cookies,
                headers={"user-agent": "demo-test"},
            )
            stack.push_async_callback(client.aclose)
            return client

        yield make


def csrf(page: str) -> str:
    match = re.search(r"name='csrf' value='([^']+)'", page)
    assert match is not None, "no CSRF field on the page"
    return match.group(1)


def shown_fingerprint(page: str) -> str:
    match = re.search(r"<th>fingerprint</th><td><code>([^<]+)</code>", page)
    assert match is not None
    return match.group(1)


def signed_in_as(page: str) -> str:
    match = re.search(r"<th>signed in as</th><td><code>([^<]+)</code>", page)
    assert match is not None
    return match.group(1)


async def login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    token = csrf((await client.get("/")).text)
    return await client.post("/login", data={"username": user, "password": password, "csrf": token})


@pytest.mark.sec("SEC-53")
@pytest.mark.anyio
async def test_home_shows_the_session_but_never_its_id(clients: ClientFactory) -> None:
    client = clients()
    response = await client.get("/")
    assert response.status_code == 200
    session_id = client.cookies["sid"]
    assert session_id not in response.text
    assert signed_in_as(response.text) == "nobody (anonymous)"
    assert "alice/alice" in response.text
    assert "Demo-only" in response.text
    # The page was rendered before the commit stored the session: the next one shows its label.
    page = (await client.get("/")).text
    assert shown_fingerprint(page) == fingerprint(session_id)
    assert session_id not in page


@pytest.mark.anyio
async def test_the_cookie_is_plain_http_lax_and_httponly(clients: ClientFactory) -> None:
    response = await clients().get("/")
    set_cookie = response.headers["set-cookie"]
    assert set_cookie.startswith("sid=")
    assert "HttpOnly" in set_cookie
    assert "SameSite=Lax" in set_cookie
    assert "Secure" not in set_cookie


@pytest.mark.anyio
async def test_login_rotates_the_id_and_shows_both_fingerprints(clients: ClientFactory) -> None:
    client = clients()
    await client.get("/")
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
    # The old ID is dead: a request still carrying it gets no session of its own either (its
    # cookie would replace the login's), but is told the ID was rotated.
    stale = await clients({"sid": before}).get("/")
    assert stale.status_code == 409
    assert stale.headers["sojourn-session"] == "rotated"
    assert "set-cookie" not in stale.headers
    assert "alice" not in stale.text


@pytest.mark.anyio
async def test_a_wrong_password_fails(clients: ClientFactory) -> None:
    client = clients()
    await client.get("/")
    before = client.cookies["sid"]
    response = await login(client, "alice", "bob")
    assert response.status_code == 401
    assert "Wrong user name or password." in response.text
    assert client.cookies["sid"] == before
    assert signed_in_as((await client.get("/")).text) == "nobody (anonymous)"


@pytest.mark.anyio
async def test_an_unknown_user_fails(clients: ClientFactory) -> None:
    response = await login(clients(), "mallory", "mallory")
    assert response.status_code == 401


@pytest.mark.anyio
async def test_the_cart_persists_and_is_escaped(clients: ClientFactory) -> None:
    client = clients()
    token = csrf((await client.get("/")).text)
    for item in ("apple", "<b>pear</b>"):
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
    token = csrf((await client.get("/")).text)
    await client.post("/cart/add", data={"item": "apple", "csrf": token})
    await login(client, "bob", "bob")
    page = (await client.get("/")).text
    assert signed_in_as(page) == "bob"
    assert "<li>apple</li>" in page


@pytest.mark.anyio
async def test_your_sessions_lists_both_devices_and_revokes_one(clients: ClientFactory) -> None:
    laptop, phone = clients(), clients({})
    await login(laptop, "alice", "alice")
    await login(phone, "alice", "alice")
    await login(clients(), "bob", "bob")  # someone else's session is never listed
    page = (await laptop.get("/sessions")).text
    assert "Your sessions (2)" in page
    assert page.count("this device") == 1
    phone_fp = fingerprint(phone.cookies["sid"])
    assert phone_fp in page
    assert fingerprint(laptop.cookies["sid"]) in page
    assert "demo-test" in page  # user agent tracked
    response = await laptop.post(
        "/sessions/revoke", data={"fingerprint": phone_fp, "csrf": csrf(page)}
    )
    assert response.status_code == 303
    assert signed_in_as((await phone.get("/")).text) == "nobody (anonymous)"
    page = (await laptop.get("/sessions")).text
    assert "Your sessions (1)" in page
    assert f"revoked session {phone_fp}" in page


@pytest.mark.anyio
async def test_sign_out_everywhere_else_keeps_this_device(clients: ClientFactory) -> None:
    laptop, phone, tablet = clients(), clients(), clients()
    for client in (laptop, phone, tablet):
        await login(client, "alice", "alice")
    page = (await laptop.get("/sessions")).text
    await laptop.post("/sessions/revoke-others", data={"csrf": csrf(page)})
    assert signed_in_as((await phone.get("/")).text) == "nobody (anonymous)"
    assert signed_in_as((await tablet.get("/")).text) == "nobody (anonymous)"
    page = (await laptop.get("/sessions")).text
    assert "Your sessions (1)" in page
    assert "signed out 2 other session(s)" in page


@pytest.mark.anyio
async def test_logout_clears_the_cookie_and_kills_the_old_one(clients: ClientFactory) -> None:
    client = clients()
    await login(client, "alice", "alice")
    old = client.cookies["sid"]
    token = csrf((await client.get("/")).text)
    response = await client.post("/logout", data={"csrf": token})
    assert response.status_code == 303
    assert response.headers["set-cookie"].startswith("sid=;")
    assert "sid" not in client.cookies
    stale = await clients({"sid": old}).get("/")
    assert signed_in_as(stale.text) == "nobody (anonymous)"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "path", ["/login", "/logout", "/cart/add", "/cart/clear", "/sessions/revoke-others"]
)
async def test_post_without_the_csrf_token_is_rejected(clients: ClientFactory, path: str) -> None:
    client = clients()
    await login(client, "alice", "alice")
    response = await client.post(path, data={"item": "x", "username": "bob", "password": "bob"})
    assert response.status_code == 403
    assert signed_in_as((await client.get("/")).text) == "alice"


@pytest.mark.anyio
async def test_post_with_a_wrong_csrf_token_is_rejected(clients: ClientFactory) -> None:
    client = clients()
    await client.get("/")
    other = clients()
    foreign = csrf((await other.get("/")).text)  # a valid token, but of another session
    response = await client.post("/cart/add", data={"item": "x", "csrf": foreign})
    assert response.status_code == 403
    assert "<li>x</li>" not in (await client.get("/")).text


@pytest.mark.anyio
async def test_sessions_page_asks_anonymous_visitors_to_sign_in(clients: ClientFactory) -> None:
    response = await clients().get("/sessions")
    assert response.status_code == 200
    assert "Sign in to see your sessions." in response.text


@pytest.mark.anyio
async def test_pages_forbid_caching_and_framing(clients: ClientFactory) -> None:
    response = await clients().get("/")
    assert "no-store" in response.headers["cache-control"]
    assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
