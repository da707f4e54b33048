-- rescue_work: inbox and control entries that a daemon claimed and never committed go back to their
-- shared lists once that daemon has stopped beating (a worker id that does not come back), so
-- another daemon reads them. A worker that returns with the same id reads its own list itself.
-- KEYS: none; ARGV[1] prefix
-- Returns: the number of entries put back
local moved = 0
for _, worker in ipairs(redis.call('SMEMBERS', K_WORKERS)) do
  if redis.call('EXISTS', k_worker(worker)) == 0 then
    local pairs_ = {{k_intake(worker), K_INBOX}, {k_control_work(worker), K_CONTROL}}
    for _, pair in ipairs(pairs_) do
      -- Back to the consuming end, oldest first, so they are read next and in their order.
      while redis.call('LMOVE', pair[1], pair[2], 'RIGHT', 'RIGHT') do moved = moved + 1 end
    end
    redis.call('SREM', K_WORKERS, worker)
  end
end
return moved
