"""SEC-63: twenty concurrent logins of one user, on several app servers, leave exactly the cap.

Each login goes through a manager, as a request's would: half from an anonymous session (a
login form's; the login rotates it, then records the principal), half from no session at all
(created already logged in). The managers stand for app servers, each on its own store object
over the same data; the logins run at once (asyncio tasks for the async managers, threads for
the sync ones). Afterwards the user's sessions are counted twice, through the principal index
and by a walk of the whole store, and every login's outcome is checked against the policy:
under ``evict_oldest`` every login lands and each session pushed out fires one ``destroyed``
event with reason ``evicted``; under ``refuse`` exactly the cap's worth land and the others
raise ``TooManySessions`` and leave their session as it was.
"""

from __future__ import annotations

import asyncio
import secrets
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from sojourn import AsyncManager, Engine, Manager, TooManySessions
from sojourn._core.events import DESTROYED, EVICTED, SessionEvent
from sojourn._core.ids import fingerprint_of_key, store_key
from sojourn.stores.base import (
    AsyncStore,
    AsyncSupportsPrincipals,
    AsyncSupportsScan,
    Store,
    SupportsPrincipals,
    SupportsScan,
)
from sojourn.testing import FakeClock
from tests.races.fleets import ASYNC_FLEETS, SERVERS, SYNC_FLEETS, warm, warm_sync

LOGINS = 20
CAP = 3

pytestmark = pytest.mark.sec("SEC-63")


def _engine(on_cap: str) -> Engine:
    return Engine(max_sessions_per_user=CAP, on_cap=on_cap)


def _user() -> str:
    return "user-" + secrets.token_hex(4)


def _evictions(events: list[SessionEvent], user: str) -> list[str]:
    """The fingerprints of the sessions ``destroyed`` as ``evicted``, checked as they go."""
    evicted = [e for e in events if e.kind == DESTROYED and e.reason == EVICTED]
    assert all(e.principal == user for e in evicted)
    return [e.fingerprint for e in evicted]


async def _async_scanned(store: AsyncStore, user: str, now: float) -> tuple[set[str], int]:
    """The user's session keys by a walk of the whole store, and how many records it holds."""
    assert isinstance(store, AsyncSupportsScan)
    keys: set[str] = set()
    total = 0
    cursor: str | None = None
    while True:
        page, cursor = await store.scan(now, cursor, 200)
        total += sum(1 for r in page if r.fields or r.principal)  # not rotation markers
        keys.update(r.key for r in page if r.principal == user)
        if cursor is None:
            return keys, total


def _scanned(store: Store, user: str, now: float) -> tuple[set[str], int]:
    assert isinstance(store, SupportsScan)
    keys: set[str] = set()
    total = 0
    cursor: str | None = None
    while True:
        page, cursor = store.scan(now, cursor, 200)
        total += sum(1 for r in page if r.fields or r.principal)
        keys.update(r.key for r in page if r.principal == user)
        if cursor is None:
            return keys, total


def _check(
    results: list[tuple[str, str | None]],
    forms: list[str | None],
    indexed: set[str],
    scanned: set[str],
    total: int,
    evictions: list[str],
    on_cap: str,
) -> Counter[str]:
    """What went wrong, by kind (an empty counter: nothing)."""
    problems: Counter[str] = Counter()
    admitted = {store_key(sid) for outcome, sid in results if outcome == "admitted" and sid}
    refused = [i for i, (outcome, _) in enumerate(results) if outcome == "refused"]
    problems["other outcome"] += sum(1 for o, _ in results if o not in ("admitted", "refused"))
    if len(indexed) != CAP:
        problems[f"{len(indexed)} sessions in the index"] += 1
    if scanned != indexed:
        problems["the index and the walk disagree"] += 1
    if not indexed <= admitted:
        problems["a live session no login was told about"] += 1
    anonymous_left = sum(1 for i in refused if forms[i] is not None)
    if total != CAP + anonymous_left:
        problems[f"{total} records in the store"] += 1
    if on_cap == "evict_oldest":
        problems["refused under evict_oldest"] += len(refused)
        if len(evictions) != LOGINS - CAP:
            problems[f"{len(evictions)} evicted events"] += 1
        if len(set(evictions)) != len(evictions):
            problems["a session evicted twice"] += 1
        if set(evictions) != {fingerprint_of_key(key) for key in admitted - indexed}:
            problems["the evicted events are not the sessions that ended"] += 1
    else:
        if len(refused) != LOGINS - CAP:
            problems[f"{len(refused)} refused"] += 1
        if evictions:
            problems["evicted under refuse"] += 1
        if admitted != indexed:
            problems["an admitted login is not live"] += 1
    return problems


@pytest.mark.server
@pytest.mark.anyio
@pytest.mark.parametrize("on_cap", ["evict_oldest", "refuse"])
@pytest.mark.parametrize("name", list(ASYNC_FLEETS))
async def test_concurrent_async_logins_leave_exactly_the_cap(
    name: str, on_cap: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    user = _user()
    events: list[SessionEvent] = []
    async with ASYNC_FLEETS[name](tmp_path) as stores:
        managers = [
            AsyncManager(store, _engine(on_cap), clock=clock, hooks=[events.append])
            for store in stores
        ]
        await warm(stores, LOGINS)
        forms: list[str | None] = []
        for i in range(LOGINS):  # even logins come from a login form's anonymous session
            if i % 2:
                forms.append(None)
                continue
            form = await managers[0].load([])
            form["form"] = i
            forms.append((await managers[0].commit(form)).session_id)

        async def login(i: int) -> tuple[str, str | None]:
            manager = managers[i % SERVERS]
            presented = forms[i]
            session = await manager.load([presented] if presented else [])
            session["n"] = i
            session.login(user)
            try:
                outcome = await manager.commit(session)
            except TooManySessions:
                return "refused", None
            return "admitted", outcome.session_id

        results = list(await asyncio.gather(*(login(i) for i in range(LOGINS))))
        index = stores[1]
        assert isinstance(index, AsyncSupportsPrincipals)
        indexed = {r.key for r in await index.sessions_of(user, clock())}
        scanned, total = await _async_scanned(stores[2], user, clock())
        problems = _check(results, forms, indexed, scanned, total, _evictions(events, user), on_cap)
        for i, (outcome, _) in enumerate(results):
            presented = forms[i]
            if outcome == "refused" and presented is not None:  # the form's session, as it was
                kept = await managers[0].load([presented])
                problems["a refused login changed its session"] += (
                    dict(kept) != {"form": i} or kept.principal is not None
                )
    assert +problems == Counter()


@pytest.mark.server
@pytest.mark.parametrize("on_cap", ["evict_oldest", "refuse"])
@pytest.mark.parametrize("name", list(SYNC_FLEETS))
def test_concurrent_sync_logins_leave_exactly_the_cap(
    name: str, on_cap: str, tmp_path: Path
) -> None:
    clock = FakeClock()
    user = _user()
    events: list[SessionEvent] = []
    with SYNC_FLEETS[name](tmp_path) as stores:
        managers = [
            Manager(store, _engine(on_cap), clock=clock, hooks=[events.append]) for store in stores
        ]
        warm_sync(stores, LOGINS)
        forms: list[str | None] = []
        for i in range(LOGINS):
            if i % 2:
                forms.append(None)
                continue
            form = managers[0].load([])
            form["form"] = i
            forms.append(managers[0].commit(form).session_id)

        def login(i: int) -> tuple[str, str | None]:
            manager = managers[i % SERVERS]
            presented = forms[i]
            session = manager.load([presented] if presented else [])
            session["n"] = i
            session.login(user)
            try:
                outcome = manager.commit(session)
            except TooManySessions:
                return "refused", None
            return "admitted", outcome.session_id

        with ThreadPoolExecutor(max_workers=LOGINS) as pool:
            results = list(pool.map(login, range(LOGINS)))
        index = stores[1]
        assert isinstance(index, SupportsPrincipals)
        indexed = {r.key for r in index.sessions_of(user, clock())}
        scanned, total = _scanned(stores[2], user, clock())
        problems = _check(results, forms, indexed, scanned, total, _evictions(events, user), on_cap)
        for i, (outcome, _) in enumerate(results):
            presented = forms[i]
            if outcome == "refused" and presented is not None:
                kept = managers[0].load([presented])
                problems["a refused login changed its session"] += (
                    dict(kept) != {"form": i} or kept.principal is not None
                )
    assert +problems == Counter()
