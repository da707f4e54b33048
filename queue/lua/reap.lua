-- reap: takes back jobs whose lease deadline passed (their daemon died or lost Redis) so another
-- attempt can run; the attempt counts, and its driver reconciles from the checkpoint first.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] max jobs,
--       ARGV[6] how the records of a job that ends dead are written (common.lua on_cancel_rewritten;
--       '' = none)
-- Returns: the number of jobs taken back
local now = tonumber(ARGV[2])
local rewrite = nil
if ARGV[6] and ARGV[6] ~= '' then rewrite = cjson.decode(ARGV[6]) end
local ids = redis.call('ZRANGE', K_LEASES, '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[5]))
for _, id in ipairs(ids) do
  reclaim(id, now, 'the daemon running this job stopped before it finished (lease expired)', ARGV[3], ARGV[4], rewrite)
end
return #ids
