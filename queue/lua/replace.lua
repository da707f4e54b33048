-- replace: replaces the content of a job that has not started (CLI, HTTP API).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3..8] id, type, platform, account, payload, run_at
--      ms, ARGV[9] max_attempts, ARGV[10] outbox entries recorded with the replacement ('' = none),
--      ARGV[11] retention s, ARGV[12] window s (for follow-up jobs among the entries)
-- Returns: 'replaced' | 'unknown' | 'started:<state>' | 'ended:<state>'
local out = replace_job(ARGV[3], ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9], tonumber(ARGV[2]))
if out == 'replaced' then outbox_append(ARGV[10], tonumber(ARGV[2]), ARGV[11], ARGV[12], ARGV[3]) end
return out
