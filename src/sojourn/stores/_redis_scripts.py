"""The Lua scripts of the Redis store, shared by the sync and async flavours.

Each script touches exactly one key (or, for :data:`RENAME`, two keys given in ``KEYS``), so it
runs in one Cluster slot. A session is a hash: ``d:<name>`` fields hold the user's data, ``m:*``
fields hold metadata (see :mod:`sojourn.stores._redis_layout`). Times travel as decimal strings
(Python's ``repr`` of a float, which Lua parses exactly) and are written back with ``%.17g``, so
no precision is lost on the way through Lua's doubles. Every write ends with ``PEXPIREAT`` at the
record's ``expires_at``, so every session key carries a TTL and purge is Redis's own expiry.
"""

from __future__ import annotations

# Helpers prepended to every script (Lua has no modules inside EVAL).
_PRELUDE = """
local function fmt(x) return string.format('%.17g', x) end
local function ms(x) return string.format('%.0f', math.ceil(x * 1000)) end
local function live(key, now)
  if redis.call('TYPE', key)['ok'] ~= 'hash' then return false end
  local e = tonumber(redis.call('HGET', key, 'm:e'))
  return e ~= nil and e > now, e
end
-- Claim an index refresh when the deadline passes what the principal index was last told
-- ('m:x'); the caller then bumps the index entry. Returns 1 if it must.
local function index_due(key, e, slack)
  if redis.call('HEXISTS', key, 'm:p') == 0 then return 0 end
  local x = tonumber(redis.call('HGET', key, 'm:x')) or 0
  if e <= x then return 0 end
  redis.call('HSET', key, 'm:x', fmt(e + slack))
  return 1
end
"""

LOAD = (
    _PRELUDE
    + """
-- KEYS[1] session; ARGV: now, renew ('1'|'0'), idle, lifetime, interval, index slack.
-- Returns nil (missing or expired), {-1} (not a hash), or {index_due, HGETALL}.
-- One HGETALL reads everything; a due renewal adds an HSET and a PEXPIREAT.
local key = KEYS[1]
local all = redis.pcall('HGETALL', key)
if all['err'] then return {-1} end
if #all == 0 then return false end
local pos = {}
for i = 1, #all, 2 do pos[all[i]] = i + 1 end
local function get(name) local p = pos[name]; if p then return all[p] end end
local now = tonumber(ARGV[1])
local e = tonumber(get('m:e'))
if e == nil then return {0, all} end
if e <= now then return false end
local due = 0
if ARGV[2] == '1' then
  local c, r = tonumber(get('m:c')), tonumber(get('m:r'))
  if c ~= nil and r ~= nil then
    local deadline = math.min(c + tonumber(ARGV[4]), now + tonumber(ARGV[3]))
    if now - r >= tonumber(ARGV[5]) and deadline > e then
      local d = fmt(deadline)
      redis.call('HSET', key, 'm:r', ARGV[1], 'm:e', d)
      redis.call('PEXPIREAT', key, ms(deadline))
      all[pos['m:r']] = ARGV[1]
      all[pos['m:e']] = d
      if get('m:p') and deadline > (tonumber(get('m:x')) or 0) then
        local x = fmt(deadline + tonumber(ARGV[6]))
        redis.call('HSET', key, 'm:x', x)
        if pos['m:x'] then all[pos['m:x']] = x else all[#all + 1] = 'm:x'; all[#all + 1] = x end
        due = 1
      end
    end
  end
end
return {due, all}
"""
)

CREATE = (
    _PRELUDE
    + """
-- KEYS[1] session; ARGV: now, expires_at, then field/value pairs.
-- Returns 0 if a live record holds the key (nothing written), else 1.
local key = KEYS[1]
if live(key, tonumber(ARGV[1])) then return 0 end
redis.call('DEL', key)
for i = 3, #ARGV, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIREAT', key, ms(tonumber(ARGV[2])))
return 1
"""
)

APPLY = (
    _PRELUDE
    + """
-- KEYS[1] session; ARGV: now, expires_at, index slack, login ('1'|'0'), principal, login at,
-- meta ('1'|'0'), meta JSON ('' = none), n (pairs to set), n field/value pairs, fields to remove.
-- Returns 0 when the record is missing or expired (nothing written: no resurrection), else
-- {1, index_due, principal, indexed_until}.
local key = KEYS[1]
if not live(key, tonumber(ARGV[1])) then return 0 end
local n = tonumber(ARGV[9])
local first_remove = 10 + 2 * n
for i = first_remove, #ARGV do redis.call('HDEL', key, ARGV[i]) end
for i = 10, first_remove - 1, 2 do redis.call('HSET', key, ARGV[i], ARGV[i + 1]) end
local e = tonumber(ARGV[2])
redis.call('HSET', key, 'm:r', ARGV[1], 'm:e', ARGV[2])
if ARGV[7] == '1' then
  if ARGV[8] == '' then redis.call('HDEL', key, 'm:j')
  else redis.call('HSET', key, 'm:j', ARGV[8]) end
end
local due
if ARGV[4] == '1' then
  redis.call('HSET', key, 'm:p', ARGV[5], 'm:a', ARGV[6], 'm:c', ARGV[6],
             'm:x', fmt(e + tonumber(ARGV[3])))
  due = 1
else
  due = index_due(key, e, tonumber(ARGV[3]))
end
redis.call('PEXPIREAT', key, ms(e))
return {1, due, redis.call('HGET', key, 'm:p') or '', redis.call('HGET', key, 'm:x') or ''}
"""
)

RENAME = (
    _PRELUDE
    + """
-- KEYS[1] old, KEYS[2] new (one slot, or a single node); ARGV: now.
-- RENAME keeps the TTL and leaves nothing under the old key, atomically.
-- Returns 0 if the old record is missing or expired, else {1, principal, indexed_until}.
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
return {1, redis.call('HGET', KEYS[2], 'm:p') or '', redis.call('HGET', KEYS[2], 'm:x') or ''}
"""
)

TAKE = (
    _PRELUDE
    + """
-- Cross-slot rename, step 1 (on the old key's slot): read and delete the live record in one
-- atomic step, so any later apply to the old key finds nothing. KEYS[1] old; ARGV: now.
-- Returns 0 if missing or expired, else the HGETALL of the record now removed.
if not live(KEYS[1], tonumber(ARGV[1])) then return 0 end
local all = redis.call('HGETALL', KEYS[1])
redis.call('DEL', KEYS[1])
return all
"""
)

PUT = (
    _PRELUDE
    + """
-- Cross-slot rename, step 2 (on the new key's slot): write the taken record under the new key.
-- KEYS[1] new; ARGV: expires_at, then field/value pairs. Returns 1.
redis.call('DEL', KEYS[1])
for i = 2, #ARGV, 2 do redis.call('HSET', KEYS[1], ARGV[i], ARGV[i + 1]) end
redis.call('PEXPIREAT', KEYS[1], ms(tonumber(ARGV[1])))
return 1
"""
)

INDEX_ADD = (
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

INDEX_READ = """
-- KEYS[1] a principal's index; ARGV: now. Drops entries whose bound has passed, returns the rest.
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
return redis.call('ZRANGE', KEYS[1], 0, -1)
"""

DELETE_IF_OWNED = """
-- KEYS[1] session; ARGV: principal. Deletes the record only if it still belongs to principal
-- (it may have been logged in as someone else since it was indexed). Returns 1 if deleted.
if redis.call('TYPE', KEYS[1])['ok'] ~= 'hash' then return 0 end
if redis.call('HGET', KEYS[1], 'm:p') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1])
return 1
"""
