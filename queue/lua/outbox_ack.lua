-- outbox_ack: ends claims. Each is fenced by its claim token: a writer whose claim went back
-- (deadline passed) changes nothing. Verdicts:
--   ok     written; the item is gone, unless newer fields were appended meanwhile: then it is queued
--          again at once (writing the merged record again is harmless: writes are upserts by key)
--   retry  not written (outage, rate limit, a batch split elsewhere): queued again at `due`
--   dead   permanently rejected: moved to the dead outbox with the reason
-- Each group may carry entries appended in the same step (an Events row for a dead item, say).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, then groups of 7:
--      dest, key, token, verdict, due ms, reason, entries json ('' = none)
-- Returns: per group 'done' | 'requeued' | 'retry' | 'dead' | LOST_LEASE (the claim had passed)
local now = tonumber(ARGV[2])
local out = {}
for i = 5, #ARGV, 7 do
  local dest, key, token, verdict, due, reason = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4]),
                                                 ARGV[i + 5]
  local item = dest .. '|' .. key
  local h = k_ob_item(item)
  local f = redis.call('HMGET', h, 'claim', 'version', 'claimed_version')
  if f[1] ~= token then
    out[#out + 1] = LOST_LEASE
  else
    redis.call('ZREM', K_OB_CLAIMED, item)
    redis.call('HDEL', h, 'claim', 'claimed_version', 'claimed_by')
    if verdict == 'ok' then
      if f[2] == f[3] then
        redis.call('DEL', h)
        out[#out + 1] = 'done'
      else
        redis.call('ZADD', k_ob_queue(dest), now, key)
        out[#out + 1] = 'requeued'
      end
    elseif verdict == 'dead' then
      local d = k_ob_dead_item(item)
      redis.call('DEL', d)
      redis.call('RENAME', h, d)
      redis.call('HSET', d, 'reason', reason, 'dead_at', now)
      redis.call('ZADD', K_OB_DEAD, now, item)
      out[#out + 1] = 'dead'
    else
      redis.call('HINCRBY', h, 'attempts', 1)
      redis.call('HSET', h, 'last_error', reason)
      if due < now then due = now end
      redis.call('ZADD', k_ob_queue(dest), due, key)
      out[#out + 1] = 'retry'
    end
    outbox_append(ARGV[i + 6], now, ARGV[3], ARGV[4])
  end
end
return out
