"""The Redis / Valkey store: single node, Sentinel-managed clients and Cluster.

One hash per session under a hash tag, change sets applied field by field inside Lua scripts
that refuse to touch a missing or expired record, expiry by ``PEXPIREAT`` a *linger* after the
deadline (the scripts and reads check the deadline themselves; the linger lets an expired
session be reported once, :meth:`AsyncRedisStore.take_expired`), and a sorted-set index per
principal. Reading a session is one round trip: a plain ``HGETALL`` when the store
saw the session renewed within the renewal interval, else one ``EVALSHA`` that renews it when
due. The
layout and the scripts are shared with the sync twin; see :mod:`sojourn.stores._redis_layout`.

The scripts are called by ``EVALSHA`` with their SHA computed at import, directly on the
client rather than through redis-py's ``Script`` objects (which add a per-call import, a
``Pipeline`` check and a copy of the arguments); a ``NOSCRIPT`` answer (a restart, a failover, a
``SCRIPT FLUSH``) loads the script and retries, on a single server and on Cluster alike.

Every call is bounded (``timeout``, 2 s from ``from_url``). The async store keeps the bound with
one deadline around the whole call rather than redis-py's per-socket timeouts: those wrap each
send and read in ``asyncio.wait_for``, a task and extra loop turns per command (about a tenth
of a request's cost), and bound each round trip rather than the call. The request path's calls
(``load``, the scripts) take their deadline from :mod:`sojourn.stores._loop_deadline` (one timer
per event loop, a dict insert and delete per call: ``asyncio.timeout`` arms and cancels a timer
per call, about 6 µs); the administrative ones use ``asyncio.timeout``. The sync store keeps
redis-py's socket timeouts, which cost nothing there.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import redis.asyncio
from redis.asyncio.cluster import RedisCluster
from redis.exceptions import NoScriptError, RedisClusterException, ResponseError
from redis.maint_notifications import MaintNotificationsConfig

from ..._core.errors import ConfigurationError, CorruptSession, SessionExists, TooManySessions
from .. import _redis_layout as L
from .. import _redis_scripts as scripts
from .._cap import login_of, principal_of
from .._redis_packing import pack_in_c  # unasync: delete
from .._scan import check_scan
from .._timeouts import DEFAULT_TIMEOUT, check_timeout
from ..base import Cap, Changes, Record, Renewal

LINGER = 300.0
"""Seconds a session key outlives its deadline (never live meanwhile), so that a request that
presents it can be told it expired (the ``expired`` lifecycle event), as Spring Session does."""

Client = redis.asyncio.Redis | RedisCluster

logger = logging.getLogger("sojourn")

# What building a Cluster client raises when no node answers, beside the usual failures.
_CLUSTER_UNREACHABLE: tuple[type[BaseException], ...] = (*L.UNAVAILABLE, RedisClusterException)

TRACKED_SESSIONS = 10_000
"""How many sessions' renewal times a store remembers before starting over: about 170 bytes
each (the digest and a float), so under 2 MB; a forgotten session costs one script on its next
read, nothing else."""


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
        linger: seconds a session key is kept after its deadline (its TTL is the deadline plus
            this). It is never returned meanwhile; :meth:`take_expired` hands it over once.
            ``0`` drops it at the deadline (and no ``expired`` event can fire on load).
    """

    blocking = False  # unasync: blocking = True

    def __init__(
        self,
        client: Client,
        *,
        prefix: str = "sojourn:",
        index_slack: float = 3600.0,
        cross_slot: bool | None = None,
        timeout: float | None = None,
        linger: float = LINGER,
    ) -> None:
        if index_slack < 0:
            raise ConfigurationError("index_slack must not be negative")
        if not (0 <= linger < float("inf")):
            raise ConfigurationError("linger must be a finite number of seconds, not negative")
        self.linger = float(linger)
        # The deadline of each call (async store; None: only the client's own timeouts).
        self.timeout = None if timeout is None else check_timeout(timeout)
        self.client = client
        self.prefix = L.check_prefix(prefix)
        self._index_slack = float(index_slack)
        self.cross_slot = isinstance(client, RedisCluster) if cross_slot is None else cross_slot
        self._owns_client = False
        self._apply_script = scripts.apply(L.num(index_slack))
        self._capped_apply = scripts.capped_apply(L.num(index_slack))
        # The renewing load is made for the renewal's timeouts, which come from the policy and
        # so are the same on every request: made on the first, again only if they change.
        self._loading: tuple[float, float, float, scripts.Script] | None = None
        # When each session was last renewed or written as this store saw it: a read within
        # the renewal interval of that needs no renewal check, hence no script.
        self._renewed: dict[str, float] = {}

    @property
    def index_slack(self) -> float:
        """The ``index_slack`` the store was made with; read-only, as its scripts embed it."""
        return self._index_slack

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str = "sojourn:",
        cluster: bool = False,
        index_slack: float = 3600.0,
        timeout: float = DEFAULT_TIMEOUT,
        linger: float = LINGER,
        **kwargs: Any,
    ) -> AsyncRedisStore:
        """A store on a client made from ``url`` (``redis://``, ``rediss://``, ``unix://``).

        ``timeout`` (default :data:`~sojourn.stores._timeouts.DEFAULT_TIMEOUT`, 2 s) bounds
        connecting and each command, so an unreachable, stalled or black-holed server raises
        :class:`~sojourn.StoreUnavailable` within about that long. A single-server client
        sends nothing on connecting (no ``CLIENT SETINFO``, no maintenance notifications):
        those handshakes are round trips of their own beyond the one the timeout is for, and
        the notifications would raise the timeout to 10 s while the server is upgraded.
        ``kwargs`` go to redis-py and override all of this (``socket_timeout``,
        ``socket_connect_timeout``, ``driver_info``, ``maint_notifications_config``). No
        connection is made until the first command. A single-server client packs its commands
        with hiredis: redis-py's sync client does so itself, and for its asyncio client the
        store sees to it (:mod:`sojourn.stores._redis_packing`).

        Raises:
            StoreUnavailable: ``cluster`` is true and no node answers (the sync client asks
                for the slot map on construction).
            ConfigurationError: ``timeout`` is not a positive, finite number, or the URL's
                query names an option redis-py does not take (see
                :func:`sojourn.stores.urls.open_store` for ``?prefix=`` and ``?timeout=``).
        """
        timeout = check_timeout(timeout)
        L.check_url_options(url)
        kwargs.setdefault("socket_connect_timeout", timeout)
        # Async: the store bounds each call (its own deadline); sync: each socket read.
        socket_timeout = None  # unasync: socket_timeout = timeout
        kwargs.setdefault("socket_timeout", socket_timeout)
        client: Client
        if cluster:
            try:  # the sync client asks a node for the slot map here, at once
                client = RedisCluster.from_url(url, **kwargs)
            except _CLUSTER_UNREACHABLE as exc:
                raise L.unavailable(exc) from exc
        else:
            kwargs.setdefault("driver_info", None)
            kwargs.setdefault("maint_notifications_config", MaintNotificationsConfig(False))
            client = redis.asyncio.Redis.from_url(url, **kwargs)
            pack_in_c(client.connection_pool)  # unasync: delete
        store = cls(client, prefix=prefix, index_slack=index_slack, timeout=timeout, linger=linger)
        store._owns_client = True
        return store

    # -- internals -----------------------------------------------------------------------------

    def _key(self, digest: str) -> str:
        return L.session_key(self.prefix, digest)

    def _expiry(self, deadline: float) -> str:
        """The ``PEXPIREAT`` milliseconds of a session key whose record lives until
        ``deadline``: the deadline plus the linger, for every write that sets one (one place,
        so no write can forget the linger)."""
        return L.pexpireat(deadline + self.linger)

    def _saw_renewal(self, key: str, renewed_at: float) -> None:
        """Remember when ``key`` was last renewed or written, as far as this store saw.

        Bounded by emptying it when full: forgetting only costs a script on the next read.
        """
        renewed = self._renewed
        if len(renewed) >= TRACKED_SESSIONS and key not in renewed:
            renewed.clear()
        renewed[key] = renewed_at

    async def _eval(self, script: scripts.Script, keys: int, *keys_and_args: Any) -> Any:
        """Run ``script`` on its ``keys`` (the first items of ``keys_and_args``), within one
        deadline however many round trips it takes."""
        try:
            reply = self._evalsha(script, keys, keys_and_args)
            return await L.within(self.timeout, reply)  # unasync: return reply
        except L.UNAVAILABLE as exc:  # a missed deadline is a TimeoutError, an OSError
            raise L.unavailable(exc) from exc

    async def _evalsha(self, script: scripts.Script, keys: int, keys_and_args: Any) -> Any:
        """``EVALSHA``, loading the script first if the server has lost it (``NOSCRIPT``)."""
        client = self.client
        try:
            return await client.evalsha(script.sha, keys, *keys_and_args)
        except NoScriptError:
            await client.script_load(script.text)
            return await client.evalsha(script.sha, keys, *keys_and_args)

    def _loader(self, renewal: Renewal) -> scripts.Script:
        """The load script for ``renewal``'s timeouts."""
        made = self._loading
        idle, lifetime, interval = renewal.idle_timeout, renewal.lifetime, renewal.interval
        if made is None or made[0] != idle or made[1] != lifetime or made[2] != interval:
            script = scripts.load(
                L.num(idle),
                L.num(lifetime),
                L.num(interval),
                L.num(self.index_slack),
                L.num(self.linger),
            )
            made = self._loading = (idle, lifetime, interval, script)
        return made[3]

    @staticmethod
    def _change_items(changes: Changes) -> tuple[list[Any], list[Any]]:
        """The hash fields a change set writes (name/value items) and removes."""
        items: list[Any] = []
        login = changes.login
        if login is not None:
            at = L.num(login.at)
            items += [L.PRINCIPAL, login.principal, L.AUTHENTICATED, at, L.CREATED, at]
        remove: list[Any] = [L.DATA + name.encode() for name in changes.remove]
        meta = changes.meta
        if meta is not None:
            if meta:
                items += [L.META, L.encode_meta(meta)]
            else:
                remove.append(L.META)
        for name, value in changes.set.items():
            items += [L.DATA + name.encode(), value]
        return items, remove

    async def _index(
        self, principal: str, digest: str, until: bytes | str, now: float, drop: str = ""
    ) -> None:
        key = L.index_key(self.prefix, principal)
        await self._eval(scripts.INDEX_ADD, 1, key, digest, until, drop, L.num(now))

    # -- the store protocol ---------------------------------------------------------------------

    async def load(self, key: str, now: float, renewal: Renewal | None = None) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncStore.load`: one round trip.

        When this store saw the session renewed or written within the renewal interval, no
        renewal is due, so the read is a plain ``HGETALL``, with no script; otherwise it is one
        ``EVALSHA`` that renews when due. If the record a plain read returns is due after all
        (a write planned earlier elsewhere landed later and moved ``renewed_at`` back), the
        script runs at once. An expired record is dropped here, from the deadline the reply
        carries.
        """
        seen = self._renewed.get(key) if renewal is not None else None
        if renewal is None or (seen is not None and now - seen < renewal.interval):
            try:
                name = self._key(key)
                reading = self.client.hgetall(name)  # unasync: raw = self.client.hgetall(name)
                raw = await L.within(self.timeout, reading)  # unasync: delete
            except L.UNAVAILABLE as exc:
                raise L.unavailable(exc) from exc
            except ResponseError as exc:
                if not str(exc).startswith("WRONGTYPE"):
                    raise  # BUSY, NOPERM …: not the record's fault, as on the script path
                raise CorruptSession(
                    "a session key holds something other than a session hash"
                ) from None
            if not raw:
                return None
            record = L.decode_hash(key, raw)
            due = False
            if renewal is not None and renewal.due(record):
                # A write planned before the renewal this store saw landed after it and moved
                # renewed_at back: renew now, as the script would have (a rare second trip).
                self._renewed.pop(key, None)
                return await self.load(key, now, renewal)
        else:
            reply = await self._eval(self._loader(renewal), 1, self._key(key), L.num(now))
            if reply is None:
                return None
            if not isinstance(reply, list) or len(reply) != 2 or not isinstance(reply[1], list):
                raise CorruptSession("a session key holds something other than a session hash")
            record = L.decode_flat(key, reply[1])
            due = reply[0] == 1
        if record.expires_at <= now:
            return None
        self._saw_renewal(key, record.renewed_at)
        if due and record.principal is not None:
            # The renewal moved the deadline past what the index knows: tell the index.
            until = L.pairs(reply[1])[L.INDEXED_UNTIL]
            await self._index(record.principal, key, until, now)
        return record

    async def create(self, record: Record) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.create`."""
        fields = L.record_fields(record, self.index_slack)
        created = await self._eval(
            scripts.CREATE,
            1,
            self._key(record.key),
            L.num(record.renewed_at),
            self._expiry(record.expires_at),
            *fields,
        )
        if not created:
            raise SessionExists(record.key)
        self._saw_renewal(record.key, record.renewed_at)
        if record.principal is not None:
            until = L.num(record.expires_at + self.index_slack)
            await self._index(record.principal, record.key, until, record.renewed_at)

    async def apply(self, key: str, changes: Changes) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.apply`: one ``EVALSHA``.

        The script reads three metadata fields (one ``HMGET``), then sets everything the change
        set names in one ``HSET``, removes with one ``HDEL`` only when something is removed, and
        moves the TTL only when the deadline moved. The principal index is told when the change
        set logs in, or when the new deadline passes the bound the index holds (``m:x``).
        """
        now, expires_at, login = changes.now, changes.expires_at, changes.login
        items, remove = self._change_items(changes)
        reply = await self._eval(
            self._apply_script,
            1,
            self._key(key),
            L.num(now),
            L.num(expires_at),
            self._expiry(expires_at),
            b"0" if login is None else b"1",
            len(items),
            *items,
            *remove,
        )
        if reply == 0:
            self._renewed.pop(key, None)
            return False
        self._saw_renewal(key, now)
        if reply != 1 or login is not None:
            # A login, or a deadline past the index's bound (the script claimed the refresh).
            principal = login.principal if login is not None else L.as_bytes(reply[0]).decode()
            if principal:
                until = L.num(expires_at + self.index_slack)
                await self._index(principal, key, until, now)
        return True

    @property
    def supports_session_cap(self) -> bool:
        """Whether this store can enforce ``max_sessions_per_user``: on one node or behind
        Sentinel, not across Cluster slots (the cap's script reads the principal's index and
        each indexed session, which live in different slots)."""
        return not self.cross_slot

    def _cap_args(self, key: str, principal: str, cap: Cap, expires_at: float) -> list[Any]:
        if self.cross_slot:
            raise ConfigurationError(
                "max_sessions_per_user needs a single-node or Sentinel Redis, not Cluster"
            )
        return [
            self._key(key),
            L.index_key(self.prefix, principal),
            self.prefix,
            principal,
            str(cap.limit),
            b"1" if cap.refuse else b"0",
            cap.renamed_from or "",
            L.num(expires_at + self.index_slack),
        ]

    async def _capped(self, script: scripts.Script, args: list[Any], cap: Cap, now: float) -> Any:
        """Run a capped login script; its evictions as records, ``None`` if it found the
        session gone (or, creating, its key taken)."""
        reply = await self._eval(script, 2, *args)
        if reply == 0:
            return None
        if reply[0] == -1:
            _, principal, until = reply
            if principal and until and cap.renamed_from is not None:  # moved back: reindex
                back = cap.renamed_from
                key = L.digest_of(self.prefix, args[0])
                await self._index(L.as_bytes(principal).decode(), back, L.as_bytes(until), now, key)
            raise TooManySessions(cap.limit)
        evicted = reply[1:]
        return [
            L.decode_flat(L.as_bytes(digest).decode(), flat)
            for digest, flat in zip(evicted[::2], evicted[1::2], strict=True)
        ]

    async def apply_capped(self, key: str, changes: Changes, cap: Cap) -> list[Record] | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsSessionCap.apply_capped`: one script
        that counts, evicts, applies the login and indexes it.

        Raises:
            ConfigurationError: the store is on Cluster (see :attr:`supports_session_cap`).
        """
        login = login_of(changes)
        items, remove = self._change_items(changes)
        args = self._cap_args(key, login.principal, cap, changes.expires_at)
        args += [
            L.num(changes.now),
            L.num(changes.expires_at),
            self._expiry(changes.expires_at),
            b"1",
            len(items),
            *items,
            *remove,
        ]
        self._renewed.pop(key, None)
        evicted: list[Record] | None = await self._capped(
            self._capped_apply, args, cap, changes.now
        )
        if evicted is not None:
            self._saw_renewal(key, changes.now)
        return evicted

    async def create_capped(self, record: Record, cap: Cap) -> list[Record]:
        """See :meth:`sojourn.stores.base.AsyncSupportsSessionCap.create_capped`: one script.

        Raises:
            ConfigurationError: the store is on Cluster (see :attr:`supports_session_cap`).
        """
        args = self._cap_args(record.key, principal_of(record), cap, record.expires_at)
        args += [L.num(record.renewed_at), self._expiry(record.expires_at)]
        args += L.record_fields(record, self.index_slack)
        evicted: list[Record] | None = await self._capped(
            scripts.CAPPED_CREATE, args, cap, record.renewed_at
        )
        if evicted is None:
            raise SessionExists(record.key)
        self._saw_renewal(record.key, record.renewed_at)
        return evicted

    async def rename(self, old: str, new: str, now: float) -> bool:
        """See :meth:`sojourn.stores.base.AsyncStore.rename`.

        On one node this is one script around ``RENAME``. When the keys may be in different
        Cluster slots, the record is first taken (read and deleted atomically on the old key's
        slot, so a concurrent ``apply`` to the old key finds nothing and returns ``False``),
        then written under the new key. A crash between the two steps loses the session (the
        user signs in again); it never leaves one alive under the old key.
        """
        old_key, new_key = self._key(old), self._key(new)
        self._renewed.pop(old, None)
        if not self.cross_slot:
            reply = await self._eval(scripts.RENAME, 2, old_key, new_key, L.num(now))
            if not reply:
                return False
            _, principal, until = reply
        else:
            taken = await self._eval(scripts.TAKE, 1, old_key, L.num(now))
            if not taken:
                return False
            raw = L.pairs(taken)
            expires = L.decode(old, raw, with_fields=False).expires_at
            flat = [item for pair in raw.items() for item in pair]
            await self._eval(scripts.PUT, 1, new_key, self._expiry(expires), *flat)
            principal, until = raw.get(L.PRINCIPAL, b""), raw.get(L.INDEXED_UNTIL, b"")
        if principal and until:
            await self._index(L.as_bytes(principal).decode(), new, L.as_bytes(until), now, drop=old)
        return True

    async def delete(self, key: str) -> None:
        """See :meth:`sojourn.stores.base.AsyncStore.delete`: one ``DEL``.

        The principal index is not touched: readers check each entry against its hash.
        """
        self._renewed.pop(key, None)
        async with L.bounded(self.timeout):
            await self.client.delete(self._key(key))

    async def take_expired(self, key: str, now: float) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTakeExpired.take_expired`: one script
        on the session's own key (so one slot on Cluster).

        The principal index is not touched: readers check each entry against its hash.
        """
        reply = await self._eval(scripts.TAKE_EXPIRED, 1, self._key(key), L.num(now))
        if not reply or not isinstance(reply, list):
            return None
        return self._taken(key, reply)

    async def take(self, key: str) -> Record | None:
        """See :meth:`sojourn.stores.base.AsyncSupportsTake.take`: one script on the session's
        key. The principal index is not touched, as for :meth:`delete`."""
        reply = await self._eval(scripts.TAKE_ANY, 1, self._key(key))
        if not reply or not isinstance(reply, list):
            return None
        return self._taken(key, reply[1] if len(reply) > 1 else [])

    def _taken(self, key: str, flat: Any) -> Record:
        """The record a take removed, from its ``HGETALL``; a hash that cannot be decoded is
        reported by its key alone (it is removed either way)."""
        self._renewed.pop(key, None)
        try:
            return L.decode(key, L.pairs(flat), with_fields=False)
        except CorruptSession:
            return Record(key, {}, None, 0.0, 0.0, 0.0)

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
        members = await self._eval(scripts.INDEX_READ, 1, index, L.num(now))
        digests = [L.as_bytes(m).decode() for m in members]
        if not digests:
            return []
        async with L.bounded(self.timeout):
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
            async with L.bounded(self.timeout):
                await self.client.zrem(index, *stale)
        return sorted(live, key=lambda r: (r.created_at, r.key))

    async def delete_sessions_of(self, principal: str, keep: str | None = None) -> int:
        """See :meth:`sojourn.stores.base.AsyncSupportsPrincipals.delete_sessions_of`.

        Each session is deleted by a script that first checks it still belongs to
        ``principal``; the index entries go with them.
        """
        index = L.index_key(self.prefix, principal)
        async with L.bounded(self.timeout):
            members = await self.client.zrange(index, 0, -1)
        doomed = [d for m in members if (d := L.as_bytes(m).decode()) != keep]
        deleted = 0
        for digest in doomed:
            deleted += int(
                await self._eval(scripts.DELETE_IF_OWNED, 1, self._key(digest), principal)
            )
        if doomed:
            async with L.bounded(self.timeout):
                await self.client.zrem(index, *doomed)
        return deleted

    async def count(self, now: float) -> int:
        """How many live sessions there are: ``SCAN`` (never ``KEYS``) plus pipelined reads.

        Costs a pass over the keyspace; meant for admin tools, not requests.
        """
        total = 0
        batch: list[bytes | str] = []
        keys = self.client.scan_iter(match=L.session_pattern(self.prefix), count=1000)
        while True:  # each step bounded: at most one SCAN round trip
            async with L.bounded(self.timeout):
                key = await anext(keys, None)  # unasync: key = next(keys, None)
            if key is None:
                break
            batch.append(key)
            if len(batch) >= 500:
                total += await self._count_live(batch, now)
                batch = []
        if batch:
            total += await self._count_live(batch, now)
        return total

    async def scan(
        self, now: float, cursor: str | None = None, limit: int = 500
    ) -> tuple[list[Record], str | None]:
        """See :meth:`sojourn.stores.base.AsyncSupportsScan.scan`: ``SCAN`` (never ``KEYS``),
        on every master of a Cluster in turn, plus one pipeline of ``HGETALL`` per step.

        The cursor is plain text, ``<node>:<SCAN cursor>:<last key>``: the index of the master
        being walked (masters sorted by address; ``0`` on a single server), the ``SCAN``
        cursor of the step in progress, and the last key returned from that step when a page
        ended inside it (the step is repeated and resumes after that key, so ``limit`` is kept
        exactly). A walk during a Cluster resharding or failover may repeat or miss records,
        as ``SCAN`` itself may. Each call stops stepping once half of :attr:`timeout` is
        spent, so it may return fewer than ``limit`` records (even none) with a cursor.

        Raises:
            ConfigurationError: ``limit`` is out of range or ``cursor`` is not one this store
                returned.
        """
        check_scan(cursor, limit)
        node, position, answered, after = L.parse_scan_cursor(cursor)
        budget = (self.timeout or DEFAULT_TIMEOUT) / 2
        started = time.monotonic()
        async with L.bounded(self.timeout):
            nodes = await self._masters()
        if node >= len(nodes):
            raise ConfigurationError("the scan cursor names a Redis node this store lacks")
        found: list[Record] = []
        while True:
            async with L.bounded(self.timeout):
                following, keys = await self._scan_step(nodes[node], position, limit)
            if after and answered is not None and following != answered:
                # The repeated step covers other buckets than when the page was cut inside it
                # (the table was resized, or its buckets filled or emptied). Go on from the
                # earlier of the two answers: buckets only one of the two steps covered are
                # walked again, so nothing sorted before the last key is skipped for good (a
                # record may come twice; none is missed, as SCAN promises).
                following = min(following, answered, key=L.scan_order)
            digests = sorted(d for k in keys if (d := L.digest_of(self.prefix, k)) > after)
            for start in range(0, len(digests), limit):
                chunk = digests[start : start + limit]
                for digest, record in zip(chunk, await self._read_many(chunk, now), strict=True):
                    if record is None:
                        continue
                    found.append(record)
                    if len(found) == limit and digest != digests[-1]:
                        return found, L.scan_cursor(node, position, digest, following)
                if len(found) == limit:
                    break
            after, answered = "", None
            position = following
            if position == 0:
                node += 1
                if node == len(nodes):
                    return found, None
            if len(found) == limit or time.monotonic() - started >= budget:
                return found, L.scan_cursor(node, position, "")

    async def _masters(self) -> list[Any]:
        """The nodes a walk visits: every Cluster master by address, or the one server."""
        client = self.client
        if not isinstance(client, RedisCluster):
            return [None]
        await client.initialize()  # unasync: delete
        primaries: Any = client.get_primaries  # untyped in redis-py's sync client
        return sorted(primaries(), key=lambda n: n.name)

    async def _scan_step(self, node: Any, position: int, limit: int) -> tuple[int, list[Any]]:
        """One ``SCAN`` step over session hashes on ``node`` (``None``: the one server)."""
        pattern, count = L.session_pattern(self.prefix), max(limit, 10)
        if node is None:
            following, keys = await self.client.scan(position, match=pattern, count=count)
            return int(following), list(keys)
        reply: Any = await self.client.scan(position, match=pattern, count=count, target_nodes=node)
        cursors, keys = reply
        # A Cluster answers with each targeted node's cursor: {"host:port": cursor}.
        following = cursors[node.name] if isinstance(cursors, dict) else cursors
        return int(following), list(keys)

    async def _read_many(self, digests: list[str], now: float) -> list[Record | None]:
        """The live records under ``digests`` (one pipeline); ``None`` for any gone, expired,
        not a session hash, or undecodable (skipped by a walk, logged if corrupt)."""
        if not digests:
            return []
        async with L.bounded(self.timeout):
            pipe = self.client.pipeline(transaction=False)
            for digest in digests:
                pipe.hgetall(self._key(digest))
            replies = await pipe.execute(raise_on_error=False)
        records: list[Record | None] = []
        for digest, raw in zip(digests, replies, strict=True):
            record = None
            if isinstance(raw, dict) and raw:
                try:
                    record = L.decode_hash(digest, raw)
                except CorruptSession as exc:
                    logger.warning("scan skipped a corrupt session record: %s", exc)
            records.append(record if record is not None and record.expires_at > now else None)
        return records

    async def server_time(self) -> float:
        """The server's clock (``TIME``; on a Cluster, one node's), in seconds since the epoch."""
        async with L.bounded(self.timeout):
            seconds, micros = await self.client.time()
        return int(seconds) + int(micros) / 1_000_000

    async def _count_live(self, keys: list[bytes | str], now: float) -> int:
        pipe = self.client.pipeline(transaction=False)
        for key in keys:
            pipe.hget(key, L.EXPIRES)
        live = 0
        async with L.bounded(self.timeout):
            values = await pipe.execute(raise_on_error=False)
        for value in values:
            try:
                live += float(L.as_bytes(value)) > now
            except (CorruptSession, ValueError):
                continue
        return live


__all__ = [
    "DEFAULT_TIMEOUT",
    "LINGER",
    "TRACKED_SESSIONS",
    "AsyncRedisStore",
]
