#pragma once
// The four job types as drivers over a platform adapter. The publish driver is one checkpointed
// state machine for every platform (architecture rules 3, 10, 11).
#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/outcome.hpp"
#include "jobs/platform.hpp"

namespace schedulo::jobs {

// Runs one attempt of the job with the adapter of its platform.
net::awaitable<Outcome> run_driver(JobContext& job, PlatformAdapter& platform);

// The publish state machine on its own (validate, stage, create, upload, publish, confirm; and
// find-existing first when the previous attempt's publish call had no known outcome).
net::awaitable<Outcome> run_publish(JobContext& job, PublishSteps& steps);

}  // namespace schedulo::jobs
