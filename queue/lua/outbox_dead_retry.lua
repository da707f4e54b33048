-- outbox_dead_retry: puts dead outbox items back in their queue (after a person fixed the table or
-- the field), merged under any fields appended to the same record since.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, then items ("<dest>|<key>")
-- Returns: the number of items put back
local now = tonumber(ARGV[2])
local moved = 0
for i = 3, #ARGV do
  local item = ARGV[i]
  local d = k_ob_dead_item(item)
  if redis.call('EXISTS', d) == 1 then
    local bar = string.find(item, '|', 1, true)
    local dest, key = string.sub(item, 1, bar - 1), string.sub(item, bar + 1)
    local h = k_ob_item(item)
    local all = redis.call('HGETALL', d)
    local args = {}
    for j = 1, #all, 2 do
      local name = all[j]
      -- Fields appended since the item died are newer: they win over the dead item's.
      if (string.sub(name, 1, 2) == 'f:' or name == 'record_id') and redis.call('HEXISTS', h, name) == 0 then
        args[#args + 1] = name
        args[#args + 1] = all[j + 1]
      end
    end
    if redis.call('HINCRBY', h, 'version', 1) == 1 then
      redis.call('HSET', h, 'dest', dest, 'key', key, 'first_at', now, 'attempts', 0)
    end
    if #args > 0 then redis.call('HSET', h, unpack(args)) end
    redis.call('DEL', d)
    redis.call('ZREM', K_OB_DEAD, item)
    if redis.call('HEXISTS', h, 'claim') == 0 then redis.call('ZADD', k_ob_queue(dest), 'NX', now, key) end
    moved = moved + 1
  end
end
return moved
