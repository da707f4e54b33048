-- token_next_version: draws the next version of an account's tokens from its sequence, for a write
-- made outside a refresh (an operator's import, a reconnect). The sequence is the one lock fences
-- come from, so the number is newer than any token stored or being refreshed now.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account
-- Returns: the version
local rec = k_token(ARGV[2], ARGV[3])
local f = redis.call('HMGET', rec, 'version', 'seq')
local next_version = math.max(tonumber(f[1]) or 0, tonumber(f[2]) or 0) + 1
redis.call('HSET', rec, 'seq', string.format('%d', next_version))
return next_version
