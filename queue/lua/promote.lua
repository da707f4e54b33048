-- promote: moves jobs whose time has come (run_at, retry back-off, deferral, waiting) from the
-- scheduled set to the front of their platform's ready list.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] max jobs
-- Returns: {promoted count, earliest remaining due ms or -1}
local now = tonumber(ARGV[2])
local ids = redis.call('ZRANGE', K_SCHEDULED, '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[3]))
for _, id in ipairs(ids) do
  redis.call('ZREM', K_SCHEDULED, id)
  local platform = redis.call('HGET', k_job(id), 'platform')
  if platform then
    redis.call('HSET', k_job(id), 'state', 'queued', 'updated_at', now)
    redis.call('RPUSH', k_ready(platform), id)
  end
end
local next_due = -1
local first = redis.call('ZRANGE', K_SCHEDULED, 0, 0, 'WITHSCORES')
if #first == 2 then next_due = tonumber(first[2]) end
return {#ids, next_due}
