-- account_fail_pending: fails every job of one account that has not started (the account was
-- disconnected: revoke_token). Running and waiting jobs are left to end on their own (the platform
-- refuses their token); the revoking job itself is left alone.
-- Each job failed here gets its outcome written through the outbox in this same step, like any other
-- final failure: the records it asked to have written should it end before it started (its
-- `on_cancel` entries: its Posts row, its callback) are appended with the failure put in. ARGV[10]
-- says how, by field name: {"fields": {<name>: <JSON text>}, "json_fields": {<name>: {<key>: <value>}}}:
-- a field named in `fields` takes that value; a field named in `json_fields` holds a JSON object
-- (the callback's body) whose keys are overwritten (and its "attempts" set to the job's); any
-- other field is appended as recorded.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] platform,
--       ARGV[6] account, ARGV[7] error (for people), ARGV[8] error_code, ARGV[9] id to leave alone,
--       ARGV[10] the rewrite of the on_cancel entries ('' = none: nothing is written)
-- Returns: the ids failed
local now = tonumber(ARGV[2])
local rewrite = nil
if ARGV[10] and ARGV[10] ~= '' then rewrite = cjson.decode(ARGV[10]) end

-- The job's on_cancel entries as a failure's entries (an outbox_append array), or nil.
local function failure_entries(id)
  local f = redis.call('HMGET', k_job(id), 'on_cancel', 'attempts')
  if not rewrite or not f[1] then return nil end
  local entries = {}
  for _, e in ipairs(cjson.decode(f[1])) do
    local fields = {}
    for name, value in pairs(e.fields or {}) do
      local overlay = rewrite.json_fields and rewrite.json_fields[name]
      if rewrite.fields and rewrite.fields[name] then
        fields[name] = rewrite.fields[name]
      elseif overlay then
        local doc = cjson.decode(value)
        for k, v in pairs(overlay) do doc[k] = v end
        doc.attempts = tonumber(f[2]) or 0
        fields[name] = cjson.encode(doc)
      else
        fields[name] = value
      end
    end
    entries[#entries + 1] = {dest = e.dest, key = e.key, fields = fields, record_id = e.record_id}
  end
  if #entries == 0 then return nil end
  return cjson.encode(entries)
end

local failed = {}
for _, id in ipairs(redis.call('ZRANGE', k_account(ARGV[5], ARGV[6]), 0, -1)) do
  if id ~= ARGV[9] then
    local state = redis.call('HGET', k_job(id), 'state')
    if state == 'queued' or state == 'scheduled' or state == 'retrying' or state == 'deferred' then
      unqueue(id, ARGV[5], ARGV[6])
      redis.call('HSET', k_job(id), 'error', ARGV[7], 'error_code', ARGV[8])
      local entries = failure_entries(id)
      if entries then outbox_append(entries, now, ARGV[3], ARGV[4]) end
      finalize(id, 'failed', now, ARGV[3], ARGV[4])
      failed[#failed + 1] = id
    end
  end
end
return failed
