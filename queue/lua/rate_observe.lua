-- rate_observe: what a platform's answer says about a bucket: a block (a 429 with Retry-After or
-- x-rate-limit-reset, remaining 0, Airtable's 30 s penalty) or a usage reading (Meta's X-App-Usage and
-- X-Business-Use-Case-Usage, in %). Blocks only ever extend; readings replace the last one and hold
-- for a while (the next answer brings a new one).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms ('' = the server's clock), ARGV[3] how long a usage
--       reading holds (ms), then groups of 6: platform, scope, key, kind, ms, value
--       kind 'block': blocked for ms from now, value = why ('rate_limited', 'usage', ...)
--       kind 'usage': value = usage %; ms > 0 blocks for that long (usage at 100 % until the regain time)
-- Returns: the number of buckets whose block was extended
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
else
  now = tonumber(ARGV[2])
end
local reading_life = tonumber(ARGV[3])
local extended = 0
for i = 4, #ARGV, 6 do
  local key = k_rate(ARGV[i], ARGV[i + 1], ARGV[i + 2])
  local kind, ms, value = ARGV[i + 3], tonumber(ARGV[i + 4]), ARGV[i + 5]
  local why = value
  if kind == 'usage' then
    redis.call('HSET', key, 'usage', value, 'usage_until', string.format('%.3f', now + reading_life))
    why = 'usage'
  end
  if ms > 0 then
    local until_ms = now + ms
    if until_ms > (tonumber(redis.call('HGET', key, 'blocked_until')) or 0) then
      redis.call('HSET', key, 'blocked_until', string.format('%.3f', until_ms), 'blocked_why', why)
      extended = extended + 1
    end
  end
  local f = redis.call('HMGET', key, 'tat', 'blocked_until', 'usage_until')
  local last = math.max(tonumber(f[1]) or 0, tonumber(f[2]) or 0, tonumber(f[3]) or 0)
  redis.call('PEXPIRE', key, math.ceil(math.max(last - now, 0)) + 1000)
end
return extended
