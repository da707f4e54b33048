-- token_rewrap: replaces an account's sealed tokens by the same tokens sealed with the vault's
-- current key (`schedulo vault rotate`), only if nothing changed since they were read: a refresh that
-- stored a newer token meanwhile is never undone.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account, ARGV[4] version read,
--      ARGV[5] sealed access read, ARGV[6] sealed refresh read, ARGV[7] new sealed access,
--      ARGV[8] new sealed refresh, ARGV[9] now ms, ARGV[10] the Airtable row to append ('' = none)
-- Returns: 1 rewrapped, 0 changed meanwhile (read it again)
local rec = k_token(ARGV[2], ARGV[3])
local f = redis.call('HMGET', rec, 'version', 'access', 'refresh')
if f[1] ~= ARGV[4] or (f[2] or '') ~= ARGV[5] or (f[3] or '') ~= ARGV[6] then return 0 end
redis.call('HSET', rec, 'access', ARGV[7], 'refresh', ARGV[8], 'updated_at', ARGV[9])
token_outbox(ARGV[10], ARGV[9])
return 1
