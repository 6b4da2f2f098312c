"""PrometheusMetrics over a real store: every transition moves its counter, every store call
its histogram, and the anomalies theirs. Memory and Redis (127.0.0.1:6379), async manager."""

from __future__ import annotations

import asyncio

import pytest
from prometheus_client import CollectorRegistry, generate_latest

from sojourn import (
    AsyncManager,
    AsyncMemoryStore,
    ConfigurationError,
    Engine,
    Policy,
    Session,
    fingerprint,
)
from sojourn._core.ids import store_key
from sojourn.metrics.prometheus import PrometheusMetrics
from sojourn.stores.base import AsyncStore
from sojourn.stores.redis import AsyncRedisStore
from sojourn.testing import FakeClock


class Metered:
    """A manager over ``store`` reporting to a PrometheusMetrics in a registry of its own."""

    def __init__(self, store: AsyncStore, **policy: float) -> None:
        self.registry = CollectorRegistry()
        self.metrics = PrometheusMetrics(self.registry)
        self.clock = FakeClock()
        engine = Engine(policy=Policy(**policy)) if policy else Engine()
        self.manager = AsyncManager(store, engine, clock=self.clock, metrics=self.metrics)

    def value(self, name: str, **labels: str) -> float:
        found = self.registry.get_sample_value(f"sojourn_{name}", labels)
        return 0.0 if found is None else found

    async def stored(self, principal: str | None = None) -> str:
        session = await self.manager.load([])
        session["cart"] = "1"
        if principal is not None:
            session.login(principal)
        session_id = (await self.manager.commit(session)).session_id
        assert session_id is not None
        return session_id

    async def opened(self, *session_ids: str) -> Session:
        return await self.manager.load(session_ids)


@pytest.mark.anyio
async def test_creating_a_session_counts_created_and_times_create(store: AsyncStore) -> None:
    m = Metered(store)
    await m.stored()
    await m.stored()
    assert m.value("sessions_created_total") == 2
    assert m.value("store_call_seconds_count", operation="create") == 2
    assert m.value("store_call_seconds_sum", operation="create") > 0


@pytest.mark.anyio
async def test_reads_and_writes_time_load_and_apply(store: AsyncStore) -> None:
    m = Metered(store)
    session_id = await m.stored()
    for n in range(3):
        session = await m.opened(session_id)
        session["cart"] = str(n)
        await m.manager.commit(session)
    assert m.value("store_call_seconds_count", operation="load") == 3
    assert m.value("store_call_seconds_count", operation="apply") == 3
    assert m.value("sessions_created_total") == 1
    assert m.value("store_errors_total", operation="load", kind="unavailable") == 0


@pytest.mark.anyio
async def test_a_login_and_a_regenerate_count_rotated_by_kind(store: AsyncStore) -> None:
    m = Metered(store)
    session = await m.opened(await m.stored())
    session.login("alice")
    new = (await m.manager.commit(session)).session_id
    assert new is not None
    session = await m.opened(new)
    session.regenerate()
    await m.manager.commit(session)
    assert m.value("sessions_rotated_total", kind="login") == 1
    assert m.value("sessions_rotated_total", kind="regenerate") == 1
    assert m.value("store_call_seconds_count", operation="rename") == 2


@pytest.mark.anyio
async def test_a_periodic_rotation_counts_rotated_periodic(store: AsyncStore) -> None:
    m = Metered(store, rotate_every=60)
    old = await m.stored()
    m.clock.advance(61)
    session = await m.opened(old)
    session["cart"] = "2"
    await m.manager.commit(session)
    assert m.value("sessions_rotated_total", kind="periodic") == 1


@pytest.mark.anyio
async def test_logout_revoke_and_revoke_all_count_destroyed_by_reason(store: AsyncStore) -> None:
    m = Metered(store)
    session = await m.opened(await m.stored("alice"))
    session.invalidate()
    await m.manager.commit(session)
    await m.stored("bob")
    [info] = await m.manager.sessions_of("bob")
    assert await m.manager.revoke("bob", info.fingerprint)
    await m.stored("carol")
    await m.stored("carol")
    assert await m.manager.revoke_all("carol") == 2
    assert m.value("sessions_destroyed_total", reason="logout") == 1
    assert m.value("sessions_destroyed_total", reason="revoked") == 1
    assert m.value("sessions_destroyed_total", reason="revoked_all") == 2
    assert m.value("store_call_seconds_count", operation="sessions_of") >= 1
    assert m.value("store_call_seconds_count", operation="delete_sessions_of") == 1


@pytest.mark.anyio
async def test_an_expired_session_presented_counts_expired_load(store: AsyncStore) -> None:
    m = Metered(store, idle_timeout=60)
    session_id = await m.stored()
    m.clock.advance(61)
    assert (await m.opened(session_id)).is_new
    assert (await m.opened(session_id)).is_new  # handed over once: counted once
    assert m.value("sessions_expired_total", how="load") == 1
    assert m.value("store_call_seconds_count", operation="take_expired") >= 1


@pytest.mark.anyio
async def test_a_purge_counts_expired_purge() -> None:
    m = Metered(AsyncMemoryStore(), idle_timeout=60)  # Redis expires by itself: no purge
    await m.stored()
    await m.stored()
    m.clock.advance(61)
    assert await m.manager.purge() == 2
    assert m.value("sessions_expired_total", how="purge") == 2
    assert m.value("store_call_seconds_count", operation="purge_expired") == 1


@pytest.mark.server
@pytest.mark.anyio
async def test_a_record_the_store_cannot_decode_is_a_corrupt_record(
    redis_store: AsyncRedisStore,
) -> None:
    store = redis_store  # Redis: bytes a test can corrupt behind the store's back
    m = Metered(store)
    session_id = await m.stored()
    await store.client.set(f"{store.prefix}{{{store_key(session_id)}}}", b"not a hash", ex=60)
    assert (await m.opened(session_id)).is_new
    assert m.value("corrupt_records_total") == 1
    assert m.value("store_errors_total", operation="load", kind="corrupt") == 1


@pytest.mark.anyio
async def test_two_live_session_cookies_count_an_ambiguous_cookie(store: AsyncStore) -> None:
    m = Metered(store)
    first, second = await m.stored(), await m.stored()
    assert (await m.opened(first, second)).is_new
    assert m.value("ambiguous_cookies_total") == 1


@pytest.mark.anyio
async def test_the_active_sessions_gauge_counts_the_store_once_per_interval(
    store: AsyncStore,
) -> None:
    m = Metered(store)
    await m.stored()
    await m.stored()
    first = m.registry.get_sample_value("sojourn_active_sessions")
    if isinstance(store, AsyncMemoryStore):
        assert first == 2  # counted through its sync store, in the scraping thread
    else:  # an async store is counted on the loop: the first scrape schedules it
        assert first is None
    for _ in range(100):
        await asyncio.sleep(0.01)
        if m.registry.get_sample_value("sojourn_active_sessions") is not None:
            break
    assert m.registry.get_sample_value("sojourn_active_sessions") == 2
    await m.stored()
    assert m.registry.get_sample_value("sojourn_active_sessions") == 2  # cached: not counted


def test_a_second_observer_on_one_registry_is_refused_by_prometheus_client() -> None:
    registry = CollectorRegistry()
    PrometheusMetrics(registry)
    with pytest.raises(ValueError, match="Duplicated timeseries"):
        PrometheusMetrics(registry)


def test_a_count_interval_that_bounds_nothing_is_refused() -> None:
    for bad in (0, -1, float("inf"), float("nan")):
        with pytest.raises(ConfigurationError):
            PrometheusMetrics(CollectorRegistry(), count_every=bad)


def test_a_metrics_argument_that_is_no_observer_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="metrics must be an observer"):
        AsyncManager(AsyncMemoryStore(), metrics=object())  # type: ignore[arg-type]


@pytest.mark.sec("SEC-41")
@pytest.mark.anyio
async def test_the_exposition_holds_no_id_key_fingerprint_or_principal(store: AsyncStore) -> None:
    m = Metered(store, idle_timeout=60)
    first = await m.stored("alice@example.com")
    session = await m.opened(first)
    session.login("bob@example.com")
    second = (await m.manager.commit(session)).session_id
    assert second is not None
    m.clock.advance(61)
    await m.opened(second)
    exposed = generate_latest(m.registry).decode()
    assert "sojourn_sessions_rotated_total" in exposed
    for secret in (first, second):
        for leaked in (secret, store_key(secret), fingerprint(secret)):
            assert leaked not in exposed
    assert "alice" not in exposed
    assert "bob" not in exposed
