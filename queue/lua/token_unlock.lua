-- token_unlock: releases an account's refresh lock if this holder still has it (a lock that expired
-- and passed to another daemon stays with that daemon).
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account, ARGV[4] "<owner>/<fence>"
-- Returns: 1 released, 0 not held by this holder
local lock = k_token_lock(ARGV[2], ARGV[3])
if redis.call('GET', lock) ~= ARGV[4] then return 0 end
redis.call('DEL', lock)
return 1
