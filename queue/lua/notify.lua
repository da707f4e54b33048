-- notify: records a notification for the outbox (`<prefix>:notifications`), unless one of the same
-- kind about the same subject was recorded within the window (common.lua's notify()).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms ('' = the server's clock), ARGV[3] kind, ARGV[4] subject,
--       ARGV[5] platform, ARGV[6] account, ARGV[7] job id, ARGV[8] message, ARGV[9] action,
--       ARGV[10] error code
-- Returns: 1 recorded, 0 suppressed (a duplicate within the window)
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
return notify({kind = ARGV[3], subject = ARGV[4], platform = ARGV[5], account = ARGV[6], job_id = ARGV[7],
               message = ARGV[8], action = ARGV[9], error_code = ARGV[10]}, now)
