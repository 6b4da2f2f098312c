"""The store conformance suite: every contract of :mod:`sojourn.stores.base`, for any store.

Subclass it in a test module and implement :meth:`AsyncStoreContract.make_store`; override
:meth:`AsyncStoreContract.destroy_store` to clean up (drop a table, delete a key prefix).
Timestamps start at the real time, so stores with server-side TTLs agree with the tests.
"""

from __future__ import annotations

import functools
import hashlib
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ...stores.base import (
    AsyncStore,
    AsyncSupportsCount,
    AsyncSupportsPrincipals,
    AsyncSupportsPurge,
    AsyncSupportsScan,
    AsyncSupportsTake,
    AsyncSupportsTakeExpired,
    Changes,
    Login,
    Record,
    Renewal,
)
from .._concurrency import async_concurrently

IDLE = 600.0
LIFETIME = 3600.0


def new_key() -> str:
    """A random store key shaped like the digests the engine uses."""
    return hashlib.sha256(secrets.token_bytes(32)).hexdigest()


def make_record(
    now: float,
    key: str | None = None,
    *,
    fields: dict[str, bytes] | None = None,
    principal: str | None = None,
    idle: float = IDLE,
    meta: dict[str, str] | None = None,
) -> Record:
    """A live record created at ``now``."""
    return Record(
        key=key or new_key(),
        fields={"a": b"1", "b": b'"two"'} if fields is None else fields,
        principal=principal,
        created_at=now,
        renewed_at=now,
        expires_at=now + idle,
        authenticated_at=now if principal else None,
        meta=meta or {},
    )


class AsyncStoreFixtures:
    """The fixtures every contract class shares: subclasses implement ``make_store``."""

    concurrency = 20

    async def make_store(self) -> AsyncStore:
        """Return a fresh, isolated store (its own key prefix, table or schema)."""
        raise NotImplementedError

    async def destroy_store(self, store: AsyncStore) -> None:
        """Clean up after one test; closes the store by default."""
        await store.aclose()

    @pytest.fixture
    async def store(self) -> AsyncIterator[AsyncStore]:
        store = await self.make_store()
        try:
            yield store
        finally:
            await self.destroy_store(store)

    @pytest.fixture
    def now(self) -> float:
        return time.time()


def own_timing(idle: float, lifetime: float) -> dict[str, str]:
    """Metadata carrying a session's own timeouts (see :mod:`sojourn._core.timing`), beside a
    tracked user agent."""
    return {"user_agent": "Firefox", "sojourn:idle": repr(idle), "sojourn:lifetime": repr(lifetime)}


class AsyncStoreContract(AsyncStoreFixtures):
    """Every contract a store keeps, as tests. Subclass and implement ``make_store``.

    Optional capabilities have their own contracts, mixed in by stores that offer them:
    :class:`AsyncPrincipalIndexContract`, :class:`AsyncPurgeContract`,
    :class:`AsyncCountContract` and :class:`AsyncScanContract`. A store that offers a
    capability must run its contract.
    """

    @pytest.mark.anyio
    async def test_every_capability_offered_is_tested(self, store: AsyncStore) -> None:
        for capability, contract in [
            (AsyncSupportsPrincipals, AsyncPrincipalIndexContract),
            (AsyncSupportsPurge, AsyncPurgeContract),
            (AsyncSupportsCount, AsyncCountContract),
            (AsyncSupportsScan, AsyncScanContract),
            (AsyncSupportsTakeExpired, _take_expired_contract()),
            (AsyncSupportsTake, _take_expired_contract()),
        ]:
            offered = isinstance(store, capability)
            tested = isinstance(self, contract)
            assert offered == tested, (
                f"{type(store).__name__} {'offers' if offered else 'lacks'} "
                f"{capability.__name__}: {'mix in' if offered else 'drop'} {contract.__name__}"
            )

    # -- load and create --------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_load_of_a_missing_key_is_none(self, store: AsyncStore, now: float) -> None:
        assert await store.load(new_key(), now) is None

    @pytest.mark.anyio
    async def test_create_then_load_round_trips_every_field(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(
            now,
            fields={"plain": b"1", "uni-\u00e9\U0001f600": '"\u00e9\U0001f600"'.encode()},
            principal="alice@example.com",
            meta={"user_agent": "Mozilla/5.0 \u00e9", "ip": "127.0.0.1"},
        )
        await store.create(record)
        loaded = await store.load(record.key, now)
        assert loaded is not None
        assert loaded.key == record.key
        assert dict(loaded.fields) == dict(record.fields)
        assert loaded.principal == record.principal
        assert loaded.created_at == pytest.approx(record.created_at, abs=0.002)
        assert loaded.renewed_at == pytest.approx(record.renewed_at, abs=0.002)
        assert loaded.expires_at == pytest.approx(record.expires_at, abs=0.002)
        assert loaded.authenticated_at == pytest.approx(record.authenticated_at, abs=0.002)
        assert dict(loaded.meta) == dict(record.meta)

    @pytest.mark.anyio
    async def test_a_record_with_no_fields_and_no_principal_round_trips(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, fields={})
        await store.create(record)
        loaded = await store.load(record.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == {}
        assert loaded.principal is None
        assert loaded.authenticated_at is None

    @pytest.mark.anyio
    async def test_create_on_a_live_key_raises_and_keeps_the_record(
        self, store: AsyncStore, now: float
    ) -> None:
        from ..._core.errors import SessionExists

        record = make_record(now)
        await store.create(record)
        with pytest.raises(SessionExists):
            await store.create(make_record(now, record.key, fields={"x": b"9"}))
        loaded = await store.load(record.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == dict(record.fields)

    @pytest.mark.anyio
    async def test_hostile_keys_are_just_missing(self, store: AsyncStore, now: float) -> None:
        for key in ["' OR '1'='1", "x'; DROP TABLE sessions;--", "*", "a b\r\nset x", ""]:
            assert await store.load(key, now) is None
        record = make_record(now)
        await store.create(record)
        assert await store.load(record.key, now) is not None

    # -- expiry -----------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_expired_records_are_never_returned(self, store: AsyncStore, now: float) -> None:
        record = make_record(now, idle=5)
        await store.create(record)
        assert await store.load(record.key, now + 4.9) is not None
        assert await store.load(record.key, now + 5) is None
        assert await store.load(record.key, now + 50) is None

    @pytest.mark.anyio
    async def test_load_renews_when_due(self, store: AsyncStore, now: float) -> None:
        record = make_record(now, idle=100)
        await store.create(record)
        renewal = Renewal(now=now + 30, idle_timeout=100, lifetime=LIFETIME, interval=10)
        loaded = await store.load(record.key, now + 30, renewal)
        assert loaded is not None
        assert loaded.renewed_at == pytest.approx(now + 30, abs=0.002)
        assert loaded.expires_at == pytest.approx(now + 130, abs=0.002)
        again = await store.load(record.key, now + 30)
        assert again is not None
        assert again.expires_at == pytest.approx(now + 130, abs=0.002)
        assert dict(again.fields) == dict(record.fields)

    @pytest.mark.anyio
    async def test_load_does_not_renew_within_the_interval(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=100)
        await store.create(record)
        renewal = Renewal(now=now + 5, idle_timeout=100, lifetime=LIFETIME, interval=10)
        loaded = await store.load(record.key, now + 5, renewal)
        assert loaded is not None
        assert loaded.renewed_at == pytest.approx(now, abs=0.002)
        assert loaded.expires_at == pytest.approx(now + 100, abs=0.002)

    @pytest.mark.anyio
    async def test_renewal_never_passes_the_absolute_lifetime(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=100)
        await store.create(record)
        renewal = Renewal(now=now + 50, idle_timeout=100, lifetime=120, interval=0)
        loaded = await store.load(record.key, now + 50, renewal)
        assert loaded is not None
        assert loaded.expires_at == pytest.approx(now + 120, abs=0.002)
        assert await store.load(record.key, now + 120) is None

    @pytest.mark.anyio
    async def test_load_does_not_renew_an_expired_record(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=5)
        await store.create(record)
        renewal = Renewal(now=now + 6, idle_timeout=100, lifetime=LIFETIME, interval=0)
        assert await store.load(record.key, now + 6, renewal) is None
        assert await store.load(record.key, now + 6) is None

    # -- a session's own timeouts (remember-me, set_timeouts) --------------------------------

    @pytest.mark.anyio
    async def test_renewal_follows_the_records_own_idle_timeout(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=20, meta=own_timing(20, LIFETIME))
        await store.create(record)
        renewal = Renewal(now=now + 15, idle_timeout=100, lifetime=LIFETIME, interval=0)
        loaded = await store.load(record.key, now + 15, renewal)
        assert loaded is not None
        assert loaded.expires_at == pytest.approx(now + 35, abs=0.002)  # not now + 115
        assert loaded.meta["user_agent"] == "Firefox"
        assert await store.load(record.key, now + 35) is None

    @pytest.mark.anyio
    async def test_renewal_never_passes_the_records_own_lifetime(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=60, meta=own_timing(100, 60))
        await store.create(record)
        renewal = Renewal(now=now + 30, idle_timeout=100, lifetime=LIFETIME, interval=0)
        loaded = await store.load(record.key, now + 30, renewal)
        assert loaded is not None
        assert loaded.expires_at == pytest.approx(now + 60, abs=0.002)
        assert await store.load(record.key, now + 60) is None

    @pytest.mark.anyio
    async def test_renewal_lets_a_record_live_to_its_own_longer_lifetime(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=100, meta=own_timing(100, 7200))
        await store.create(record)
        # The renewal's own lifetime (50 s) is over; the record's (two hours) is not.
        renewal = Renewal(now=now + 60, idle_timeout=100, lifetime=50, interval=0)
        loaded = await store.load(record.key, now + 60, renewal)
        assert loaded is not None
        assert loaded.renewed_at == pytest.approx(now + 60, abs=0.002)
        assert loaded.expires_at == pytest.approx(now + 160, abs=0.002)
        again = await store.load(record.key, now + 150)
        assert again is not None
        assert again.expires_at == pytest.approx(now + 160, abs=0.002)

    @pytest.mark.anyio
    async def test_a_record_without_own_timeouts_renews_by_the_renewal(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=20, meta={"user_agent": "Firefox", "sojourn:remember": "1"})
        await store.create(record)
        renewal = Renewal(now=now + 15, idle_timeout=100, lifetime=LIFETIME, interval=0)
        loaded = await store.load(record.key, now + 15, renewal)
        assert loaded is not None
        assert loaded.expires_at == pytest.approx(now + 115, abs=0.002)

    # -- apply --------------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_apply_sets_and_removes_only_the_named_keys(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, fields={"a": b"1", "b": b"2", "c": b"3"})
        await store.create(record)
        changes = Changes(
            now=now + 1,
            expires_at=now + 1 + IDLE,
            set={"a": b"10", "d": b"4"},
            remove=frozenset({"b", "zz"}),
        )
        assert await store.apply(record.key, changes) is True
        loaded = await store.load(record.key, now + 1)
        assert loaded is not None
        assert dict(loaded.fields) == {"a": b"10", "c": b"3", "d": b"4"}
        assert loaded.renewed_at == pytest.approx(now + 1, abs=0.002)
        assert loaded.expires_at == pytest.approx(now + 1 + IDLE, abs=0.002)
        assert loaded.principal is None

    @pytest.mark.anyio
    async def test_apply_with_login_sets_principal_and_resets_times(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now)
        await store.create(record)
        at = now + 10
        changes = Changes(
            now=at, expires_at=at + IDLE, login=Login("bob", at), meta={"ip": "10.0.0.1"}
        )
        assert await store.apply(record.key, changes) is True
        loaded = await store.load(record.key, at)
        assert loaded is not None
        assert loaded.principal == "bob"
        assert loaded.authenticated_at == pytest.approx(at, abs=0.002)
        assert loaded.created_at == pytest.approx(at, abs=0.002)
        assert dict(loaded.meta) == {"ip": "10.0.0.1"}
        assert dict(loaded.fields) == dict(record.fields)

    @pytest.mark.anyio
    async def test_apply_to_a_missing_key_creates_nothing(
        self, store: AsyncStore, now: float
    ) -> None:
        key = new_key()
        changes = Changes(now=now, expires_at=now + IDLE, set={"a": b"1"})
        assert await store.apply(key, changes) is False
        assert await store.load(key, now) is None

    @pytest.mark.anyio
    async def test_apply_after_delete_does_not_resurrect(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now)
        await store.create(record)
        await store.delete(record.key)
        changes = Changes(now=now, expires_at=now + IDLE, set={"a": b"2"})
        assert await store.apply(record.key, changes) is False
        assert await store.load(record.key, now) is None

    @pytest.mark.anyio
    async def test_apply_after_expiry_does_not_resurrect(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, idle=5)
        await store.create(record)
        changes = Changes(now=now + 6, expires_at=now + 6 + IDLE, set={"a": b"2"})
        assert await store.apply(record.key, changes) is False
        assert await store.load(record.key, now + 6) is None

    # -- rename and delete ---------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_rename_moves_the_record_and_leaves_nothing_behind(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, principal="carol")
        await store.create(record)
        new = new_key()
        assert await store.rename(record.key, new, now) is True
        assert await store.load(record.key, now) is None
        moved = await store.load(new, now)
        assert moved is not None
        assert dict(moved.fields) == dict(record.fields)
        assert moved.principal == "carol"
        old_changes = Changes(now=now, expires_at=now + IDLE, set={"a": b"5"})
        assert await store.apply(record.key, old_changes) is False
        assert await store.load(record.key, now) is None

    @pytest.mark.anyio
    async def test_rename_of_a_missing_key_writes_nothing(
        self, store: AsyncStore, now: float
    ) -> None:
        old, new = new_key(), new_key()
        assert await store.rename(old, new, now) is False
        assert await store.load(new, now) is None

    @pytest.mark.anyio
    async def test_delete_is_idempotent(self, store: AsyncStore, now: float) -> None:
        record = make_record(now)
        await store.create(record)
        await store.delete(record.key)
        await store.delete(record.key)
        await store.delete(new_key())
        assert await store.load(record.key, now) is None

    # -- concurrency ---------------------------------------------------------------------------

    @pytest.mark.anyio
    async def test_concurrent_appliers_on_distinct_keys_all_survive(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, fields={})
        await store.create(record)
        writes = [
            functools.partial(
                store.apply,
                record.key,
                Changes(now=now, expires_at=now + IDLE, set={f"k{i}": str(i).encode()}),
            )
            for i in range(self.concurrency)
        ]
        assert await async_concurrently(writes) == [True] * self.concurrency
        loaded = await store.load(record.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == {f"k{i}": str(i).encode() for i in range(self.concurrency)}

    @pytest.mark.anyio
    async def test_a_delete_racing_applies_never_leaves_the_session_alive(
        self, store: AsyncStore, now: float
    ) -> None:
        for _ in range(5):
            record = make_record(now)
            await store.create(record)
            applies = [
                functools.partial(
                    store.apply,
                    record.key,
                    Changes(now=now, expires_at=now + IDLE, set={f"k{i}": b"1"}),
                )
                for i in range(4)
            ]
            racers: list[Callable[[], Awaitable[object]]] = [
                *applies[:2],
                functools.partial(store.delete, record.key),
                *applies[2:],
            ]
            await async_concurrently(racers)
            assert await store.load(record.key, now) is None

    @pytest.mark.anyio
    async def test_a_rename_racing_applies_keeps_one_live_record(
        self, store: AsyncStore, now: float
    ) -> None:
        record = make_record(now, fields={})
        await store.create(record)
        new = new_key()
        operations: list[Callable[[], Awaitable[object]]] = [
            functools.partial(
                store.apply,
                record.key,
                Changes(now=now, expires_at=now + IDLE, set={f"k{i}": b"1"}),
            )
            for i in range(4)
        ]
        operations.insert(2, functools.partial(store.rename, record.key, new, now))
        await async_concurrently(operations)
        assert await store.load(record.key, now) is None
        assert await store.load(new, now) is not None


class AsyncPrincipalIndexContract(AsyncStoreFixtures):
    """The per-principal index: listing and revoking a user's sessions."""

    @pytest.mark.anyio
    async def test_sessions_of_lists_only_live_sessions_of_that_principal(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsPrincipals)
        principal = "user-" + secrets.token_hex(4)
        first = make_record(now - 2, principal=principal)
        second = make_record(now - 1, principal=principal)
        short = make_record(now - 1, principal=principal, idle=3)
        deleted = make_record(now, principal=principal)
        other = make_record(now, principal=principal + "-other")
        for record in (first, second, short, deleted, other):
            await store.create(record)
        await store.delete(deleted.key)
        listed = await store.sessions_of(principal, now + 2.5)
        assert [r.key for r in listed] == [first.key, second.key]
        assert all(r.principal == principal for r in listed)

    @pytest.mark.anyio
    async def test_sessions_of_follows_login_and_rename(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsPrincipals)
        principal = "user-" + secrets.token_hex(4)
        record = make_record(now)
        await store.create(record)
        assert await store.sessions_of(principal, now) == []
        await store.apply(
            record.key, Changes(now=now, expires_at=now + IDLE, login=Login(principal, now))
        )
        new = new_key()
        await store.rename(record.key, new, now)
        assert [r.key for r in await store.sessions_of(principal, now)] == [new]

    @pytest.mark.anyio
    async def test_delete_sessions_of_keeps_the_one_asked_for(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsPrincipals)
        principal = "user-" + secrets.token_hex(4)
        records = [make_record(now, principal=principal) for _ in range(3)]
        bystander = make_record(now, principal=principal + "-v")
        for record in [*records, bystander]:
            await store.create(record)
        assert await store.delete_sessions_of(principal, keep=records[0].key) == 2
        assert [r.key for r in await store.sessions_of(principal, now)] == [records[0].key]
        assert await store.load(records[1].key, now) is None
        assert await store.load(bystander.key, now) is not None
        assert await store.delete_sessions_of(principal) == 1
        assert await store.sessions_of(principal, now) == []


class AsyncPurgeContract(AsyncStoreFixtures):
    """Purging expired records, for stores that do not expire them by themselves."""

    @pytest.mark.anyio
    async def test_purge_removes_only_expired_records(self, store: AsyncStore, now: float) -> None:
        assert isinstance(store, AsyncSupportsPurge)
        live = make_record(now, idle=100)
        dead = [make_record(now, idle=1) for _ in range(5)]
        for record in [live, *dead]:
            await store.create(record)
        assert await store.purge_expired(now + 2, batch_size=2) == 5
        assert await store.load(live.key, now + 2) is not None
        assert await store.purge_expired(now + 2) == 0

    @pytest.mark.anyio
    async def test_purge_reports_each_removed_record_once(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsPurge)
        kept = make_record(now, idle=100, principal="kept")
        gone = [make_record(now, idle=1, principal=f"u{i}", meta={"n": str(i)}) for i in range(3)]
        for record in (kept, *gone):
            await store.create(record)
        removed: list[Record] = []  # what the lifecycle events' expired/purge are made of

        def facts(records: list[Record]) -> list[tuple[str, str | None, str | None]]:
            return sorted((r.key, r.principal, r.meta.get("n")) for r in records)

        assert await store.purge_expired(now + 2, batch_size=2, on_expired=removed.append) == 3
        assert facts(removed) == facts(gone)
        assert await store.purge_expired(now + 2, on_expired=removed.append) == 0
        assert len(removed) == 3  # a record is reported by the purge that removed it, once


class AsyncCountContract(AsyncStoreFixtures):
    """Counting live records."""

    @pytest.mark.anyio
    async def test_count_counts_live_records(self, store: AsyncStore, now: float) -> None:
        assert isinstance(store, AsyncSupportsCount)
        before = await store.count(now + 2)
        await store.create(make_record(now, idle=100))
        await store.create(make_record(now, idle=1))
        assert await store.count(now + 2) == before + 1


class AsyncScanContract(AsyncStoreFixtures):
    """Walking every live record in pages (the admin tool's listing and migration).

    Implement :meth:`reopen_store` too: a walk must resume from its cursor in another store
    object (another process), so the suite needs a second object over the same data.
    """

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        """A new store object over the same data as ``store`` (same file, table or prefix).

        It is closed after use unless it is ``store`` itself (an in-process store has no
        other way to reach its data).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement reopen_store")

    async def _walk(
        self, store: AsyncStore, now: float, limit: int, cursor: str | None = None
    ) -> tuple[list[Record], int]:
        """Every record of a walk from ``cursor`` to its end, and how many pages it took."""
        assert isinstance(store, AsyncSupportsScan)
        found: list[Record] = []
        pages = 0
        while True:
            page, cursor = await store.scan(now, cursor, limit)
            pages += 1
            assert len(page) <= limit, f"a page of {len(page)} records for limit {limit}"
            found.extend(page)
            if cursor is None:
                return found, pages
            assert isinstance(cursor, str)
            assert pages < 1000, "the walk does not end"

    @pytest.mark.anyio
    async def test_a_full_walk_returns_every_live_record_exactly_once(
        self, store: AsyncStore, now: float
    ) -> None:
        live = [make_record(now, fields={"n": str(i).encode(), "x": b'"y"'}) for i in range(6)] + [
            make_record(now, fields={}),
            make_record(now, principal="dora", meta={"ip": "10.0.0.2", "user_agent": "ua"}),
        ]
        expired = [make_record(now, idle=1) for _ in range(3)]
        for record in [*live, *expired]:
            await store.create(record)
        for limit in (1, 3, 500):
            found, pages = await self._walk(store, now + 2, limit)
            keys = [r.key for r in found]
            assert len(keys) == len(set(keys)), f"limit {limit}: a record came back twice"
            assert set(keys) == {r.key for r in live}, f"limit {limit}: wrong records"
            assert pages <= len(live) // limit + 2
        by_key = {r.key: r for r in found}
        for record in live:
            got = by_key[record.key]
            assert dict(got.fields) == dict(record.fields)
            assert got.principal == record.principal
            assert dict(got.meta) == dict(record.meta)
            assert got.created_at == pytest.approx(record.created_at, abs=0.002)
            assert got.expires_at == pytest.approx(record.expires_at, abs=0.002)

    @pytest.mark.anyio
    async def test_scan_never_returns_an_expired_record(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsScan)
        for _ in range(3):
            await store.create(make_record(now, idle=5))
        assert len((await self._walk(store, now + 4.9, 2))[0]) == 3
        found, _ = await self._walk(store, now + 5, 2)
        assert found == []

    @pytest.mark.anyio
    async def test_a_walk_resumes_from_its_cursor_in_a_new_store_object(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsScan)
        records = [make_record(now) for _ in range(7)]
        for record in records:
            await store.create(record)
        first, cursor = await store.scan(now, None, 3)
        assert cursor is not None
        other = await self.reopen_store(store)
        try:
            rest, _ = await self._walk(other, now, 3, cursor)
        finally:
            if other is not store:
                await other.aclose()
        keys = [r.key for r in [*first, *rest]]
        assert len(keys) == len(set(keys))
        assert set(keys) == {r.key for r in records}

    @pytest.mark.anyio
    async def test_records_created_during_a_walk_do_not_hide_the_others(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsScan)
        present = [make_record(now) for _ in range(9)]
        for record in present:
            await store.create(record)
        found: list[Record] = []
        cursor: str | None = None
        for _ in range(100):
            page, cursor = await store.scan(now, cursor, 2)
            found.extend(page)
            if cursor is None:
                break
            for _ in range(3):  # new sessions keep arriving while the admin tool walks
                await store.create(make_record(now))
        assert cursor is None, "the walk does not end"
        assert {r.key for r in present} <= {r.key for r in found}

    @pytest.mark.anyio
    async def test_a_record_deleted_during_a_walk_is_not_returned_after(
        self, store: AsyncStore, now: float
    ) -> None:
        assert isinstance(store, AsyncSupportsScan)
        records = [make_record(now) for _ in range(6)]
        for record in records:
            await store.create(record)
        first, cursor = await store.scan(now, None, 2)
        seen = {r.key for r in first}
        doomed = [r.key for r in records if r.key not in seen]
        for key in doomed:
            await store.delete(key)
        rest, _ = await self._walk(store, now, 2, cursor)
        assert not {r.key for r in rest} & set(doomed)


def _take_expired_contract() -> type:
    from .events import AsyncTakeExpiredContract  # it builds on this module

    return AsyncTakeExpiredContract


__all__ = [
    "IDLE",
    "LIFETIME",
    "AsyncCountContract",
    "AsyncPrincipalIndexContract",
    "AsyncPurgeContract",
    "AsyncScanContract",
    "AsyncStoreContract",
    "AsyncStoreFixtures",
    "make_record",
    "new_key",
]
