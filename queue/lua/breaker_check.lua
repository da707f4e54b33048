-- breaker_check: may a call to this platform go? The circuit breaker is one hash per platform,
-- shared by the fleet. Closed: yes. Open: no, until its time is up; then the first caller becomes the
-- half-open probe (it holds the probe for probe ms: a caller that died with it frees it then). While
-- a probe is out, others are told to look again shortly.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms ('' = the server's clock), ARGV[3] platform,
--       ARGV[4] probe ms, ARGV[5] recheck ms (the longest a half-open refusal asks to wait)
-- Returns: {allowed (1|0), state ('closed'|'probe'|'open'|'half_open'), wait ms, open_until ms,
--          probe_until ms (a probe: the hold it was given, which breaker_release_probe names; else 0)}
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local key = k_breaker(ARGV[3])
local f = redis.call('HMGET', key, 'state', 'open_until', 'probe_until')
local state = f[1]
if not state or state == 'closed' then return {1, 'closed', 0, 0, 0} end
local open_until, probe_until = tonumber(f[2]) or 0, tonumber(f[3]) or 0
if state == 'open' and now < open_until then return {0, 'open', open_until - now, open_until, 0} end
if state == 'half_open' and now < probe_until then
  return {0, 'half_open', math.min(probe_until - now, tonumber(ARGV[5])), open_until, 0}
end
local hold = now + tonumber(ARGV[4])
redis.call('HSET', key, 'state', 'half_open', 'probe_until', hold)
return {1, 'probe', 0, open_until, hold}
