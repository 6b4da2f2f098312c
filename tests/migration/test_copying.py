"""copy_sessions and verify_copy on the memory and SQLite stores: every live session copied
with its deadlines, principal (so the index) and metadata; a rerun copies nothing new; a walk
resumes from its cursor; the sample check finds what is missing, different or stale."""

from __future__ import annotations

import random
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from sojourn import ConfigurationError, MemoryStore
from sojourn._core.ids import marker_key
from sojourn.stores.base import AsyncStore, AsyncSupportsPrincipals, Changes, Record
from sojourn.stores.memory import AsyncMemoryStore
from sojourn.stores.migrating import (
    CopyResult,
    async_copy_sessions,
    async_verify_copy,
    copy_sessions,
    is_marker,
    verify_copy,
)
from sojourn.stores.sqlite import AsyncSQLiteStore
from sojourn.stores.threaded import ThreadedStore
from sojourn.testing._async.contract import make_record, new_key
from tests.stores.test_threaded import CoreOnly

pytestmark = pytest.mark.anyio


@pytest.fixture
def now() -> float:
    return time.time()


@pytest.fixture(params=["memory", "sqlite"])
async def stores(
    request: pytest.FixtureRequest, tmp_path: Path
) -> AsyncIterator[tuple[AsyncStore, AsyncStore]]:
    if request.param == "memory":
        source: AsyncStore = AsyncMemoryStore()
        target: AsyncStore = AsyncMemoryStore()
    else:
        source, target = AsyncSQLiteStore(tmp_path / "a.db"), AsyncSQLiteStore(tmp_path / "b.db")
    yield source, target
    await source.aclose()
    await target.aclose()


def marker(now: float) -> Record:
    meta = {"rotation": "login", "successor": new_key()}
    return Record(marker_key(new_key()), {}, None, now, now, now + 30, None, meta)


async def fill(store: AsyncStore, now: float, n: int) -> list[Record]:
    records = [
        make_record(now + i / 1000, principal=f"u{i % 3}", meta={"ip": f"10.0.0.{i}"})
        for i in range(n)
    ]
    for record in records:
        await store.create(record)
    return records


async def test_every_live_session_is_copied_as_it_is(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    records = await fill(source, now, 12)
    await source.create(make_record(now - 10, idle=5))  # expired: not copied
    result = await async_copy_sessions(source, target, batch=5)
    assert (result.copied, result.present, result.vanished, result.cursor) == (12, 0, 0, None)
    for record in records:
        copy = await target.load(record.key, now)
        assert copy is not None
        assert dict(copy.fields) == dict(record.fields)
        assert (copy.principal, dict(copy.meta)) == (record.principal, dict(record.meta))
        assert copy.created_at == pytest.approx(record.created_at, abs=1e-6)
        assert copy.renewed_at == pytest.approx(record.renewed_at, abs=1e-6)
        assert copy.expires_at == pytest.approx(record.expires_at, abs=1e-6)
        assert copy.authenticated_at == pytest.approx(record.authenticated_at, abs=1e-6)
    assert isinstance(target, AsyncSupportsPrincipals)
    assert len(await target.sessions_of("u0", now)) == 4  # the index came along


async def test_a_second_run_copies_nothing_new(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    await fill(source, now, 7)
    await async_copy_sessions(source, target)
    again = await async_copy_sessions(source, target, batch=3)
    assert (again.copied, again.present) == (0, 7)


async def test_a_session_already_in_the_target_is_left_as_it_is(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    [record] = await fill(source, now, 1)
    await target.create(record)
    assert await target.apply(record.key, Changes(now + 1, now + 900, set={"new": b"1"}))
    result = await async_copy_sessions(source, target)
    assert result.present == 1
    kept = await target.load(record.key, now + 1)
    assert kept is not None
    assert kept.fields["new"] == b"1"


async def test_a_walk_resumes_from_the_cursor_it_reported(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    records = await fill(source, now, 10)
    reported: list[CopyResult] = []
    first = await async_copy_sessions(
        source, target, batch=3, max_pages=2, progress=reported.append
    )
    assert first.copied == 6
    assert first.cursor is not None
    assert [r.cursor for r in reported] == [reported[0].cursor, first.cursor]
    rest = await async_copy_sessions(source, target, batch=3, cursor=first.cursor)
    assert (rest.copied, rest.present, rest.cursor) == (4, 0, None)
    for record in records:
        assert await target.load(record.key, now) is not None


async def test_rotation_markers_are_skipped(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    mark = marker(now)
    assert is_marker(mark)
    assert not is_marker(make_record(now, fields={}))
    await source.create(mark)
    await fill(source, now, 2)
    result = await async_copy_sessions(source, target)
    assert (result.copied, result.markers) == (2, 1)
    assert await target.load(mark.key, now) is None


async def test_a_dry_run_writes_nothing(stores: tuple[AsyncStore, AsyncStore], now: float) -> None:
    source, target = stores
    records = await fill(source, now, 5)
    await target.create(records[0])
    result = await async_copy_sessions(source, target, dry_run=True)
    assert (result.copied, result.present, result.dry_run) == (4, 1, True)
    assert await target.load(records[1].key, now) is None


async def test_a_source_that_cannot_walk_is_refused_by_name() -> None:
    with pytest.raises(TypeError, match=r"source store .* cannot walk"):
        await async_copy_sessions(ThreadedStore(CoreOnly()), AsyncMemoryStore())
    with pytest.raises(ConfigurationError):
        await async_copy_sessions(AsyncMemoryStore(), AsyncMemoryStore(), batch=0)


async def test_verify_passes_an_exact_copy(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    await fill(source, now, 9)
    await source.create(marker(now))
    await async_copy_sessions(source, target)
    result = await async_verify_copy(source, target, sample=5, randbelow=random.Random(1).randrange)
    assert result.ok, result
    assert (result.source_count, result.target_count, result.sampled) == (9, 9, 5)


async def test_verify_finds_a_missing_session(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    records = await fill(source, now, 4)
    await async_copy_sessions(source, target)
    await target.delete(records[2].key)
    result = await async_verify_copy(source, target, sample=10)
    assert not result.ok
    assert [m.problem for m in result.mismatches] == ["missing"]
    assert result.target_count == 3


async def test_verify_finds_a_copy_that_differs(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    [record] = await fill(source, now, 1)
    forged = Record(
        record.key, {"a": b"2"}, "mallory", record.created_at, record.renewed_at,
        record.expires_at, record.authenticated_at, record.meta,
    )  # fmt: skip
    await target.create(forged)
    result = await async_verify_copy(source, target)
    assert [(m.problem, m.attributes) for m in result.mismatches] == [
        ("differs", ("fields", "principal"))
    ]


async def test_verify_tells_a_session_used_on_the_target_from_a_stale_one(
    stores: tuple[AsyncStore, AsyncStore], now: float
) -> None:
    source, target = stores
    used, written_to_source = await fill(source, now, 2)
    await async_copy_sessions(source, target)
    assert await target.apply(used.key, Changes(now + 5, now + 900, set={"x": b"1"}))
    assert await source.apply(written_to_source.key, Changes(now + 5, now + 900))
    result = await async_verify_copy(source, target, sample=2)
    assert result.touched == 1
    assert [m.problem for m in result.mismatches] == ["stale"]


def test_the_sync_twins_copy_and_verify() -> None:
    now = time.time()
    source, target = MemoryStore(), MemoryStore()
    for _ in range(3):
        source.create(make_record(now, principal="ed"))
    assert copy_sessions(source, target).copied == 3
    assert copy_sessions(source, target).copied == 0
    assert verify_copy(source, target).ok
