#pragma once
// The revoke_token job type (issue 13): the account was disconnected in the app. In this order:
// the platform's revoke endpoint (TokenCalls::revoke through the provider's lookup; a platform that
// has none, or a grant already gone, is fine), the stored tokens wiped and the account marked
// revoked (with an Events row, in the same Redis step as the Airtable row), then every job of the
// account that has not started failed with a message saying so (one Lua script,
// account_fail_pending.lua), each with its outcome written through the outbox in that same step like
// any final failure: its Posts row (state failed, the message) and its callback, when it has them
// (the entries kept for a cancellation, with the failure put in). Running or waiting jobs end on their own: their token
// is gone. A platform that cannot be reached retries the job; the tokens stay until the platform confirmed, so a retry
// can still revoke them.
#include <cstdint>
#include <string>

#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/outcome.hpp"
#include "queue/store.hpp"
#include "tokens/provider.hpp"

namespace schedulo::jobs {

net::awaitable<Outcome> revoke_account_token(tokens::TokenProvider& provider, queue::Store& jobs, JobContext& job);

// Fails every not-started job of the account with `error`, leaving `except` alone: the ids failed.
// Each failed job's Posts row and callback are appended to the outbox in the same script.
net::awaitable<boost::system::result<std::vector<std::string>>> fail_pending_jobs(queue::Store& jobs,
                                                                                  const tokens::AccountRef& ref,
                                                                                  const std::string& error,
                                                                                  const std::string& except);

}  // namespace schedulo::jobs
