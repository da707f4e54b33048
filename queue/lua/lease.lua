-- lease: takes up to a given number of ready jobs per platform for one worker, each with a fencing
-- token and a lease deadline. Refuses while control entries wait (control before work). Jobs of a
-- paused platform stay; jobs of a paused account are deferred; jobs of an account already running
-- its limit are held until one of its jobs ends.
-- KEYS: none; ARGV[1] prefix, ARGV[2] now ms, ARGV[3] worker id, ARGV[4] lease ms, ARGV[5] per-account
--      limit (0 = none), ARGV[6] pause re-check ms, ARGV[7] most jobs in all, then pairs: platform,
--      most jobs of that platform
-- Returns: {CONTROL_PENDING} or {0, inbox length, then per job: id, token, attempts, max_attempts,
--      payload, checkpoint ('' when none)}
if redis.call('LLEN', K_CONTROL) > 0 then return {CONTROL_PENDING} end
local now = tonumber(ARGV[2])
local worker, lease_ms, account_limit = ARGV[3], tonumber(ARGV[4]), tonumber(ARGV[5])
local out = {0, redis.call('LLEN', K_INBOX)}
local left = tonumber(ARGV[7])
local any_paused = redis.call('SCARD', K_PAUSED) > 0
-- Tokens for this call are reserved at once: unique, increasing, one command instead of one per job.
local next_token = redis.call('INCRBY', K_SEQ, left) - left
local caps, platforms = {}, {}

-- Ids popped from each platform's ready list ahead of use, several per RPOP (one command instead of
-- one per job); what is left unused goes back to the consuming end at the end, in its order.
local popped, used = {}, {}
local active = 1  -- platforms still taking in this pass (sizes the next pop)
local function next_id(platform, ready)
  local ids = popped[platform]
  if ids == nil or used[platform] >= #ids then
    local count = math.max(1, math.min(caps[platform], math.ceil(left / active)))
    ids = redis.call('RPOP', ready, count)
    if not ids then return nil end
    popped[platform], used[platform] = ids, 0
  end
  used[platform] = used[platform] + 1
  return ids[used[platform]]
end
local leased = {}  -- ZADD arguments for the leases taken, written in one command at the end

-- Takes the next runnable job of one platform, moving aside the jobs it meets that may not run now.
local function take_one(platform)
  local ready = k_ready(platform)
  for _ = 1, 64 do
    local id = next_id(platform, ready)
    if not id then return 0 end
    local job = k_job(id)
    local f = redis.call('HMGET', job, 'account', 'payload', 'checkpoint', 'max_attempts')
    if f[1] then
      local account = f[1]
      local over = false
      if account_limit > 0 and
         redis.call('HINCRBY', K_RUNNING_ACCOUNTS, account_key(platform, account), 1) > account_limit then
        redis.call('HINCRBY', K_RUNNING_ACCOUNTS, account_key(platform, account), -1)
        over = true
      end
      if any_paused and redis.call('SISMEMBER', K_PAUSED, account_key(platform, account)) == 1 then
        if account_limit > 0 and not over then
          redis.call('HINCRBY', K_RUNNING_ACCOUNTS, account_key(platform, account), -1)
        end
        redis.call('HSET', job, 'state', 'deferred', 'error', 'account paused', 'error_code', 'paused', 'updated_at', now)
        redis.call('ZADD', K_SCHEDULED, now + tonumber(ARGV[6]), id)
      elseif over then
        redis.call('LPUSH', k_held(platform, account), id)
      else
        next_token = next_token + 1
        local token = next_token
        -- HINCRBY, not a field of the HSET: its keyspace event marks the start of an attempt for the
        -- queue benchmark's latency figures.
        local attempts = redis.call('HINCRBY', job, 'attempts', 1)
        redis.call('HSET', job, 'state', 'running', 'lease', token, 'lease_owner', worker, 'started_at', now,
                   'updated_at', now)
        leased[#leased + 1] = now + lease_ms
        leased[#leased + 1] = id
        out[#out + 1] = id
        out[#out + 1] = token
        out[#out + 1] = attempts
        out[#out + 1] = tonumber(f[4])
        out[#out + 1] = f[2]
        out[#out + 1] = f[3] or ''
        return 1
      end
    end
  end
  return 2  -- moved 64 jobs aside and took none: come back to this platform in the next pass
end

-- Round robin over the platforms, one job each per pass: one platform's backlog never starves another.
for i = 8, #ARGV, 2 do
  if tonumber(ARGV[i + 1]) > 0 and redis.call('SISMEMBER', K_PAUSED, ARGV[i]) == 0 then
    platforms[#platforms + 1] = ARGV[i]
    caps[ARGV[i]] = tonumber(ARGV[i + 1])
  end
end
while left > 0 and #platforms > 0 do
  local still = {}
  active = #platforms
  for _, platform in ipairs(platforms) do
    if left > 0 then
      local took = take_one(platform)
      if took == 1 then
        left = left - 1
        caps[platform] = caps[platform] - 1
      end
      if took ~= 0 and caps[platform] > 0 then still[#still + 1] = platform end
    end
  end
  platforms = still
end
for platform, ids in pairs(popped) do
  if used[platform] < #ids then
    local back = {}
    for j = #ids, used[platform] + 1, -1 do back[#back + 1] = ids[j] end
    redis.call('RPUSH', k_ready(platform), unpack(back))
  end
end
-- unpack() is bounded by Lua's stack: at most 1000 leases a command.
for j = 1, #leased, 2000 do redis.call('ZADD', K_LEASES, unpack(leased, j, math.min(j + 1999, #leased))) end
return out
