-- settle: ends leased attempts. Each is fenced: an attempt whose lease token is no longer the job's
-- (the lease expired and another worker took the job) changes nothing.
-- Outcomes: succeeded, failed, dead, needs_review (final); retry (back-off; dead when no attempts
-- are left); defer (rate limit, open circuit: no attempt used); wait (platform processing: no
-- attempt used, look again at due); release (shutdown hand-back: no attempt used, front of queue).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] the
--      per-account limit the leases were taken with (0 = none), then groups of 9: id, token, outcome, due ms, error, error_code, result json, checkpoint json
--      ('' = keep the stored one), outbox entries json ('' = none; appended with the outcome, so an
--      outcome is recorded with its Airtable rows, callbacks and follow-up jobs or not at all)
-- Returns: per group the resulting state, or LOST_LEASE
local now = tonumber(ARGV[2])
local retention, window = ARGV[3], ARGV[4]
local out = {}
local account_limit = tonumber(ARGV[5])
for i = 6, #ARGV, 9 do
  local id, token, outcome, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local err, code, result, checkpoint = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'lease', 'platform', 'account', 'attempts', 'max_attempts', 'logged')
  if f[1] ~= token then
    out[#out + 1] = LOST_LEASE
  else
    redis.call('ZREM', K_LEASES, id)
    if outcome == 'succeeded' then
      -- An earlier attempt's error stays in the attempt log, not on a job that succeeded.
      redis.call('HDEL', job, 'lease', 'lease_owner', 'error', 'error_code')
    else
      redis.call('HDEL', job, 'lease', 'lease_owner')
    end
    release_account(f[2], f[3], account_limit)
    if checkpoint ~= '' then redis.call('HSET', job, 'checkpoint', checkpoint) end
    outbox_append(ARGV[i + 8], now, retention, window)
    if result ~= '' then redis.call('HSET', job, 'result', result) end
    local attempts = tonumber(f[4])
    if outcome == 'retry' and attempts >= tonumber(f[5]) then
      outcome = 'dead'
      -- The message's "tried again automatically" advice is no longer true.
      err = string.gsub(err, '%s*Nothing to do: [^.]*automatically%.', '') .. ' (no attempts left)'
    end
    if outcome ~= 'succeeded' then
      redis.call('HSET', job, 'error', err, 'error_code', code)
      log_attempt(id, now, attempts, outcome, err, code, retention)
    end
    if outcome == 'succeeded' or outcome == 'failed' or outcome == 'dead' or outcome == 'needs_review' then
      finalize(id, outcome, now, retention, window, outcome ~= 'succeeded' or f[6] ~= false)
      out[#out + 1] = outcome
    else
      local state = 'retrying'
      if outcome == 'defer' then state = 'deferred' end
      if outcome == 'wait' then state = 'waiting' end
      if outcome == 'release' then state = 'queued' end
      if outcome ~= 'retry' then redis.call('HINCRBY', job, 'attempts', -1) end
      if due < now then due = now end
      redis.call('HSET', job, 'state', state, 'due_at', due, 'updated_at', now)
      place(id, f[2], due, now, true)
      out[#out + 1] = state
    end
  end
end
return out
