-- lifecycle_key_names: the token lifecycle's key names as the scripts build them, for the test that
-- compares them with queue/keys.hpp.
-- KEYS: none; ARGV[1] prefix, ARGV[2] nonce, ARGV[3] pending id
-- Returns: the names in a fixed order
return {k_oauth_state(ARGV[2]), k_oauth_pending(ARGV[3]), K_SWEEP_LEASE, K_SWEEP_CHECKS, K_SWEEP_CURSOR}
