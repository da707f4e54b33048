-- cancel: cancels one job that has not started (CLI, HTTP API).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] id
-- Returns: 'cancelled' | 'pending' | 'started:<state>' | 'ended:<state>'
return cancel_job(ARGV[5], tonumber(ARGV[2]), ARGV[3], ARGV[4])
