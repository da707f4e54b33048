-- heartbeat: extends the leases a worker still holds.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] lease ms, then pairs: id, token
-- Returns: the ids whose lease is no longer this worker's (their attempts must stop)
local deadline = tonumber(ARGV[2]) + tonumber(ARGV[3])
local lost = {}
for i = 4, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', k_job(id), 'lease') == ARGV[i + 1] then
    redis.call('ZADD', K_LEASES, 'XX', deadline, id)
  else
    lost[#lost + 1] = id
  end
end
return lost
