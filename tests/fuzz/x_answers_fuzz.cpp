// libFuzzer target: X's answers (platform-apis.md 3.x): problem+json and the older errors[] shape
// and their classification with the x-rate-limit-* and 24-hour headers, the media upload answers'
// processing_info (initialize, finalize, STATUS), users/me and a tweets lookup page (analytics).
// Invariants: nothing throws or crashes; the classification keeps check_classified's rules, is the
// same twice, is ok exactly for a 2xx; a media wait is 1 s to a day (it becomes a deadline);
// processing is one of ready/processing/failed; analytics keep only posts with a text id.
#include <cstddef>
#include <cstdint>

#include "answer_input.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"
#include "platforms/x/api.hpp"
#include "platforms/x/publish.hpp"

using namespace schedulo;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = fuzz::fuzz_now();
  const http::Response answer = fuzz::answer_from(data, size);

  for (const auto safety : {errors::Safety::idempotent, errors::Safety::unsafe}) {
    const http::Result<http::Response> result(answer);
    const auto c = x::classify(result, safety, now);
    fuzz::check_classified(c, answer.status, now);
    check(fuzz::same(c, x::classify(result, safety, now)));
    check(c.ok() == answer.ok());
  }
  const auto limits = errors::parse_x_rate_limits(answer.headers);
  (void)errors::x_limit_clears_at(limits);
  (void)errors::x_rate_limit_clears_at(answer, now);

  const auto doc = nlohmann::json::parse(answer.body, nullptr, false);
  const auto media = doc.is_object() ? doc.value("data", nlohmann::json::object()) : nlohmann::json::object();
  const auto p = x::processing_of(media);
  check(p.state == "ready" || p.state == "processing" || p.state == "failed");
  check(p.check_after >= std::chrono::seconds(1) && p.check_after <= std::chrono::hours(24));
  (void)std::chrono::duration_cast<std::chrono::milliseconds>(p.check_after);
  (void)x::user_id_of(doc);
  nlohmann::json metrics = nlohmann::json::object();
  nlohmann::json missing = nlohmann::json::array();
  x::read_metrics_page(doc, metrics, missing);
  check(metrics.is_object() && missing.is_array());
  return 0;
}
