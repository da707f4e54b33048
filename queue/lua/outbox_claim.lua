-- outbox_claim: takes up to N due items of one destination for one writer. Each gets a claim token
-- and a claim deadline; an item whose writer dies goes back at that deadline (outbox_reclaim), so
-- the outbox is drained at least once. Appends to a claimed item bump its version and wait for the
-- ack (never lost, never written twice at once).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] worker id, ARGV[4] claim deadline ms, ARGV[5] N,
--      ARGV[6] dest
-- Returns: {due items left after these, then per item: key, token, attempts, record_id ('' = none),
--      first_at ms, number of field pairs, then name, value json, ...}
local now, n, dest = tonumber(ARGV[2]), tonumber(ARGV[5]), ARGV[6]
local queue = k_ob_queue(dest)
local keys = redis.call('ZRANGE', queue, '-inf', now, 'BYSCORE', 'LIMIT', 0, n)
local out = {0}
for _, key in ipairs(keys) do
  redis.call('ZREM', queue, key)
  local item = dest .. '|' .. key
  local h = k_ob_item(item)
  local all = redis.call('HGETALL', h)
  if #all > 0 then
    local token = redis.call('INCR', K_SEQ)
    local meta, fields = {}, {}
    for i = 1, #all, 2 do
      local name = all[i]
      if string.sub(name, 1, 2) == 'f:' then
        fields[#fields + 1] = string.sub(name, 3)
        fields[#fields + 1] = all[i + 1]
      else
        meta[name] = all[i + 1]
      end
    end
    redis.call('HSET', h, 'claim', token, 'claimed_version', meta.version, 'claimed_by', ARGV[3])
    redis.call('ZADD', K_OB_CLAIMED, tonumber(ARGV[4]), item)
    out[#out + 1] = key
    out[#out + 1] = token
    out[#out + 1] = tonumber(meta.attempts or '0')
    out[#out + 1] = meta.record_id or ''
    out[#out + 1] = tonumber(meta.first_at or '0')
    out[#out + 1] = #fields / 2
    for _, v in ipairs(fields) do out[#out + 1] = v end
  end
end
out[1] = redis.call('ZCOUNT', queue, '-inf', now)
return out
