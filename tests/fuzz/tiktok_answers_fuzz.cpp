// libFuzzer target: TikTok's v2 answers (platform-apis.md 2.x): the {"data","error":{code,message,
// log_id}} envelope and its classification, the data readers of creator_info, the inits and
// status/fetch, the upload's Content-Range, and the rate-limit reading of a 429.
// Invariants: nothing throws or crashes; the classification keeps check_classified's rules, is the
// same twice, is ok only for a 2xx whose envelope says "ok" (or has none), and is never ok for an
// error code; readers keep their documented ranges (privacy options are strings, a post id is text).
#include <cstddef>
#include <cstdint>

#include "answer_input.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"
#include "platforms/tiktok/api.hpp"

using namespace schedulo;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = fuzz::fuzz_now();
  const http::Response answer = fuzz::answer_from(data, size);

  const auto envelope = errors::parse_tiktok_error(answer.body);
  for (const auto safety : {errors::Safety::idempotent, errors::Safety::unsafe}) {
    const http::Result<http::Response> result(answer);
    const auto c = tiktok::classify(result, safety, now);
    fuzz::check_classified(c, answer.status, now);
    check(fuzz::same(c, tiktok::classify(result, safety, now)));
    if (!answer.ok()) check(!c.ok());
    if (envelope && !envelope->ok() && !envelope->code.empty()) check(!c.ok());
    if (envelope && envelope->code == "access_token_invalid") check(c.kind == errors::ErrorClass::auth_expired);
  }
  (void)errors::tiktok_rate_limit_clears_at(answer, now);

  const auto d = tiktok::data_of(answer);
  check(d.is_object());
  const auto creator = tiktok::read_creator_info(d);
  check(creator.privacy_level_options.is_array());
  for (const auto& o : creator.privacy_level_options) check(o.is_string());
  check(creator.max_video_post_duration_sec >= 0);
  (void)tiktok::read_init(d);
  const auto status = tiktok::read_status(d);
  check(!status.fail_reason.empty());
  (void)tiktok::retryable_fail_reason(status.fail_reason);
  if (const auto range = answer.headers.get("Content-Range")) (void)tiktok::received_from_range(*range);
  (void)tiktok::received_from_range(answer.body.substr(0, 64));
  return 0;
}
