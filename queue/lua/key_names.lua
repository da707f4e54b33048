-- key_names: the key names the scripts build, for the test that compares them with queue/keys.hpp.
-- KEYS: none; ARGV[1] prefix, ARGV[2] id, ARGV[3] platform, ARGV[4] account, ARGV[5] worker,
--      ARGV[6] outbox dest, ARGV[7] outbox item
-- Returns: the names in a fixed order
return {k_job(ARGV[2]), k_tomb(ARGV[2]), k_log(ARGV[2]), k_cancel(ARGV[2]), k_ready(ARGV[3]),
        k_held(ARGV[3], ARGV[4]), k_account(ARGV[3], ARGV[4]), k_total('succeeded'), K_SCHEDULED, K_LEASES,
        K_DEAD, K_JOBS, K_PAUSED, K_RUNNING_ACCOUNTS, K_SEQ, K_INBOX, K_CONTROL, k_worker(ARGV[5]),
        k_intake(ARGV[5]), k_control_work(ARGV[5]), K_WORKERS,
        k_ob_queue(ARGV[6]), k_ob_item(ARGV[7]), k_ob_dead_item(ARGV[7]), k_ob_history(ARGV[7]), k_ob_guard(ARGV[7]),
        K_OB_CLAIMED, K_OB_DEAD, K_OB_DESTS, k_calls(ARGV[6]),
        k_calls_warned(ARGV[6]), k_account_cache(ARGV[4]), K_ACCOUNT_SWEEP,
        k_notification_work(ARGV[5])}
