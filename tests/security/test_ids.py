"""Session IDs are unique and meaningless (SEC-02, SEC-03).

SEC-02: a new ID is created with must-create semantics; when it collides with a live record the
manager plans again with a fresh ID (``CREATE_ATTEMPTS`` in the managers), never overwriting the
record that already holds it, and a collision that persists is a store failure.
"""

from __future__ import annotations

import base64
import contextlib
import itertools
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sojourn import (
    AsyncManager,
    AsyncMemoryStore,
    CookieSettings,
    CookieTransport,
    Engine,
    Manager,
    MemoryStore,
    StoreUnavailable,
    new_session_id,
)
from sojourn._async.manager import CREATE_ATTEMPTS
from sojourn._core.ids import store_key
from sojourn._sync.manager import CREATE_ATTEMPTS as SYNC_CREATE_ATTEMPTS
from sojourn.stores.base import Record, Store
from sojourn.testing import FakeClock
from tests.integrations.stores import CountingStore, StoreFactory, available, store_params

ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
TRANSPORT = CookieTransport(CookieSettings(name="sid", secure=False))


class ScriptedIds:
    """An ``id_factory`` that hands out the given IDs first, then fresh random ones."""

    def __init__(self, *first: str) -> None:
        self.script = list(first)
        self.handed: list[str] = []

    def __call__(self) -> str:
        issued = self.script.pop(0) if self.script else new_session_id()
        self.handed.append(issued)
        return issued


def always(session_id: str) -> Callable[[], str]:
    return lambda: session_id


@pytest.fixture(params=store_params())
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    factory: StoreFactory = available()[request.param]
    with factory(tmp_path) as opened:
        yield opened


def existing_session(store: Store, clock: FakeClock) -> str:
    """A live session holding ``{"owner": "victim"}``; its ID."""
    manager = Manager(store, Engine(transport=TRANSPORT), clock=clock)
    session = manager.open([]).session
    session["owner"] = "victim"
    session_id = manager.commit(session).session_id
    assert session_id is not None
    return session_id


def raw(store: Store, session_id: str, now: float) -> Record | None:
    return store.load(store_key(session_id), now)


@pytest.mark.sec("SEC-02")
def test_a_colliding_new_id_is_retried_with_a_fresh_one(store: Store) -> None:
    clock = FakeClock()
    taken = existing_session(store, clock)
    before = raw(store, taken, clock.now)
    ids = ScriptedIds(taken)
    counting = CountingStore(store)
    manager = Manager(counting, Engine(transport=TRANSPORT, id_factory=ids), clock=clock)
    session = manager.open([]).session
    session["owner"] = "attacker"
    outcome = manager.commit(session)
    assert ids.handed[0] == taken
    assert len(ids.handed) == 2
    assert outcome.session_id == ids.handed[1] != taken
    assert counting.calls == ["create", "create"]  # the first create reported the conflict
    assert ("set-cookie", f"sid={taken}") not in [(k, v.split(";")[0]) for k, v in outcome.headers]
    assert any(v.startswith(f"sid={outcome.session_id};") for _, v in outcome.headers)
    # the record that held the colliding ID is untouched, byte for byte
    assert raw(store, taken, clock.now) == before
    fresh = raw(store, outcome.session_id, clock.now)
    assert fresh is not None
    assert fresh.fields == {"owner": b'"attacker"'}


@pytest.mark.sec("SEC-02")
def test_a_collision_that_persists_is_a_store_failure(store: Store) -> None:
    clock = FakeClock()
    taken = existing_session(store, clock)
    before = raw(store, taken, clock.now)
    counting = CountingStore(store)
    manager = Manager(counting, Engine(transport=TRANSPORT, id_factory=always(taken)), clock=clock)
    session = manager.open([]).session
    session["owner"] = "attacker"
    with pytest.raises(StoreUnavailable):
        manager.commit(session)
    assert counting.calls == ["create"] * SYNC_CREATE_ATTEMPTS
    assert raw(store, taken, clock.now) == before


@pytest.mark.sec("SEC-02")
@pytest.mark.anyio
async def test_the_async_manager_retries_the_same_way() -> None:
    clock = FakeClock()
    store = AsyncMemoryStore()
    taken = existing_session(store.sync, clock)
    before = raw(store.sync, taken, clock.now)
    ids = ScriptedIds(taken)
    manager = AsyncManager(store, Engine(transport=TRANSPORT, id_factory=ids), clock=clock)
    session = (await manager.open([])).session
    session["owner"] = "attacker"
    outcome = await manager.commit(session)
    assert outcome.session_id == ids.handed[1] != taken
    assert raw(store.sync, taken, clock.now) == before

    stuck = AsyncManager(store, Engine(transport=TRANSPORT, id_factory=always(taken)), clock=clock)
    session = (await stuck.open([])).session
    session["owner"] = "attacker"
    with pytest.raises(StoreUnavailable):
        await stuck.commit(session)
    assert raw(store.sync, taken, clock.now) == before
    assert CREATE_ATTEMPTS == SYNC_CREATE_ATTEMPTS >= 2


# -- SEC-03 ---------------------------------------------------------------------------------


def _login_ids(principal: str, count: int) -> list[str]:
    """The IDs of ``count`` consecutive logins of one principal, with time frozen."""
    manager = Manager(MemoryStore(), Engine(transport=TRANSPORT), clock=FakeClock(1_700_000_000.0))
    ids = []
    for _ in range(count):
        session = manager.open([]).session
        session.login(principal)
        session_id = manager.commit(session).session_id
        assert session_id is not None
        ids.append(session_id)
    return ids


def _forms(text: str) -> list[str]:
    """``text`` as it might be embedded: plain, hex, base64 (both alphabets, any offset)."""
    data = text.encode()
    forms = [text, text.lower(), data.hex(), data.hex().upper()]
    for shift in range(3):  # base64 of the value at each alignment, minus the edge characters
        encoded = base64.urlsafe_b64encode(b"\0" * shift + data).decode().rstrip("=")
        forms.append(encoded[(shift * 4 + 2) // 3 + 1 : -2])
    return [f for f in forms if len(f) >= 4]


def _bits(session_id: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(session_id + "="), "big")


@pytest.mark.sec("SEC-03")
def test_ids_of_one_user_with_time_frozen_share_nothing() -> None:
    principal = "alice.smith@example.com"
    ids = _login_ids(principal, 40)
    assert len(set(ids)) == len(ids)
    assert all(len(i) == 43 and set(i) <= set(ALPHABET) for i in ids)
    for session_id in ids:
        for form in _forms(principal) + _forms("alice"):
            assert form not in session_id
    # consecutive IDs are unrelated: about half their 256 bits differ, no shared prefix
    for a, b in itertools.pairwise(ids):
        assert 80 <= (_bits(a) ^ _bits(b)).bit_count() <= 176
        assert a[:6] != b[:6]


@pytest.mark.sec("SEC-03")
def test_ids_embed_no_timestamp_or_counter() -> None:
    now = 1_700_000_000
    ids = _login_ids("bob", 200)
    stamps = set()
    for value in (now, now * 1000, now * 1_000_000):
        for fmt in (">I", "<I", ">Q", "<Q"):
            with contextlib.suppress(struct.error):
                stamps.add(struct.pack(fmt, value))
    for session_id in ids:
        decoded = base64.urlsafe_b64decode(session_id + "=")
        assert len(decoded) == 32
        assert not any(stamp in decoded for stamp in stamps)
        assert str(now) not in session_id
    # no counter: no byte position is constant, or steps by one, across consecutive IDs
    columns = list(zip(*(base64.urlsafe_b64decode(i + "=") for i in ids), strict=True))
    for column in columns:
        assert len(set(column)) > 50
        steps = {(b - a) % 256 for a, b in itertools.pairwise(column)}
        assert len(steps) > 50
