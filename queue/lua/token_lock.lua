-- token_lock: takes an account's refresh lock for one daemon (architecture rule 5: at most one
-- refresh per account in the fleet). The fence is drawn from the account's sequence, the same one
-- versions come from, so the token a refresh obtains is stored with its fence as version: a later
-- lock holder's token is always newer than an earlier one's.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account, ARGV[4] owner, ARGV[5] ttl ms
-- Returns: {1, fence} taken; {0, ms left} held by another; {-3} no such account
local rec = k_token(ARGV[2], ARGV[3])
if redis.call('EXISTS', rec) == 0 then return {-3} end
local lock = k_token_lock(ARGV[2], ARGV[3])
local left = redis.call('PTTL', lock)
if left ~= -2 then return {0, left} end
local f = redis.call('HMGET', rec, 'version', 'seq')
local fence = math.max(tonumber(f[1]) or 0, tonumber(f[2]) or 0) + 1
redis.call('HSET', rec, 'seq', string.format('%d', fence))
redis.call('SET', lock, ARGV[4] .. '/' .. string.format('%d', fence), 'PX', ARGV[5])
return {1, fence}
