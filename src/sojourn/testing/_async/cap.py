"""The session-cap contract (SEC-63), for stores that keep the principal index and cap it.

Mix :class:`AsyncSessionCapContract` into a store's conformance class beside
:class:`~sojourn.testing.AsyncStoreContract`, and implement ``reopen_store`` (a second store
object over the same data: another app server). The concurrent tests log one principal in
``concurrency`` times at once, spread over several store objects, and count what went wrong:
more live sessions than the cap, a login neither admitted nor refused, an evicted session
still live, a session evicted twice, a refused login that changed its session.
"""

from __future__ import annotations

import functools
import secrets

import pytest

from ..._core.errors import SessionExists, TooManySessions
from ...stores.base import (
    AsyncStore,
    AsyncSupportsPrincipals,
    AsyncSupportsScan,
    AsyncSupportsSessionCap,
    Cap,
    Changes,
    Login,
    Record,
)
from .._concurrency import async_concurrently
from .contract import IDLE, AsyncStoreFixtures, make_record, new_key

LIMIT = 3
SERVERS = 3  # store objects standing for app servers


def _login(now: float, principal: str, at: float) -> Changes:
    return Changes(now=now, expires_at=now + IDLE, set={"who": b'"me"'}, login=Login(principal, at))


def _capping(store: AsyncStore) -> AsyncSupportsSessionCap:
    assert isinstance(store, AsyncSupportsSessionCap)
    return store


class AsyncSessionCapContract(AsyncStoreFixtures):
    """A cap on sessions per principal, enforced by the store with each login."""

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        """A new store object over the same data as ``store`` (same file, table or prefix).

        It is closed after use unless it is ``store`` itself (an in-process store has no
        other way to reach its data).
        """
        raise NotImplementedError(f"{type(self).__name__} must implement reopen_store")

    async def _logged_in(self, store: AsyncStore, principal: str, at: float) -> Record:
        record = make_record(at, principal=principal)
        await store.create(record)
        return record

    async def _at_the_cap(self, store: AsyncStore, principal: str, now: float) -> list[Record]:
        """``LIMIT`` sessions of ``principal``, logged in a second apart, oldest first."""
        return [await self._logged_in(store, principal, now - 3 + i) for i in range(LIMIT)]

    async def _anonymous(self, store: AsyncStore, now: float) -> Record:
        """A stored session nobody is logged in to (a login form's)."""
        record = make_record(now)
        await store.create(record)
        return record

    async def _live_keys(self, store: AsyncStore, principal: str, now: float) -> set[str]:
        assert isinstance(store, AsyncSupportsPrincipals)
        return {r.key for r in await store.sessions_of(principal, now)}

    async def _scanned_keys(self, store: AsyncStore, principal: str, now: float) -> set[str]:
        """The principal's live sessions by a walk of the whole store (not the index)."""
        if not isinstance(store, AsyncSupportsScan):
            return await self._live_keys(store, principal, now)
        keys: set[str] = set()
        cursor: str | None = None
        while True:
            page, cursor = await store.scan(now, cursor, 200)
            keys.update(r.key for r in page if r.principal == principal)
            if cursor is None:
                return keys

    # -- one login at a time ----------------------------------------------------------------

    @pytest.mark.anyio
    async def test_a_login_under_the_cap_evicts_nothing(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        first = await self._logged_in(store, principal, now - 10)
        anonymous = await self._anonymous(store, now)
        evicted = await _capping(store).apply_capped(
            anonymous.key, _login(now, principal, now), Cap(LIMIT)
        )
        assert evicted == []
        assert await self._live_keys(store, principal, now) == {first.key, anonymous.key}
        loaded = await store.load(anonymous.key, now)
        assert loaded is not None
        assert loaded.principal == principal
        assert loaded.fields["who"] == b'"me"'

    @pytest.mark.anyio
    async def test_a_login_at_the_cap_evicts_the_oldest_login(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        # Logged in at -30, -20, -10: the one at -30 is the oldest login, whatever its key.
        olds = [await self._logged_in(store, principal, now - 10 * (3 - i)) for i in range(3)]
        bystander = await self._logged_in(store, principal + "-other", now - 40)
        anonymous = await self._anonymous(store, now)
        evicted = await _capping(store).apply_capped(
            anonymous.key, _login(now, principal, now), Cap(LIMIT)
        )
        assert evicted is not None
        assert [r.key for r in evicted] == [olds[0].key]
        assert evicted[0].principal == principal
        assert await store.load(olds[0].key, now) is None, "the record is deleted, not unindexed"
        assert await self._live_keys(store, principal, now) == {
            olds[1].key,
            olds[2].key,
            anonymous.key,
        }
        assert await store.load(bystander.key, now) is not None

    @pytest.mark.anyio
    async def test_a_relogin_of_a_session_is_not_counted_against_itself(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        records = await self._at_the_cap(store, principal, now)
        evicted = await _capping(store).apply_capped(
            records[0].key, _login(now, principal, now), Cap(LIMIT, refuse=True)
        )
        assert evicted == []
        assert await self._live_keys(store, principal, now) == {r.key for r in records}

    @pytest.mark.anyio
    async def test_expired_sessions_and_other_users_do_not_count(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        short = make_record(now - 5, principal=principal, idle=2)
        await store.create(short)
        for _ in range(LIMIT):
            await self._logged_in(store, principal + "-other", now - 1)
        kept = [await self._logged_in(store, principal, now - 1) for _ in range(LIMIT - 1)]
        anonymous = await self._anonymous(store, now)
        evicted = await _capping(store).apply_capped(
            anonymous.key, _login(now, principal, now), Cap(LIMIT, refuse=True)
        )
        assert evicted == []
        assert await self._live_keys(store, principal, now) == {
            *(r.key for r in kept),
            anonymous.key,
        }

    @pytest.mark.anyio
    async def test_a_refused_login_changes_nothing(self, store: AsyncStore, now: float) -> None:
        principal = "user-" + secrets.token_hex(4)
        olds = await self._at_the_cap(store, principal, now)
        anonymous = await self._anonymous(store, now)
        with pytest.raises(TooManySessions) as raised:
            await _capping(store).apply_capped(
                anonymous.key, _login(now, principal, now), Cap(LIMIT, refuse=True)
            )
        assert raised.value.limit == LIMIT
        loaded = await store.load(anonymous.key, now)
        assert loaded is not None
        assert loaded.principal is None
        assert dict(loaded.fields) == dict(anonymous.fields)
        assert await self._live_keys(store, principal, now) == {r.key for r in olds}

    @pytest.mark.anyio
    async def test_a_refused_login_moves_its_rotated_record_back(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        await self._at_the_cap(store, principal, now)
        anonymous = await self._anonymous(store, now)
        new = new_key()
        assert await store.rename(anonymous.key, new, now)
        with pytest.raises(TooManySessions):
            await _capping(store).apply_capped(
                new,
                _login(now, principal, now),
                Cap(LIMIT, refuse=True, renamed_from=anonymous.key),
            )
        assert await store.load(new, now) is None
        back = await store.load(anonymous.key, now)
        assert back is not None
        assert back.principal is None
        assert dict(back.fields) == dict(anonymous.fields)

    @pytest.mark.anyio
    async def test_a_refused_switch_of_user_keeps_the_session_in_its_users_index(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        await self._at_the_cap(store, principal, now)
        bobs = await self._logged_in(store, principal + "-bob", now - 10)
        new = new_key()
        assert await store.rename(bobs.key, new, now)  # bob's session, logging in as the user
        with pytest.raises(TooManySessions):
            await _capping(store).apply_capped(
                new, _login(now, principal, now), Cap(LIMIT, refuse=True, renamed_from=bobs.key)
            )
        assert await self._live_keys(store, principal + "-bob", now) == {bobs.key}
        back = await store.load(bobs.key, now)
        assert back is not None
        assert back.principal == principal + "-bob"

    @pytest.mark.anyio
    async def test_a_capped_login_of_a_missing_session_writes_and_evicts_nothing(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        olds = await self._at_the_cap(store, principal, now)
        missing = new_key()
        assert (
            await _capping(store).apply_capped(missing, _login(now, principal, now), Cap(LIMIT))
            is None
        )
        assert await store.load(missing, now) is None
        assert await self._live_keys(store, principal, now) == {r.key for r in olds}

    @pytest.mark.anyio
    async def test_create_capped_evicts_or_refuses(self, store: AsyncStore, now: float) -> None:
        principal = "user-" + secrets.token_hex(4)
        olds = await self._at_the_cap(store, principal, now)
        refused = make_record(now, principal=principal)
        with pytest.raises(TooManySessions):
            await _capping(store).create_capped(refused, Cap(LIMIT, refuse=True))
        assert await store.load(refused.key, now) is None
        admitted = make_record(now, principal=principal)
        evicted = await _capping(store).create_capped(admitted, Cap(LIMIT))
        assert [r.key for r in evicted] == [olds[0].key]
        assert await store.load(olds[0].key, now) is None
        assert await self._live_keys(store, principal, now) == {
            olds[1].key,
            olds[2].key,
            admitted.key,
        }

    @pytest.mark.anyio
    async def test_create_capped_on_a_live_key_raises_and_evicts_nothing(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        olds = await self._at_the_cap(store, principal, now)
        taken = make_record(now, key=olds[0].key, principal=principal)
        with pytest.raises(SessionExists):
            await _capping(store).create_capped(taken, Cap(1))
        assert await self._live_keys(store, principal, now) == {r.key for r in olds}

    # -- many logins at once, on several app servers ------------------------------------------

    async def _servers(self, store: AsyncStore, now: float) -> list[AsyncStore]:
        """``store`` and objects reopened over its data, warmed as a running app server's
        would be: its schema checked and as many pooled connections open as it will serve
        logins at once (opening them is not what the concurrent tests are about)."""
        servers = [store, *[await self.reopen_store(store) for _ in range(SERVERS - 1)]]
        for server in servers:
            await server.load(new_key(), now)  # the schema, once
        each = -(-self.concurrency // len(servers))
        await async_concurrently(
            functools.partial(server.load, new_key(), now)
            for server in servers
            for _ in range(each)
        )
        return servers

    async def _close(self, store: AsyncStore, servers: list[AsyncStore]) -> None:
        for other in servers:
            if other is not store:
                await other.aclose()

    async def _log_in_at_once(
        self, store: AsyncStore, principal: str, cap: Cap, now: float
    ) -> tuple[list[Record], list[list[Record] | TooManySessions | None]]:
        """``concurrency`` anonymous sessions logged in as ``principal`` at once, spread over
        several store objects: the sessions, and what each login returned or raised."""
        sessions = [make_record(now) for _ in range(self.concurrency)]
        for record in sessions:
            await store.create(record)
        servers = await self._servers(store, now)

        async def login(
            server: AsyncStore, record: Record, at: float
        ) -> list[Record] | TooManySessions | None:
            changes = _login(now, principal, at)
            try:
                return await _capping(server).apply_capped(record.key, changes, cap)
            except TooManySessions as refused:
                return refused

        try:
            results = await async_concurrently(
                functools.partial(login, servers[i % len(servers)], r, now + i / 1000)
                for i, r in enumerate(sessions)
            )
        finally:
            await self._close(store, servers)
        return sessions, results

    @pytest.mark.anyio
    async def test_concurrent_logins_evicting_leave_exactly_the_cap(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        sessions, results = await self._log_in_at_once(store, principal, Cap(LIMIT), now)
        anomalies = 0
        evicted: list[str] = []
        for result in results:
            if not isinstance(result, list):
                anomalies += 1  # every session was live: each login must land
                continue
            evicted += [r.key for r in result]
        anomalies += len(evicted) - len(set(evicted))  # a session evicted twice
        live = await self._live_keys(store, principal, now)
        for key in evicted:
            anomalies += await store.load(key, now) is not None  # evicted, yet still live
        anomalies += len(live & set(evicted))
        assert anomalies == 0
        assert len(live) == LIMIT
        assert live == {r.key for r in sessions} - set(evicted)
        assert await self._scanned_keys(store, principal, now) == live

    @pytest.mark.anyio
    async def test_concurrent_logins_refused_leave_exactly_the_cap(
        self, store: AsyncStore, now: float
    ) -> None:
        principal = "user-" + secrets.token_hex(4)
        cap = Cap(LIMIT, refuse=True)
        sessions, results = await self._log_in_at_once(store, principal, cap, now)
        anomalies = sum(1 for r in results if r is None or (isinstance(r, list) and r))
        admitted = [s.key for s, r in zip(sessions, results, strict=True) if r == []]
        refused = [s for s, r in zip(sessions, results, strict=True) if isinstance(r, Exception)]
        for record in refused:  # still there, still anonymous
            loaded = await store.load(record.key, now)
            anomalies += loaded is None or loaded.principal is not None
        live = await self._live_keys(store, principal, now)
        assert anomalies == 0
        assert len(admitted) == LIMIT
        assert len(refused) == self.concurrency - LIMIT
        assert live == set(admitted)
        assert await self._scanned_keys(store, principal, now) == live


__all__ = ["AsyncSessionCapContract"]
