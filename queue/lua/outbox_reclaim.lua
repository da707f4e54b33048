-- outbox_reclaim: claims whose deadline passed (their writer died or hung) go back to their queue,
-- as do all claims of one worker id when that worker restarts.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] worker id whose claims all go back ('' = none),
--      ARGV[4] most items
-- Returns: the number of items put back
local now = tonumber(ARGV[2])
local items
if ARGV[3] ~= '' then
  items = redis.call('ZRANGE', K_OB_CLAIMED, 0, -1)
else
  items = redis.call('ZRANGE', K_OB_CLAIMED, '-inf', now, 'BYSCORE', 'LIMIT', 0, tonumber(ARGV[4]))
end
local moved = 0
for _, item in ipairs(items) do
  local h = k_ob_item(item)
  local owner = redis.call('HGET', h, 'claimed_by')
  if ARGV[3] == '' or owner == ARGV[3] or owner == false then
    redis.call('ZREM', K_OB_CLAIMED, item)
    if owner then
      local bar = string.find(item, '|', 1, true)
      redis.call('HDEL', h, 'claim', 'claimed_version', 'claimed_by')
      redis.call('ZADD', k_ob_queue(string.sub(item, 1, bar - 1)), 'NX', now, string.sub(item, bar + 1))
      moved = moved + 1
    end
  end
end
return moved
