// Lua scripts of cluster mode. Each touches the keys of ONE hash slot (the cluster's or the provider
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
 * One coordination round of one instance, atomically: heartbeat (or leave), drop expired members,
 * take or keep the desired symbols, release the others.
 * KEYS[1] members (zset: score = heartbeat expiry), KEYS[2] owners (hash: symbol -> "owner|token"),
 * KEYS[3] fencing counters (hash: symbol -> last token ever issued).
 * ARGV: instanceId, ttlMs, now, mode ('tick' | 'leave'), nDesired, desired symbols..., released symbols...
 * A lease lives as long as its owner's heartbeat: renewing the heartbeat renews every lease of the
 * instance (one call per cycle whatever the symbol count). A symbol whose owner is not a live member
 * is taken over with the next fencing token, larger than every token a previous owner ever held.
 * Only the desired symbols passed are answered (kept or taken), so a caller whose heartbeat never
 * lapsed passes just the symbols it does not own yet: its other leases cannot have moved.
 * Returns {wasLive (1/0: this instance's heartbeat had not lapsed), members flat (id, expiresAt)...,
 * '|', owned flat (symbol, token)...}.
 */
export const TICK_SCRIPT = `${NOW}
local me, ttl, now, mode = ARGV[1], tonumber(ARGV[2]), now_ms(ARGV[3]), ARGV[4]
local nDesired = tonumber(ARGV[5])
local before = redis.call('ZSCORE', KEYS[1], me)
local wasLive = 0
if before and tonumber(before) > now then wasLive = 1 end
if mode == 'leave' then redis.call('ZREM', KEYS[1], me)
else redis.call('ZADD', KEYS[1], now + ttl, me) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local function live(id)
  local e = redis.call('ZSCORE', KEYS[1], id)
  return e and tonumber(e) > now
end
local out = {}
for i = 6, 5 + nDesired do
  local s = ARGV[i]
  local cur = redis.call('HGET', KEYS[2], s)
  local owner, token = nil, nil
  if cur then owner, token = string.match(cur, '^(.*)|(%d+)$') end
  if owner == me and mode ~= 'leave' then
    out[#out + 1] = s
    out[#out + 1] = token
  elseif mode ~= 'leave' and (owner == nil or not live(owner)) then
    local t = redis.call('HINCRBY', KEYS[3], s, 1)
    redis.call('HSET', KEYS[2], s, me .. '|' .. t)
    out[#out + 1] = s
    out[#out + 1] = tostring(t)
  end
end
for i = 6 + nDesired, #ARGV do
  local cur = redis.call('HGET', KEYS[2], ARGV[i])
  if cur and string.match(cur, '^(.*)|%d+$') == me then redis.call('HDEL', KEYS[2], ARGV[i]) end
end
local res = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
table.insert(res, 1, wasLive)
res[#res + 1] = '|'
for _, v in ipairs(out) do res[#res + 1] = v end
return res
`;

/**
 * Fence check before writing: are this instance's leases still its own? Leases live with the
 * heartbeat and an owner field moves to another instance only after that heartbeat lapsed (or on
 * our own release), so "my heartbeat has not lapsed" means every token of the last round is still
 * the newest. KEYS[1] members. ARGV: instanceId, now. Returns 1 or 0.
 */
export const FENCE_SCRIPT = `${NOW}
local e = redis.call('ZSCORE', KEYS[1], ARGV[1])
if e and tonumber(e) > now_ms(ARGV[2]) then return 1 end
return 0
`;

/**
 * One shared request budget per provider API key: sliding per-second and per-minute windows (a log
 * of send times in a sorted set), a UTC-day counter, and a provider block (429 / Retry-After) that
 * pauses the provider for every instance.
 * KEYS[1] send log (zset), KEYS[2] day counter, KEYS[3] block-until.
 * ARGV: now, perSecond, perMinute, perDay (0 = no limit), marginMs, mode ('take' | 'peek' | 'block' |
 *       'spend'), blockMs (mode 'block'), uid (unique member suffix), count (requests, default 1).
 * 'take' grants `count` requests only if every window has room for all of them; 'spend' records
 * `count` requests already sent (a fetcher that paged) whatever the windows say.
 * Windows are widened by marginMs (a send counts for 1000+margin and 60000+margin ms), so clock skew
 * and latency at the window's edge never let the provider see more than its limit.
 * Returns {granted (1/0), waitMs, secondLeft, minuteLeft, dayLeft, blockedUntil}; -1 = no limit.
 */
export const BUDGET_SCRIPT = `${NOW}
local now = now_ms(ARGV[1])
local perSec, perMin, perDay = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local margin, mode = tonumber(ARGV[5]), ARGV[6]
local count = tonumber(ARGV[9] or '1') or 1
if count < 1 then count = 1 end
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
-- A take of more requests than a window's whole limit waits for the full window (never granted
-- at once); callers split such work into requests of one.
if perDay > 0 and used + count > perDay then wait = math.max(wait, (day + 1) * 86400000 - now) end
if perMin > 0 and inMin + count > perMin then
  local i = inMin + count - perMin - 1
  if i < inMin then
    local r = redis.call('ZRANGE', KEYS[1], i, i, 'WITHSCORES')
    wait = math.max(wait, tonumber(r[2]) + minW - now)
  else wait = math.max(wait, minW) end
end
if perSec > 0 and inSec + count > perSec then
  local i = inSec + count - perSec - 1
  if i < inSec then
    local r = redis.call('ZRANGEBYSCORE', KEYS[1], now - secW + 1, '+inf', 'WITHSCORES', 'LIMIT', i, 1)
    wait = math.max(wait, tonumber(r[2]) + secW - now)
  else wait = math.max(wait, secW) end
end
local granted = 0
if (mode == 'take' and wait == 0) or mode == 'spend' then
  granted = 1
  if perMin > 0 or perSec > 0 then
    for k = 1, count do redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[8] .. ':' .. k) end
    redis.call('PEXPIRE', KEYS[1], minW + 1000)
  end
  used = used + count
  redis.call('SET', KEYS[2], day .. ':' .. used, 'PX', 2 * 86400000)
  inMin = inMin + count
  inSec = inSec + count
end
local function left(limit, n) if limit > 0 then return math.max(0, limit - n) else return -1 end end
local bl = 0
if blocked > now then bl = blocked end
return {granted, wait, left(perSec, inSec), left(perMin, inMin), left(perDay, used), bl}
`;
