#pragma once

// How a job's `on_cancel` records (its Posts row: outbox/records.cpp intake_entries; its Bubble
// callback: daemon/callbacks.cpp) become those of an outcome that a Lua script decides inside Redis,
// for common.lua's on_cancel_rewritten: an account's pending jobs failed on disconnect
// (account_fail_pending.lua), a job whose attempts were spent by daemons that died (reap.lua,
// reclaim_own.lua).

#include <cstdint>
#include <string>

namespace schedulo::jobs {

// A final failure with this error, for account_fail_pending.lua (ARGV[10]).
std::string failure_rewrite(const std::string& error, const std::string& error_code, std::int64_t now_ms);

// Dead because the job's last lease ended without an answer: the error is the script's own (its
// reason, which only the script knows), for reap.lua and reclaim_own.lua (ARGV[6]).
std::string reclaimed_dead_rewrite(std::int64_t now_ms);

}  // namespace schedulo::jobs
