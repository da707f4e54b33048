-- checkpoint: records a driver's progress (the ids of each step) on the job before its next step,
-- and extends the lease, if this attempt still holds it (never shortens it: a step's longer lease
-- stays).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] lease ms, ARGV[4] id, ARGV[5] token,
--      ARGV[6] checkpoint json
-- Returns: 1, or LOST_LEASE
local job = k_job(ARGV[4])
if redis.call('HGET', job, 'lease') ~= ARGV[5] then return LOST_LEASE end
redis.call('HSET', job, 'checkpoint', ARGV[6], 'updated_at', ARGV[2])
redis.call('ZADD', K_LEASES, 'XX', 'GT', tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[4])
return 1
