-- enqueue: creates validated jobs (the CLI, the HTTP API and intake share it); idempotent by id.
-- KEYS: none (keys are built from the prefix; see includes/common.lua)
-- ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] idempotency window s,
--      then groups of 8: id, type, platform, account, payload json, run_at ms (0 = now), max_attempts,
--      outbox entries recorded with a created job ('' = none; e.g. its Posts row)
-- Returns: one integer per job: 1 created, 0 duplicate, 2 created already cancelled
local now = tonumber(ARGV[2])
local out = {}
for i = 5, #ARGV, 8 do
  out[#out + 1] = create_job(ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5],
                             ARGV[i + 6], now, ARGV[3], ARGV[4])
  if out[#out] == 1 then outbox_append(ARGV[i + 7], now, ARGV[3], ARGV[4], ARGV[i]) end
end
return out
