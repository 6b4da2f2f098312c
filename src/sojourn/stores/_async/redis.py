"""The Redis / Valkey store: single node, Sentinel-managed clients and Cluster.

One hash per session under a hash tag, change sets applied field by field inside Lua scripts
that refuse to touch a missing or expired record, expiry by ``PEXPIREAT``, and a sorted-set
index per principal. Reading a session (with its renewal when due) is one ``EVALSHA``. The
layout and the scripts are shared with the sync twin; see :mod:`sojourn.stores._redis_layout`.
"""

from __future__ import annotations

from typing import Any

import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.commands.core import AsyncScript

from ..._core.errors import ConfigurationError, CorruptSession, SessionExists
from .. import _redis_layout as L
from .. import _redis_scripts as scripts
from ..base import Changes, Record, Renewal

Client = redis.asyncio.Redis | RedisCluster

DEFAULT_TIMEOUT = 2.0


class AsyncRedisStore:
    """Sessions in Redis or Valkey, for async code.

    Args:
        client: a ``redis.asyncio.Redis`` (plain or from ``Sentinel.master_for``) or a
            ``redis.asyncio.cluster.RedisCluster``. The store does not close a client it was
            given; it closes one it made in :meth:`from_url`.
        prefix: put before every key, so sessions never collide with the app's own keys.
        index_slack: seconds added to a session's deadline when it is written to its
            principal's index, so renewals refresh the index at most once per ``index_slack``
            (each refresh is one extra round trip for an authenticated session).
        cross_slot: whether a rotation's old and new keys may be on different nodes. ``None``
            decides by the client type (``True`` for ``RedisCluster``); set it to ``True`` behind
            a Cluster proxy that rejects multi-key scripts.
    """

    blocking = False  # unasync: blocking = True

    def __init__(
        self,
        client: Client,
        *,
        prefix: str = "sojourn:",
        index_slack: float = 3600.0,
        cross_slot: bool | None = None,
    ) -> None:
        if index_slack < 0:
            raise ConfigurationError("index_slack must not be negative")
        self.client = client
        self.prefix = L.check_prefix(prefix)
        self.index_slack = index_slack
        self.cross_slot = isinstance(client, RedisCluster) if cross_slot is None else cross_slot
        self._owns_client = False
        # register_script computes the SHA locally (no I/O); each call is EVALSHA and falls
        # back to SCRIPT LOAD when the server answers NOSCRIPT (after a restart or failover).
        self._load = client.register_script(scripts.LOAD)
        self._create = client.register_script(scripts.CREATE)
        self._apply = client.register_script(scripts.APPLY)
        self._rename = client.register_script(scripts.RENAME)
        self._take = client.register_script(scripts.TAKE)
        self._put = client.register_script(scripts.PUT)
        self._index_add = client.register_script(scripts.INDEX_ADD)
        self._index_read = client.register_script(scripts.INDEX_READ)
        self._delete_if_owned = client.register_script(scripts.DELETE_IF_OWNED)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "sojourn:",
        cluster: bool = False,
        index_slack: float = 3600.0,
        **kwargs: Any,
    ) -> AsyncRedisStore:
        """A store on a client made from ``url`` (``redis://``, ``rediss://``, ``unix://``).

        Connect and command timeouts default to 2 seconds, so an unreachable server raises
        :class:`~sojourn.StoreUnavailable` within a bounded time; ``kwargs`` go to redis-py and
        override them. No connection is made until the first command.
        """
        kwargs.setdefault("socket_connect_timeout", DEFAULT_TIMEOUT)
        kwargs.setdefault("socket_timeout", DEFAULT_TIMEOUT)
        client: Client
        if cluster:
            client = RedisCluster.from_url(url, **kwargs)
        else:
            client = redis.asyncio.Redis.from_url(url, **kwargs)
        store = cls(client, prefix=prefix, index_slack=index_slack)
        store._owns_client = True
        return store

    # -- internals -----------------------------------------------------------------------------

    def _key(self, digest: str) -> str:
        return L.session_key(self.prefix, digest)

    async def _call(self, script: AsyncScript, keys: list[str], args: list[Any]) -> Any:
        with L.translate_errors():
            return await script(keys=keys, args=args)

    async def _index(
        self, principal: str, digest: str, until: bytes, now: float, drop: str = ""
    ) -> None:
        key = L.index_key(self.prefix, principal)
        await self._call(self._index_add, [key], [digest, until, drop, L.num(now)])

    # -- the store protocol ---------------------------------------------------------------------

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load`: one ``EVALSHA``."""
        args: list[Any] = [L.num(now), b"0"]
        if renewal is not None:
            args = [
                L.num(now),
                b"1",
                L.num(renewal.idle_timeout),
                L.num(renewal.lifetime),
                L.num(renewal.interval),
                L.num(self.index_slack),
            ]
        reply = await self._call(self._load, [self._key(key)], args)
        if reply is None:
            return None
        if not isinstance(reply, list) or len(reply) != 2 or not isinstance(reply[1], list):
            raise CorruptSession("a session key holds something other than a session hash")
        raw = L.pairs(reply[1])
        record = L.decode(key, raw)
        if record.expires_at <= now:
            return None
        if reply[0] == 1 and record.principal is not None:
            # The renewal moved the deadline past what the index knows: tell the index.
            await self._index(record.principal, key, raw[L.INDEXED_UNTIL], now)
        return record

    async def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create`."""
        fields = L.record_fields(record, self.index_slack)
        args = [L.num(record.renewed_at), L.num(record.expires_at), *fields]
        if not await self._call(self._create, [self._key(record.key)], args):
            raise SessionExists(record.key)
        if record.principal is not None:
            until = L.num(record.expires_at + self.index_slack).encode()
            await self._index(record.principal, record.key, until, record.renewed_at)

    async def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply`: one ``EVALSHA``."""
        login = changes.login
        args: list[Any] = [
            L.num(changes.now),
            L.num(changes.expires_at),
            L.num(self.index_slack),
            b"1" if login is not None else b"0",
            login.principal if login is not None else b"",
            L.num(login.at) if login is not None else b"",
            b"1" if changes.meta is not None else b"0",
            L.encode_meta(changes.meta) if changes.meta else b"",
            str(len(changes.set)),
        ]
        for name, value in changes.set.items():
            args += [L.DATA + name.encode(), value]
        args += [L.DATA + name.encode() for name in changes.remove]
        reply = await self._call(self._apply, [self._key(key)], args)
        if not reply:
            return False
        _, due, principal, until = reply
        if due == 1 and principal:
            await self._index(L.as_bytes(principal).decode(), key, L.as_bytes(until), changes.now)
        return True

    async def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename`.

        On one node this is one script around ``RENAME``. When the keys may be in different
        Cluster slots, the record is first taken (read and deleted atomically on the old key's
        slot, so a concurrent ``apply`` to the old key finds nothing and returns ``False``),
        then written under the new key. A crash between the two steps loses the session (the
        user signs in again); it never leaves one alive under the old key.
        """
        old_key, new_key = self._key(old), self._key(new)
        if not self.cross_slot:
            reply = await self._call(self._rename, [old_key, new_key], [L.num(now)])
            if not reply:
                return False
            _, principal, until = reply
        else:
            taken = await self._call(self._take, [old_key], [L.num(now)])
            if not taken:
                return False
            raw = L.pairs(taken)
            expires = L.decode(old, raw, with_fields=False).expires_at
            flat = [item for pair in raw.items() for item in pair]
            await self._call(self._put, [new_key], [L.num(expires), *flat])
            principal, until = raw.get(L.PRINCIPAL, b""), raw.get(L.INDEXED_UNTIL, b"")
        if principal and until:
            await self._index(L.as_bytes(principal).decode(), new, L.as_bytes(until), now, drop=old)
        return True

    async def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`: one ``DEL``.

        The principal index is not touched: readers check each entry against its hash.
        """
        with L.translate_errors():
            await self.client.delete(self._key(key))

    async def aclose(self) -> None:
        """Close the client if this store made it (:meth:`from_url`); idempotent."""
        if self._owns_client:
            self._owns_client = False
            with L.translate_errors():
                await self.client.aclose()

    # -- capabilities ---------------------------------------------------------------------------

    async def sessions_of(self, principal: str, now: float) -> list[Record]:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.sessions_of`.

        Two round trips whatever the count (the index, then one pipeline of ``HMGET``); entries
        whose session is gone, expired or now someone else's are removed from the index.
        """
        index = L.index_key(self.prefix, principal)
        members = await self._call(self._index_read, [index], [L.num(now)])
        digests = [L.as_bytes(m).decode() for m in members]
        if not digests:
            return []
        with L.translate_errors():
            pipe = self.client.pipeline(transaction=False)
            for digest in digests:
                pipe.hmget(self._key(digest), L.META_FIELDS)
            replies = await pipe.execute()
        live: list[Record] = []
        stale: list[str] = []
        for digest, values in zip(digests, replies, strict=True):
            try:
                record = L.decode_meta_fields(digest, values)
            except CorruptSession:
                record = None
            if record is None or record.expires_at <= now or record.principal != principal:
                stale.append(digest)
            else:
                live.append(record)
        if stale:
            with L.translate_errors():
                await self.client.zrem(index, *stale)
        return sorted(live, key=lambda r: (r.created_at, r.key))

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.delete_sessions_of`.

        Each session is deleted by a script that first checks it still belongs to
        ``principal``; the index entries go with them.
        """
        index = L.index_key(self.prefix, principal)
        with L.translate_errors():
            members = await self.client.zrange(index, 0, -1)
        doomed = [d for m in members if (d := L.as_bytes(m).decode()) != keep]
        deleted = 0
        for digest in doomed:
            deleted += int(
                await self._call(self._delete_if_owned, [self._key(digest)], [principal])
            )
        if doomed:
            with L.translate_errors():
                await self.client.zrem(index, *doomed)
        return deleted

    async def count(self, now: float) -> int:
        """How many live sessions there are: ``SCAN`` (never ``KEYS``) plus pipelined reads.

        Costs a pass over the keyspace; meant for admin tools, not requests.
        """
        total = 0
        batch: list[bytes | str] = []
        with L.translate_errors():
            async for key in self.client.scan_iter(
                match=L.session_pattern(self.prefix), count=1000
            ):
                batch.append(key)
                if len(batch) >= 500:
                    total += await self._count_live(batch, now)
                    batch = []
            if batch:
                total += await self._count_live(batch, now)
        return total

    async def _count_live(self, keys: list[bytes | str], now: float) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, L.EXPIRES)
        live = 0
        for value in await pipe.execute(raise_on_error=False):
            try:
                live += float(L.as_bytes(value)) > now
            except (CorruptSession, ValueError):
                continue
        return live
