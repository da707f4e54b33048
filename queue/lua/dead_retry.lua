-- dead_retry: gives a dead (or needs_review) job a fresh set of attempts, at the front of its queue.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] id
-- Returns: 1, 0 when the job is not dead or needs_review
local id, now = ARGV[3], tonumber(ARGV[2])
local job = k_job(id)
local f = redis.call('HMGET', job, 'state', 'platform', 'max_attempts')
if f[1] ~= 'dead' and f[1] ~= 'needs_review' then return 0 end
if tonumber(f[3]) == 0 then return 0 end  -- a refused inbox entry has nothing to run
redis.call('ZREM', K_DEAD, id)
redis.call('PERSIST', job)
redis.call('HSET', job, 'state', 'queued', 'attempts', 0, 'updated_at', now, 'due_at', now)
redis.call('HDEL', job, 'finished_at')
redis.call('RPUSH', k_ready(f[2]), id)
return 1
