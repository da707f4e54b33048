-- intake_commit: turns claimed inbox entries into jobs, or into dead jobs whose error says why the
-- entry was refused, and drops them from the work list, all at once.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] work
--      list key, ARGV[6] entries handled (trimmed from the work list),
--      then groups of 9: kind ('job'|'dead'), id, type, platform, account, payload, run_at | error,
--      max_attempts | error_code, outbox entries recorded with a created job ('' = none)
-- Returns: per group 1 created, 0 duplicate, 2 created cancelled, 3 dead
local now = tonumber(ARGV[2])
local out = {}
for i = 7, #ARGV, 9 do
  local id = ARGV[i + 1]
  if ARGV[i] == 'job' then
    out[#out + 1] = create_job(id, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7],
                               now, ARGV[3], ARGV[4])
    if out[#out] == 1 then outbox_append(ARGV[i + 8], now, ARGV[3], ARGV[4], id) end
  else
    -- A refused entry never replaces a job that exists under the same id.
    if redis.call('EXISTS', k_job(id)) == 1 or redis.call('EXISTS', k_tomb(id)) == 1 then
      id = id .. ':refused:' .. redis.call('INCR', K_SEQ)
    end
    redis.call('HSET', k_job(id), 'id', id, 'type', ARGV[i + 2], 'platform', ARGV[i + 3], 'account', ARGV[i + 4],
               'payload', ARGV[i + 5], 'attempts', 0, 'max_attempts', 0, 'created_at', now, 'error', ARGV[i + 6],
               'error_code', ARGV[i + 7])
    redis.call('ZADD', K_JOBS, now, id)
    finalize(id, 'dead', now, ARGV[3], ARGV[4])
    out[#out + 1] = 3
  end
end
redis.call('LTRIM', ARGV[5], tonumber(ARGV[6]), -1)
return out
