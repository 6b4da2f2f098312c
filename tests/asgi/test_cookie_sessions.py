"""The foundation's acceptance scenario with CookieStore, minus what needs a server.

Client-side sessions keep the scenario's promises that do not need server state: lazy
creation, secure cookies, no adoption of planted values, rotation at login, logout, idle and
absolute expiry enforced from inside the sealed cookie. What differs is tested as such: a
replayed old cookie is refused only by expiry or by the ``accept`` hook.
"""

from __future__ import annotations

import base64
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from sojourn import ConfigurationError, HeaderTransport, SessionTooLarge, new_session_id
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores.base import Record
from sojourn.stores.cookie import CookieStore, generate_key
from sojourn.testing import FakeClock

# The acceptance scenario's tests that need no server state run here unchanged, on this
# module's ``store`` fixture (a CookieStore): pytest collects imported tests as this module's own.
from .test_acceptance import (
    COOKIE,
    client_for,
    cookie_value,
    login,
    logout,
    read,
    session_cookie,
    test_a_route_that_never_touches_the_session_gets_no_vary,  # noqa: F401
    test_a_session_idle_past_the_timeout_is_not_served,  # noqa: F401
    test_reads_renew_the_idle_deadline,  # noqa: F401
    test_the_absolute_lifetime_ends_a_busy_session,  # noqa: F401
    test_the_real_clock_expires_a_session,  # noqa: F401
    untouched,
    write,
)

OLD_KEY = generate_key()
NEW_KEY = generate_key()


async def whoami(request: Request) -> Response:
    session = get_session(request)
    return JSONResponse({"principal": session.principal, "fingerprint": session.fingerprint})


async def big(request: Request) -> Response:
    request.session["blob"] = "x" * int(request.query_params["size"])
    return PlainTextResponse("ok")


def make_app(store: CookieStore, clock: FakeClock, **options: Any) -> Starlette:
    app = Starlette(
        routes=[
            Route("/read", read),
            Route("/write", write, methods=["POST"]),
            Route("/login", login, methods=["POST"]),
            Route("/logout", logout, methods=["POST"]),
            Route("/untouched", untouched),
            Route("/whoami", whoami),
            Route("/big", big, methods=["POST"]),
        ]
    )
    app.add_middleware(SessionMiddleware, store=store, clock=clock, **options)
    return app


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def store() -> CookieStore:
    return CookieStore([NEW_KEY])


@pytest.mark.anyio
async def test_anonymous_read_sets_no_cookie(store: CookieStore, clock: FakeClock) -> None:
    async with client_for(make_app(store, clock)) as client:
        response = await client.get("/read")
    assert response.json() == {"name": None, "keys": []}
    assert "set-cookie" not in response.headers
    assert response.headers["vary"] == "Cookie"


@pytest.mark.anyio
async def test_a_write_sets_a_secure_sealed_cookie(store: CookieStore, clock: FakeClock) -> None:
    async with client_for(make_app(store, clock)) as client:
        response = await client.post("/write?name=ann")
        header = session_cookie(response)
        assert header is not None
        attributes = {part.strip() for part in header.split(";")}
        assert {"HttpOnly", "Secure", "SameSite=Lax", "Path=/"} <= attributes
        assert response.headers["cache-control"] == "private, no-store"
        assert "ann" not in cookie_value(header)
        read_back = await client.get("/read")
        assert read_back.json()["name"] == "ann"
        assert "set-cookie" not in read_back.headers  # reading needs no new cookie


@pytest.mark.sec("SEC-05")
@pytest.mark.anyio
async def test_a_planted_value_is_never_adopted(store: CookieStore, clock: FakeClock) -> None:
    async with client_for(make_app(store, clock)) as client:
        for planted in (new_session_id(), "garbage", "A" * 300):
            client.cookies.set(COOKIE, planted)
            response = await client.get("/read")
            assert response.status_code == 200
            assert response.json() == {"name": None, "keys": []}
            assert session_cookie(response) is None


@pytest.mark.sec("SEC-07")
@pytest.mark.anyio
async def test_login_reseals_under_a_new_fingerprint_and_keeps_data(
    store: CookieStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        await client.post("/write?name=pre")
        before = (await client.get("/whoami")).json()
        response = await client.post("/login?user=alice")
        assert session_cookie(response) is not None
        after = (await client.get("/whoami")).json()
        assert after["principal"] == "alice"
        assert after["fingerprint"] != before["fingerprint"]
        assert (await client.get("/read")).json()["name"] == "pre"


@pytest.mark.anyio
async def test_logout_clears_the_cookie(store: CookieStore, clock: FakeClock) -> None:
    async with client_for(make_app(store, clock)) as client:
        await client.post("/write?name=bob")
        cleared = session_cookie(await client.post("/logout"))
        assert cleared is not None
        assert cookie_value(cleared) == ""
        assert "Max-Age=0" in cleared
        assert (await client.get("/read")).json()["name"] is None


@pytest.mark.sec("SEC-28")
@pytest.mark.anyio
async def test_a_replayed_cookie_is_refused_once_revoked_by_the_hook(clock: FakeClock) -> None:
    revoked_before: dict[str, float] = {}

    def accept(record: Record) -> bool:
        cutoff = revoked_before.get(record.principal or "", float("-inf"))
        return (record.authenticated_at or float("inf")) > cutoff

    app = make_app(CookieStore([NEW_KEY], accept=accept), clock)
    async with client_for(app) as client:
        stolen = cookie_value(session_cookie(await client.post("/login?user=alice")) or "")
        await client.post("/logout")
    async with client_for(app) as thief:
        thief.cookies.set(COOKIE, stolen)
        # Without server state, logout alone cannot stop a copy of the cookie (documented)...
        assert (await thief.get("/whoami")).json()["principal"] == "alice"
        # ...the hook can: "sign out everywhere" records a cutoff for the principal.
        clock.advance(1)
        revoked_before["alice"] = clock()
        assert (await thief.get("/whoami")).json()["principal"] is None


@pytest.mark.sec("SEC-22")
@pytest.mark.anyio
async def test_idle_timeout_is_enforced_from_the_sealed_cookie(
    store: CookieStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock, idle_timeout=10)) as client:
        stale = cookie_value(session_cookie(await client.post("/write?name=idle")) or "")
        clock.advance(6)
        renewed = await client.get("/read")  # renewal is due: a re-sealed cookie goes out
        assert renewed.json()["name"] == "idle"
        assert session_cookie(renewed) is not None
        clock.advance(6)
        assert (await client.get("/read")).json()["name"] == "idle"
    async with client_for(make_app(store, clock, idle_timeout=10)) as replay:
        replay.cookies.set(COOKIE, stale)  # the first cookie, never renewed, is dead by now
        assert (await replay.get("/read")).json()["name"] is None


@pytest.mark.sec("SEC-30", "SEC-39")
@pytest.mark.anyio
async def test_flipping_any_byte_of_the_cookie_gives_a_fresh_session_and_a_200(
    store: CookieStore, clock: FakeClock
) -> None:
    app = make_app(store, clock)
    async with client_for(app) as client:
        await client.post("/login?user=alice")
        token = cookie_value(session_cookie(await client.post("/write?name=ann")) or "")
    blob = bytearray(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    async with client_for(app) as attacker:
        for position in range(len(blob)):
            damaged = bytearray(blob)
            damaged[position] ^= 0x01
            value = base64.urlsafe_b64encode(bytes(damaged)).rstrip(b"=").decode()
            attacker.cookies.set(COOKIE, value)
            response = await attacker.get("/whoami")
            assert response.status_code == 200, position
            assert response.json() == {"principal": None, "fingerprint": None}, position
        for position in range(len(token)):  # and every character of the cookie text
            swapped = "B" if token[position] != "B" else "C"
            attacker.cookies.set(COOKIE, token[:position] + swapped + token[position + 1 :])
            response = await attacker.get("/read")
            assert response.status_code == 200, position
            assert response.json() == {"name": None, "keys": []}, position


@pytest.mark.sec("SEC-36")
@pytest.mark.anyio
async def test_a_cookie_under_a_retired_key_is_accepted_resealed_then_refused(
    clock: FakeClock,
) -> None:
    async with client_for(make_app(CookieStore([OLD_KEY]), clock)) as client:
        old = cookie_value(session_cookie(await client.post("/write?name=kept")) or "")
    rotated = make_app(CookieStore([NEW_KEY, OLD_KEY]), clock)
    async with client_for(rotated) as client:
        client.cookies.set(COOKIE, old)
        response = await client.get("/read")
        assert response.json()["name"] == "kept"
        resealed = session_cookie(response)  # re-sealed with the newest key on this response
        assert resealed is not None
        written = session_cookie(await client.post("/write?name=changed"))
        assert written is not None
        new = cookie_value(written)
    assert CookieStore([NEW_KEY]).unseal(new, COOKIE, clock()) is not None
    retired = make_app(CookieStore([NEW_KEY]), clock)
    async with client_for(retired) as client:
        client.cookies.set(COOKIE, old)
        assert (await client.get("/read")).json()["name"] is None
        client.cookies.set(COOKIE, new)
        assert (await client.get("/read")).json()["name"] == "changed"


@pytest.mark.sec("SEC-13")
@pytest.mark.anyio
async def test_a_session_too_large_for_a_cookie_fails_naming_the_limit(
    store: CookieStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock)) as client:
        assert (await client.post("/big?size=2000")).status_code == 200
        with pytest.raises(SessionTooLarge, match=r"over the limit of 4096 bytes") as caught:
            await client.post("/big?size=5000")
        assert "would be" in str(caught.value)
        # The failed write left the earlier, smaller session intact.
        assert len((await client.get("/read")).json()["keys"]) == 1


def test_a_header_transport_is_refused(store: CookieStore) -> None:
    app = Starlette()
    with pytest.raises(ConfigurationError, match="cookie transport"):
        SessionMiddleware(app, store=store, transport=HeaderTransport())


@pytest.mark.sec("SEC-33")
@pytest.mark.anyio
async def test_cookies_from_another_cookie_name_do_not_open(clock: FakeClock) -> None:
    from sojourn import CookieSettings

    store = CookieStore([NEW_KEY])
    other = make_app(store, clock, cookie=CookieSettings(name="__Host-other"))
    async with client_for(other) as client:
        response = await client.post("/write?name=elsewhere")
        header = next(h for h in response.headers.get_list("set-cookie"))
        token = cookie_value(header)
    async with client_for(make_app(store, clock)) as client:
        client.cookies.set(COOKIE, token)
        assert (await client.get("/read")).json()["name"] is None


@pytest.mark.sec("SEC-13")
@pytest.mark.anyio
async def test_the_largest_session_that_fits_uses_the_whole_4096_bytes(
    store: CookieStore, clock: FakeClock
) -> None:
    app = make_app(store, clock)

    async def set_cookie_for(size: int) -> str | None:
        async with client_for(app) as client:
            try:
                response = await client.post(f"/big?size={size}")
            except SessionTooLarge:
                return None
            return session_cookie(response)

    fits, fails = 100, 5000
    while fails - fits > 1:
        middle = (fits + fails) // 2
        if await set_cookie_for(middle) is None:
            fails = middle
        else:
            fits = middle
    largest = await set_cookie_for(fits)
    assert largest is not None
    assert 4096 - 4 < len(largest) <= 4096  # base64 grows four characters at a time
    assert await set_cookie_for(fails) is None


class CountingCookieStore(CookieStore):
    """A real CookieStore that counts unseal attempts."""

    attempts = 0

    def unseal(self, token: str, context: str, now: float) -> Any:
        self.attempts += 1
        return super().unseal(token, context, now)


@pytest.mark.sec("SEC-51", "SEC-52")
@pytest.mark.anyio
async def test_a_cookie_header_full_of_junk_costs_at_most_three_attempts(clock: FakeClock) -> None:
    store = CountingCookieStore([NEW_KEY])
    app = make_app(store, clock)
    junk = "; ".join(f"{COOKIE}={'A' * (44 + i % 7)}{i}" for i in range(200))
    short = "; ".join(f"{COOKIE}=x{i}" for i in range(200))
    async with client_for(app) as client:
        for header in (junk, short):
            response = await client.get("/read", headers={"cookie": header})
            assert response.status_code == 200
            assert response.json() == {"name": None, "keys": []}
    assert store.attempts == 3  # three for the long junk, none for values too short


@pytest.mark.sec("SEC-28", "SEC-48")
@pytest.mark.anyio
async def test_a_failing_accept_hook_answers_503(clock: FakeClock) -> None:
    healthy = True

    def accept(record: Record) -> bool:
        if not healthy:
            raise ConnectionError("revocation list unreachable")
        return True

    async with client_for(make_app(CookieStore([NEW_KEY], accept=accept), clock)) as client:
        await client.post("/login?user=alice")
        healthy = False
        response = await client.get("/whoami")
        assert response.status_code == 503
        assert "set-cookie" not in response.headers


@pytest.mark.anyio
async def test_a_request_that_never_touches_the_session_does_not_reissue_it(
    store: CookieStore, clock: FakeClock
) -> None:
    async with client_for(make_app(store, clock, idle_timeout=10)) as client:
        await client.post("/login?user=alice")
        stale = cookie_value(session_cookie(await client.post("/write?name=x")) or "")
        clock.advance(6)  # renewal is due
        await client.post("/logout")
    async with client_for(make_app(store, clock, idle_timeout=10)) as straggler:
        straggler.cookies.set(COOKIE, stale)  # an image request sent before the logout
        response = await straggler.get("/untouched")
        assert "set-cookie" not in response.headers  # it must not hand back a fresh login


@pytest.mark.anyio
async def test_tracked_metadata_changes_only_at_creation_and_login(
    store: CookieStore, clock: FakeClock
) -> None:
    app = make_app(store, clock, track_metadata=True)
    async with client_for(app) as client:
        await client.post("/write?name=a", headers={"user-agent": "owner"})
        token = cookie_value(session_cookie(await client.post("/write?name=b")) or "")
    async with client_for(app) as thief:
        thief.cookies.set(COOKIE, token)
        written = await thief.post("/write?name=c", headers={"user-agent": "thief"})
        resealed = cookie_value(session_cookie(written) or "")
        opened = store.unseal(resealed, COOKIE, clock())
        assert opened is not None
        assert opened.record.meta["user_agent"] == "owner"
        login_response = await thief.post("/login?user=mallory", headers={"user-agent": "thief"})
        relogged = store.unseal(cookie_value(session_cookie(login_response) or ""), COOKIE, clock())
        assert relogged is not None
        assert relogged.record.meta["user_agent"] == "thief"  # a login records who logged in
