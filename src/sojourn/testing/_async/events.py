"""The lifecycle-event contracts: what a store must do so that the manager's events are right.

:class:`AsyncTakeExpiredContract` proves a store's ``take_expired`` (the ``expired/load``
handover); :class:`AsyncLifecycleEventsContract` includes it and runs a manager with hooks over
the store, proving that every transition fires exactly one event, with the right fingerprint,
principal, reason and metadata and never the session ID. Mix it into a store's conformance
class next to :class:`AsyncStoreContract`. (A purge's report, ``expired/purge``, is part of
:class:`AsyncPurgeContract`.)
"""

from __future__ import annotations

import functools
import logging
import secrets
from collections.abc import Callable

import pytest

from ..._core.events import AsyncEventHook, SessionEvent
from ..._core.ids import fingerprint, store_key
from ..._core.plan import Engine
from ..._core.policy import Policy
from ..._core.session import Session
from ...manager import AsyncManager
from ...stores.base import (
    AsyncStore,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsTake,
    AsyncSupportsTakeExpired,
    Changes,
    Record,
)
from .._clock import FakeClock
from .._concurrency import async_concurrently
from .contract import AsyncStoreFixtures, make_record

UA = "Mozilla/5.0 (contract)"
IP = "192.0.2.7"
CREATED_ON = {"user_agent": UA, "ip": IP}  # the metadata a session is created with
LATER = {"user_agent": UA}  # what a later request carries (no address)


class AsyncTakeExpiredContract(AsyncStoreFixtures):
    """The handovers: ``take_expired`` gives an expired record once and a live one never;
    ``take`` deletes any record and gives it to exactly one caller."""

    async def created(self, store: AsyncStore, record: Record) -> AsyncSupportsTakeExpired:
        """``store``, which must offer ``take_expired``, once it holds ``record``."""
        assert isinstance(store, AsyncSupportsTakeExpired)
        await store.create(record)
        return store

    async def holding(self, store: AsyncStore, record: Record) -> AsyncSupportsTake:
        """``store``, which must offer ``take``, once it holds ``record``."""
        assert isinstance(store, AsyncSupportsTake)
        await store.create(record)
        return store

    @pytest.mark.anyio
    async def test_take_deletes_a_record_and_hands_it_over_once(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, principal="bea", meta={"ip": IP})
        taking = await self.holding(store, record)
        taken = await taking.take(record.key)
        assert taken is not None
        assert (taken.key, taken.principal, dict(taken.meta)) == (record.key, "bea", {"ip": IP})
        assert await store.load(record.key, now) is None
        assert await taking.take(record.key) is None
        assert await taking.take(make_record(now).key) is None  # never stored

    @pytest.mark.anyio
    async def test_take_hands_over_an_expired_record_too(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=1)
        taking = await self.holding(store, record)
        assert await store.load(record.key, now + 2) is None
        taken = await taking.take(record.key)
        assert taken is not None
        assert taken.key == record.key

    @pytest.mark.anyio
    async def test_concurrent_takes_of_one_record_hand_it_to_one(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now)
        take = functools.partial((await self.holding(store, record)).take, record.key)
        results = await async_concurrently([take] * self.concurrency)
        assert sum(r is not None for r in results) == 1

    @pytest.mark.anyio
    async def test_take_expired_hands_over_an_expired_record_once(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, principal="alice", idle=1, meta={"ip": IP})
        taking = await self.created(store, record)
        taken = await taking.take_expired(record.key, now + 2)
        assert taken is not None
        assert (taken.key, taken.principal, dict(taken.meta)) == (record.key, "alice", {"ip": IP})
        assert await taking.take_expired(record.key, now + 2) is None

    @pytest.mark.anyio
    async def test_take_expired_leaves_a_live_record_alone(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=100)
        taking = await self.created(store, record)
        assert await taking.take_expired(record.key, now + 2) is None
        assert await taking.take_expired(make_record(now).key, now) is None  # never stored
        assert await store.load(record.key, now + 2) is not None

    @pytest.mark.anyio
    async def test_concurrent_takes_of_one_expired_record_hand_it_to_one(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=1)
        take = functools.partial((await self.created(store, record)).take_expired, record.key)
        results = await async_concurrently([functools.partial(take, now + 2)] * self.concurrency)
        assert sum(r is not None for r in results) == 1

    @pytest.mark.anyio
    async def test_a_taken_record_is_gone_for_good(self, store: AsyncStore, now: float) -> None:
        record = make_record(now, idle=1)
        assert await (await self.created(store, record)).take_expired(record.key, now + 2)
        assert await store.load(record.key, now + 2) is None
        changes = Changes(now=now + 2, expires_at=now + 100, set={"x": b"1"})
        assert await store.apply(record.key, changes) is False  # nothing to resurrect
        assert await store.rename(record.key, make_record(now).key, now + 2) is False


class Witness:
    """A hook that keeps every event it is given, for tests to look at."""

    def __init__(self) -> None:
        self.events: list[SessionEvent] = []

    def __call__(self, event: SessionEvent) -> None:
        self.events.append(event)

    def only(self) -> SessionEvent:
        """The one event recorded (the test fails on none or several)."""
        assert len(self.events) == 1, self.events
        return self.events[0]


def assert_no_id(event: SessionEvent, *session_ids: str | None) -> None:
    """No field of ``event`` holds a raw session ID or its store key."""
    text = repr(event)
    for session_id in session_ids:
        if session_id is not None:
            assert session_id not in text
            assert store_key(session_id) not in text


def manager(
    store: AsyncStore, clock: FakeClock, *hooks: AsyncEventHook, **policy: float
) -> AsyncManager:
    """A manager over ``store`` that tracks metadata and gives events to ``hooks``."""
    engine = Engine(policy=Policy(**policy)) if policy else Engine()
    return AsyncManager(store, engine, clock=clock, track_metadata=True, hooks=hooks)


async def stored(m: AsyncManager, *, principal: str | None = None) -> str:
    """The ID of a new session with data (and ``principal`` logged in), created with
    :data:`CREATED_ON` metadata."""
    session = await m.load([], meta=CREATED_ON)
    session["cart"] = "1"
    if principal is not None:
        session.login(principal)
    session_id = (await m.commit(session)).session_id
    assert session_id is not None
    return session_id


async def opened(m: AsyncManager, session_id: str) -> Session:
    """The session a later request presenting ``session_id`` gets."""
    return await m.load([session_id], meta=LATER)


async def one_event(
    m: AsyncManager, hook: Witness, session_id: str, change: Callable[[Session], object]
) -> tuple[SessionEvent, str | None]:
    """Open ``session_id`` in a later request, ``change`` the session and commit it: the one
    event that fired, and the ID the session has afterwards."""
    hook.events.clear()
    session = await opened(m, session_id)
    change(session)
    new = (await m.commit(session)).session_id
    return hook.only(), new


def assert_rotated(event: SessionEvent, reason: str, old: str, new: str | None) -> None:
    """``event`` says ``old`` was rotated to ``new`` for ``reason``, naming neither ID."""
    assert (event.kind, event.reason) == ("rotated", reason)
    assert new is not None
    assert (event.fingerprint, event.successor) == (fingerprint(old), fingerprint(new))
    assert_no_id(event, old, new)


def a_user() -> str:
    return "user-" + secrets.token_hex(4)


class AsyncLifecycleEventsContract(AsyncTakeExpiredContract):
    """Every transition, through a manager with hooks over this store: one event each.

    The store must offer ``take_expired`` (whose contract this includes) and the principal
    index, as every server store does.
    """

    @pytest.mark.anyio
    async def test_creating_a_session_fires_created(self, store: AsyncStore) -> None:
        hook, clock = Witness(), FakeClock()
        m = manager(store, clock, hook)
        session_id = await stored(m, principal="alice")
        event = hook.only()
        assert (event.kind, event.reason) == ("created", None)
        assert event.fingerprint == fingerprint(session_id)
        assert event.principal == "alice"
        assert dict(event.meta) == {"user_agent": UA, "ip": IP}
        assert event.at == clock.now
        assert_no_id(event, session_id)

    @pytest.mark.anyio
    async def test_a_read_and_a_write_fire_nothing(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        session_id = await stored(m)
        hook.events.clear()
        session = await opened(m, session_id)
        assert session["cart"] == "1"
        session["cart"] = "2"
        await m.commit(session)
        assert hook.events == []

    @pytest.mark.anyio
    async def test_a_login_fires_rotated_login(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        old = await stored(m)
        event, new = await one_event(m, hook, old, lambda session: session.login("alice"))
        assert_rotated(event, "login", old, new)
        assert event.principal == "alice"  # the new one
        assert dict(event.meta) == LATER  # a login records the request's metadata

    @pytest.mark.anyio
    async def test_a_regenerate_fires_rotated_regenerate(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        old = await stored(m, principal="alice")
        event, new = await one_event(m, hook, old, Session.regenerate)
        assert_rotated(event, "regenerate", old, new)
        assert (event.principal, dict(event.meta)) == ("alice", LATER)

    @pytest.mark.anyio
    async def test_a_periodic_rotation_fires_rotated_periodic(self, store: AsyncStore) -> None:
        hook, clock = Witness(), FakeClock()
        m = manager(store, clock, hook, rotate_every=60)
        old = await stored(m, principal="alice")
        clock.advance(61)
        event, new = await one_event(m, hook, old, lambda session: session.update(cart="2"))
        assert_rotated(event, "periodic", old, new)
        assert event.principal == "alice"

    @pytest.mark.anyio
    async def test_a_logout_fires_destroyed_logout(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        session_id = await stored(m, principal="alice")
        event, _ = await one_event(m, hook, session_id, Session.invalidate)
        assert (event.kind, event.reason, event.principal) == ("destroyed", "logout", "alice")
        assert event.fingerprint == fingerprint(session_id)
        assert dict(event.meta) == LATER
        assert_no_id(event, session_id)

    @pytest.mark.anyio
    async def test_emptying_a_session_fires_destroyed_logout(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        session_id = await stored(m)
        event, _ = await one_event(m, hook, session_id, Session.clear)
        assert (event.kind, event.reason) == ("destroyed", "logout")
        assert event.fingerprint == fingerprint(session_id)

    @pytest.mark.anyio
    async def test_delete_by_id_fires_destroyed_logout_once(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        session_id = await stored(m, principal="alice")
        hook.events.clear()
        await m.delete(session_id)
        await m.delete(session_id)  # already gone: no second event
        event = hook.only()
        assert (event.kind, event.reason, event.principal) == ("destroyed", "logout", "alice")
        assert event.fingerprint == fingerprint(session_id)
        assert_no_id(event, session_id)

    @pytest.mark.anyio
    async def test_undecodable_data_fires_destroyed_corrupt(self, store: AsyncStore) -> None:
        hook, clock = Witness(), FakeClock()
        m = manager(store, clock, hook)
        session_id = await stored(m)
        record = make_record(clock.now, store_key(session_id), fields={"x": b"not json {"})
        await store.delete(record.key)
        await store.create(record)
        hook.events.clear()
        session = await opened(m, session_id)
        assert session.is_new
        await m.commit(session)
        event = hook.only()
        assert (event.kind, event.reason, event.fingerprint) == (
            "destroyed",
            "corrupt",
            fingerprint(session_id),
        )
        assert_no_id(event, session_id)

    @pytest.mark.anyio
    async def test_an_expired_session_presented_fires_expired_load_once(
        self, store: AsyncStore
    ) -> None:
        assert isinstance(store, AsyncSupportsTakeExpired)
        hook, clock = Witness(), FakeClock()
        m = manager(store, clock, hook, idle_timeout=60)
        session_id = await stored(m, principal="alice")
        hook.events.clear()
        clock.advance(61)
        assert (await opened(m, session_id)).is_new
        assert (await opened(m, session_id)).is_new  # handed over once: no second event
        event = hook.only()
        assert (event.kind, event.reason, event.principal) == ("expired", "load", "alice")
        assert event.fingerprint == fingerprint(session_id)
        assert dict(event.meta) == {"user_agent": UA, "ip": IP}
        assert_no_id(event, session_id)

    @pytest.mark.anyio
    async def test_concurrent_requests_with_one_expired_cookie_fire_one_expired(
        self, store: AsyncStore
    ) -> None:
        assert isinstance(store, AsyncSupportsTakeExpired)
        hook, clock = Witness(), FakeClock()
        m = manager(store, clock, hook, idle_timeout=60)
        session_id = await stored(m)
        hook.events.clear()
        clock.advance(61)
        request = functools.partial(opened, m, session_id)
        sessions = await async_concurrently([request] * self.concurrency)
        assert all(s.is_new for s in sessions)
        assert [e.kind for e in hook.events] == ["expired"]

    @pytest.mark.anyio
    async def test_revoke_fires_destroyed_revoked(self, store: AsyncStore) -> None:
        assert isinstance(store, AsyncSupportsPrincipals)
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        principal = a_user()
        session_id = await stored(m, principal=principal)
        hook.events.clear()
        assert await m.revoke(principal, fingerprint(session_id))
        event = hook.only()
        assert (event.kind, event.reason, event.principal) == ("destroyed", "revoked", principal)
        assert event.fingerprint == fingerprint(session_id)
        assert_no_id(event, session_id)

    @pytest.mark.anyio
    async def test_revoke_all_fires_destroyed_revoked_all_per_session(
        self, store: AsyncStore
    ) -> None:
        assert isinstance(store, AsyncSupportsPrincipals)
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        principal = a_user()
        ids = [await stored(m, principal=principal) for _ in range(3)]
        keep = await opened(m, ids[0])
        hook.events.clear()
        assert await m.revoke_all(principal, keep=keep) == 2
        assert sorted((e.kind, e.reason, e.fingerprint) for e in hook.events) == sorted(
            ("destroyed", "revoked_all", fingerprint(i)) for i in ids[1:]
        )
        assert all(e.principal == principal for e in hook.events)

    @pytest.mark.anyio
    async def test_a_raising_hook_fails_nothing_and_stops_no_other_hook(
        self, store: AsyncStore, caplog: pytest.LogCaptureFixture
    ) -> None:
        async def broken(event: SessionEvent) -> None:
            raise RuntimeError("hook bug")

        def also_broken(event: SessionEvent) -> None:
            raise ValueError("another")

        hook = Witness()
        m = manager(store, FakeClock(), broken, also_broken, hook)
        with caplog.at_level(logging.ERROR, logger="sojourn"):
            session_id = await stored(m)
        assert await opened(m, session_id)  # stored: the commit was not failed
        assert [e.kind for e in hook.events] == ["created"]
        failures = [r.getMessage() for r in caplog.records if "session.hook_failed" in r.message]
        assert len(failures) == 2
        assert "RuntimeError" in failures[0]
        assert "broken" in failures[0]
        assert "ValueError" in failures[1]
        assert all(session_id not in f for f in failures)

    @pytest.mark.anyio
    async def test_purge_fires_expired_purge_per_session(self, store: AsyncStore) -> None:
        hook, clock = Witness(), FakeClock()
        m = manager(store, clock, hook, idle_timeout=60)
        first = await stored(m, principal="alice")
        second = await stored(m)
        rotated = await opened(m, second)
        rotated.regenerate()  # leaves a successor marker, which is no session
        third = (await m.commit(rotated)).session_id
        hook.events.clear()
        clock.advance(3600)
        if not isinstance(store, AsyncSupportsPurge):  # it expires records by itself (Redis)
            assert await m.purge() == 0
            assert hook.events == []  # no job removed anything: nothing to report
            return
        assert await m.purge() >= 2
        assert sorted((e.kind, e.reason, e.fingerprint) for e in hook.events) == sorted(
            ("expired", "purge", fingerprint(i or "")) for i in (first, third)
        )
        for event in hook.events:
            assert_no_id(event, first, second, third)

    @pytest.mark.anyio
    async def test_two_requests_logging_out_one_session_fire_one_destroyed(
        self, store: AsyncStore
    ) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        session_id = await stored(m, principal="alice")
        sessions = [await opened(m, session_id) for _ in range(self.concurrency)]
        hook.events.clear()
        for session in sessions:
            session.invalidate()
        commits = [functools.partial(m.commit, session) for session in sessions]
        await async_concurrently(commits)
        assert [(e.kind, e.reason) for e in hook.events] == [("destroyed", "logout")]
        assert hook.events[0].fingerprint == fingerprint(session_id)

    @pytest.mark.anyio
    async def test_concurrent_deletes_by_id_fire_one_destroyed(self, store: AsyncStore) -> None:
        hook = Witness()
        m = manager(store, FakeClock(), hook)
        session_id = await stored(m, principal="alice")
        hook.events.clear()
        await async_concurrently([functools.partial(m.delete, session_id)] * self.concurrency)
        assert [(e.kind, e.principal) for e in hook.events] == [("destroyed", "alice")]


__all__ = [
    "AsyncLifecycleEventsContract",
    "AsyncTakeExpiredContract",
    "Witness",
    "assert_no_id",
]
