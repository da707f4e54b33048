-- token_key_names: the token core's key names as the scripts build them, for the test that compares
-- them with queue/keys.hpp.
-- KEYS: none; ARGV[1] prefix, ARGV[2] platform, ARGV[3] account
-- Returns: the names in a fixed order
return {k_token(ARGV[2], ARGV[3]), k_token_lock(ARGV[2], ARGV[3]), K_TOKEN_ACCOUNTS, K_TOKEN_ACCESS_EXPIRY,
        K_TOKEN_REFRESH_EXPIRY}
