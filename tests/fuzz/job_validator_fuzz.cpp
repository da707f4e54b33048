// Fuzzes the job validator with raw inbox bytes. Invariants: it never throws or crashes; a job comes
// back exactly when there are no errors; every error has a code and a message that serialises as
// JSON (valid UTF-8); and a valid job's canonical JSON validates again to the same job.
#include "jobs/job.hpp"
#include "jobs/job_validation.hpp"

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string_view>

namespace {

using schedulo::jobs::ParseResult;
using schedulo::jobs::ValidationContext;

[[noreturn]] void violated(const char* what) {
  std::fprintf(stderr, "job_validator_fuzz: invariant violated: %s\n", what);
  std::abort();
}

const ValidationContext& context() {
  static const ValidationContext kContext = [] {
    ValidationContext c;
    c.callback_hosts = {"myapp.bubbleapps.io"};
    return c;
  }();
  return kContext;
}

// Normalisation may lengthen a job (run_at gains milliseconds, "//host" gains "https:"), so the
// round trip is checked without the size limit: it is about meaning, not bytes.
const ValidationContext& unlimited_context() {
  static const ValidationContext kContext = [] {
    ValidationContext c = context();
    c.max_job_bytes = std::numeric_limits<std::size_t>::max();
    return c;
  }();
  return kContext;
}

void check_errors(const ParseResult& result) {
  for (const auto& error : result.errors) {
    if (error.code.empty() || error.message.empty()) violated("error without code or message");
    try {
      // What the HTTP API will do with it: must not throw on invalid UTF-8.
      (void)nlohmann::json{{"field", error.field}, {"code", error.code}, {"message", error.message}}.dump();
    } catch (const nlohmann::json::exception&) {
      violated("error text is not valid UTF-8");
    }
  }
}

}  // namespace

// NOLINTNEXTLINE(readability-identifier-naming): the name libFuzzer calls
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view raw(reinterpret_cast<const char*>(data), size);
  const ParseResult result = schedulo::jobs::parse_job(raw, context());
  if (result.job.has_value() == !result.errors.empty()) violated("job set iff no errors");
  check_errors(result);
  if (!result.job) return 0;

  std::string canonical;
  try {
    canonical = result.job->to_json().dump();
  } catch (const nlohmann::json::exception&) {
    violated("canonical JSON of a valid job does not serialise");
  }
  const ParseResult again = schedulo::jobs::parse_job(canonical, unlimited_context());
  if (!again.job) {
    for (const auto& e : again.errors)
      std::fprintf(stderr, "  [%s] %s: %s\n", e.field.c_str(), e.code.c_str(), e.message.c_str());
    violated("canonical JSON of a valid job is not valid");
  }
  if (!(*again.job == *result.job)) violated("canonical JSON does not read back as the same job");
  if (again.job->to_json().dump() != canonical) violated("canonical JSON is not a fixed point");
  return 0;
}
