-- dead_retry: gives dead (or needs_review) jobs a fresh set of attempts, each put back on its
-- platform's ready list. Many ids per call, so retrying thousands of jobs takes few round trips;
-- each job's change is still made whole or not at all.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] platform ("" = any), ARGV[4..] ids
-- Returns: one integer per id: 1 queued again; 0 not dead or needs_review (or a refused inbox entry,
-- which has nothing to run); 2 left alone because it belongs to another platform than ARGV[3]
local now, only = tonumber(ARGV[2]), ARGV[3]
local out = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'state', 'platform', 'max_attempts')
  if f[1] ~= 'dead' and f[1] ~= 'needs_review' then
    out[#out + 1] = 0
  elseif tonumber(f[3]) == 0 then
    out[#out + 1] = 0
  elseif only ~= '' and f[2] ~= only then
    out[#out + 1] = 2
  else
    redis.call('ZREM', K_DEAD, id)
    redis.call('PERSIST', job)
    redis.call('HSET', job, 'state', 'queued', 'attempts', 0, 'updated_at', now, 'due_at', now)
    redis.call('HDEL', job, 'finished_at')
    redis.call('RPUSH', k_ready(f[2]), id)
    out[#out + 1] = 1
  end
end
return out
