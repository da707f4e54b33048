-- claim: moves up to N raw entries from a shared list (the inbox or the control list) to this worker's
-- own work list, where they stay until committed; entries a crashed run of this worker left there
-- are returned first, so nothing taken from the shared list is ever lost.
-- KEYS: none; ARGV[1] prefix, ARGV[2] source list key, ARGV[3] work list key, ARGV[4] N
-- Returns: the entries, oldest first (the work list holds exactly these, in this order)
local leftover = redis.call('LRANGE', ARGV[3], 0, -1)
if #leftover > 0 then return leftover end
local n = tonumber(ARGV[4])
for _ = 1, n do
  if not redis.call('LMOVE', ARGV[2], ARGV[3], 'RIGHT', 'RIGHT') then break end
end
return redis.call('LRANGE', ARGV[3], 0, -1)
