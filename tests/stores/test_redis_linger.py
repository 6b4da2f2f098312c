"""The Redis linger: a session key outlives its deadline by ``linger`` seconds, never live
meanwhile, so a request presenting it can be told it expired; ``?linger=`` in a store URL.

Each test has its own random key prefix and deletes its keys (never FLUSHDB).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Iterator

import pytest
import redis

from sojourn import ConfigurationError
from sojourn.stores.base import Cap, Changes, Login
from sojourn.stores.redis import LINGER, RedisStore
from sojourn.stores.urls import open_sync_store
from sojourn.testing._async.contract import make_record
from tests.conformance.test_redis import URL, _require_redis

pytestmark = pytest.mark.server


@pytest.fixture
def prefix() -> Iterator[str]:
    _require_redis()
    chosen = f"sojourn-test-{secrets.token_hex(6)}:"
    yield chosen
    admin = redis.Redis.from_url(URL)
    for key in admin.scan_iter(match=chosen + "*", count=1000):
        admin.delete(key)
    admin.close()


def ttl_past_deadline(store: RedisStore, idle: float) -> float:
    """Seconds the key of a new session with ``idle`` seconds to live outlives its deadline."""
    now = time.time()
    record = make_record(now, idle=idle)
    store.create(record)
    pttl = store.client.pttl(f"{store.prefix}{{{record.key}}}")
    return pttl / 1000 - idle


def test_a_key_lingers_five_minutes_past_its_deadline_by_default(prefix: str) -> None:
    store = RedisStore.from_url(URL, prefix=prefix)
    assert store.linger == LINGER == 300
    assert ttl_past_deadline(store, 60) == pytest.approx(LINGER, abs=1)
    store.close()


def test_within_the_linger_a_session_is_dead_but_can_be_handed_over(prefix: str) -> None:
    store = RedisStore.from_url(URL, prefix=prefix)
    now = time.time()
    record = make_record(now, idle=1, principal="ida")
    store.create(record)
    assert store.load(record.key, now + 2) is None  # past its deadline: never returned
    assert store.client.exists(f"{store.prefix}{{{record.key}}}")  # but still held
    taken = store.take_expired(record.key, now + 2)
    assert taken is not None
    assert taken.principal == "ida"
    assert not store.client.exists(f"{store.prefix}{{{record.key}}}")
    store.close()


def test_the_linger_option_of_a_store_url(prefix: str) -> None:
    store = open_sync_store(f"{URL}?prefix={prefix}&linger=0")
    assert isinstance(store, RedisStore)
    assert store.linger == 0
    assert ttl_past_deadline(store, 60) == pytest.approx(0, abs=1)
    store.close()


@pytest.mark.parametrize("bad", ["-1", "soon", "inf", "nan"])
def test_a_bad_linger_is_refused(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="linger"):
        open_sync_store(f"{URL}?linger={bad}")


def test_a_capped_login_keeps_the_linger(prefix: str) -> None:
    """The cap's scripts set the key's TTL like every other write: the deadline plus the
    linger, so a session that logged in under a cap can still be reported expired."""
    store = RedisStore.from_url(URL, prefix=prefix)
    now = time.time()
    created = make_record(now, idle=60, principal="ida")
    store.create_capped(created, Cap(limit=3))
    key = f"{store.prefix}{{{created.key}}}"
    assert store.client.pttl(key) / 1000 - 60 == pytest.approx(LINGER, abs=1)

    other = make_record(now, idle=60)
    store.create(other)
    changes = Changes(now, now + 120, login=Login("ida", now))
    assert store.apply_capped(other.key, changes, Cap(limit=3)) == []
    other_key = f"{store.prefix}{{{other.key}}}"
    assert store.client.pttl(other_key) / 1000 - 120 == pytest.approx(LINGER, abs=1)
    store.close()
