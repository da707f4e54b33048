// libFuzzer target: the Meta Graph answers Instagram and Facebook Pages read (platform-apis.md 1.0,
// 1.1, 4): the error body and its classification by code/subcode, the usage headers (X-App-Usage,
// X-Page-Usage, X-Business-Use-Case-Usage), and every answer reader of platforms/facebook and
// platforms/instagram. One input is one answer; every reader gets it (each ignores other shapes).
// Invariants: no reader throws or crashes on any body; the classification keeps check_classified's
// rules, is the same twice, is ok exactly for a 2xx, and follows the auth codes (190/102 are auth
// classes whatever the status); the Page list keeps only Pages with an id; metric counts are never
// negative and their sums do not overflow; debug_token's times fit in milliseconds.
#include <cstddef>
#include <cstdint>

#include "answer_input.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"
#include "platforms/facebook/answers.hpp"
#include "platforms/graph/client.hpp"
#include "platforms/graph/errors.hpp"
#include "platforms/instagram/analytics.hpp"
#include "platforms/instagram/publish.hpp"

using namespace schedulo;
using fuzz::check;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto now = fuzz::fuzz_now();
  const http::Response answer = fuzz::answer_from(data, size);

  // ---- errors and classification ----------------------------------------------------------------
  const auto error = graph::parse_error(answer.body);
  for (const auto safety : {errors::Safety::idempotent, errors::Safety::unsafe}) {
    const http::Result<http::Response> result(answer);
    const auto c = graph::classify(result, safety, now);
    fuzz::check_classified(c, answer.status, now);
    check(fuzz::same(c, graph::classify(result, safety, now)));
    check(c.ok() == answer.ok());
    if (error && !answer.ok() && (error->code == 190 || error->code == 102))
      check(c.kind == errors::ErrorClass::auth_expired || c.kind == errors::ErrorClass::auth_revoked);
    if (error && !answer.ok() && c.kind == errors::ErrorClass::rate_limited) check(c.clears_at.has_value());
    (void)graph::not_ready(c);
    (void)graph::container_gone(c);
    if (error) {
      const auto direct = graph::classify_error(*error, answer.status, answer.headers, safety, now);
      check(!direct.ok());
      check(static_cast<int>(direct.kind) <= static_cast<int>(errors::ErrorClass::outcome_unknown));
    }
  }

  // ---- usage headers ------------------------------------------------------------------------------
  for (const char* name : {"X-App-Usage", "X-Page-Usage", "X-Ad-Account-Usage"})
    if (const auto v = answer.headers.get(name))
      if (const auto usage = errors::parse_app_usage(*v)) (void)usage->percent();
  if (const auto v = answer.headers.get("X-Business-Use-Case-Usage"))
    for (const auto& b : errors::parse_buc_usage(*v)) (void)b.regain();
  (void)errors::meta_regain_at(answer.headers, now);

  // ---- answer readers -------------------------------------------------------------------------------
  const nlohmann::json body = graph::parse_body(answer.body);
  graph::GraphAnswer wrapped;
  wrapped.body = body;
  (void)wrapped.text("id");
  (void)facebook::id_of(body);
  if (const auto s = facebook::parse_video_start(body)) (void)s->window.done();
  (void)facebook::parse_transfer(body);
  (void)facebook::parse_resume_window(answer.body);
  (void)facebook::parse_reel_start(body);
  (void)facebook::parse_video_state(body);
  (void)facebook::parse_rupload_offset(body);
  const auto posts = facebook::parse_recent_posts(body);
  const bool complete = facebook::recent_posts_complete(body);
  std::string post_id;
  const facebook::PostPlan plan = facebook::plan_post("hello", {}, "post", "");
  const auto match = facebook::match_recent(plan, 0, posts, complete, post_id);
  if (match == facebook::Match::found) check(!post_id.empty());
  facebook::PostInsights insights;
  facebook::read_insights(body, insights);
  facebook::read_engagement(body, insights);
  check(insights.views >= 0 && insights.clicks >= 0 && insights.reactions_total >= 0 && insights.engagement() >= 0);
  (void)insights.to_json("1");
  std::string after;
  for (const auto& page : facebook::parse_accounts(body, after)) check(!page.id.empty());
  if (const auto t = facebook::parse_debug_token(body)) {
    // Callers turn these into milliseconds.
    check(t->expires_at_s >= 0 && t->expires_at_s < (std::int64_t{1} << 40));
    check(t->data_access_expires_at_s >= 0 && t->data_access_expires_at_s < (std::int64_t{1} << 40));
  }
  (void)instagram::read_insights(body);
  const auto quota = instagram::read_publishing_limit(body);
  if (quota.used_up()) check(quota.total > 0);
  return 0;
}
