-- breaker_release_probe: a half-open probe that ended with nothing to say about the platform (its job
-- was cancelled: a lost lease, a step's deadline, shutdown) hands the probe back, so the next caller
-- probes at once instead of when the hold runs out. Only the hold it was given: a later probe stays.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] the probe's hold (breaker_check's probe_until)
-- Returns: 1 handed back, 0 the circuit had moved on (a result recorded, another probe out)
local key = k_breaker(ARGV[2])
local f = redis.call('HMGET', key, 'state', 'probe_until')
if f[1] == 'half_open' and f[2] == ARGV[3] then
  redis.call('HDEL', key, 'probe_until')
  return 1
end
return 0
