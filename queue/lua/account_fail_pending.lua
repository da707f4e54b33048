-- account_fail_pending: fails every job of one account that has not started (the account was
-- disconnected: revoke_token). Running and waiting jobs are left to end on their own (the platform
-- refuses their token); the revoking job itself is left alone.
-- Each job failed here gets its outcome written through the outbox in this same step, like any other
-- final failure: the records it asked to have written should it end before it started (its
-- `on_cancel` entries: its Posts row, its callback) are appended with the failure put in. ARGV[10]
-- says how (common.lua on_cancel_rewritten).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] platform,
--       ARGV[6] account, ARGV[7] error (for people), ARGV[8] error_code, ARGV[9] id to leave alone,
--       ARGV[10] the rewrite of the on_cancel entries ('' = none: nothing is written)
-- Returns: the ids failed
local now = tonumber(ARGV[2])
local rewrite = nil
if ARGV[10] and ARGV[10] ~= '' then rewrite = cjson.decode(ARGV[10]) end

local failed = {}
for _, id in ipairs(redis.call('ZRANGE', k_account(ARGV[5], ARGV[6]), 0, -1)) do
  if id ~= ARGV[9] then
    local state = redis.call('HGET', k_job(id), 'state')
    if state == 'queued' or state == 'scheduled' or state == 'retrying' or state == 'deferred' then
      unqueue(id, ARGV[5], ARGV[6])
      redis.call('HSET', k_job(id), 'error', ARGV[7], 'error_code', ARGV[8])
      local entries = on_cancel_rewritten(id, rewrite, nil)
      if entries then outbox_append(entries, now, ARGV[3], ARGV[4]) end
      finalize(id, 'failed', now, ARGV[3], ARGV[4])
      failed[#failed + 1] = id
    end
  end
end
return failed
