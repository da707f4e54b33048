-- worker_beat: a daemon says it is alive; its claimed inbox and control entries are its own while
-- this key lives.
-- KEYS: none; ARGV[1] prefix, ARGV[2] worker id, ARGV[3] time to live ms
-- Returns: 1
redis.call('SET', k_worker(ARGV[2]), '1', 'PX', tonumber(ARGV[3]))
redis.call('SADD', K_WORKERS, ARGV[2])
return 1
