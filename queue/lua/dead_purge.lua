-- dead_purge: deletes dead and needs_review jobs finished before a time, leaving tombstones so their
-- ids stay duplicates for the idempotency window.
-- KEYS: none; ARGV[1] prefix, ARGV[2] finished before (ms), ARGV[3] window s, ARGV[4] max jobs
-- Returns: the number of jobs purged
local ids = redis.call('ZRANGE', K_DEAD, '-inf', tonumber(ARGV[2]), 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[4]))
for _, id in ipairs(ids) do
  local state = redis.call('HGET', k_job(id), 'state') or 'dead'
  redis.call('DEL', k_job(id), k_log(id))
  redis.call('SET', k_tomb(id), state, 'EX', ARGV[3])
  redis.call('ZREM', K_DEAD, id)
end
return #ids
