-- token_put: the versioned write of an account's tokens (architecture rules 5 and 15). The record
-- changes only when the new version is newer than the stored one, so an older token never replaces a
-- newer one, whatever order concurrent writers arrive in. A daemon whose refresh lock expired still
-- commits the token it received, if it is newer. The expiry indexes and the Airtable row follow in
-- the same step.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account, ARGV[4] version (from token_lock's
--      fence or token_next_version),
--      ARGV[5] now ms, ARGV[6] status, ARGV[7] status reason, ARGV[8] sealed access token,
--      ARGV[9] sealed refresh token ('' = none), ARGV[10] access expires at ms (0 = never/unknown),
--      ARGV[11] refresh expires at ms (0 = never/unknown), ARGV[12] scopes,
--      ARGV[13] what Airtable is owed when written (encoded rows; '' = none)
-- Returns: {1, version written} or {0, stored version} when that is as new or newer
local rec = k_token(ARGV[2], ARGV[3])
local f = redis.call('HMGET', rec, 'version', 'seq')
local stored = tonumber(f[1]) or 0
local seq = tonumber(f[2]) or 0
local version = tonumber(ARGV[4])
if version <= stored then return {0, stored} end
local v = string.format('%d', version)
redis.call('HSET', rec, 'platform', ARGV[2], 'account', ARGV[3], 'version', v,
           'seq', string.format('%d', math.max(seq, version)), 'status', ARGV[6], 'reason', ARGV[7],
           'access', ARGV[8], 'refresh', ARGV[9], 'access_expires_at', ARGV[10], 'refresh_expires_at', ARGV[11],
           'scopes', ARGV[12], 'updated_at', ARGV[5])
token_index(ARGV[2], ARGV[3], ARGV[6], ARGV[10], ARGV[11])
token_outbox(ARGV[13], ARGV[5])
return {1, version}
