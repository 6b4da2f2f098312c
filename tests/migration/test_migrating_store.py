"""MigratingStore's own rules: sessions that live only in the old store (made before the
cut-over) are served, moved on first touch, and never brought back once ended or rotated."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sojourn.stores.base import (
    AsyncStore,
    AsyncSupportsCount,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsScan,
    Changes,
    Login,
    Renewal,
)
from sojourn.stores.memory import AsyncMemoryStore
from sojourn.stores.migrating import AsyncMigratingStore, MigratingStore
from sojourn.stores.sqlite import AsyncSQLiteStore
from sojourn.stores.threaded import ThreadedStore
from sojourn.testing._async.contract import make_record
from tests.stores.test_threaded import CoreOnly

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["memory", "sqlite"])
async def pair(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[AsyncMigratingStore]:
    if request.param == "memory":
        store = AsyncMigratingStore(AsyncMemoryStore(), AsyncMemoryStore())
    else:
        store = AsyncMigratingStore(
            AsyncSQLiteStore(tmp_path / "new.db"), AsyncSQLiteStore(tmp_path / "old.db")
        )
    yield store
    await store.aclose()


async def test_a_session_only_in_the_old_store_is_served_and_moved(
    pair: AsyncMigratingStore, now: float
) -> None:
    record = make_record(now, principal="ann", meta={"ip": "10.0.0.1"})
    await pair.old.create(record)
    found = await pair.load(record.key, now)
    assert found is not None
    assert dict(found.fields) == dict(record.fields)
    moved = await pair.new.load(record.key, now)
    assert moved is not None
    assert (moved.principal, moved.created_at, moved.expires_at, dict(moved.meta)) == (
        "ann",
        record.created_at,
        record.expires_at,
        {"ip": "10.0.0.1"},
    )


async def test_the_renewal_of_a_moved_session_happens_on_the_new_store(
    pair: AsyncMigratingStore, now: float
) -> None:
    record = make_record(now, idle=600)
    await pair.old.create(record)
    later = now + 300
    renewal = Renewal(later, idle_timeout=600, lifetime=3600, interval=60)
    found = await pair.load(record.key, later, renewal)
    assert found is not None
    assert found.expires_at == pytest.approx(later + 600)
    on_new = await pair.new.load(record.key, later)
    on_old = await pair.old.load(record.key, later)
    assert on_new is not None
    assert on_new.expires_at == pytest.approx(later + 600)
    assert on_old is not None
    assert on_old.expires_at == pytest.approx(record.expires_at)


async def test_a_miss_in_both_creates_nothing(pair: AsyncMigratingStore, now: float) -> None:
    record = make_record(now)
    assert await pair.load(record.key, now) is None
    assert await pair.new.load(record.key, now) is None


async def test_an_expired_old_session_is_not_moved(pair: AsyncMigratingStore, now: float) -> None:
    record = make_record(now, idle=5)
    await pair.old.create(record)
    assert await pair.load(record.key, now + 5) is None
    assert await pair.new.load(record.key, now) is None


async def test_apply_moves_an_old_session_then_writes_on_the_new_store(
    pair: AsyncMigratingStore, now: float
) -> None:
    record = make_record(now)
    await pair.old.create(record)
    assert await pair.apply(record.key, Changes(now + 1, now + 600, set={"c": b"3"}))
    on_new = await pair.new.load(record.key, now + 1)
    on_old = await pair.old.load(record.key, now + 1)
    assert on_new is not None
    assert on_new.fields["c"] == b"3"
    assert on_old is not None
    assert "c" not in on_old.fields


async def test_apply_to_a_session_in_neither_store_is_gone(
    pair: AsyncMigratingStore, now: float
) -> None:
    assert not await pair.apply(make_record(now).key, Changes(now, now + 600))


async def test_rename_of_an_old_session_leaves_the_previous_key_nowhere(
    pair: AsyncMigratingStore, now: float
) -> None:
    record, successor = make_record(now), make_record(now)
    await pair.old.create(record)
    assert await pair.rename(record.key, successor.key, now)
    assert await pair.load(record.key, now) is None
    assert await pair.old.load(record.key, now) is None
    found = await pair.load(successor.key, now)
    assert found is not None
    assert dict(found.fields) == dict(record.fields)


async def test_a_rotated_session_never_comes_back_from_its_stale_old_copy(
    pair: AsyncMigratingStore, now: float
) -> None:
    record, successor = make_record(now), make_record(now)
    await pair.old.create(record)
    assert await pair.load(record.key, now) is not None  # moved: old keeps a stale copy
    assert await pair.rename(record.key, successor.key, now)
    assert await pair.load(record.key, now) is None
    assert not await pair.apply(record.key, Changes(now, now + 600, set={"x": b"1"}))


async def test_delete_reaches_both_stores(pair: AsyncMigratingStore, now: float) -> None:
    record = make_record(now)
    await pair.old.create(record)
    await pair.load(record.key, now)
    await pair.delete(record.key)
    assert await pair.new.load(record.key, now) is None
    assert await pair.old.load(record.key, now) is None
    assert await pair.load(record.key, now) is None


async def test_create_writes_to_the_new_store_only(pair: AsyncMigratingStore, now: float) -> None:
    record = make_record(now)
    await pair.create(record)
    assert await pair.new.load(record.key, now) is not None
    assert await pair.old.load(record.key, now) is None


async def test_the_index_merges_both_stores_and_counts_each_session_once(
    pair: AsyncMigratingStore, now: float
) -> None:
    assert isinstance(pair, AsyncSupportsPrincipals)
    moved, old_only, new_only = (make_record(now, principal="bo") for _ in range(3))
    await pair.old.create(moved)
    await pair.old.create(old_only)
    await pair.create(new_only)
    await pair.load(moved.key, now)  # now in both stores
    listed = [r.key for r in await pair.sessions_of("bo", now)]
    assert sorted(listed) == sorted([moved.key, old_only.key, new_only.key])
    assert await pair.delete_sessions_of("bo", keep=new_only.key) == 2
    assert [r.key for r in await pair.sessions_of("bo", now)] == [new_only.key]


async def test_a_login_on_a_moved_session_is_indexed_on_the_new_store(
    pair: AsyncMigratingStore, now: float
) -> None:
    record = make_record(now)
    await pair.old.create(record)
    assert await pair.apply(record.key, Changes(now, now + 600, login=Login("cy", now)))
    assert isinstance(pair, AsyncSupportsPrincipals)
    assert [r.key for r in await pair.sessions_of("cy", now)] == [record.key]


async def test_scan_and_count_see_each_session_once(pair: AsyncMigratingStore, now: float) -> None:
    assert isinstance(pair, AsyncSupportsScan)
    assert isinstance(pair, AsyncSupportsCount)
    olds = [make_record(now) for _ in range(4)]
    news = [make_record(now) for _ in range(3)]
    for record in olds:
        await pair.old.create(record)
    for record in news:
        await pair.create(record)
    await pair.load(olds[0].key, now)  # moved: in both
    seen: list[str] = []
    cursor: str | None = None
    while True:
        page, cursor = await pair.scan(now, cursor, 2)
        seen += [r.key for r in page]
        if cursor is None:
            break
    assert sorted(seen) == sorted(r.key for r in olds + news)
    assert await pair.count(now) == 7


def test_capabilities_are_offered_as_the_two_stores_allow() -> None:
    bare = ThreadedStore(CoreOnly())
    full = AsyncMemoryStore()
    one_sided = AsyncMigratingStore(full, bare)
    assert not isinstance(one_sided, AsyncSupportsPrincipals)
    assert not isinstance(one_sided, AsyncSupportsScan)
    assert not isinstance(one_sided, AsyncSupportsCount)
    assert isinstance(one_sided, AsyncSupportsPurge)  # the memory store can purge
    both = AsyncMigratingStore(full, AsyncMemoryStore())
    for capability in (
        AsyncSupportsPrincipals, AsyncSupportsPurge, AsyncSupportsScan, AsyncSupportsCount
    ):  # fmt: skip
        assert isinstance(both, capability)
    plain: AsyncStore = AsyncMigratingStore(bare, bare)
    assert not isinstance(plain, AsyncSupportsPurge)
    assert isinstance(plain, AsyncMigratingStore)


def test_the_sync_twin_moves_on_first_touch(now: float) -> None:
    from sojourn import MemoryStore

    store = MigratingStore(MemoryStore(), MemoryStore())
    record = make_record(now, principal="di")
    store.old.create(record)
    assert store.load(record.key, now) is not None
    assert store.new.load(record.key, now) is not None
    store.delete(record.key)
    assert store.old.load(record.key, now) is None


@pytest.fixture
def now() -> float:
    import time

    return time.time()


async def test_purge_reports_each_expired_session_once(
    pair: AsyncMigratingStore, now: float
) -> None:
    assert isinstance(pair, AsyncSupportsPurge)
    moved, old_only, renewed = (make_record(now, idle=10) for _ in range(3))
    for record in (moved, old_only, renewed):
        await pair.old.create(record)
    await pair.load(moved.key, now)  # in both stores now, with the same deadline
    await pair.load(renewed.key, now)
    assert await pair.apply(renewed.key, Changes(now + 5, now + 100))  # lives on in new
    reported: list[str] = []
    await pair.purge_expired(now + 20, on_expired=lambda r: reported.append(r.key))
    assert sorted(reported) == sorted([moved.key, old_only.key])
    assert await pair.load(renewed.key, now + 20) is not None


async def test_a_stale_old_copy_never_lists_a_session_under_a_principal_it_left(
    pair: AsyncMigratingStore, now: float
) -> None:
    assert isinstance(pair, AsyncSupportsPrincipals)
    record = make_record(now, principal="fay")
    await pair.old.create(record)
    await pair.load(record.key, now)  # moved; old keeps a copy naming "fay"
    assert await pair.apply(record.key, Changes(now + 1, now + 600, login=Login("gus", now + 1)))
    assert await pair.sessions_of("fay", now + 1) == []
    assert [r.key for r in await pair.sessions_of("gus", now + 1)] == [record.key]
    assert await pair.delete_sessions_of("fay") == 0
    assert await pair.load(record.key, now + 1) is not None  # gus's session lives on
