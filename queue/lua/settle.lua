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
-- Written once for the whole call rather than per job (each command a script runs costs Redis about
-- a microsecond besides its own work): the leases ended, and the totals by final state.
local ended, totals = {}, {}
for i = 6, #ARGV, 9 do
  local id, token, outcome, due = ARGV[i], ARGV[i + 1], ARGV[i + 2], tonumber(ARGV[i + 3])
  local err, code, result, checkpoint = ARGV[i + 4], ARGV[i + 5], ARGV[i + 6], ARGV[i + 7]
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'lease', 'platform', 'account', 'attempts', 'max_attempts', 'logged')
  if f[1] ~= token then
    out[#out + 1] = LOST_LEASE
  else
    ended[#ended + 1] = id
    if outcome == 'succeeded' then
      -- An earlier attempt's error stays in the attempt log, not on a job that succeeded.
      redis.call('HDEL', job, 'lease', 'lease_owner', 'error', 'error_code')
    else
      redis.call('HDEL', job, 'lease', 'lease_owner')
    end
    release_account(f[2], f[3], account_limit)
    outbox_append(ARGV[i + 8], now, retention, window)
    -- Fields written with the new state, in one HSET.
    local fields = {}
    if checkpoint ~= '' then
      fields[#fields + 1] = 'checkpoint'
      fields[#fields + 1] = checkpoint
    end
    if result ~= '' then
      fields[#fields + 1] = 'result'
      fields[#fields + 1] = result
    end
    local attempts = tonumber(f[4])
    if outcome == 'retry' and attempts >= tonumber(f[5]) then
      outcome = 'dead'
      -- The message's "tried again automatically" advice is no longer true.
      err = string.gsub(err, '%s*Nothing to do: [^.]*automatically%.', '') .. ' (no attempts left)'
    end
    if outcome ~= 'succeeded' then
      fields[#fields + 1] = 'error'
      fields[#fields + 1] = err
      fields[#fields + 1] = 'error_code'
      fields[#fields + 1] = code
      log_attempt(id, now, attempts, outcome, err, code, retention)
    end
    if outcome == 'succeeded' or outcome == 'failed' or outcome == 'dead' or outcome == 'needs_review' then
      finalize(id, outcome, now, retention, window, outcome ~= 'succeeded' or f[6] ~= false, fields, totals)
      out[#out + 1] = outcome
    else
      local state = 'retrying'
      if outcome == 'defer' then state = 'deferred' end
      if outcome == 'wait' then state = 'waiting' end
      if outcome == 'release' then state = 'queued' end
      if outcome ~= 'retry' then  -- no attempt used: give it back
        fields[#fields + 1] = 'attempts'
        fields[#fields + 1] = attempts - 1
      end
      if due < now then due = now end
      redis.call('HSET', job, 'state', state, 'due_at', due, 'updated_at', now, unpack(fields))
      place(id, f[2], due, now, true)
      out[#out + 1] = state
    end
  end
end
-- unpack() is bounded by Lua's stack: at most 1000 members a command.
for j = 1, #ended, 1000 do redis.call('ZREM', K_LEASES, unpack(ended, j, math.min(j + 999, #ended))) end
for state, n in pairs(totals) do redis.call('INCRBY', k_total(state), n) end
return out
