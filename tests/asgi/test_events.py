"""Lifecycle events through the ASGI middleware: on every store, and with hooks that raise.

The transitions themselves are proved per store by :mod:`sojourn.testing`'s event contracts;
this module pins what the adapter adds: its ``hooks=`` reaches the manager, a hook that raises
(sync or async) leaves the response exactly as it would have been, and an application without
hooks pays nothing for them (no extra store call).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sojourn import AsyncMemoryStore, SessionEvent, fingerprint
from sojourn.stores.base import AsyncStore
from sojourn.testing import FakeClock
from sojourn.testing._async.events import Witness

from .stores import CountingStore, available
from .test_acceptance import client_for, cookie_value, make_app, session_cookie


@pytest.fixture(params=sorted(available()))
async def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[AsyncStore]:
    async with available()[request.param](tmp_path) as opened:
        yield opened


def broken(event: SessionEvent) -> None:
    raise RuntimeError("a sync hook with a bug")


async def broken_async(event: SessionEvent) -> None:
    await asyncio.sleep(0)
    raise LookupError("an async hook with a bug")


async def slow_but_fine(event: SessionEvent, seen: list[str]) -> None:
    await asyncio.sleep(0)
    seen.append(event.kind)


@pytest.mark.anyio
async def test_each_transition_fires_once_through_the_middleware(any_store: AsyncStore) -> None:
    hook = Witness()
    async with client_for(make_app(any_store, FakeClock(), hooks=[hook])) as client:
        written = session_cookie(await client.post("/write?name=ann"))
        assert written is not None
        first = cookie_value(written)
        assert (await client.get("/read")).json()["name"] == "ann"  # a read fires nothing
        logged_in = session_cookie(await client.post("/login?user=ann"))
        assert logged_in is not None
        second = cookie_value(logged_in)
        assert (await client.post("/logout")).status_code == 200
    assert [(e.kind, e.reason) for e in hook.events] == [
        ("created", None),
        ("rotated", "login"),
        ("destroyed", "logout"),
    ]
    created, rotated, destroyed = hook.events
    assert created.fingerprint == fingerprint(first)
    assert (rotated.fingerprint, rotated.successor) == (fingerprint(first), fingerprint(second))
    assert (destroyed.fingerprint, destroyed.principal) == (fingerprint(second), "ann")
    for event in hook.events:
        assert first not in repr(event)
        assert second not in repr(event)


@pytest.mark.anyio
async def test_raising_hooks_leave_every_response_intact(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    seen: list[str] = []

    async def good(event: SessionEvent) -> None:
        await slow_but_fine(event, seen)

    store = AsyncMemoryStore()
    app = make_app(store, clock, hooks=[broken, broken_async, good])
    with caplog.at_level(logging.ERROR, logger="sojourn"):
        async with client_for(app) as client:
            response = await client.post("/write?name=bo")
            assert response.status_code == 200
            assert response.text == "ok"
            assert session_cookie(response) is not None
            assert (await client.get("/read")).json()["name"] == "bo"  # it was stored
            login = await client.post("/login?user=bo")
            assert login.status_code == 200
            assert session_cookie(login) is not None
            assert (await client.get("/read")).json()["name"] == "bo"  # the new ID works
            logout = await client.post("/logout")
            assert (logout.status_code, logout.text) == (200, "bye")
            cleared = session_cookie(logout)
            assert cleared is not None
            assert "Max-Age=0" in cleared
    assert seen == ["created", "rotated", "destroyed"]  # the raising hooks stopped nothing
    failures = [r.getMessage() for r in caplog.records if "session.hook_failed" in r.message]
    assert len(failures) == 6  # two raising hooks, three events
    assert sum("RuntimeError" in f and "broken" in f for f in failures) == 3
    assert sum("LookupError" in f and "broken_async" in f for f in failures) == 3


@pytest.mark.anyio
async def test_without_hooks_an_expired_cookie_costs_no_extra_store_call() -> None:
    clock = FakeClock()
    counting = CountingStore(AsyncMemoryStore())
    async with client_for(make_app(counting, clock, idle_timeout=60)) as client:
        assert session_cookie(await client.post("/write?name=cy")) is not None
        clock.advance(61)
        counting.calls.clear()
        assert (await client.get("/read")).json()["name"] is None
    assert counting.calls == ["load"]


@pytest.mark.anyio
async def test_with_hooks_an_expired_cookie_is_taken_once_and_fires_expired() -> None:
    clock = FakeClock()
    hook = Witness()
    counting = CountingStore(AsyncMemoryStore())
    app = make_app(counting, clock, idle_timeout=60, hooks=[hook])
    async with client_for(app) as client:
        written = session_cookie(await client.post("/write?name=di"))
        assert written is not None
        clock.advance(61)
        counting.calls.clear()
        hook.events.clear()
        responses = await asyncio.gather(*(client.get("/read") for _ in range(10)))
    assert all(r.json()["name"] is None for r in responses)
    assert counting.calls.count("take_expired") == 10  # each miss asks; one is handed it
    assert [(e.kind, e.reason) for e in hook.events] == [("expired", "load")]
    assert hook.events[0].fingerprint == fingerprint(cookie_value(written))
