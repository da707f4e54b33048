#include "jobs/records_rewrite.hpp"

#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::jobs {
namespace {

using json = nlohmann::json;

// The Posts row's three fields (outbox/records.cpp intake_entries' on_cancel names them) and the
// callback's body (daemon/callbacks.cpp cancel_callback_entry) in a final outcome's shape. Without
// an error, the script puts in its own (error_field, json_error_key).
json final_rewrite(const std::string& state, const std::string* error, const std::string& error_code,
                   std::int64_t now_ms) {
  namespace f = airtable::field;
  json fields{{f::kState, json(state).dump()}, {f::kErrorCode, json(error_code).dump()}};
  json body{{"state", state}, {"error_code", error_code}, {"finished_at", format_rfc3339_ms(now_ms)}};
  json out{
      {"fields", std::move(fields)}, {"json_fields", {{"body", std::move(body)}}}, {"attempts_field", f::kAttempts}};
  out["error_field"] = f::kError;  // also marks the Posts row, which gets attempts_field
  if (error) {
    out["fields"][f::kError] = json(*error).dump();
    out["json_fields"]["body"]["error"] = *error;
  } else {
    out["json_error_key"] = "error";
  }
  return out;
}

}  // namespace

std::string failure_rewrite(const std::string& error, const std::string& error_code, std::int64_t now_ms) {
  return final_rewrite("failed", &error, error_code, now_ms).dump();
}

std::string reclaimed_dead_rewrite(std::int64_t now_ms) {
  return final_rewrite("dead", nullptr, "lease_expired", now_ms).dump();
}

}  // namespace schedulo::jobs
