-- Shared by every script (prepended at build time). Key names mirror queue/keys.hpp; the test
-- QueueKeysTest.LuaAndCppBuildTheSameNames checks that they agree. ARGV[1] is always the prefix.
local P = ARGV[1]
local function k_job(id) return P .. ':job:' .. id end
local function k_tomb(id) return P .. ':tomb:' .. id end
local function k_log(id) return P .. ':log:' .. id end
local function k_cancel(id) return P .. ':cancel:' .. id end
local function k_ready(platform) return P .. ':ready:' .. platform end
local function k_held(platform, account) return P .. ':held:' .. platform .. ':' .. account end
local function k_account(platform, account) return P .. ':account:' .. platform .. ':' .. account end
local function k_total(state) return P .. ':total:' .. state end
local K_SCHEDULED = P .. ':scheduled'
local K_LEASES = P .. ':leases'
local K_DEAD = P .. ':dead'
local K_JOBS = P .. ':jobs'
local K_PAUSED = P .. ':paused'
local K_RUNNING_ACCOUNTS = P .. ':running_accounts'
local K_SEQ = P .. ':seq'
local function k_worker(worker) return P .. ':worker:' .. worker end
local function k_intake(worker) return P .. ':intake:' .. worker end
local function k_control_work(worker) return P .. ':controlwork:' .. worker end
local K_WORKERS = P .. ':workers'
local K_INBOX = P .. ':inbox'
local K_CONTROL = P .. ':control'
-- The outbox (queue/outbox.hpp). An item is "<dest>|<key>".
local function k_ob_queue(dest) return P .. ':outbox:queue:' .. dest end
local function k_ob_item(item) return P .. ':outbox:item:' .. item end
local function k_ob_dead_item(item) return P .. ':outbox:deaditem:' .. item end
local function k_ob_history(item) return P .. ':outbox:history:' .. item end
local function k_ob_guard(item) return P .. ':outbox:guard:' .. item end
local K_OB_CLAIMED = P .. ':outbox:claimed'
local K_OB_DEAD = P .. ':outbox:dead'
local K_OB_DESTS = P .. ':outbox:dests'
local function k_calls(counter) return P .. ':calls:' .. counter end
local function k_calls_warned(counter) return P .. ':callswarned:' .. counter end
local function k_account_cache(account) return P .. ':accountcache:' .. account end
local K_ACCOUNT_SWEEP = P .. ':accountsweep'
local function k_notification_work(worker) return P .. ':notifywork:' .. worker end
-- Rate limits, circuit breakers and notifications (issue 5).
local function k_rate(platform, scope, key) return P .. ':rate:' .. platform .. ':' .. scope .. ':' .. key end
local function k_breaker(platform) return P .. ':breaker:' .. platform end
local K_NOTIFICATIONS = P .. ':notifications'
local function k_notified(kind, subject) return P .. ':notified:' .. kind .. ':' .. subject end
local K_SETTINGS = P .. ':settings'
-- Token lifecycle (issue 13): names mirror the lifecycle block of queue/keys.hpp.
local function k_oauth_state(nonce) return P .. ':oauth:state:' .. nonce end
local function k_oauth_pending(id) return P .. ':oauth:pending:' .. id end
local K_SWEEP_LEASE = P .. ':sweep:lease'
local K_SWEEP_CHECKS = P .. ':sweep:checks'
local K_SWEEP_CURSOR = P .. ':sweep:cursor'
-- The limiter across a failover or restart (issue 16).
local K_RATE_EPOCH = P .. ':rateepoch'

-- Records a notification for the outbox, at most one per kind and subject (an account, or a platform
-- for platform-wide kinds) per window. The window is fleet-wide: notifications.window_s, written to
-- the settings hash by each daemon at start (an hour when none did). Fields: kind, subject, platform,
-- account, job_id, message, action, error_code (strings; '' when not known). Returns 1 recorded, 0
-- suppressed as a duplicate. The record format is the outbox's contract (README "Notifications").
local function notify(f, now)
  local window = tonumber(redis.call('HGET', K_SETTINGS, 'notify_window_s') or '') or 3600
  local at = math.floor(now)
  if not redis.call('SET', k_notified(f.kind, f.subject), at, 'NX', 'EX', math.max(1, math.floor(window))) then
    return 0
  end
  redis.call('LPUSH', K_NOTIFICATIONS, cjson.encode({
    id = f.kind .. ':' .. f.subject .. ':' .. at, kind = f.kind, subject = f.subject, platform = f.platform or '',
    account = f.account or '', job_id = f.job_id or '', message = f.message or '', action = f.action or '',
    error_code = f.error_code or '', at = at}))
  return 1
end

-- A job that ended dead or needs_review is a critical failure: one notification per account (the
-- platform when the job names none) and kind per window, written with the state change itself.
local function notify_final(id, state, now)
  local f = redis.call('HMGET', k_job(id), 'platform', 'account', 'error', 'error_code')
  local subject = f[2]
  if not subject or subject == '' then subject = f[1] or 'unknown' end
  if not subject or subject == '' then subject = 'unknown' end
  local action = 'Retry it with `schedulo dead retry` once the cause is fixed.'
  if state == 'needs_review' then
    action = 'Check the account for the post, then retry or purge the job; nothing is posted again without you.'
  end
  notify({kind = 'job_' .. state, subject = subject, platform = f[1] or '', account = f[2] or '', job_id = id,
          message = f[3] or '', action = action, error_code = f[4] or ''}, now)
end

-- Token core (tokens/): names mirror the token block of queue/keys.hpp (TokenKeysTest checks them).
local function k_token(platform, account) return P .. ':token:' .. platform .. ':' .. account end
local function k_token_lock(platform, account) return P .. ':tokenlock:' .. platform .. ':' .. account end
local K_TOKEN_ACCOUNTS = P .. ':tokens:accounts'
local K_TOKEN_ACCESS_EXPIRY = P .. ':tokens:access_expiry'
local K_TOKEN_REFRESH_EXPIRY = P .. ':tokens:refresh_expiry'

-- Error codes returned to C++ (queue/store.hpp mirrors them).
local LOST_LEASE = -1
local CONTROL_PENDING = -2

local function account_key(platform, account) return platform .. ':' .. account end

-- A job leaves the running set: give back its account slot and let one held job of that account go.
-- `limit` is the per-account limit when the caller knows it (0: none, nothing was counted); without
-- it (reclaim) the slot is given back and a held job released unconditionally.
local function release_account(platform, account, limit)
  if limit == 0 then return end
  local key = account_key(platform, account)
  if limit == nil and tonumber(redis.call('HGET', K_RUNNING_ACCOUNTS, key) or '0') <= 0 then
    return  -- leased without an account limit: nothing was counted
  end
  local left = redis.call('HINCRBY', K_RUNNING_ACCOUNTS, key, -1)
  if left <= 0 then redis.call('HDEL', K_RUNNING_ACCOUNTS, key) end
  -- Every slot given back lets one held job go (a lease holds it again if the account is still at
  -- its limit). Releasing only from the limit lost slots: settlements batched in one call (3 -> 2 -> 1)
  -- released one job for three slots, and the rest stayed held with nothing running to free them.
  local held = redis.call('RPOP', k_held(platform, account))
  if held then redis.call('RPUSH', k_ready(platform), held) end
end

local function log_attempt(id, now, attempt, outcome, error, code, retention)
  local line = cjson.encode({at = now, attempt = attempt, outcome = outcome, error = error, error_code = code})
  redis.call('RPUSH', k_log(id), line)
  redis.call('EXPIRE', k_log(id), retention)
  redis.call('HSET', k_job(id), 'logged', '1')
end

-- A job reaches a final state. Dead and needs_review jobs stay until a person acts (no expiry);
-- the others expire after the retention, then a tombstone keeps their id a duplicate for the window.
-- `logged`: whether the job has an attempt log (whose expiry must follow the record's).
-- `fields` (optional): more field, value pairs written with the state, in the same command.
-- `totals` (optional): a table state -> count the caller adds to the totals once for a whole batch
-- (one INCRBY per state instead of one INCR per job); without it the total is counted here.
local function finalize(id, state, now, retention, window, logged, fields, totals)
  if fields and #fields > 0 then
    redis.call('HSET', k_job(id), 'state', state, 'finished_at', now, 'updated_at', now, unpack(fields))
  else
    redis.call('HSET', k_job(id), 'state', state, 'finished_at', now, 'updated_at', now)
  end
  if totals then
    totals[state] = (totals[state] or 0) + 1
  else
    redis.call('INCR', k_total(state))
  end
  if state == 'dead' or state == 'needs_review' then
    redis.call('ZADD', K_DEAD, now, id)
    notify_final(id, state, now)
  else
    redis.call('EXPIRE', k_job(id), retention)
    if logged ~= false then redis.call('EXPIRE', k_log(id), retention) end
    redis.call('SET', k_tomb(id), state, 'EX', window)
  end
end

-- Puts a queued job where it will run: the scheduled set when due later, else its platform's ready
-- list. `front` puts it at the consuming end (jobs that are already late go first).
local function place(id, platform, due, now, front)
  if due > now then
    redis.call('ZADD', K_SCHEDULED, due, id)
  elseif front then
    redis.call('RPUSH', k_ready(platform), id)
  else
    redis.call('LPUSH', k_ready(platform), id)
  end
end

-- Defined with the outbox below; cancel_job and reclaim append what a job asked to record should it
-- end before it finished.
local outbox_append

-- A job's `on_cancel` entries (its Posts row, its Bubble callback: what it asked to have written
-- should it end before it finished) as the entries of an outcome decided here in Redis rather than
-- by a daemon (its account disconnected; its attempts spent by daemons that died), or nil when it
-- has none or `rewrite` is nil. `rewrite`: {"fields": {<name>: <JSON text>}, "error_field": <name>,
-- "json_fields": {<name>: {<key>: <value>}}, "json_error_key": <key>, "attempts_field": <name>}. A
-- field named in `fields` takes that value and `error_field` takes `err`; a field named in
-- `json_fields` holds a JSON object (the callback's body) whose keys are overwritten, its
-- `json_error_key` set to `err` and its "attempts" to the job's; any other field is appended as
-- recorded. An entry that has the error field (the Posts row) also gets `attempts_field`.
local function on_cancel_rewritten(id, rewrite, err)
  local f = redis.call('HMGET', k_job(id), 'on_cancel', 'attempts')
  if not rewrite or not f[1] then return nil end
  local entries = {}
  for _, e in ipairs(cjson.decode(f[1])) do
    local fields = {}
    for name, value in pairs(e.fields or {}) do
      local overlay = rewrite.json_fields and rewrite.json_fields[name]
      if rewrite.fields and rewrite.fields[name] then
        fields[name] = rewrite.fields[name]
      elseif err and rewrite.error_field == name then
        fields[name] = cjson.encode(err)
      elseif overlay then
        local doc = cjson.decode(value)
        for k, v in pairs(overlay) do doc[k] = v end
        if err and rewrite.json_error_key then doc[rewrite.json_error_key] = err end
        doc.attempts = tonumber(f[2]) or 0
        fields[name] = cjson.encode(doc)
      else
        fields[name] = value
      end
    end
    if rewrite.attempts_field and rewrite.error_field and fields[rewrite.error_field] then
      fields[rewrite.attempts_field] = tostring(tonumber(f[2]) or 0)
    end
    entries[#entries + 1] = {dest = e.dest, key = e.key, fields = fields, record_id = e.record_id}
  end
  if #entries == 0 then return nil end
  return cjson.encode(entries)
end

-- Takes a job back from a lease that ended without an answer (crashed or stopped daemon). A job with
-- no attempts left ends dead here, and `rewrite` (on_cancel_rewritten's, or nil) says how its
-- records are written.
local function reclaim(id, now, reason, retention, window, rewrite)
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'platform', 'account', 'attempts', 'max_attempts', 'state')
  redis.call('ZREM', K_LEASES, id)
  if not f[1] then return 0 end
  release_account(f[1], f[2], nil)
  redis.call('HDEL', job, 'lease', 'lease_owner')
  local attempts = tonumber(f[3]) or 0
  log_attempt(id, now, attempts, 'reclaimed', reason, 'lease_expired', retention)
  if attempts >= (tonumber(f[4]) or 1) then
    local err = reason .. '; no attempts left'
    redis.call('HSET', job, 'error', err, 'error_code', 'lease_expired')
    local entries = on_cancel_rewritten(id, rewrite, err)
    if entries then outbox_append(entries, now, retention, window) end
    finalize(id, 'dead', now, retention, window)
    return 2
  end
  redis.call('HSET', job, 'state', 'retrying', 'reclaimed', '1', 'error', reason, 'error_code', 'lease_expired',
             'updated_at', now, 'due_at', now)
  place(id, f[1], now, now, true)
  return 1
end

-- Takes a job that has not started out of the place where it waits. A scheduled, retrying or
-- deferred job is in the scheduled set, unless place() put it straight in its ready list because it
-- was due at once (a lease taken back by reclaim, a retry or deferral due now); a queued job is in
-- its ready list or its account's held list.
local function unqueue(id, platform, account)
  if redis.call('ZREM', K_SCHEDULED, id) == 1 then return end
  if redis.call('LREM', k_ready(platform), -1, id) == 0 then redis.call('LREM', k_held(platform, account), -1, id) end
end


-- Cancels a job that has not started. Returns 'cancelled', 'pending' (not known yet: cancelled when
-- it arrives), 'started:<state>' or 'ended:<state>'.
local function cancel_job(id, now, retention, window)
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'state', 'platform', 'account')
  local state = f[1]
  if not state then
    if redis.call('EXISTS', k_tomb(id)) == 1 then return 'ended:' .. redis.call('GET', k_tomb(id)) end
    redis.call('SET', k_cancel(id), '1', 'EX', window)
    return 'pending'
  end
  if state == 'queued' or state == 'scheduled' or state == 'retrying' or state == 'deferred' then
    unqueue(id, f[2], f[3])
  elseif state == 'running' or state == 'waiting' then
    return 'started:' .. state
  else
    return 'ended:' .. state
  end
  redis.call('HSET', job, 'error', 'cancelled before it started', 'error_code', 'cancelled')
  -- Its Posts row says so (and `schedulo resync` will not bring it back).
  outbox_append(redis.call('HGET', job, 'on_cancel'), now, retention, window)
  finalize(id, 'cancelled', now, retention, window)
  return 'cancelled'
end

-- Creates a job from validated fields. Returns 1 created, 0 duplicate id, 2 created already
-- cancelled (a cancel arrived before the job).
local function create_job(id, jtype, platform, account, payload, run_at, max_attempts, now, retention, window)
  local job = k_job(id)
  if redis.call('EXISTS', job) == 1 or redis.call('EXISTS', k_tomb(id)) == 1 then return 0 end
  local due = tonumber(run_at)
  if due < now then due = now end
  local state = 'queued'
  if due > now then state = 'scheduled' end
  redis.call('HSET', job, 'id', id, 'type', jtype, 'platform', platform, 'account', account, 'payload', payload,
             'state', state, 'attempts', 0, 'max_attempts', max_attempts, 'created_at', now, 'updated_at', now,
             'run_at', run_at, 'due_at', due)
  redis.call('ZADD', K_JOBS, now, id)
  redis.call('ZADD', k_account(platform, account), now, id)
  if redis.call('EXISTS', k_cancel(id)) == 1 then
    redis.call('DEL', k_cancel(id))
    redis.call('HSET', job, 'error', 'cancelled before it started', 'error_code', 'cancelled')
    finalize(id, 'cancelled', now, retention, window)
    return 2
  end
  place(id, platform, due, now, false)
  return 1
end

-- Replaces the content of a job that has not started; it keeps its id and history.
local function replace_job(id, jtype, platform, account, payload, run_at, max_attempts, now)
  local job = k_job(id)
  local f = redis.call('HMGET', job, 'state', 'platform', 'account', 'attempts')
  local state = f[1]
  if not state then return 'unknown' end
  if state == 'running' or state == 'waiting' or ((state == 'retrying' or state == 'deferred') and tonumber(f[4]) > 0) then
    return 'started:' .. state
  end
  if state == 'queued' or state == 'scheduled' or state == 'retrying' or state == 'deferred' then
    unqueue(id, f[2], f[3])
  else
    return 'ended:' .. state
  end
  if f[2] ~= platform or f[3] ~= account then
    redis.call('ZREM', k_account(f[2], f[3]), id)
    redis.call('ZADD', k_account(platform, account), now, id)
  end
  local due = tonumber(run_at)
  if due < now then due = now end
  local new_state = 'queued'
  if due > now then new_state = 'scheduled' end
  redis.call('HSET', job, 'type', jtype, 'platform', platform, 'account', account, 'payload', payload,
             'state', new_state, 'max_attempts', max_attempts, 'run_at', run_at, 'due_at', due, 'updated_at', now)
  place(id, platform, due, now, false)
  return 'replaced'
end

-- ---- the outbox (queue/outbox.hpp) -----------------------------------------------------------------
-- Appends entries (a JSON array, queue/outbox.cpp's encode_outbox) to the outbox. An entry either
-- creates a job at once (dest 'job': follow-ups, idempotent by their id) or merges its fields into
-- the one pending item of (dest, key): pending writes to the same record coalesce, the newest value
-- of each field wins. Field values are JSON texts that Lua never decodes (cjson would round numbers).
-- An item being written (claimed) is not queued again here; its ack sees the newer version and
-- queues it. An entry's `on_cancel` fields are kept on the job `job_id` (when given) and appended to
-- the same record if that job is cancelled before it starts; a `cancel_only` entry appends nothing
-- now. Returns the number of entries dropped as stale (their guard older than one seen).
local OB_HISTORY_TTL = 90 * 24 * 3600
outbox_append = function(entries_json, now, retention, window, job_id)
  if entries_json == nil or entries_json == false or entries_json == '' then return 0 end
  local stale = 0
  local cancels = {}
  for _, e in ipairs(cjson.decode(entries_json)) do
    if e.dest == 'job' then
      local j = e.job
      create_job(j.id, j.type, j.platform, j.account, j.payload, j.run_at, j.max_attempts, now, retention, window)
    else
      local item = e.dest .. '|' .. e.key
      local fresh = true
      if e.guard then
        local seen = tonumber(redis.call('GET', k_ob_guard(item)) or '-1')
        if tonumber(e.guard) < seen then
          fresh = false
        else
          redis.call('SET', k_ob_guard(item), e.guard)
        end
      end
      if e.on_cancel and job_id then
        cancels[#cancels + 1] = {dest = e.dest, key = e.key, fields = e.on_cancel, record_id = e.record_id}
      end
      if e.cancel_only then
        -- kept for a cancellation only (above)
      elseif not fresh then
        stale = stale + 1
      else
        local key = k_ob_item(item)
        if redis.call('HINCRBY', key, 'version', 1) == 1 then
          redis.call('HSET', key, 'dest', e.dest, 'key', e.key, 'first_at', now, 'attempts', 0)
        end
        local args = {}
        for name, value in pairs(e.fields or {}) do
          args[#args + 1] = 'f:' .. name
          args[#args + 1] = value
        end
        if e.history then
          local h = k_ob_history(item)
          redis.call('RPUSH', h, e.history.line)
          redis.call('LTRIM', h, -tonumber(e.history.keep), -1)
          redis.call('EXPIRE', h, OB_HISTORY_TTL)
          args[#args + 1] = 'f:' .. e.history.field
          args[#args + 1] = cjson.encode(table.concat(redis.call('LRANGE', h, 0, -1), '\n'))
        end
        if e.record_id and e.record_id ~= '' then
          args[#args + 1] = 'record_id'
          args[#args + 1] = e.record_id
        end
        if #args > 0 then redis.call('HSET', key, unpack(args)) end
        redis.call('SADD', K_OB_DESTS, e.dest)
        if redis.call('HEXISTS', key, 'claim') == 0 then
          local due = tonumber(e.due or now)
          if due < now then due = now end
          redis.call('ZADD', k_ob_queue(e.dest), 'NX', due, e.key)
        end
      end
    end
  end
  if #cancels > 0 then redis.call('HSET', k_job(job_id), 'on_cancel', cjson.encode(cancels)) end
  return stale
end

-- ---- the token core (tokens/token_store.hpp) --------------------------------------------------------
-- Keeps an account's entries in the expiry indexes in step with its record: an account that needs
-- a person (needs_reauth, revoked) leaves them, so sweeps never try to renew it; an expiry of 0
-- (never, or unknown) has no entry.
local function token_index(platform, account, status, access_expires_at, refresh_expires_at)
  local member = platform .. ':' .. account
  redis.call('ZADD', K_TOKEN_ACCOUNTS, 0, member)
  local live = status ~= 'needs_reauth' and status ~= 'revoked'
  if live and tonumber(access_expires_at) > 0 then
    redis.call('ZADD', K_TOKEN_ACCESS_EXPIRY, access_expires_at, member)
  else
    redis.call('ZREM', K_TOKEN_ACCESS_EXPIRY, member)
  end
  if live and tonumber(refresh_expires_at) > 0 then
    redis.call('ZADD', K_TOKEN_REFRESH_EXPIRY, refresh_expires_at, member)
  else
    redis.call('ZREM', K_TOKEN_REFRESH_EXPIRY, member)
  end
end

-- What an account's change owes Airtable (its Accounts row, Events rows: encode_outbox text, '' for
-- none), appended to the outbox in the same step as the change. The rows carry the token version
-- as their guard, so an older row never overwrites a newer one in Airtable either.
local function token_outbox(entries, now)
  outbox_append(entries, tonumber(now), 0, 0)
end
