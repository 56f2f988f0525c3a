// Lua scripts of cluster mode. Each touches the keys of ONE hash slot (the symbol's or the provider
// key's hash tag), so they run unchanged on a single Redis and on a Redis Cluster. Time: the caller
// passes `now` (epoch ms) so tests drive leases and windows with an injected clock; in production
// the sidecar passes an empty string and the script reads Redis' own TIME, one clock for every
// instance (machine clock skew then cannot make two owners).

/** Redis TIME in ms when ARGV[now] is empty. */
const NOW = `
local function now_ms(arg)
  if arg ~= nil and arg ~= '' then return tonumber(arg) end
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end
`;

/**
 * Acquire, renew or release one symbol's lease.
 * KEYS[1] lease (value "owner|token|expiresAt"), KEYS[2] fencing counter.
 * ARGV: instanceId, ttlMs, mode ('acquire' | 'renew' | 'release'), now.
 * Returns {held (1/0), token, expiresAt, owner}. A takeover increments the fencing counter, so
 * the new owner's token is larger than every token a previous owner ever held.
 */
export const LEASE_SCRIPT = `${NOW}
local me, ttl, mode = ARGV[1], tonumber(ARGV[2]), ARGV[3]
local now = now_ms(ARGV[4])
local cur = redis.call('GET', KEYS[1])
local owner, token, exp = nil, 0, 0
if cur then
  local o, t, e = string.match(cur, '^(.*)|(%d+)|(%d+)$')
  owner, token, exp = o, tonumber(t), tonumber(e)
  if exp <= now then owner = nil end
end
if mode == 'release' then
  if owner == me then redis.call('DEL', KEYS[1]) return {0, token, 0, ''} end
  return {0, token, exp, owner or ''}
end
if owner == me then
  local e = now + ttl
  redis.call('SET', KEYS[1], me .. '|' .. token .. '|' .. e, 'PX', ttl * 4)
  return {1, token, e, me}
end
if owner ~= nil or mode == 'renew' then return {0, token, exp, owner or ''} end
local t = redis.call('INCR', KEYS[2])
local e = now + ttl
redis.call('SET', KEYS[1], me .. '|' .. t .. '|' .. e, 'PX', ttl * 4)
return {1, t, e, me}
`;

/**
 * Is `token` still the newest fencing token of the symbol, and is its lease still live?
 * KEYS[1] lease, KEYS[2] fencing counter. ARGV: token, now. Returns 1 or 0.
 */
export const FENCE_SCRIPT = `${NOW}
local now = now_ms(ARGV[2])
local fence = tonumber(redis.call('GET', KEYS[2]) or '0')
if fence ~= tonumber(ARGV[1]) then return 0 end
local cur = redis.call('GET', KEYS[1])
if not cur then return 0 end
local _, t, e = string.match(cur, '^(.*)|(%d+)|(%d+)$')
if tonumber(t) ~= tonumber(ARGV[1]) or tonumber(e) <= now then return 0 end
return 1
`;

/**
 * One shared request budget per provider API key: sliding per-second and per-minute windows (a log
 * of send times in a sorted set), a UTC-day counter, and a provider block (429 / Retry-After) that
 * pauses the provider for every instance.
 * KEYS[1] send log (zset), KEYS[2] day counter, KEYS[3] block-until.
 * ARGV: now, perSecond, perMinute, perDay (0 = no limit), marginMs, mode ('take' | 'peek' | 'block'),
 *       blockMs (mode 'block'), uid (unique member suffix).
 * Windows are widened by marginMs (a send counts for 1000+margin and 60000+margin ms), so clock skew
 * and latency at the window's edge never let the provider see more than its limit.
 * Returns {granted (1/0), waitMs, secondLeft, minuteLeft, dayLeft, blockedUntil}; -1 = no limit.
 */
export const BUDGET_SCRIPT = `${NOW}
local now = now_ms(ARGV[1])
local perSec, perMin, perDay = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local margin, mode = tonumber(ARGV[5]), ARGV[6]
local secW, minW = 1000 + margin, 60000 + margin
local day = math.floor(now / 86400000)
if mode == 'block' then
  local untilMs = now + tonumber(ARGV[7])
  local cur = tonumber(redis.call('GET', KEYS[3]) or '0')
  if untilMs > cur then redis.call('SET', KEYS[3], untilMs, 'PX', tonumber(ARGV[7]) + 1000) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - minW)
local blocked = tonumber(redis.call('GET', KEYS[3]) or '0')
local dayVal = redis.call('GET', KEYS[2])
local used = 0
if dayVal then
  local d, n = string.match(dayVal, '^(%d+):(%d+)$')
  if tonumber(d) == day then used = tonumber(n) end
end
local inMin = redis.call('ZCARD', KEYS[1])
local inSec = redis.call('ZCOUNT', KEYS[1], now - secW + 1, '+inf')
local wait = 0
if blocked > now then wait = blocked - now end
if perDay > 0 and used >= perDay then wait = math.max(wait, (day + 1) * 86400000 - now) end
if perMin > 0 and inMin >= perMin then
  local r = redis.call('ZRANGE', KEYS[1], inMin - perMin, inMin - perMin, 'WITHSCORES')
  wait = math.max(wait, tonumber(r[2]) + minW - now)
end
if perSec > 0 and inSec >= perSec then
  local r = redis.call('ZRANGEBYSCORE', KEYS[1], now - secW + 1, '+inf', 'WITHSCORES', 'LIMIT', inSec - perSec, 1)
  wait = math.max(wait, tonumber(r[2]) + secW - now)
end
local granted = 0
if mode == 'take' and wait == 0 then
  granted = 1
  if perMin > 0 or perSec > 0 then
    redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[8])
    redis.call('PEXPIRE', KEYS[1], minW + 1000)
  end
  used = used + 1
  redis.call('SET', KEYS[2], day .. ':' .. used, 'PX', 2 * 86400000)
  inMin = inMin + 1
  inSec = inSec + 1
end
local function left(limit, n) if limit > 0 then return math.max(0, limit - n) else return -1 end end
local bl = 0
if blocked > now then bl = blocked end
return {granted, wait, left(perSec, inSec), left(perMin, inMin), left(perDay, used), bl}
`;

/**
 * Heartbeat: this instance is alive until now + ttl; members whose heartbeat expired are removed.
 * KEYS[1] members (zset: score = expiresAt). ARGV: instanceId, ttlMs, now, mode ('beat' | 'leave').
 * Returns the live members, flat: id1, expiresAt1, id2, expiresAt2, ...
 */
export const MEMBERS_SCRIPT = `${NOW}
local now = now_ms(ARGV[3])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if ARGV[4] == 'leave' then redis.call('ZREM', KEYS[1], ARGV[1])
else redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1]) end
redis.call('PEXPIRE', KEYS[1], tonumber(ARGV[2]) * 10)
return redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
`;
