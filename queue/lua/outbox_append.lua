-- outbox_append: appends entries to the outbox outside a job's settlement (token rotations,
-- notifications, operator commands), optionally dropping what they came from in the same step.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] retention s, ARGV[4] window s, ARGV[5] entries
--      (JSON array, see outbox_append in includes/common.lua), ARGV[6] a work list to trim ('' = none),
--      ARGV[7] entries of that list handled (trimmed from its head)
-- Returns: the number of entries dropped as stale (older guard than one already seen)
local stale = outbox_append(ARGV[5], tonumber(ARGV[2]), ARGV[3], ARGV[4])
if ARGV[6] ~= '' then redis.call('LTRIM', ARGV[6], tonumber(ARGV[7]), -1) end
return stale
