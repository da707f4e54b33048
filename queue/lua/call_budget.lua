-- call_budget: may one more call to an external API be spent this month? Counts it when it may. The
-- last part of the budget (the reserve) is kept for calls of the essential class. The rate of calls
-- is the rate limiter's business (rate_acquire.lua); this is the month's quota (Airtable's plans).
-- KEYS: none; ARGV[1] prefix, ARGV[2] counter name (e.g. "airtable:<base>:2026-11"), ARGV[3] budget
--      (0 = none), ARGV[4] reserve (calls), ARGV[5] class ('essential' | 'low'), ARGV[6] warning
--      threshold (calls; 0 = none)
-- Returns: {1, calls this month, 1 when this call reached the warning threshold first} when counted;
--      {-1, calls this month} when the budget (for this class) is spent
local counter = k_calls(ARGV[2])
local budget, reserve, warn = tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[6])
local used = tonumber(redis.call('GET', counter) or '0')
if budget > 0 then
  local limit = budget
  if ARGV[5] ~= 'essential' then limit = budget - reserve end
  if used >= limit then return {-1, used} end
end
used = redis.call('INCR', counter)
redis.call('EXPIRE', counter, 40 * 24 * 3600)
local crossed = 0
if warn > 0 and used >= warn and redis.call('SET', k_calls_warned(ARGV[2]), '1', 'NX', 'EX', 40 * 24 * 3600) then
  crossed = 1
end
return {1, used, crossed}
