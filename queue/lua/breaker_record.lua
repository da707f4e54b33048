-- breaker_record: the result of one call to the platform. A failure is what says the platform is
-- down (transient, unknown outcome); any other answer, even a refusal, says it is up. Opens on
-- `threshold` consecutive failures, or on an error rate of `rate` % over at least `min_calls` calls
-- in the current window; a failed probe opens it again for twice as long (up to max open); a
-- successful one closes it. Opening records a circuit_open notification (deduplicated per platform).
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms ('' = the server's clock), ARGV[3] platform,
--       ARGV[4] 'success'|'failure', ARGV[5] threshold, ARGV[6] window ms, ARGV[7] min calls,
--       ARGV[8] rate %, ARGV[9] open ms, ARGV[10] max open ms, ARGV[11] notification message,
--       ARGV[12] notification action, ARGV[13] successes a daemon counted before this result and
--       sends with it (absent = 0)
-- Returns: {state, transition ('opened'|'closed'|''), open_until ms, ms until then}
local now
if ARGV[2] == '' then
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
else
  now = tonumber(ARGV[2])
end
local platform, result = ARGV[3], ARGV[4]
local threshold, window, min_calls, rate = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7]), tonumber(ARGV[8])
local open_ms, max_open = tonumber(ARGV[9]), tonumber(ARGV[10])
local key = k_breaker(platform)
local f = redis.call('HMGET', key, 'state', 'failures', 'win_start', 'win_total', 'win_failed', 'opens', 'open_until')
local state = f[1] or 'closed'
local failures, opens, open_until = tonumber(f[2]) or 0, tonumber(f[6]) or 0, tonumber(f[7]) or 0
local win_start, win_total, win_failed = tonumber(f[3]) or now, tonumber(f[4]) or 0, tonumber(f[5]) or 0
if now - win_start >= window then win_start, win_total, win_failed = now, 0, 0 end
-- Successes sent late come first: they count for the error rate, and (closed) end a failure run.
local before = tonumber(ARGV[13] or '') or 0
if before > 0 then
  win_total = win_total + before
  if state == 'closed' then failures = 0 end
end

local function open(count)
  local length = math.min(open_ms * 2 ^ (count - 1), max_open)
  open_until = now + length
  redis.call('HSET', key, 'state', 'open', 'opens', count, 'open_until', open_until, 'opened_at', now,
             'failures', 0, 'win_start', now, 'win_total', 0, 'win_failed', 0)
  redis.call('HDEL', key, 'probe_until')
  notify({kind = 'circuit_open', subject = platform, platform = platform, message = ARGV[11], action = ARGV[12],
          error_code = 'circuit_open'}, now)
  return {'open', 'opened', open_until, open_until - now}
end

if result == 'success' then
  if state == 'closed' and failures == 0 and tonumber(f[2] or '0') == 0 and win_failed == 0 and f[1] then
    -- The common case: nothing to reset; count the call for the error rate only.
    redis.call('HSET', key, 'win_start', win_start, 'win_total', win_total + 1)
    return {'closed', '', 0, 0}
  end
  if state ~= 'closed' then
    -- The platform answered: a probe (or a call that began before it opened) closes the circuit.
    redis.call('DEL', key)
    redis.call('HSET', key, 'state', 'closed', 'failures', 0, 'win_start', now, 'win_total', 1 + before,
               'win_failed', 0)
    return {'closed', 'closed', 0, 0}
  end
  redis.call('HSET', key, 'state', 'closed', 'failures', 0, 'win_start', win_start, 'win_total', win_total + 1,
             'win_failed', win_failed)
  return {'closed', '', 0, 0}
end

-- A failure.
if state == 'half_open' then return open(opens + 1) end
if state == 'open' then return {'open', '', open_until, math.max(0, open_until - now)} end  -- a call that began before it opened
failures, win_total, win_failed = failures + 1, win_total + 1, win_failed + 1
if failures >= threshold or (win_total >= min_calls and win_failed * 100 >= rate * win_total) then
  return open(1)
end
redis.call('HSET', key, 'state', 'closed', 'failures', failures, 'win_start', win_start, 'win_total', win_total,
           'win_failed', win_failed)
return {'closed', '', 0, 0}
