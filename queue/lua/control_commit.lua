-- control_commit: applies claimed control entries (cancel, replace) and drops them from the work list.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] work list
--      key, ARGV[6] entries handled, then groups of 9: op ('cancel'|'replace'|'skip'), id, and for
--      replace: type, platform, account, payload, run_at ms, max_attempts, outbox entries recorded
--      with the replacement ('' = none)
-- Returns: per group the outcome text (see cancel_job; replace: 'replaced', 'started:..', 'ended:..',
--      'unknown'); 'skip' groups (unreadable entries) return 'skipped'
local now = tonumber(ARGV[2])
local out = {}
for i = 7, #ARGV, 9 do
  local op, id = ARGV[i], ARGV[i + 1]
  if op == 'cancel' then
    out[#out + 1] = cancel_job(id, now, ARGV[3], ARGV[4])
  elseif op == 'replace' then
    out[#out + 1] = replace_job(id, ARGV[i + 2], ARGV[i + 3], ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7], now)
    if out[#out] == 'replaced' then outbox_append(ARGV[i + 8], now, ARGV[3], ARGV[4], id) end
  else
    out[#out + 1] = 'skipped'
  end
end
redis.call('LTRIM', ARGV[5], tonumber(ARGV[6]), -1)
return out
