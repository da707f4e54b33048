#include "platforms/x/api.hpp"

#include <ctime>

#include "jobs/call_outcome.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"

namespace schedulo::x {
namespace {

using json = nlohmann::json;
using errors::Classified;
using errors::ErrorClass;

std::string text_of(const json& doc, const char* name) {
  const auto it = doc.find(name);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : std::string();
}

// The last path segment of a problem type URL ("https://api.twitter.com/2/problems/usage-capped").
std::string problem_name(const std::string& type) {
  if (type.empty() || type == "about:blank") return {};
  const auto slash = type.rfind('/');
  return slash == std::string::npos ? type : type.substr(slash + 1);
}

// The first instant of the next UTC month: when a monthly usage cap starts again.
errors::SystemClock::time_point next_month(errors::SystemClock::time_point now) {
  const std::time_t t = errors::SystemClock::to_time_t(now);
  std::tm tm{};
  ::gmtime_r(&t, &tm);
  tm.tm_mday = 1;
  tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
  if (++tm.tm_mon == 12) {
    tm.tm_mon = 0;
    ++tm.tm_year;
  }
  return errors::SystemClock::from_time_t(::timegm(&tm));
}

struct EndpointInfo {
  const char* rule;      // limit rule name (default_limits.cpp)
  const char* log_name;  // for the call log
  errors::Safety safety;
  bool app_cap;  // also counts against the app's 24-hour cap of the same rule
};

EndpointInfo info(Endpoint e) {
  using errors::Safety;
  switch (e) {
    case Endpoint::tweets_create:
      return {"tweets_create", "POST /2/tweets", Safety::unsafe, true};
    case Endpoint::tweets_lookup:
      return {"tweets_lookup", "GET /2/tweets", Safety::idempotent, false};
    case Endpoint::users_me:
      return {"users_me", "GET /2/users/me", Safety::idempotent, false};
    case Endpoint::user_tweets:
      return {"user_tweets", "GET /2/users/:id/tweets", Safety::idempotent, false};
    // A repeated initialize leaves an unused media id (it expires); a repeated append replaces its
    // segment; finalize again answers the current state: none of them can do harm twice.
    case Endpoint::media_initialize:
      return {"media_chunked", "POST /2/media/upload/initialize", Safety::idempotent, true};
    case Endpoint::media_append:
      return {"media_chunked", "POST /2/media/upload/:id/append", Safety::idempotent, true};
    case Endpoint::media_finalize:
      return {"media_chunked", "POST /2/media/upload/:id/finalize", Safety::idempotent, true};
    case Endpoint::media_status:
      return {"media_status", "GET /2/media/upload STATUS", Safety::idempotent, true};
    case Endpoint::media_metadata:
      return {"media_metadata", "POST /2/media/metadata", Safety::idempotent, true};
  }
  return {"unknown", "X", errors::Safety::unsafe, false};
}

}  // namespace

Classified classify(const http::Result<http::Response>& answer, errors::Safety safety,
                    errors::SystemClock::time_point now) {
  Classified c = errors::classify_http(answer, safety, now, errors::default_429_wait("x"));
  if (!answer || c.ok()) return c;
  const http::Response& r = *answer;
  const json doc = json::parse(r.body, nullptr, false);
  std::string detail, title, name;
  int v1_code = 0;
  if (doc.is_object()) {
    detail = text_of(doc, "detail");
    title = text_of(doc, "title");
    name = problem_name(text_of(doc, "type"));
    // The older shape: {"errors":[{"code":88,"message":"Rate limit exceeded"}]} (v1.1 media upload).
    if (const auto it = doc.find("errors");
        it != doc.end() && it->is_array() && !it->empty() && it->front().is_object()) {
      const json& first = it->front();
      if (first.contains("code") && first["code"].is_number_integer()) v1_code = first["code"].get<int>();
      if (detail.empty()) detail = text_of(first, "message");
    }
  }
  if (!detail.empty()) c.detail = detail;
  if (v1_code != 0) c.code = std::to_string(v1_code);

  if (r.status == 429 || v1_code == 88) {
    c.kind = ErrorClass::rate_limited;
    if (name == "usage-capped" || title == "UsageCapExceeded") {
      c.code = "usage-capped";  // monthly: no header says when; the month's end does
      c.clears_at = next_month(now);
    } else {
      c.clears_at = errors::x_rate_limit_clears_at(r, now);
    }
    return c;
  }
  if (r.status == 401 || v1_code == 89) {
    c.kind = ErrorClass::auth_expired;
    return c;
  }
  if (r.status == 403) {
    c.kind = ErrorClass::permanent;
    if (detail.find("duplicate content") != std::string::npos) {
      c.code = "duplicate";
    } else if (title == "Unsupported Authentication") {
      c.kind = ErrorClass::auth_revoked;  // a token of the wrong kind: only connecting again helps
      c.code = "unsupported-authentication";
    } else if (!name.empty()) {
      c.code = name;
    } else {
      c.code = "forbidden";
    }
    return c;
  }
  if (c.kind == ErrorClass::permanent && !name.empty()) c.code = name;  // invalid-request, resource-not-found
  return c;
}

json XCall::json() const {
  const auto* r = call.response();
  return r ? nlohmann::json::parse(r->body, nullptr, false) : nlohmann::json(nlohmann::json::value_t::discarded);
}

errors::CallSpec XApi::spec(const jobs::JobContext& job, Endpoint endpoint) const {
  const EndpointInfo e = info(endpoint);
  errors::CallSpec s;
  s.platform = "x";
  s.endpoint = e.log_name;
  s.job_id = job.lease().id;
  s.account = job.job().account;
  s.safety = e.safety;
  s.buckets.push_back(limits_.bucket("x", "account", e.rule, job.job().account));
  if (endpoint == Endpoint::tweets_create)  // the user's 24-hour cap: blocked from the headers only
    s.buckets.push_back(limits_.bucket("x", "account", "tweets_create_24h", job.job().account));
  if (e.app_cap) s.buckets.push_back(limits_.bucket("x", "app", e.rule, settings_.client_id));
  s.classify = [](const http::Result<http::Response>& a, errors::Safety safety, errors::SystemClock::time_point now) {
    return classify(a, safety, now);
  };
  const bool create = endpoint == Endpoint::tweets_create;
  const bool app_cap = e.app_cap;
  // The buckets live in the spec (a copy per call), so the feedback reads them from a copy of its own.
  const std::vector<queue::Bucket> buckets = s.buckets;
  s.feedback = [buckets, create, app_cap](const http::Response& r, errors::SystemClock::time_point now) {
    errors::XBuckets b;
    b.window = &buckets[0];
    if (create) b.user_24h = &buckets[1];
    if (app_cap) b.app_24h = &buckets.back();
    return errors::x_observations(r.headers, now, b);
  };
  return s;
}

net::awaitable<XCall> XApi::call(jobs::JobContext& job, Endpoint endpoint, http::Request request) {
  XCall out;
  errors::CallSpec call_spec = spec(job, endpoint);
  const jobs::TokenCall use = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
    http::Request signed_request = request;
    signed_request.headers.set("Authorization", "Bearer " + token.value.reveal());
    errors::CallSpec with_secret = call_spec;
    with_secret.secrets.push_back(token.value.reveal());
    out.call = co_await guard_.call(signed_request, with_secret);
    if (!out.call.deferred && out.call.classified.kind == ErrorClass::auth_expired)
      co_return jobs::TokenUse::expired(out.call.classified.detail);
    if (!out.call.deferred && out.call.classified.kind == ErrorClass::auth_revoked)
      co_return jobs::TokenUse::revoked(out.call.classified.detail);
    co_return jobs::TokenUse::done();
  };
  out.stop = co_await jobs::with_token(tokens_, job, use);
  if (!out.stop && out.call.deferred) out.stop = jobs::outcome_of(*out.call.deferred);
  co_return out;
}

jobs::Outcome failure(const XCall& answer, bool can_reconcile) {
  if (answer.stop) return *answer.stop;
  jobs::OutcomeRules rules;
  rules.can_reconcile = can_reconcile;
  return jobs::outcome_of(answer.call, "x", rules);
}

std::string user_id_of(const nlohmann::json& answer) {
  if (!answer.is_object()) return {};
  const auto data = answer.find("data");
  if (data == answer.end() || !data->is_object()) return {};
  const auto id = data->find("id");
  return id != data->end() && id->is_string() ? id->get<std::string>() : std::string();
}

void read_metrics_page(const nlohmann::json& answer, nlohmann::json& metrics, nlohmann::json& missing) {
  if (!answer.is_object()) return;
  if (const auto data = answer.find("data"); data != answer.end() && data->is_array()) {
    for (const auto& p : *data) {
      if (!p.is_object() || !p.contains("id") || !p["id"].is_string()) continue;
      json m = json::object();
      for (const auto* field : {"public_metrics", "non_public_metrics", "organic_metrics"})
        if (p.contains(field)) m[field] = p[field];
      if (p.contains("created_at")) m["created_at"] = p["created_at"];
      metrics[p["id"].get<std::string>()] = std::move(m);
    }
  }
  if (const auto errors = answer.find("errors"); errors != answer.end() && errors->is_array())
    for (const auto& e : *errors)
      if (e.is_object() && e.contains("title") && e["title"] == "Not Found Error" && e.contains("value"))
        missing.push_back(e["value"]);
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

http::Request json_request(std::string method, std::string url, const nlohmann::json& body) {
  http::Request r;
  r.method = std::move(method);
  r.url = std::move(url);
  r.headers.set("Content-Type", "application/json");
  r.body = body.dump();
  r.timeouts = api_timeouts();
  return r;
}

http::Timeouts api_timeouts() {
  http::Timeouts t;
  t.connect = std::chrono::seconds(10);
  t.send = std::chrono::seconds(20);
  t.headers = std::chrono::seconds(20);
  t.body = std::chrono::seconds(20);
  t.total = std::chrono::seconds(30);
  return t;
}

http::Timeouts upload_timeouts() {
  http::Timeouts t;
  t.connect = std::chrono::seconds(10);
  t.send = std::chrono::seconds(120);
  t.headers = std::chrono::seconds(60);
  t.body = std::chrono::seconds(30);
  t.total = std::chrono::seconds(180);
  return t;
}

std::size_t weighted_length(std::string_view text) {
  std::size_t total = 0;
  std::size_t i = 0;
  while (i < text.size()) {
    // A URL counts 23 whatever its length (t.co wrapping).
    if (text.substr(i, 7) == "http://" || text.substr(i, 8) == "https://") {
      const auto end = text.find_first_of(" \t\r\n", i);
      i = end == std::string_view::npos ? text.size() : end;
      total += 23;
      continue;
    }
    const auto c = static_cast<unsigned char>(text[i]);
    std::size_t len = 1;
    char32_t cp = c;
    if (c >= 0xF0) {
      len = 4;
      cp = c & 0x07;
    } else if (c >= 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if (c >= 0xC0) {
      len = 2;
      cp = c & 0x1F;
    }
    for (std::size_t k = 1; k < len && i + k < text.size(); ++k)
      cp = (cp << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
    i += len;
    const bool light = cp <= 0x10FF || (cp >= 0x2000 && cp <= 0x200A) || (cp >= 0x2028 && cp <= 0x202F) ||
                       cp == 0x2060 || (cp >= 0x20A0 && cp <= 0x20BF);
    total += light ? 1 : 2;
  }
  return total;
}

}  // namespace schedulo::x
