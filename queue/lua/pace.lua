-- pace: may one more call to an external API go now? GCRA over every bucket the call counts against
-- (e.g. an Airtable base and the token owner), all or nothing, shared by the fleet; a bucket paused
-- after a 429 lets nothing through until the pause ends; calls are counted against a monthly budget,
-- the last part of which is kept for calls of the essential class.
-- (Interim: issue 5's fleet-wide limiter replaces the GCRA part; the budget part stays.)
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] counter name (e.g. "airtable:<base>:2026-11"),
--      ARGV[4] budget (0 = none), ARGV[5] calls left to low-class calls below the budget (the reserve),
--      ARGV[6] class ('essential' | 'low'), ARGV[7] warning threshold (calls; 0 = none), then groups of 3:
--      bucket, emission interval ms (1000 / rate; fractions allowed), burst tolerance ms
-- Returns: {1, calls this month, 1 when this call crossed the warning threshold (first time) else 0}
--      when the call may go (it is counted); {0, wait ms} when a bucket is full or paused;
--      {-1, calls this month} when the budget (for this class) is spent
local now = tonumber(ARGV[2])
local counter = k_calls(ARGV[3])
local budget, reserve, warn = tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[7])
local used = tonumber(redis.call('GET', counter) or '0')
if budget > 0 then
  local limit = budget
  if ARGV[6] ~= 'essential' then limit = budget - reserve end
  if used >= limit then return {-1, used} end
end
local wait = 0
local tats = {}
for i = 8, #ARGV, 3 do
  local bucket = ARGV[i]
  local paused = redis.call('PTTL', k_pace_pause(bucket))
  if paused > 0 and paused > wait then wait = paused end
  local interval, tolerance = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local tat = tonumber(redis.call('GET', k_pace(bucket)) or '0')
  if tat < now then tat = now end
  local early = tat - tolerance - now
  if early > wait then wait = early end
  tats[#tats + 1] = {bucket, tat + interval}
end
if wait > 0 then return {0, math.ceil(wait)} end
for _, t in ipairs(tats) do
  redis.call('SET', k_pace(t[1]), string.format('%.3f', t[2]), 'PX', math.ceil(t[2] - now) + 60000)
end
used = redis.call('INCR', counter)
redis.call('EXPIRE', counter, 40 * 24 * 3600)
local crossed = 0
if warn > 0 and used >= warn and redis.call('SET', k_calls_warned(ARGV[3]), '1', 'NX', 'EX', 40 * 24 * 3600) then
  crossed = 1
end
return {1, used, crossed}
