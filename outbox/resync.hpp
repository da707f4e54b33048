#pragma once
// `schedulo resync`: after Redis lost its data, the publish jobs that had not started are rebuilt
// from the Posts table (each row written at intake carries its job JSON). Rows of jobs that had
// started (running, retrying with attempts, waiting, deferred after an attempt) are listed, not
// rebuilt: their publish call may have reached the platform, and a second post must never go out
// without a person deciding (architecture rules 3 and 11). Jobs still in Redis are left alone (the
// same id is one job).
#include <string>
#include <vector>

#include "common/net.hpp"
#include "jobs/job_validation.hpp"
#include "platforms/airtable/client.hpp"
#include "queue/store.hpp"

namespace schedulo::outbox {

struct ResyncReport {
  long long rows = 0;                // Posts rows in an unfinished state
  long long rebuilt = 0;             // enqueued again
  long long present = 0;             // already in Redis
  std::vector<std::string> started;  // not rebuilt: may have reached the platform
  std::vector<std::string> invalid;  // "id: why" (no or unreadable job JSON)
};

net::awaitable<airtable::Result<ResyncReport>> resync_from_posts(airtable::Client& client, queue::Store& store,
                                                                 const std::string& posts_table,
                                                                 const jobs::ValidationContext& context,
                                                                 int default_max_attempts, bool dry_run);

}  // namespace schedulo::outbox
