-- token_status: changes an account's status (needs_reauth, revoked, expiring, active) without
-- changing its tokens, only if the record still holds the version the caller judged: a refresh token
-- refused by the platform marks the account needs_reauth unless a newer token was stored meanwhile.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account, ARGV[4] expected version ('' = any),
--      ARGV[5] status, ARGV[6] reason, ARGV[7] now ms, ARGV[8] '1' wipes the sealed tokens,
--      ARGV[9] the Airtable rows to append when changed ('' = none)
-- Returns: 1 changed, 0 the version moved on, -3 no such account
local rec = k_token(ARGV[2], ARGV[3])
local f = redis.call('HMGET', rec, 'version', 'access_expires_at', 'refresh_expires_at')
if not f[1] then return -3 end
if ARGV[4] ~= '' and f[1] ~= ARGV[4] then return 0 end
redis.call('HSET', rec, 'status', ARGV[5], 'reason', ARGV[6], 'updated_at', ARGV[7])
if ARGV[8] == '1' then redis.call('HSET', rec, 'access', '', 'refresh', '') end
token_index(ARGV[2], ARGV[3], ARGV[5], f[2] or '0', f[3] or '0')
token_outbox(ARGV[9], ARGV[7])
return 1
