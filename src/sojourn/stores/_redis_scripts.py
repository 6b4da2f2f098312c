"""The Lua scripts of the Redis store, shared by the sync and async flavours.

Each script touches exactly one key (or, for :data:`RENAME`, two keys given in ``KEYS``), so it
runs in one Cluster slot. A session is a hash: ``d:<name>`` fields hold the user's data, ``m:*``
fields hold metadata (see :mod:`sojourn.stores._redis_layout`). Times travel as decimal strings
(Python's ``repr`` of a float, which Lua parses exactly) and are written back with ``%.17g``, so
no precision is lost on the way through Lua's doubles. Every write of ``m:e`` comes with a
``PEXPIREAT`` at that deadline plus the store's *linger*, so every session key carries a TTL and
purge is Redis's own expiry. Within the linger an expired record is still there but never live:
every script compares ``m:e`` with ``now`` itself (none relies on the TTL), and
:data:`TAKE_EXPIRED` hands the record over once for the ``expired`` lifecycle event.

The scripts run on every request, so they do as little as they can: every command a script
runs is paid for by every request that runs it (the server is single-threaded), and so is the
Lua around it and every argument the client encodes. Hence one ``HMGET`` or ``HGETALL`` to read,
one ``HSET`` for everything a write sets, ``HDEL`` only when something is removed, the principal
index (another slot, so the caller's second round trip) only when its bound is passed, and no
write at all on a read whose renewal is not due. What is constant for a store (the renewal
policy, the index slack) is written into its scripts (:func:`load`, :func:`apply`) instead of
travelling with every call; what the caller can work out itself (the ``PEXPIREAT``
milliseconds, the metadata fields of a login) it sends ready-made. Comparisons are written so
that a ``nan`` read from a damaged hash makes them false, which always means "write nothing".
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Script:
    """A script's text and its SHA-1, computed once when it is made (``EVALSHA`` sends the SHA)."""

    text: str
    sha: str = field(init=False)

    def __post_init__(self) -> None:
        # The scripts are ASCII, so the SHA is the same whatever encoding a client is set to.
        digest = hashlib.sha1(self.text.encode("ascii"), usedforsecurity=False).hexdigest()
        object.__setattr__(self, "sha", digest)


# Helpers prepended to the scripts that need them (Lua has no modules inside EVAL).
_PRELUDE = """
local function fmt(x) return string.format('%.17g', x) end
local function ms(x) return string.format('%.0f', math.ceil(x * 1000)) end
-- redis.call(cmd, key, ARGV[i..j]) in slices that fit Lua's C stack (unpack fails past ~8000
-- values). Slices are even, so field/value pairs never straddle two calls; the common case is
-- one call.
local function ranged(cmd, key, i, j)
  while i <= j do
    local k = math.min(i + 3999, j)
    redis.call(cmd, key, unpack(ARGV, i, k))
    i = k + 1
  end
end
"""

_LOAD = """
-- KEYS[1] session; ARGV: now. Returns nil (missing), {-1} (not a hash), or {index_due,
-- HGETALL}; the caller drops an expired record itself, so a read whose renewal is not due is
-- one HGETALL and nothing else.
local key = KEYS[1]
local all = redis.pcall('HGETALL', key)
if all['err'] then return {-1} end
if #all == 0 then return false end
-- CREATE writes m:c, m:r and m:e first and a small hash keeps insertion order, so this scan
-- usually stops after three fields.
local ic, ir, ie
for i = 1, #all, 2 do
  local name = all[i]
  if name == 'm:e' then ie = i + 1 elseif name == 'm:r' then ir = i + 1
  elseif name == 'm:c' then ic = i + 1 end
  if ic and ir and ie then break end
end
if not (ic and ir and ie) then return {0, all} end
local now = tonumber(ARGV[1])
local e, r = tonumber(all[ie]), tonumber(all[ir])
if not (e and r and e > now and now - r >= INTERVAL) then return {0, all} end
local c = tonumber(all[ic])
if not c then return {0, all} end
-- Past the interval (once per interval per session): the other metadata fields, among them
-- the session's own timeouts (sojourn:idle / sojourn:lifetime in the meta JSON), which
-- replace the store's when present, so no renewal slides a session past its own deadline.
local ip, ix, ij
for i = 1, #all, 2 do
  local name = all[i]
  if name == 'm:p' then ip = i + 1 elseif name == 'm:x' then ix = i + 1
  elseif name == 'm:j' then ij = i + 1 end
end
local idle, lifetime = IDLE, LIFETIME
if ij and string.find(all[ij], '"sojourn:idle"', 1, true) then
  local ok, meta = pcall(cjson.decode, all[ij])
  if ok and type(meta) == 'table' then
    local oi, ol = tonumber(meta['sojourn:idle']), tonumber(meta['sojourn:lifetime'])
    if oi and ol and oi > 0 and ol > 0 then idle, lifetime = oi, ol end
  end
end
local deadline = math.min(c + lifetime, now + idle)
if not (deadline > e) then return {0, all} end
-- The renewal is due.
local d = fmt(deadline)
all[ir] = ARGV[1]
all[ie] = d
local due = 0
if ip and deadline > (tonumber(ix and all[ix]) or 0) then
  -- The deadline passes what the principal index was told: claim the refresh (the caller
  -- bumps the index entry to this new bound).
  local x = fmt(deadline + SLACK)
  redis.call('HSET', key, 'm:r', ARGV[1], 'm:e', d, 'm:x', x)
  if ix then all[ix] = x else all[#all + 1] = 'm:x'; all[#all + 1] = x end
  due = 1
else
  redis.call('HSET', key, 'm:r', ARGV[1], 'm:e', d)
end
redis.call('PEXPIREAT', key, ms(deadline + LINGER))
return {due, all}
"""


def load(idle: str, lifetime: str, interval: str, index_slack: str, linger: str = "0.0") -> Script:
    """The renewing load for one renewal policy, index slack and linger (Lua literals).

    They are the same on every request of an application, so they are part of the script
    rather than arguments: each argument costs the client an encoding step and the script a
    ``tonumber`` on every read. A store makes this once per policy it sees (in practice one).
    """
    constants = f"local IDLE, LIFETIME, INTERVAL, SLACK = {idle}, {lifetime}, {interval}, "
    return Script(_PRELUDE + constants + index_slack + "\nlocal LINGER = " + linger + "\n" + _LOAD)


CREATE = Script(
    _PRELUDE
    + """
-- KEYS[1] session; ARGV: now, PEXPIREAT milliseconds, then field/value pairs.
-- Returns 0 if a live record holds the key (nothing written), else 1. A key of another type,
-- or a hash without a readable deadline, is not a live record and is replaced.
local key = KEYS[1]
local e = redis.pcall('HGET', key, 'm:e')
if type(e) == 'string' then
  local t = tonumber(e)
  if t and t > tonumber(ARGV[1]) then return 0 end
end
redis.call('DEL', key)
ranged('HSET', key, 3, #ARGV)
redis.call('PEXPIREAT', key, ARGV[2])
return 1
"""
)

_APPLY = """
-- KEYS[1] session. ARGV: now, expires_at, its PEXPIREAT milliseconds, login ('1'|'0'), n, then
-- n field/value items to set, then the fields to remove. One HSET sets them with m:r, m:e and,
-- when the principal index must be told (a login, or a deadline past the bound m:x the index
-- holds), a new m:x. Returns 0 when the record is missing, expired or not a hash (nothing
-- written: no resurrection), 1 when applied, or {principal} when applied and the index must be
-- told the new bound (a login is indexed by the caller, who knows the principal).
local key = KEYS[1]
local m = redis.pcall('HMGET', key, 'm:e', 'm:p', 'm:x')
if m['err'] then return 0 end
local e = tonumber(m[1])
if not (e and e > tonumber(ARGV[1])) then return 0 end
local last = 5 + tonumber(ARGV[5])
if #ARGV > last then ranged('HDEL', key, last + 1, #ARGV) end
local new = tonumber(ARGV[2])
local x, reply
if ARGV[4] == '1' then
  x, reply = fmt(new + SLACK), 1
elseif m[2] and new > (tonumber(m[3]) or 0) then
  x, reply = fmt(new + SLACK), {m[2]}
end
if last - 5 > 4000 then
  ranged('HSET', key, 6, last)
  last = 5
end
if x then
  redis.call('HSET', key, 'm:r', ARGV[1], 'm:e', ARGV[2], 'm:x', x, unpack(ARGV, 6, last))
else
  redis.call('HSET', key, 'm:r', ARGV[1], 'm:e', ARGV[2], unpack(ARGV, 6, last))
end
-- The key's TTL already ends at ms(e) (every write of m:e sets it), so an unchanged deadline
-- needs no PEXPIREAT.
if new ~= e then redis.call('PEXPIREAT', key, ARGV[3]) end
return reply or 1
"""


def apply(index_slack: str) -> Script:
    """The apply script for a store's index slack (a Lua literal), a constant as in :func:`load`."""
    return Script(_PRELUDE + "local SLACK = " + index_slack + "\n" + _APPLY)


RENAME = Script(
    """
-- KEYS[1] old, KEYS[2] new (one slot, or a single node); ARGV: now.
-- RENAME keeps the TTL and leaves nothing under the old key, atomically.
-- Returns 0 if the old record is missing, expired or not a hash, else {1, principal,
-- indexed_until}.
local m = redis.pcall('HMGET', KEYS[1], 'm:e', 'm:p', 'm:x')
if m['err'] then return 0 end
local e = tonumber(m[1])
if not (e and e > tonumber(ARGV[1])) then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return {1, m[2] or '', m[3] or ''}
"""
)

# Reads the whole hash of KEYS[1] into `all` and its deadline into `e` (nil when unreadable);
# answers 0 for a key that is not a hash. The start of the scripts that remove a record and
# hand it back.
_READ_ALL = """
local all = redis.pcall('HGETALL', KEYS[1])
if all['err'] then return 0 end
local e
for i = 1, #all, 2 do
  if all[i] == 'm:e' then e = tonumber(all[i + 1]); break end
end
"""

TAKE = Script(
    """
-- Cross-slot rename, step 1 (on the old key's slot): read and delete the live record in one
-- atomic step, so any later apply to the old key finds nothing. KEYS[1] old; ARGV: now.
-- Returns 0 if missing, expired or not a hash, else the HGETALL of the record now removed.
"""
    + _READ_ALL
    + """
if not (e and e > tonumber(ARGV[1])) then return 0 end
redis.call('DEL', KEYS[1])
return all
"""
)

PUT = Script(
    _PRELUDE
    + """
-- Cross-slot rename, step 2 (on the new key's slot): write the taken record under the new key.
-- KEYS[1] new; ARGV: PEXPIREAT milliseconds, then field/value pairs. Returns 1.
redis.call('DEL', KEYS[1])
ranged('HSET', KEYS[1], 2, #ARGV)
redis.call('PEXPIREAT', KEYS[1], ARGV[1])
return 1
"""
)

INDEX_ADD = Script(
    _PRELUDE
    + """
-- KEYS[1] a principal's index (sorted set: digest -> an upper bound of its expiry).
-- ARGV: member, score, member to remove ('' = none), now. Scores only grow; entries whose bound
-- has passed are dropped, so the set stays as small as the principal's live sessions; the index
-- key expires with its last entry.
local idx = KEYS[1]
redis.call('ZREMRANGEBYSCORE', idx, '-inf', ARGV[4])
if ARGV[3] ~= '' then redis.call('ZREM', idx, ARGV[3]) end
local old = tonumber(redis.call('ZSCORE', idx, ARGV[1]))
if old == nil or old < tonumber(ARGV[2]) then redis.call('ZADD', idx, ARGV[2], ARGV[1]) end
local top = redis.call('ZRANGE', idx, -1, -1, 'WITHSCORES')
if top[2] then redis.call('PEXPIREAT', idx, ms(tonumber(top[2]))) end
return 1
"""
)

INDEX_READ = Script(
    """
-- KEYS[1] a principal's index; ARGV: now. Drops entries whose bound has passed, returns the rest.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""
)

TAKE_EXPIRED = Script(
    """
-- KEYS[1] session; ARGV: now. Removes the record only if it is expired (m:e <= now: kept for
-- the linger, never live), atomically, so of two requests presenting it one gets it.
-- Returns 0 if missing, live, unreadable or not a hash, else the HGETALL of the record removed.
"""
    + _READ_ALL
    + """
if not (e and e <= tonumber(ARGV[1])) then return 0 end
redis.call('DEL', KEYS[1])
return all
"""
)

TAKE_ANY = Script(
    """
-- KEYS[1] session. Deletes it, live or expired, and says what it was, atomically, so of two
-- requests ending one session one is told it removed it. Returns 0 if there was nothing,
-- {1} if the key held something other than a hash, else {1, HGETALL of the record removed}.
local all = redis.pcall('HGETALL', KEYS[1])
if redis.call('DEL', KEYS[1]) == 0 then return 0 end
if all['err'] then return {1} end
return {1, all}
"""
)

DELETE_IF_OWNED = Script(
    """
-- KEYS[1] session; ARGV: principal. Deletes the record only if it still belongs to principal
-- (it may have been logged in as someone else since it was indexed). Returns 1 if deleted.
local p = redis.pcall('HGET', KEYS[1], 'm:p')
if p ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
)


__all__ = [
    "CREATE",
    "DELETE_IF_OWNED",
    "INDEX_ADD",
    "INDEX_READ",
    "PUT",
    "RENAME",
    "TAKE",
    "TAKE_ANY",
    "TAKE_EXPIRED",
    "Script",
    "apply",
    "load",
]
