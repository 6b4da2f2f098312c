"""The async store's own client packs commands with hiredis, byte for byte as redis-py would.

``AsyncRedisStore.from_url`` gives its pool a connection class that packs in C
(``stores/_redis_packing``). What it sends must be exactly what redis-py's Python packer sends,
and whatever hiredis refuses must meet redis-py's own packer and its own error; a client handed
to the store must be left as it is. The last tests run the store on a real server through that
path, including the ``SCRIPT LOAD`` a flushed script cache needs.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

import pytest
import redis.asyncio
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import DataError

from sojourn.stores import _redis_packing
from sojourn.stores.base import Changes, Record
from sojourn.stores.redis import AsyncRedisStore

URL = "redis://127.0.0.1:6379/0"


def test_hiredis_is_there() -> None:
    """The ``redis`` extra installs hiredis; without it every test below would pass vacuously
    on redis-py's own packer."""
    assert _redis_packing.packing(redis.asyncio.Connection) is not redis.asyncio.Connection


COMMANDS: list[tuple[Any, ...]] = [
    ("GET", "sojourn:key"),
    ("EVALSHA", "a" * 40, 1, "sojourn:k", "1764636000.123456", "1764637800.5", 176463e7, b"0"),
    ("HSET", b"k", b"d:caf\xc3\xa9", "café ☕", "m:r", 1.0000000000000002, "m:e", float("nan")),
    ("HSET", "k", "big", b"x" * 200_000, "n", -3, "huge", 2**70),
    ("HSET", "k", "view", memoryview(b"abc")),
    ("HSET", "k", "array", bytearray(b"abc")),  # hiredis refuses: redis-py packs it
    ("SCRIPT LOAD", "return 1"),  # two words: redis-py splits them
    (b"CONFIG GET", b"save"),
    ("HSET", "k", "flag", True),  # redis-py refuses a bool
    ("HSET", "k", "none", None),  # and None
    ("HSET", "k", "surrogate", "x\udc80"),  # and a string UTF-8 cannot encode
]


def _packed(connection: AbstractConnection, args: tuple[Any, ...]) -> bytes | type:
    """The bytes ``connection`` sends for ``args``, or the type of the error it raises."""
    try:
        return b"".join(bytes(chunk) for chunk in connection.pack_command(*args))
    except Exception as exc:  # the error is what is compared
        return type(exc)


def _pool(store: AsyncRedisStore) -> redis.asyncio.ConnectionPool:
    client = store.client
    assert isinstance(client, redis.asyncio.Redis)
    return client.connection_pool


@pytest.mark.parametrize("args", COMMANDS, ids=lambda args: str(args[:3])[:60])
@pytest.mark.parametrize("encoding", ["utf-8", "latin-1"])
def test_packs_what_redis_py_packs(args: tuple[Any, ...], encoding: str) -> None:
    plain = redis.asyncio.Connection(encoding=encoding)
    in_c = _redis_packing.packing(redis.asyncio.Connection)(encoding=encoding)
    assert _packed(in_c, args) == _packed(plain, args)


def test_what_hiredis_refuses_gets_redis_pys_error() -> None:
    in_c = _redis_packing.packing(redis.asyncio.Connection)()
    with pytest.raises(DataError):
        in_c.pack_command("HSET", "k", "flag", True)


def test_the_c_packer_is_the_one_used_for_plain_commands() -> None:
    """Guards the speed-up itself: a GET is one hiredis-packed buffer, not redis-py's list."""
    in_c = _redis_packing.packing(redis.asyncio.Connection)()
    assert in_c.pack_command("GET", "k") == [b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n"]
    big = in_c.pack_command("SET", "k", b"x" * 200_000)
    assert len(big) == 1  # redis-py's own packer splits a value past its buffer cutoff
    assert redis.asyncio.Connection().pack_command("SET", "k", b"x" * 200_000) != big


@pytest.mark.parametrize(
    ("url", "base"),
    [
        ("redis://127.0.0.1:6379/0", redis.asyncio.Connection),
        ("rediss://127.0.0.1:6380/0", redis.asyncio.SSLConnection),
        ("unix:///tmp/no-such-redis.sock", redis.asyncio.UnixDomainSocketConnection),
    ],
)
@pytest.mark.anyio
async def test_from_url_packs_in_c_on_the_connection_class_it_chose(
    url: str, base: type[redis.asyncio.Connection]
) -> None:
    store = AsyncRedisStore.from_url(url)
    try:
        chosen = _pool(store).connection_class
        assert issubclass(chosen, base)
        assert chosen is not base
        assert chosen.pack_command is not base.pack_command
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_connection_class_given_to_from_url_is_kept_and_packs_in_c() -> None:
    class Counting(redis.asyncio.Connection):
        pass

    store = AsyncRedisStore.from_url(URL, connection_class=Counting)
    try:
        assert issubclass(_pool(store).connection_class, Counting)
    finally:
        await store.aclose()


@pytest.mark.anyio
async def test_a_client_handed_to_the_store_is_left_alone() -> None:
    client = redis.asyncio.Redis.from_url(URL)
    AsyncRedisStore(client)
    assert client.connection_pool.connection_class is redis.asyncio.Connection
    await client.aclose()


@pytest.mark.server
@pytest.mark.anyio
async def test_the_store_works_through_the_c_packer_after_a_script_flush() -> None:
    """A write after ``SCRIPT FLUSH`` sends ``SCRIPT LOAD`` (two words: redis-py's packer)
    and then the ``EVALSHA`` (hiredis); non-ASCII names and values make the round trip."""
    store = AsyncRedisStore.from_url(URL, prefix=f"sojourn-pack-{secrets.token_hex(4)}:")
    try:
        chosen = _pool(store).connection_class
        assert chosen is _redis_packing.packing(redis.asyncio.Connection)
        now = time.time()
        key = secrets.token_hex(32)
        record = Record(key, {"café": b"\xe2\x98\x95"}, None, now, now, now + 60, None, {})
        await store.create(record)
        await store.client.script_flush()
        changes = Changes(now, now + 60, {"naïve": b"x" * 100_000}, frozenset({"café"}))
        assert await store.apply(key, changes) is True
        loaded = await store.load(key, time.time())
        assert loaded is not None
        assert loaded.fields == {"naïve": b"x" * 100_000}
        await store.delete(key)
    finally:
        await store.aclose()
