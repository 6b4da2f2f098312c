"""The conformance suite against Redis: sync and async on 127.0.0.1:6379, async on a Cluster.

Every test gets its own random key prefix and deletes its keys afterwards (``SCAN MATCH`` +
``DEL``; never ``FLUSHALL``). The Cluster is started by ``tests.stores.redis_cluster``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
import redis
import redis.asyncio
import redis.asyncio.sentinel
from redis.asyncio.cluster import RedisCluster

from sojourn.stores.base import AsyncStore, Store
from sojourn.stores.redis import AsyncRedisStore, RedisStore
from sojourn.testing import (
    AsyncCountContract,
    AsyncLifecycleEventsContract,
    AsyncPrincipalIndexContract,
    AsyncScanContract,
    AsyncSessionCapContract,
    AsyncStoreContract,
    CountContract,
    LifecycleEventsContract,
    PrincipalIndexContract,
    ScanContract,
    SessionCapContract,
    StoreContract,
)
from tests.conftest import require_server
from tests.stores.redis_cluster import (
    RedisClusterHarness,
    SentinelHarness,
    start_cluster,
    start_sentinel,
)

URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.server


def _prefix() -> str:
    return f"sojourn-test-{secrets.token_hex(6)}:"


def _require_redis() -> None:
    try:
        redis.Redis.from_url(URL, socket_connect_timeout=1).ping()
    except redis.exceptions.ConnectionError as exc:
        require_server("Redis", str(exc))


class TestRedisStore(
    StoreContract,
    PrincipalIndexContract,
    CountContract,
    ScanContract,
    SessionCapContract,
    LifecycleEventsContract,
):
    def make_store(self) -> Store:
        _require_redis()
        return RedisStore(redis.Redis.from_url(URL, socket_timeout=5), prefix=_prefix())

    def reopen_store(self, store: Store) -> Store:
        assert isinstance(store, RedisStore)
        return RedisStore.from_url(URL, prefix=store.prefix)

    def destroy_store(self, store: Store) -> None:
        assert isinstance(store, RedisStore)
        for key in store.client.scan_iter(match=store.prefix + "*", count=1000):
            assert store.client.pttl(key) > 0, "every key the store writes has a TTL"
            store.client.delete(key)
        store.close()
        store.client.close()


class TestAsyncRedisStore(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncCountContract,
    AsyncScanContract,
    AsyncSessionCapContract,
    AsyncLifecycleEventsContract,
):
    async def make_store(self) -> AsyncStore:
        _require_redis()
        return AsyncRedisStore(
            redis.asyncio.Redis.from_url(URL, socket_timeout=5), prefix=_prefix()
        )

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncRedisStore)
        return AsyncRedisStore.from_url(URL, prefix=store.prefix)

    async def destroy_store(self, store: AsyncStore) -> None:
        assert isinstance(store, AsyncRedisStore)
        async for key in store.client.scan_iter(match=store.prefix + "*", count=1000):
            assert await store.client.pttl(key) > 0, "every key the store writes has a TTL"
            await store.client.delete(key)
        await store.aclose()
        await store.client.aclose()


class TestAsyncRedisStoreFromUrl(TestAsyncRedisStore):
    """The whole suite again on the client ``from_url`` makes, which packs its commands with
    hiredis (``stores/_redis_packing``) where a client handed to the store packs in Python."""

    async def make_store(self) -> AsyncStore:
        _require_redis()
        return AsyncRedisStore.from_url(URL, prefix=_prefix())


@pytest.fixture(scope="session")
def redis_cluster() -> Iterator[RedisClusterHarness]:
    with start_cluster(masters=3) as harness:
        yield harness


class TestAsyncRedisStoreOnCluster(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncCountContract,
    AsyncScanContract,
    AsyncLifecycleEventsContract,
):
    @pytest.fixture(autouse=True)
    def _cluster(self, redis_cluster: RedisClusterHarness) -> None:
        self.cluster = redis_cluster

    async def make_store(self) -> AsyncStore:
        client = RedisCluster(host="127.0.0.1", port=self.cluster.ports[0], socket_timeout=5)
        return AsyncRedisStore(client, prefix=_prefix())

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncRedisStore)
        url = f"redis://127.0.0.1:{self.cluster.ports[1]}"
        return AsyncRedisStore.from_url(url, cluster=True, prefix=store.prefix)

    async def destroy_store(self, store: AsyncStore) -> None:
        assert isinstance(store, AsyncRedisStore)
        keys = [k async for k in store.client.scan_iter(match=store.prefix + "*", count=1000)]
        for key in keys:
            assert await store.client.pttl(key) > 0, "every key the store writes has a TTL"
            await store.client.delete(key)
        await store.aclose()
        await store.client.aclose()


class TestRedisStoreOnCluster(
    StoreContract, PrincipalIndexContract, CountContract, ScanContract, LifecycleEventsContract
):
    @pytest.fixture(autouse=True)
    def _cluster(self, redis_cluster: RedisClusterHarness) -> None:
        self.cluster = redis_cluster

    def make_store(self) -> Store:
        client = redis.RedisCluster(host="127.0.0.1", port=self.cluster.ports[0], socket_timeout=5)
        return RedisStore(client, prefix=_prefix())

    def reopen_store(self, store: Store) -> Store:
        assert isinstance(store, RedisStore)
        url = f"redis://127.0.0.1:{self.cluster.ports[1]}"
        return RedisStore.from_url(url, cluster=True, prefix=store.prefix)

    def destroy_store(self, store: Store) -> None:
        assert isinstance(store, RedisStore)
        for key in list(store.client.scan_iter(match=store.prefix + "*", count=1000)):
            assert store.client.pttl(key) > 0, "every key the store writes has a TTL"
            store.client.delete(key)
        store.close()
        store.client.close()


@pytest.fixture(scope="module")
def redis_sentinel() -> Iterator[SentinelHarness]:
    with start_sentinel() as harness:
        yield harness


class TestAsyncRedisStoreViaSentinel(
    AsyncStoreContract,
    AsyncPrincipalIndexContract,
    AsyncCountContract,
    AsyncScanContract,
    AsyncSessionCapContract,
    AsyncLifecycleEventsContract,
):
    """A client from ``Sentinel.master_for``: the primary is found through the Sentinel."""

    @pytest.fixture(autouse=True)
    def _sentinel(self, redis_sentinel: SentinelHarness) -> None:
        self.sentinel = redis_sentinel

    async def make_store(self) -> AsyncStore:
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            [("127.0.0.1", self.sentinel.sentinel_port)], socket_timeout=5
        )
        self.sentinels = sentinel
        client = sentinel.master_for(self.sentinel.service, socket_timeout=5)
        return AsyncRedisStore(client, prefix=_prefix())

    async def reopen_store(self, store: AsyncStore) -> AsyncStore:
        assert isinstance(store, AsyncRedisStore)
        return AsyncRedisStore(store.client, prefix=store.prefix)  # the client stays open

    async def destroy_store(self, store: AsyncStore) -> None:
        assert isinstance(store, AsyncRedisStore)
        async for key in store.client.scan_iter(match=store.prefix + "*", count=1000):
            assert await store.client.pttl(key) > 0, "every key the store writes has a TTL"
            await store.client.delete(key)
        await store.aclose()
        await store.client.aclose()
        for node in self.sentinels.sentinels:
            await node.aclose()
