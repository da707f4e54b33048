-- rate_acquire: the rate limiter (GCRA, the generic cell rate algorithm) over one or more buckets at
-- once, all or none. A bucket allows `limit` requests per `period` (stretched by `margin`, so requests
-- that travel at uneven speeds still reach the platform inside its window) plus `burst` at once. A
-- live block (a 429, a reset header, Meta usage at 100 %) and a usage reading (slow down as it nears
-- 100 %) add to it. The caller gets the earliest time every bucket allows: now, or a slot reserved up
-- to max_wait ahead (the caller sleeps until then: each request is counted once, when reserved), or a
-- refusal when that time is further off (the job is deferred and holds no worker).
-- The server's clock is every daemon's clock, so a fleet on several hosts shares one time line.
-- A failover (a replica promoted) or a restart (AOF everysec) may lose the last grants the old server
-- had not yet replicated or written: trusting what is left would give each bucket a second burst. So
-- the caller names the server it is connected to (redis::ClientStats::server_id, run_id and
-- master_replid, both new after a restart or a promotion) and the script keeps the name the buckets
-- were written under in K_RATE_EPOCH. When it differs, every bucket is taken as fully spent at that
-- moment (its TAT at least since + max wait + (burst + 1) intervals: the most the lost grants could
-- have reserved) until that has passed: one period for the whole burst, one interval for the next
-- call. No record at all is a new prefix (nothing of ours was ever written): nothing to hold back.
-- A live block lost with the old server comes back with the platform's next refusal.
-- Only rules of an hour or less are held back: for a daily quota, "fully spent" would mean one call
-- per interval (29 min for an Instagram account) for a whole day after every Redis restart, while
-- the few grants a failover can lose there cost at most a refusal that names its own reset (recorded
-- as a block, the job deferred). The short windows are where a second burst makes a 429 storm.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms ('' = the server's clock; tests pass one), ARGV[3] max
--       wait ms, ARGV[4] margin ms, ARGV[5] usage slow-from %, ARGV[6] usage spacing ms, ARGV[7] the
--       server's identity ('' = the server does not tell: no hold-back; '?' = the caller had no
--       connection when it built the call: nothing is taken, the answer is {0, 0, 0, '?'}),
--       then groups of 6: platform, scope, key, limit (0 = no static rate), period ms, burst
-- Returns: {1, wait ms, 0, ''}: granted, send after wait ms (0 = at once);
--          {0, wait ms, bucket index (1-based), reason}: refused ('rate' | 'blocked' | 'usage' |
--          'rate_limited' or another reason a block was recorded with); wait = until it may be granted
if ARGV[7] == '?' then return {0, 0, 0, '?'} end
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[2])
end
local max_wait, margin = tonumber(ARGV[3]), tonumber(ARGV[4])
local slow_from, spacing = tonumber(ARGV[5]), tonumber(ARGV[6])

-- When the server the buckets are written on took over (nil: trusted since long ago, or unknown).
local hold_since
if ARGV[7] ~= '' then
  local epoch = redis.call('HMGET', K_RATE_EPOCH, 'id', 'since')
  if epoch[1] == ARGV[7] then
    hold_since = tonumber(epoch[2])
  else
    -- since 0: a new prefix's record, nothing to hold back
    if epoch[1] then hold_since = now end
    redis.call('HSET', K_RATE_EPOCH, 'id', ARGV[7], 'since', string.format('%.3f', hold_since or 0))
  end
end

local HOLD_MAX_PERIOD_MS = 3600000
local buckets = {}
local slot, worst, worst_index, worst_reason = now, now, 0, ''
for i = 8, #ARGV, 6 do
  local key = k_rate(ARGV[i], ARGV[i + 1], ARGV[i + 2])
  local limit, period, burst = tonumber(ARGV[i + 3]), tonumber(ARGV[i + 4]), tonumber(ARGV[i + 5])
  local f = redis.call('HMGET', key, 'tat', 'blocked_until', 'blocked_why', 'usage', 'usage_until')
  local tat = tonumber(f[1]) or now
  local static = 0
  if limit > 0 then static = (period + margin) / limit end
  if hold_since and static > 0 and period <= HOLD_MAX_PERIOD_MS then
    -- Fully spent when the server took over; a no-op once that is past (TATs only grow).
    tat = math.max(tat, hold_since + max_wait + (burst + 1) * static)
  end
  local interval = static
  local usage, usage_until = tonumber(f[4]), tonumber(f[5]) or 0
  local reason = 'rate'
  if usage and usage_until > now and usage >= slow_from then
    -- Spacing grows without bound as usage nears 100 %: x1 at midway, x5 at 95 % from 75 %, ...
    local u = math.min(usage, 99.5)
    local slowed = spacing * (u - slow_from) / (100 - u)
    if slowed > interval then
      interval = slowed
      reason = 'usage'
    end
  end
  local earliest = tat - burst * static
  local blocked = tonumber(f[2]) or 0
  if blocked > earliest then
    earliest = blocked
    reason = f[3] or 'blocked'
  end
  if earliest > worst then
    worst, worst_index, worst_reason = earliest, (i - 8) / 6 + 1, reason
  end
  if earliest > slot then slot = earliest end
  buckets[#buckets + 1] = {key, tat, interval, math.max(blocked, usage_until)}
end

local wait = slot - now
if wait > max_wait then return {0, math.ceil(wait), worst_index, worst_reason} end
for _, b in ipairs(buckets) do
  if b[3] > 0 then
    local tat = math.max(b[2], slot) + b[3]
    redis.call('HSET', b[1], 'tat', string.format('%.3f', tat))
    -- Once the TAT is past, the bucket is as good as new: let it go then (a block keeps it longer).
    redis.call('PEXPIRE', b[1], math.ceil(math.max(tat, b[4]) - now) + 1000)
  end
end
return {1, math.ceil(wait), 0, ''}
