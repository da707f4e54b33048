#include "platforms/errors/rate_feedback.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

namespace schedulo::errors {
namespace {

using std::chrono::milliseconds;

void block(std::vector<queue::RateObservation>& out, const queue::Bucket* b, const XRateWindow& w, SystemTime now) {
  if (!b || !w.exhausted() || !w.reset || *w.reset <= now) return;
  out.push_back(
      queue::RateObservation{*b, std::chrono::ceil<milliseconds>(*w.reset - now), std::nullopt, "rate_limited"});
}

}  // namespace

std::vector<queue::RateObservation> x_observations(const http::Headers& headers, SystemTime now, const XBuckets& b) {
  std::vector<queue::RateObservation> out;
  const auto limits = parse_x_rate_limits(headers);
  block(out, b.window, limits.window, now);
  block(out, b.user_24h, limits.user_24h, now);
  block(out, b.app_24h, limits.app_24h, now);
  return out;
}

std::vector<queue::RateObservation> meta_observations(const http::Headers& headers, const MetaBuckets& b) {
  std::vector<queue::RateObservation> out;
  auto reading = [&](const queue::Bucket* bucket, std::string_view header) {
    if (!bucket) return;
    const auto value = headers.get(header);
    if (!value) return;
    const auto usage = parse_app_usage(*value);
    if (!usage) return;
    milliseconds regain{0};
    if (usage->regain_minutes && *usage->regain_minutes > 0)
      regain = std::chrono::minutes(std::min(*usage->regain_minutes, 366 * 24 * 60));  // as meta_regain_at
    out.push_back(queue::RateObservation{*bucket, regain, usage->percent(), "usage"});
  };
  reading(b.app, "X-App-Usage");
  reading(b.page, "X-Page-Usage");
  if (b.buc) {
    if (const auto value = headers.get("X-Business-Use-Case-Usage")) {
      for (const auto& u : parse_buc_usage(*value)) {
        auto bucket = b.buc(u);
        if (!bucket) continue;
        out.push_back(queue::RateObservation{std::move(*bucket), u.regain(), u.percent(), "usage"});
      }
    }
  }
  return out;
}

std::optional<SystemTime> meta_regain_at(const http::Headers& headers, SystemTime now) {
  int minutes = 0;
  if (const auto value = headers.get("X-Business-Use-Case-Usage"))
    for (const auto& u : parse_buc_usage(*value)) minutes = std::max(minutes, u.regain_minutes);
  if (const auto value = headers.get("X-Page-Usage"))
    if (const auto u = parse_app_usage(*value); u && u->regain_minutes) minutes = std::max(minutes, *u->regain_minutes);
  if (minutes <= 0) return std::nullopt;
  // At most a year: Meta's regain times are minutes to hours, and a larger one overflowed the clock.
  return now + std::chrono::minutes(std::min(minutes, 366 * 24 * 60));
}

std::optional<SystemTime> x_rate_limit_clears_at(const http::Response& response, SystemTime now) {
  bool limited = response.status == 429;
  if (!limited && !response.body.empty()) {
    // v1.1 endpoints: {"errors":[{"code":88,"message":"Rate limit exceeded"}]}
    auto doc = nlohmann::json::parse(response.body, nullptr, false);
    if (doc.is_object() && doc.contains("errors") && doc["errors"].is_array())
      for (const auto& e : doc["errors"])
        if (e.is_object() && e.contains("code") && e["code"].is_number_integer() && e["code"] == 88) limited = true;
  }
  if (!limited) return std::nullopt;
  const auto clears = x_limit_clears_at(parse_x_rate_limits(response.headers));
  if (clears && *clears > now) return clears;
  return now + std::chrono::minutes(15);
}

std::optional<SystemTime> tiktok_rate_limit_clears_at(const http::Response& response, SystemTime now) {
  const auto error = parse_tiktok_error(response.body);
  if (!(error && error->rate_limited()) && response.status != 429) return std::nullopt;
  return retry_after(response.headers, now).value_or(now + std::chrono::seconds(60));
}

std::optional<SystemTime> airtable_rate_limit_clears_at(const http::Response& response, SystemTime now) {
  const auto error = parse_airtable_error(response.body);
  if (!(error && error->rate_limited()) && response.status != 429) return std::nullopt;
  return retry_after(response.headers, now).value_or(now + std::chrono::seconds(30));
}

}  // namespace schedulo::errors
