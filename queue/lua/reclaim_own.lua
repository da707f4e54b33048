-- reclaim_own: at start, a daemon takes back the leases its previous run (same workers.id) held,
-- at once instead of waiting for them to expire.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] worker id,
--       ARGV[6] how the records of a job that ends dead are written (common.lua on_cancel_rewritten;
--       '' = none)
-- Returns: the number of jobs taken back
local now = tonumber(ARGV[2])
local rewrite = nil
if ARGV[6] and ARGV[6] ~= '' then rewrite = cjson.decode(ARGV[6]) end
local count = 0
for _, id in ipairs(redis.call('ZRANGE', K_LEASES, 0, -1)) do
  if redis.call('HGET', k_job(id), 'lease_owner') == ARGV[5] then
    reclaim(id, now, 'the daemon running this job restarted before it finished', ARGV[3], ARGV[4], rewrite)
    count = count + 1
  end
end
return count
