-- errors_key_names: the rate-limit, breaker and notification key names the scripts build, for the
-- test that compares them with queue/keys.hpp (RateLimiterTest.LuaAndCppBuildTheSameKeyNames).
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] scope, ARGV[4] key, ARGV[5] kind, ARGV[6] subject
-- Returns: the names in a fixed order
return {k_rate(ARGV[2], ARGV[3], ARGV[4]), k_breaker(ARGV[2]), K_NOTIFICATIONS, k_notified(ARGV[5], ARGV[6]),
        K_SETTINGS, K_RATE_EPOCH}
