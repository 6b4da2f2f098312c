"""Redis store behaviour beyond the conformance suite, on private servers started by the tests.

Round trips and commands are counted from the server's own ``INFO commandstats`` (real, not
mocked); failures are produced by killing or freezing a real ``redis-server``.
"""

from __future__ import annotations

import hashlib
import math
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import anyio
import httpx
import pytest
import redis
import redis.asyncio
import redis.asyncio.sentinel
from redis.asyncio.cluster import RedisCluster
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from sojourn import CorruptSession, StoreUnavailable
from sojourn._core.ids import store_key
from sojourn.asgi import SessionMiddleware, get_session
from sojourn.stores import _redis_layout as L
from sojourn.stores.base import Changes, Login, Record, Renewal
from sojourn.stores.redis import LINGER, AsyncRedisStore, RedisStore
from sojourn.testing._async.contract import make_record, new_key
from tests.stores.redis_cluster import (
    RedisClusterHarness,
    RedisServer,
    start_cluster,
    start_sentinel,
    start_server,
)

pytestmark = pytest.mark.server

TIMEOUT = 0.5


def _prefix() -> str:
    return f"sojourn-test-{secrets.token_hex(6)}:"


class RoundTrips:
    """Counts what a real client sends: one packed write to the socket is one round trip."""

    def __init__(self) -> None:
        self.count = 0

    def sync_connection(self) -> type[redis.Connection]:
        counter = self

        class Counting(redis.Connection):
            def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
                counter.count += 1
                super().send_packed_command(*args, **kwargs)  # type: ignore[no-untyped-call]

        return Counting

    def async_connection(self) -> type[redis.asyncio.Connection]:
        counter = self

        class Counting(redis.asyncio.Connection):
            async def send_packed_command(self, *args: Any, **kwargs: Any) -> None:
                counter.count += 1
                await super().send_packed_command(*args, **kwargs)

        return Counting


def calls(client: redis.Redis) -> dict[str, int]:
    """Commands served so far, by name, from the server's own statistics (which count the
    commands a script runs too, so these say what ran, not how many round trips it took)."""
    stats: dict[str, Any] = client.info("commandstats")
    return {name.removeprefix("cmdstat_"): int(v["calls"]) for name, v in stats.items()}


def delta(client: redis.Redis, before: dict[str, int]) -> dict[str, int]:
    """Commands served since ``before``, leaving out the INFO calls that measure them."""
    after = calls(client)
    changed = {k: n - before.get(k, 0) for k, n in after.items() if n != before.get(k, 0)}
    changed.pop("info", None)
    return changed


@pytest.fixture(scope="module")
def server() -> Iterator[RedisServer]:
    with start_server() as server:
        yield server


@pytest.fixture
def admin(server: RedisServer) -> Iterator[redis.Redis]:
    client = server.client()
    yield client
    client.close()


@pytest.fixture
def store(server: RedisServer) -> Iterator[RedisStore]:
    store = RedisStore.from_url(f"redis://127.0.0.1:{server.port}", prefix=_prefix())
    yield store
    for key in store.client.scan_iter(match=store.prefix + "*"):
        store.client.delete(key)
    store.close()


# -- construction ---------------------------------------------------------------------------


def test_construction_makes_no_connection_and_sets_timeouts() -> None:
    store = RedisStore.from_url("redis://127.0.0.1:1/0")  # nothing listens on port 1
    assert isinstance(store.client, redis.Redis)
    kwargs = store.client.connection_pool.connection_kwargs
    assert kwargs["socket_timeout"] == 2.0
    assert kwargs["socket_connect_timeout"] == 2.0
    with pytest.raises(StoreUnavailable):
        store.load(new_key(), time.time())
    store.close()


@pytest.mark.sec("SEC-42")
@pytest.mark.parametrize("prefix", ["a{b", "x}", 3])
def test_a_prefix_that_would_break_hash_tags_is_refused(prefix: Any) -> None:
    from sojourn import ConfigurationError

    with pytest.raises(ConfigurationError):
        RedisStore(redis.Redis(), prefix=prefix)


def test_the_public_module_names_the_extra_when_redis_is_missing() -> None:
    code = (
        "import sys; sys.modules['redis'] = None\n"
        "try:\n    import sojourn.stores.redis\n"
        "except ImportError as exc:\n    print(exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert "pip install 'sojourn[redis]'" in result.stdout


# -- layout and hygiene ---------------------------------------------------------------------


@pytest.mark.sec("SEC-41", "SEC-45")
def test_keys_hold_only_digests_and_all_carry_a_ttl(store: RedisStore, admin: redis.Redis) -> None:
    now = time.time()
    record = make_record(now, principal="alice@example.com", meta={"ip": "10.1.2.3"})
    store.create(record)
    store.apply(record.key, Changes(now=now, expires_at=now + 600, set={"m:e": b'"x"'}))
    principal_digest = hashlib.sha256(b"alice@example.com").hexdigest()
    keys = sorted(k.decode() for k in admin.scan_iter(match=store.prefix + "*"))
    assert keys == sorted(
        [f"{store.prefix}{{{record.key}}}", f"{store.prefix}p:{{{principal_digest}}}"]
    )
    for key in keys:
        assert "alice" not in key
        assert admin.pttl(key) > 0
    # A user key named like a metadata field cannot overwrite the metadata.
    loaded = store.load(record.key, now)
    assert loaded is not None
    assert loaded.fields["m:e"] == b'"x"'
    assert loaded.expires_at == pytest.approx(now + 600, abs=0.002)


@pytest.mark.sec("SEC-24")
def test_the_ttl_follows_expires_at(store: RedisStore, admin: redis.Redis) -> None:
    now = time.time()
    record = make_record(now, idle=100)
    store.create(record)
    key = f"{store.prefix}{{{record.key}}}"
    linger = 1000 * LINGER  # the key outlives the deadline by the linger (never live)
    assert 99_000 + linger < admin.pttl(key) <= 100_001 + linger
    renewal = Renewal(now=now + 50, idle_timeout=100, lifetime=3600, interval=10)
    store.load(record.key, now + 50, renewal)
    assert 149_000 + linger < admin.pttl(key) <= 150_001 + linger


@pytest.mark.sec("SEC-39")
def test_undecodable_records_raise_corrupt_session(store: RedisStore, admin: redis.Redis) -> None:
    now = time.time()
    cases: list[dict[bytes, bytes]] = [
        {b"m:e": b"soon", b"m:c": b"1", b"m:r": b"1"},
        {b"m:e": str(now + 60).encode()},
        {b"m:e": str(now + 60).encode(), b"m:c": b"1", b"m:r": b"1", b"d:\xff": b"1"},
        {b"m:e": str(now + 60).encode(), b"m:c": b"1", b"m:r": b"1", b"m:j": b"[1]"},
    ]
    for mapping in cases:
        digest = new_key()
        admin.hset(f"{store.prefix}{{{digest}}}", mapping=mapping)  # type: ignore[arg-type]
        admin.expire(f"{store.prefix}{{{digest}}}", 60)
        with pytest.raises(CorruptSession):
            store.load(digest, now)
    digest = new_key()
    admin.set(f"{store.prefix}{{{digest}}}", b"not a hash", ex=60)
    with pytest.raises(CorruptSession):
        store.load(digest, now)
    assert store.apply(digest, Changes(now=now, expires_at=now + 9, set={"a": b"1"})) is False


def test_a_client_that_decodes_responses_works(server: RedisServer) -> None:
    client = redis.Redis(port=server.port, decode_responses=True)
    store = RedisStore(client, prefix=_prefix())
    now = time.time()
    record = make_record(now, principal="dora")
    store.create(record)
    loaded = store.load(record.key, now)
    assert loaded is not None
    assert dict(loaded.fields) == dict(record.fields)
    assert [r.key for r in store.sessions_of("dora", now)] == [record.key]
    assert store.count(now) == 1
    for key in client.scan_iter(match=store.prefix + "*"):
        client.delete(key)
    client.close()


# -- round trips and commands ---------------------------------------------------------------


def test_a_read_is_one_round_trip_and_a_write_is_one_round_trip(
    server: RedisServer, admin: redis.Redis
) -> None:
    trips = RoundTrips()
    url = f"redis://127.0.0.1:{server.port}"
    prefix = _prefix()
    store = RedisStore.from_url(url, prefix=prefix, connection_class=trips.sync_connection())
    now = time.time()
    record = make_record(now, principal="erin")
    renewal = Renewal(now=now, idle_timeout=600, lifetime=3600, interval=60)
    # Scripts loaded (the renewing load is made for the policy's timeouts), connection open:
    # a second store, which has seen nothing of this session, runs the renewing load.
    other = RedisStore.from_url(url, prefix=prefix)
    store.create(record)
    assert other.load(record.key, now, renewal) is not None
    assert store.apply(record.key, Changes(now=now, expires_at=record.expires_at))

    def measure(operation: Any) -> tuple[int, dict[str, int]]:
        before, sent = calls(admin), trips.count
        operation()
        return trips.count - sent, delta(admin, before)

    # Written by this store within the interval: no renewal can be due, so no script.
    read = measure(lambda: store.load(record.key, now + 1, renewal))
    assert read == (1, {"hgetall": 1})
    # Not seen by this store: the script decides, in the same round trip.
    fresh = RedisStore.from_url(url, prefix=prefix, connection_class=trips.sync_connection())
    fresh.client.ping()  # its connection open
    unseen = measure(lambda: fresh.load(record.key, now + 2, renewal))
    assert unseen == (1, {"evalsha": 1, "hgetall": 1})
    fresh.close()
    due = Renewal(now=now + 120, idle_timeout=600, lifetime=3600, interval=60)
    trips_before, before = trips.count, calls(admin)
    renewed = store.load(record.key, now + 120, due)
    assert renewed is not None
    assert renewed.renewed_at == now + 120
    assert trips.count - trips_before == 1  # the renewal runs inside the same script
    assert delta(admin, before)["evalsha"] == 1
    # Seen renewed just now: the next read within the interval is a plain HGETALL again.
    assert measure(lambda: store.load(record.key, now + 121, due))[1] == {"hgetall": 1}
    changes = Changes(now=now + 121, expires_at=now + 721, set={"a": b"2"})
    trips_before, before = trips.count, calls(admin)
    assert store.apply(record.key, changes)
    assert trips.count - trips_before == 1
    assert delta(admin, before)["evalsha"] == 1
    assert store.load(record.key, now + 121) is not None
    for key in store.client.scan_iter(match=store.prefix + "*"):
        store.client.delete(key)
    other.close()
    store.close()


def test_a_store_that_saw_a_renewal_still_renews_once_the_interval_passed(
    store: RedisStore, admin: redis.Redis
) -> None:
    # What a store remembers only ever skips a check that could not succeed: once the
    # interval has passed since the renewal it saw, the script runs and renews.
    now = time.time()
    record = make_record(now)
    store.create(record)
    key = _hash_key(store, record.key)
    assert store.load(record.key, now + 30, Renewal(now + 30, 600, 3600, 60)) is not None
    assert admin.hget(key, "m:r") == L.num(now).encode()  # within the interval: untouched
    loaded = store.load(record.key, now + 61, Renewal(now + 61, 600, 3600, 60))
    assert loaded is not None
    assert loaded.renewed_at == now + 61
    assert admin.hget(key, "m:r") == L.num(now + 61).encode()


@pytest.mark.sec("SEC-39")
def test_a_key_holding_another_type_is_corrupt_on_a_plain_read_too(
    store: RedisStore, admin: redis.Redis
) -> None:
    now = time.time()
    record = make_record(now)
    store.create(record)
    assert store.load(record.key, now + 1) is not None
    admin.delete(_hash_key(store, record.key))
    admin.set(_hash_key(store, record.key), b"not a hash")
    with pytest.raises(CorruptSession):
        store.load(record.key, now + 2, Renewal(now + 2, 600, 3600, 60))
    with pytest.raises(CorruptSession):
        store.load(record.key, now + 2)


# -- what the scripts run ----------------------------------------------------------------------


def _hash_key(store: RedisStore, digest: str) -> str:
    return f"{store.prefix}{{{digest}}}"


def _index_key(store: RedisStore, principal: str) -> str:
    return f"{store.prefix}p:{{{hashlib.sha256(principal.encode()).hexdigest()}}}"


def test_a_read_whose_renewal_is_not_due_writes_nothing(
    store: RedisStore, admin: redis.Redis
) -> None:
    now = time.time()
    record = make_record(now, principal="uma")
    store.create(record)
    key = _hash_key(store, record.key)
    renewal = Renewal(now=now + 5, idle_timeout=600, lifetime=3600, interval=60)
    store.load(record.key, now + 5, renewal)  # the scripts are loaded
    store.load(record.key, now + 5)
    stored, expiry = admin.hgetall(key), admin.pexpiretime(key)
    before = calls(admin)
    assert store.load(record.key, now + 6, renewal) is not None  # within the interval
    assert store.load(record.key, now + 6) is not None  # no renewal asked for
    assert delta(admin, before) == {"hgetall": 2}  # seen written just now: no script
    # A store that has seen nothing of it runs the script, which finds nothing due either.
    other = RedisStore(store.client, prefix=store.prefix)
    before = calls(admin)
    assert other.load(record.key, now + 6, renewal) is not None
    assert delta(admin, before) == {"evalsha": 1, "hgetall": 1}
    assert admin.hgetall(key) == stored
    assert admin.pexpiretime(key) == expiry


def test_a_due_renewal_writes_one_hset_and_one_pexpireat(
    store: RedisStore, admin: redis.Redis
) -> None:
    now = time.time()
    record = make_record(now, principal="vic")
    store.create(record)
    index_score = admin.zscore(_index_key(store, "vic"), record.key)
    due = Renewal(now=now + 120, idle_timeout=600, lifetime=3600, interval=60)
    store.load(record.key, now, due)  # the script is loaded (not due at now)
    before = calls(admin)
    loaded = store.load(record.key, now + 120, due)
    assert loaded is not None
    assert loaded.expires_at == now + 120 + 600  # as the script adds, in doubles
    # The new deadline is within the index's bound (expires_at + one hour): no index call.
    assert delta(admin, before) == {"evalsha": 1, "hgetall": 1, "hset": 1, "pexpireat": 1}
    assert admin.zscore(_index_key(store, "vic"), record.key) == index_score
    key = _hash_key(store, record.key)
    assert admin.pexpiretime(key) == math.ceil((now + 120 + 600 + LINGER) * 1000)


def test_a_write_is_hmget_hset_and_pexpireat(store: RedisStore, admin: redis.Redis) -> None:
    now = time.time()
    record = make_record(now)
    store.create(record)
    key = _hash_key(store, record.key)
    store.apply(record.key, Changes(now=now, expires_at=now + 600))  # the script is loaded

    def applying(changes: Changes) -> dict[str, int]:
        before = calls(admin)
        assert store.apply(record.key, changes) is True
        return delta(admin, before)

    changes = Changes(now=now + 1, expires_at=now + 601, set={"a": b"2", "c": b"3"})
    assert applying(changes) == {"evalsha": 1, "hmget": 1, "hset": 1, "pexpireat": 1}
    assert admin.pexpiretime(key) == math.ceil((now + 601 + LINGER) * 1000)
    changes = Changes(now=now + 2, expires_at=now + 602, remove=frozenset({"b", "zz"}))
    assert applying(changes) == {
        "evalsha": 1,
        "hmget": 1,
        "hdel": 1,
        "hset": 1,
        "pexpireat": 1,
    }
    # A deadline that did not move (an absolute cap) leaves the TTL as it is.
    changes = Changes(now=now + 3, expires_at=now + 602, set={"a": b"4"})
    assert applying(changes) == {"evalsha": 1, "hmget": 1, "hset": 1}
    assert admin.pexpiretime(key) == math.ceil((now + 602 + LINGER) * 1000)
    loaded = store.load(record.key, now + 3)
    assert loaded is not None
    assert dict(loaded.fields) == {"a": b"4", "c": b"3"}
    assert (loaded.renewed_at, loaded.expires_at) == (now + 3, now + 602)


def test_the_index_is_touched_only_when_the_deadline_passes_its_bound(
    server: RedisServer, admin: redis.Redis
) -> None:
    store = RedisStore.from_url(
        f"redis://127.0.0.1:{server.port}", prefix=_prefix(), index_slack=100
    )
    now = time.time()
    record = make_record(now, principal="wes", idle=600)
    store.create(record)
    index = _index_key(store, "wes")
    key = _hash_key(store, record.key)
    assert admin.zscore(index, record.key) == now + 600 + 100
    assert float(admin.hget(key, "m:x") or b"") == now + 600 + 100
    store.apply(record.key, Changes(now=now, expires_at=now + 600))  # the script is loaded

    before = calls(admin)
    changes = Changes(now=now + 50, expires_at=now + 650, set={"a": b"5"})
    assert store.apply(record.key, changes) is True  # 650 is within the bound, 700
    assert delta(admin, before) == {"evalsha": 1, "hmget": 1, "hset": 1, "pexpireat": 1}
    assert admin.zscore(index, record.key) == now + 600 + 100

    before = calls(admin)
    changes = Changes(now=now + 150, expires_at=now + 750, set={"a": b"6"})
    assert store.apply(record.key, changes) is True  # 750 passes it: the index is told
    used = delta(admin, before)
    assert used["evalsha"] == 2  # the apply, then the index's script
    assert used["zadd"] == 1
    assert admin.zscore(index, record.key) == now + 750 + 100
    assert float(admin.hget(key, "m:x") or b"") == now + 750 + 100
    assert [r.key for r in store.sessions_of("wes", now + 740)] == [record.key]
    for name in admin.scan_iter(match=store.prefix + "*"):
        admin.delete(name)
    store.close()


def test_a_login_sets_its_metadata_in_the_same_hset_and_indexes(
    store: RedisStore, admin: redis.Redis
) -> None:
    now = time.time()
    record = make_record(now, meta={"ip": "10.0.0.9"})
    store.create(record)
    store.apply(record.key, Changes(now=now, expires_at=now + 600))  # the script is loaded
    before = calls(admin)
    login = Changes(now=now + 1, expires_at=now + 601, login=Login("xena", now + 1), meta={})
    assert store.apply(record.key, login) is True
    used = delta(admin, before)
    assert (used["hmget"], used["hset"], used["hdel"]) == (1, 1, 1)  # hdel: the meta went
    assert used["zadd"] == 1
    loaded = store.load(record.key, now + 1)
    assert loaded is not None
    assert (loaded.principal, loaded.authenticated_at, loaded.created_at) == (
        "xena",
        now + 1,
        now + 1,
    )
    assert dict(loaded.meta) == {}
    assert float(admin.hget(_hash_key(store, record.key), "m:x") or b"") == now + 601 + 3600
    assert [r.key for r in store.sessions_of("xena", now + 1)] == [record.key]


def test_change_sets_larger_than_luas_stack_are_written_whole(server: RedisServer) -> None:
    # unpack() in Lua fails past about 8000 values: the scripts set and remove in slices.
    store = RedisStore.from_url(f"redis://127.0.0.1:{server.port}", prefix=_prefix())
    moving = RedisStore(store.client, prefix=store.prefix, cross_slot=True)
    now = time.time()
    many = {f"k{i}": str(i).encode() for i in range(6000)}
    record = make_record(now, fields=many)
    store.create(record)
    changes = Changes(
        now=now + 1,
        expires_at=now + 601,
        set={f"n{i}": b"1" for i in range(5000)},
        remove=frozenset(f"k{i}" for i in range(4500)),
    )
    assert store.apply(record.key, changes) is True
    new = new_key()
    assert moving.rename(record.key, new, now + 2) is True  # take + put: 11500 fields
    loaded = store.load(new, now + 2)
    assert loaded is not None
    assert dict(loaded.fields) == changes.apply_to(record).fields
    for name in store.client.scan_iter(match=store.prefix + "*"):
        store.client.delete(name)
    store.close()


def test_renewals_follow_the_timeouts_each_request_brings(store: RedisStore) -> None:
    # The renewing load is made for a policy's timeouts; other timeouts get their own.
    now = time.time()
    record = make_record(now, idle=100)
    store.create(record)
    first = Renewal(now=now + 60, idle_timeout=100, lifetime=3600, interval=10)
    loaded = store.load(record.key, now + 60, first)
    assert loaded is not None
    assert loaded.expires_at == now + 60 + 100
    second = Renewal(now=now + 80, idle_timeout=500, lifetime=3600, interval=10)
    loaded = store.load(record.key, now + 80, second)
    assert loaded is not None
    assert loaded.expires_at == now + 80 + 500
    again = Renewal(now=now + 95, idle_timeout=100, lifetime=3600, interval=10)
    loaded = store.load(record.key, now + 95, again)  # 195 < 580: not due
    assert loaded is not None
    assert loaded.expires_at == now + 80 + 500


def test_index_slack_is_fixed_at_construction(store: RedisStore) -> None:
    from sojourn import ConfigurationError

    assert store.index_slack == 3600.0
    with pytest.raises(AttributeError):
        store.index_slack = 10.0  # type: ignore[misc]
    with pytest.raises(ConfigurationError):
        RedisStore(store.client, index_slack=float("inf"))


def test_scripts_are_reloaded_after_the_server_forgets_them(
    store: RedisStore, admin: redis.Redis
) -> None:
    now = time.time()
    record = make_record(now)
    store.create(record)
    admin.script_flush()
    assert store.load(record.key, now) is not None
    assert store.apply(record.key, Changes(now=now, expires_at=now + 60, set={"b": b"3"}))


@pytest.mark.sec("SEC-46")
def test_no_operation_ever_uses_keys(store: RedisStore, admin: redis.Redis) -> None:
    before = calls(admin)
    now = time.time()
    records = [make_record(now, principal="frank") for _ in range(3)]
    for record in records:
        store.create(record)
    store.load(records[0].key, now, Renewal(now=now, idle_timeout=900, lifetime=3600, interval=0))
    store.apply(records[0].key, Changes(now=now, expires_at=now + 700, login=Login("frank", now)))
    new = new_key()
    store.rename(records[1].key, new, now)
    assert len(store.sessions_of("frank", now)) == 3
    assert store.count(now) == 3
    assert len(store.scan(now, None, 2)[0]) == 2
    assert store.delete_sessions_of("frank", keep=new) == 2
    store.delete(new)
    used = delta(admin, before)
    assert "keys" not in used
    assert used.get("scan", 0) >= 1


# -- the principal index ----------------------------------------------------------------------


def test_the_index_survives_renewals_past_its_first_bound(server: RedisServer) -> None:
    store = RedisStore.from_url(
        f"redis://127.0.0.1:{server.port}", prefix=_prefix(), index_slack=10
    )
    now = time.time()
    record = make_record(now, principal="gina", idle=20)
    store.create(record)
    at = now
    for _ in range(5):  # each renewal moves the deadline 15 s, past the 10 s slack
        at += 15
        renewal = Renewal(now=at, idle_timeout=20, lifetime=3600, interval=0)
        assert store.load(record.key, at, renewal) is not None
        assert [r.key for r in store.sessions_of("gina", at)] == [record.key]
    for key in store.client.scan_iter(match=store.prefix + "*"):
        store.client.delete(key)
    store.close()


def test_the_index_drops_passed_entries_when_it_grows(server: RedisServer) -> None:
    store = RedisStore.from_url(f"redis://127.0.0.1:{server.port}", prefix=_prefix(), index_slack=0)
    now = time.time()
    for _ in range(5):
        store.create(make_record(now, principal="quinn", idle=5))
    latest = make_record(now + 10, principal="quinn")
    store.create(latest)
    index = f"{store.prefix}p:{{{hashlib.sha256(b'quinn').hexdigest()}}}"
    assert store.client.zrange(index, 0, -1) == [latest.key.encode()]
    for key in store.client.scan_iter(match=store.prefix + "*"):
        store.client.delete(key)
    store.close()


def test_a_session_logged_in_as_someone_else_leaves_the_old_index(store: RedisStore) -> None:
    now = time.time()
    record = make_record(now, principal="hank")
    store.create(record)
    store.apply(record.key, Changes(now=now, expires_at=now + 600, login=Login("ivy", now)))
    assert store.sessions_of("hank", now) == []
    assert store.delete_sessions_of("hank") == 0
    assert store.load(record.key, now) is not None
    assert [r.key for r in store.sessions_of("ivy", now)] == [record.key]


# -- failures and recovery --------------------------------------------------------------------


@pytest.mark.sec("SEC-48")
@pytest.mark.anyio
async def test_a_killed_server_raises_store_unavailable_and_the_store_recovers() -> None:
    with start_server() as server:
        store = AsyncRedisStore.from_url(
            f"redis://127.0.0.1:{server.port}",
            prefix=_prefix(),
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
        )
        now = time.time()
        record = make_record(now)
        await store.create(record)
        assert await store.load(record.key, now) is not None

        server.stop()
        started = time.monotonic()
        with pytest.raises(StoreUnavailable):
            await store.load(record.key, now)
        with pytest.raises(StoreUnavailable):
            await store.create(make_record(now))
        # A hang guard, not a benchmark: a few timeouts and retries at most.
        assert time.monotonic() - started < 20 * TIMEOUT + 5

        server.start()  # same port, empty (no persistence), and it has no scripts
        assert await store.load(record.key, now) is None
        again = make_record(now)
        await store.create(again)
        loaded = await store.load(again.key, now)
        assert loaded is not None
        assert dict(loaded.fields) == dict(again.fields)
        await store.aclose()


@pytest.mark.sec("SEC-48")
def test_a_frozen_server_times_out_as_store_unavailable() -> None:
    with start_server() as server:
        store = RedisStore.from_url(
            f"redis://127.0.0.1:{server.port}",
            prefix=_prefix(),
            socket_timeout=TIMEOUT,
            socket_connect_timeout=TIMEOUT,
        )
        now = time.time()
        record = make_record(now)
        store.create(record)
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        try:
            started = time.monotonic()
            with pytest.raises(StoreUnavailable):
                store.load(record.key, now)
            assert time.monotonic() - started < 20 * TIMEOUT + 5  # a hang guard
        finally:
            server.process.send_signal(signal.SIGCONT)
        loaded = store.load(record.key, now)
        assert loaded is not None
        store.close()


# -- Cluster specifics --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def cluster() -> Iterator[RedisClusterHarness]:
    with start_cluster(masters=3) as harness:
        yield harness


@pytest.fixture
async def cluster_store(cluster: RedisClusterHarness) -> AsyncIterator[AsyncRedisStore]:
    client = RedisCluster(host="127.0.0.1", port=cluster.ports[0], socket_timeout=5)
    store = AsyncRedisStore(client, prefix=_prefix())
    yield store
    keys = [k async for k in client.scan_iter(match=store.prefix + "*")]
    for key in keys:
        await client.delete(key)
    await client.aclose()


@pytest.mark.sec("SEC-07")
@pytest.mark.anyio
async def test_cluster_rename_crosses_slots_and_the_old_key_stays_dead(
    cluster: RedisClusterHarness, cluster_store: AsyncRedisStore
) -> None:
    store = cluster_store
    now = time.time()
    client = store.client
    assert isinstance(client, RedisCluster)
    # Find a new key on another node than the old one, so the move really crosses nodes.
    record = make_record(now, principal="jay")
    await store.create(record)
    old_node = client.get_node_from_key(f"{store.prefix}{{{record.key}}}")
    new = new_key()
    while client.get_node_from_key(f"{store.prefix}{{{new}}}") == old_node:
        new = new_key()
    assert await store.rename(record.key, new, now) is True
    assert await store.load(record.key, now) is None
    assert await store.apply(record.key, Changes(now=now, expires_at=now + 60)) is False
    assert await client.exists(f"{store.prefix}{{{record.key}}}") == 0
    moved = await store.load(new, now)
    assert moved is not None
    assert moved.principal == "jay"
    assert [r.key for r in await store.sessions_of("jay", now)] == [new]


@pytest.mark.anyio
async def test_cluster_scripts_are_reloaded_after_every_node_forgets_them(
    cluster: RedisClusterHarness, cluster_store: AsyncRedisStore
) -> None:
    now = time.time()
    records = [make_record(now) for _ in range(6)]  # spread over the nodes
    for record in records:
        await cluster_store.create(record)
    for port in cluster.ports:
        node = redis.Redis(port=port)
        node.script_flush()
        node.close()
    for record in records:
        assert await cluster_store.load(record.key, now) is not None
        changes = Changes(now=now, expires_at=now + 60, set={"z": b"1"})
        assert await cluster_store.apply(record.key, changes) is True


# -- through the ASGI middleware ---------------------------------------------------------------


async def _read(request: Request) -> Response:
    return PlainTextResponse(str(request.session.get("name")))


async def _write(request: Request) -> Response:
    request.session["name"] = request.query_params.get("name", "x")
    return PlainTextResponse("ok")


async def _login(request: Request) -> Response:
    get_session(request).login("kim")
    return PlainTextResponse("ok")


async def _plain(request: Request) -> Response:
    return PlainTextResponse("no session")


def _app(store: AsyncRedisStore) -> SessionMiddleware:
    routes = [
        Route("/read", _read),
        Route("/write", _write),
        Route("/login", _login),
        Route("/plain", _plain),
    ]
    return SessionMiddleware(Starlette(routes=routes), store=store)


@pytest.mark.anyio
async def test_through_the_middleware_reads_cost_one_command_and_no_id_costs_none(
    server: RedisServer, admin: redis.Redis
) -> None:
    trips = RoundTrips()
    store = AsyncRedisStore.from_url(
        f"redis://127.0.0.1:{server.port}",
        prefix=_prefix(),
        connection_class=trips.async_connection(),
    )
    transport = httpx.ASGITransport(app=_app(store))
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as http:
        assert (await http.get("/write", params={"name": "lee"})).status_code == 200
        await http.get("/login")
        assert (await http.get("/read")).text == "lee"  # warm: scripts and connection

        before, sent = calls(admin), trips.count
        assert (await http.get("/read")).text == "lee"
        assert trips.count - sent == 1
        assert delta(admin, before) == {"hgetall": 1}  # renewed just now: no script needed

        before, sent = calls(admin), trips.count
        await http.get("/write", params={"name": "max"})
        assert trips.count - sent == 2  # load, then apply
        commands = delta(admin, before)
        assert (commands["hgetall"], commands["evalsha"]) == (1, 1)  # plain load, apply script

        session_id = http.cookies["__Host-sid"]
    async with httpx.AsyncClient(transport=transport, base_url="https://testserver") as fresh:
        before, sent = calls(admin), trips.count
        assert (await fresh.get("/plain")).status_code == 200
        assert (await fresh.get("/read")).text == "None"
        assert trips.count == sent
        assert delta(admin, before) == {}

    # What Redis holds: the digest of the ID, never the ID; the principal only hashed in keys.
    keys = [k async for k in store.client.scan_iter(match=store.prefix + "*")]
    digest = store_key(session_id)
    assert f"{store.prefix}{{{digest}}}".encode() in keys
    for key in keys:
        assert session_id.encode() not in key
        assert b"kim" not in key
        assert await store.client.pttl(key) > 0
        if await store.client.type(key) == b"hash":
            values = await store.client.hgetall(key)
            assert all(session_id not in str(v) for v in values.values())
        await store.client.delete(key)
    await store.aclose()


@pytest.mark.sec("SEC-26")
@pytest.mark.anyio
async def test_a_session_revoked_during_a_request_stays_revoked(
    server: RedisServer,
) -> None:
    store = AsyncRedisStore.from_url(f"redis://127.0.0.1:{server.port}", prefix=_prefix())
    now = time.time()
    record: Record = make_record(now, principal="nat")
    await store.create(record)
    loaded = await store.load(record.key, now)  # request A has loaded the session
    assert loaded is not None
    assert await store.delete_sessions_of("nat") == 1  # "sign out everywhere"
    changes = Changes(now=now + 1, expires_at=now + 601, set={"cart": b"[1]"})
    assert await store.apply(record.key, changes) is False  # request A commits
    assert await store.load(record.key, now + 1) is None
    assert await store.sessions_of("nat", now + 1) == []
    await store.aclose()


# -- Sentinel failover --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_sentinel_failover_is_survived_by_the_same_store_object() -> None:
    with start_sentinel(replica=True) as harness:
        assert harness.replica is not None
        sentinel = redis.asyncio.sentinel.Sentinel(  # type: ignore[no-untyped-call]
            [("127.0.0.1", harness.sentinel_port)], socket_timeout=TIMEOUT
        )
        client = sentinel.master_for(
            harness.service, socket_timeout=TIMEOUT, socket_connect_timeout=TIMEOUT
        )
        store = AsyncRedisStore(client, prefix=_prefix())
        now = time.time()
        record = make_record(now, principal="olga")
        await store.create(record)
        replica = harness.replica.client()
        for _ in range(100):  # replicated before the primary dies
            if replica.exists(f"{store.prefix}{{{record.key}}}"):
                break
            await anyio.sleep(0.05)
        replica.close()

        harness.primary.stop()
        with pytest.raises(StoreUnavailable):
            await store.load(record.key, now)

        deadline = time.monotonic() + 30  # Sentinel promotes the replica within seconds
        while True:
            try:
                loaded = await store.load(record.key, now)
                break
            except StoreUnavailable:
                if time.monotonic() > deadline:
                    raise
                await anyio.sleep(0.2)
        assert loaded is not None
        assert dict(loaded.fields) == dict(record.fields)
        address = await sentinel.discover_master(harness.service)
        assert address[1] == harness.replica.port
        changes = Changes(now=now, expires_at=now + 600, set={"after": b"1"})
        assert await store.apply(record.key, changes) is True
        assert [r.key for r in await store.sessions_of("olga", now)] == [record.key]
        await client.aclose()
        for node in sentinel.sentinels:
            await node.aclose()


@pytest.mark.anyio
async def test_from_url_builds_a_cluster_client(cluster: RedisClusterHarness) -> None:
    store = AsyncRedisStore.from_url(
        f"redis://127.0.0.1:{cluster.ports[0]}", cluster=True, prefix=_prefix()
    )
    assert isinstance(store.client, RedisCluster)
    assert store.cross_slot is True
    now = time.time()
    record = make_record(now, principal="pia")
    await store.create(record)
    new = new_key()
    assert await store.rename(record.key, new, now) is True
    assert [r.key for r in await store.sessions_of("pia", now)] == [new]
    assert await store.delete_sessions_of("pia") == 1
    assert await store.count(now) == 0
    keys = [k async for k in store.client.scan_iter(match=store.prefix + "*")]
    for key in keys:
        await store.client.delete(key)
    await store.aclose()


def test_a_server_error_on_a_plain_read_is_not_taken_for_a_corrupt_session(
    server: RedisServer, admin: redis.Redis
) -> None:
    # Only WRONGTYPE says the key holds something else. NOPERM, BUSY and the like say nothing
    # about the record: they must reach the caller as they do from the script, never as
    # CorruptSession (which the manager answers by deleting the record).
    prefix = _prefix()
    admin.acl_setuser(
        "no-hgetall", enabled=True, nopass=True, keys=["*"], categories=["+@all"],
        commands=["-hgetall"],
    )  # fmt: skip
    limited = RedisStore.from_url(f"redis://no-hgetall:x@127.0.0.1:{server.port}", prefix=prefix)
    try:
        now = time.time()
        record = make_record(now)
        limited.create(record)  # seen by this store: its next read is a plain HGETALL
        with pytest.raises(redis.exceptions.ResponseError, match="no permissions"):
            limited.load(record.key, now + 1, Renewal(now + 1, 600, 3600, 60))
        assert admin.exists(_hash_key(limited, record.key))
    finally:
        limited.close()
        admin.acl_deluser("no-hgetall")
        for key in admin.scan_iter(match=prefix + "*"):
            admin.delete(key)


def test_a_write_planned_before_a_renewal_this_store_saw_does_not_postpone_the_next(
    store: RedisStore,
) -> None:
    # Another process's write, planned before the renewal this store saw but landing after
    # it, moves renewed_at back; the plain read notices and renews, as the script would.
    now = time.time()
    record = make_record(now)
    store.create(record)
    other = RedisStore(store.client, prefix=store.prefix)
    renewed = store.load(record.key, now + 120, Renewal(now + 120, 600, 3600, 60))
    assert renewed is not None
    assert renewed.renewed_at == now + 120
    assert other.apply(record.key, Changes(now=now + 100, expires_at=now + 700, set={"a": b"2"}))
    loaded = store.load(record.key, now + 170, Renewal(now + 170, 600, 3600, 60))
    assert loaded is not None
    assert loaded.renewed_at == now + 170
