-- pace_pause: stops every call through a bucket for a while (Airtable answers a burst with 429 and
-- blocks the base for 30 s: calls made meanwhile only extend the block). A longer pause already set
-- is kept.
-- KEYS: none; ARGV[1] prefix, ARGV[2] bucket, ARGV[3] pause ms
-- Returns: the pause left, ms
local key = k_pace_pause(ARGV[2])
local ms = tonumber(ARGV[3])
if redis.call('PTTL', key) < ms then redis.call('SET', key, '1', 'PX', ms) end
return redis.call('PTTL', key)
