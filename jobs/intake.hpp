#pragma once
// Turns raw entries of the inbox and the control list (untrusted: anything a bridge let through) into
// queue operations: a valid job, a refused entry that becomes a dead job saying why, a cancel or a
// replace. Never throws, whatever the bytes.
#include <string_view>

#include "jobs/job_validation.hpp"
#include "queue/store.hpp"

namespace schedulo::jobs {

// The queue's form of a validated job (its canonical JSON as payload); assigns an id when it has none.
queue::NewJob to_new_job(Job job, int default_max_attempts);
// The same, with what the context records in the outbox with it (ValidationContext::record_intake).
queue::NewJob to_new_job(Job job, int default_max_attempts, const ValidationContext& context);

queue::IntakeItem read_inbox_entry(std::string_view raw, const ValidationContext& context, int default_max_attempts);

// {"op":"cancel","id":"..."} or {"op":"replace","job":{... with its id ...}}; anything else is
// skipped (with `problem` saying why, for the log).
queue::ControlOp read_control_entry(std::string_view raw, const ValidationContext& context, int default_max_attempts,
                                    std::string& problem);

}  // namespace schedulo::jobs
