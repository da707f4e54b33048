// libFuzzer target: the Airtable client's answers (platform-apis.md 5.3): a non-2xx answer's
// classification ({"error":"NOT_FOUND"} or {"error":{"type","message"}}, 429 and its wait), the
// field and record a 422/404 message names, and a 2xx's records.
// Invariants: nothing throws or crashes; a kind is one of the known ones and has a name; 429 is
// rate_limited or quota_exhausted; a Retry-After read is 0 s to a day; a 2xx never yields an error here
// (error_from_response is for non-2xx: a 2xx answer's records are read instead); records read have ids.
#include <cstddef>
#include <cstdint>

#include "answer_input.hpp"
#include "platforms/airtable/client.hpp"
#include "platforms/airtable/errors.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"

using namespace schedulo;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = fuzz::fuzz_now();
  const http::Response answer = fuzz::answer_from(data, size);

  if (!answer.ok()) {
    const auto e = airtable::error_from_response(answer.status, answer.body, answer.headers);
    const auto kind = static_cast<int>(e.kind);
    check(kind >= static_cast<int>(airtable::ErrorKind::rate_limited) &&
          kind <= static_cast<int>(airtable::ErrorKind::not_sent));
    check(!airtable::to_string(e.kind).empty());
    check(e.status == answer.status);
    if (answer.status == 429) {
      check(e.kind == airtable::ErrorKind::rate_limited || e.kind == airtable::ErrorKind::quota_exhausted);
    }
    if (e.retry_after) check(e.retry_after->count() >= 0 && *e.retry_after < std::chrono::hours(24));
    (void)e.describe();
    (void)e.rejects_records();
    (void)airtable::field_named_in(e.message);
    (void)airtable::record_named_in(e.message);
  }
  (void)errors::parse_airtable_error(answer.body);
  (void)errors::airtable_rate_limit_clears_at(answer, now);
  (void)airtable::field_named_in(answer.body);
  (void)airtable::record_named_in(answer.body);

  const auto doc = nlohmann::json::parse(answer.body, nullptr, false);
  if (auto records = airtable::records_from(doc)) {
    for (const auto& r : *records) check(!r.id.empty() && r.fields.is_object());
  } else {
    check(records.error().kind == airtable::ErrorKind::bad_answer);
  }
  if (auto one = airtable::record_from(doc)) check(!one->id.empty());
  return 0;
}
