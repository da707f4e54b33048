-- sweep_lease: takes, renews or gives up the fleet's sweep lease (one sweep leader per fleet).
-- KEYS: none; ARGV[1] prefix, ARGV[2] owner, ARGV[3] ttl ms (0: give it up if held by owner)
-- Returns: 1 the owner holds it now (0 ttl: it was released), 0 another daemon holds it
local current = redis.call('GET', K_SWEEP_LEASE)
if current and current ~= ARGV[2] then return 0 end
if tonumber(ARGV[3]) <= 0 then
  if current then redis.call('DEL', K_SWEEP_LEASE) end
  return 1
end
redis.call('SET', K_SWEEP_LEASE, ARGV[2], 'PX', ARGV[3])
return 1
