#include "platforms/tiktok/api.hpp"

#include <algorithm>
#include <array>

#include "jobs/call_outcome.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"

namespace schedulo::tiktok {
namespace {

using errors::ErrorClass;

// Refusals of the request itself (sections 2, 2.2-2.7): trying again cannot help.
constexpr std::array<std::string_view, 17> kPermanent = {"invalid_params",
                                                         "invalid_param",
                                                         "invalid_file_upload",
                                                         "scope_not_authorized",
                                                         "scope_permission_missed",
                                                         "spam_risk_too_many_posts",
                                                         "spam_risk_user_banned_from_posting",
                                                         "reached_active_user_cap",
                                                         "unaudited_client_can_only_post_to_private_accounts",
                                                         "url_ownership_unverified",
                                                         "privacy_level_option_mismatch",
                                                         "spam_risk_too_many_pending_share",
                                                         "invalid_publish_id",
                                                         "token_not_authorized_for_specified_publish_id",
                                                         "publish_not_cancellable",
                                                         "invalid_request",
                                                         "invalid_scope"};

http::Timeouts api_timeouts() {
  http::Timeouts t;
  t.connect = std::chrono::seconds(10);
  t.send = std::chrono::seconds(30);
  t.headers = std::chrono::seconds(30);
  t.body = std::chrono::seconds(30);
  t.total = std::chrono::seconds(60);
  return t;
}

}  // namespace

std::optional<std::uint64_t> ChunkPlan::index_at(std::uint64_t at) const {
  if (chunk == 0 || at % chunk != 0) return std::nullopt;
  const auto index = at / chunk;
  if (index >= count) return std::nullopt;
  return index;
}

ChunkPlan plan_chunks(std::uint64_t size, std::uint64_t preferred) {
  ChunkPlan plan;
  plan.size = size;
  const auto chunk = std::clamp(preferred, kMinChunk, kMaxChunk);
  if (size == 0) return plan;
  if (size < kMinChunk || size <= chunk) {
    plan.chunk = size;
    plan.count = 1;
    return plan;
  }
  plan.chunk = chunk;
  plan.count = size / chunk;
  return plan;
}

std::optional<std::uint64_t> received_from_range(std::string_view header) {
  if (!header.starts_with("bytes ")) return std::nullopt;
  header.remove_prefix(6);
  if (header.starts_with("*/")) return 0;
  const auto dash = header.find('-');
  const auto slash = header.find('/');
  if (dash == std::string_view::npos || slash == std::string_view::npos || dash > slash) return std::nullopt;
  const auto last = header.substr(dash + 1, slash - dash - 1);
  if (last.empty() || last.size() > 19 || last.find_first_not_of("0123456789") != std::string_view::npos)
    return std::nullopt;
  return std::stoull(std::string(last)) + 1;
}

errors::Classified classify(const http::Result<http::Response>& answer, errors::Safety safety,
                            errors::SystemClock::time_point now) {
  auto fallback = errors::classify_http(answer, safety, now, errors::default_429_wait("tiktok"));
  if (!answer) return fallback;
  const auto parsed = errors::parse_tiktok_error(answer->body);
  if (!parsed) return fallback;
  errors::Classified c;
  c.status = answer->status;
  c.code = parsed->code;
  c.trace_id = parsed->log_id;
  c.detail = parsed->message;
  if (parsed->ok()) {
    if (answer->ok()) return c;
    c.code.clear();
    fallback.trace_id = parsed->log_id;
    return fallback;
  }
  const std::string_view code = parsed->code;
  if (code == "access_token_invalid") {
    c.kind = ErrorClass::auth_expired;
  } else if (code == "rate_limit_exceeded") {
    c.kind = ErrorClass::rate_limited;
    c.clears_at = errors::tiktok_rate_limit_clears_at(*answer, now);
  } else if (code == "invalid_grant" || code == "access_denied") {
    c.kind = ErrorClass::auth_revoked;
  } else if (std::find(kPermanent.begin(), kPermanent.end(), code) != kPermanent.end()) {
    c.kind = ErrorClass::permanent;
  } else if (code == "internal_error" || code == "server_error" || code == "temporarily_unavailable") {
    c.kind =
        safety == errors::Safety::unsafe && answer->status != 503 ? ErrorClass::outcome_unknown : ErrorClass::transient;
  } else {
    // A code this build does not know: the HTTP status decides, the platform's code is kept.
    c.kind = fallback.kind == ErrorClass::ok ? ErrorClass::permanent : fallback.kind;
    c.clears_at = fallback.clears_at;
  }
  return c;
}

json data_of(const http::Response& response) {
  auto doc = json::parse(response.body, nullptr, false);
  if (!doc.is_object()) return json::object();
  auto it = doc.find("data");
  return it != doc.end() && it->is_object() ? *it : json::object();
}

namespace {
std::string text_member(const json& data, const char* key) {
  const auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}
bool flag_member(const json& data, const char* key) {
  const auto it = data.find(key);
  return it != data.end() && it->is_boolean() && it->get<bool>();
}
}  // namespace

CreatorInfo read_creator_info(const json& data) {
  CreatorInfo out;
  if (!data.is_object()) return out;
  if (const auto it = data.find("privacy_level_options"); it != data.end() && it->is_array())
    for (const auto& v : *it)
      if (v.is_string()) out.privacy_level_options.push_back(v);
  out.username = text_member(data, "creator_username");
  if (const auto it = data.find("max_video_post_duration_sec"); it != data.end() && it->is_number_integer())
    out.max_video_post_duration_sec = std::max<std::int64_t>(0, it->get<std::int64_t>());
  out.comment_disabled = flag_member(data, "comment_disabled");
  out.duet_disabled = flag_member(data, "duet_disabled");
  out.stitch_disabled = flag_member(data, "stitch_disabled");
  return out;
}

InitAnswer read_init(const json& data) {
  if (!data.is_object()) return {};
  return {text_member(data, "publish_id"), text_member(data, "upload_url")};
}

PublishStatus read_status(const json& data) {
  PublishStatus out;
  if (!data.is_object()) return out;
  out.status = text_member(data, "status");
  if (const auto it = data.find("uploaded_bytes");
      it != data.end() && it->is_number_integer() && (it->is_number_unsigned() || it->get<std::int64_t>() > 0))
    out.uploaded_bytes = it->get<std::uint64_t>();
  if (const auto reason = text_member(data, "fail_reason"); !reason.empty()) out.fail_reason = reason;
  if (const auto it = data.find("publicaly_available_post_id"); it != data.end()) {
    for (const auto& v : *it) {  // a lone id (not in a list) is read too
      if (v.is_string() && !v.get<std::string>().empty()) out.post_id = v.get<std::string>();
      if (v.is_number_integer()) out.post_id = v.dump();  // int64s: kept exact as decimal text
      if (!out.post_id.empty()) break;
    }
  }
  return out;
}

bool under_prefix(const std::string& url, const std::vector<std::string>& prefixes) {
  return std::any_of(prefixes.begin(), prefixes.end(),
                     [&](const std::string& p) { return !p.empty() && url.starts_with(p); });
}

bool retryable_fail_reason(std::string_view reason) {
  return reason == "internal" || reason == "video_pull_failed" || reason == "photo_pull_failed";
}

std::string form_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~') {
      out += ch;
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 0xf];
    }
  }
  return out;
}

errors::CallSpec Api::spec(const jobs::Job& job, std::string endpoint, std::string_view rule, std::string_view scope,
                           errors::Safety safety, const tokens::AccessToken* token) const {
  errors::CallSpec s;
  s.platform = "tiktok";
  s.endpoint = std::move(endpoint);
  s.job_id = job.id;
  s.account = job.account;
  s.safety = safety;
  if (!rule.empty())
    s.buckets.push_back(limits_.bucket("tiktok", scope, rule, scope == "app" ? settings_.client_key : job.account));
  if (token) s.secrets.push_back(token->value.reveal());
  s.classify = classify;
  return s;
}

net::awaitable<errors::GuardedCall> Api::post(const std::string& path, const json& body,
                                              const tokens::AccessToken& token, const jobs::Job& job,
                                              std::string_view rule, std::string_view scope, errors::Safety safety) {
  http::Request request;
  request.method = "POST";
  request.url = settings_.base_url + path;
  request.headers.set("Authorization", "Bearer " + token.value.reveal());
  request.headers.set("Content-Type", "application/json; charset=UTF-8");
  request.body = body.dump();
  request.timeouts = api_timeouts();
  const auto call_spec = spec(job, "POST " + path.substr(0, path.find('?')), rule, scope, safety, &token);
  auto out = co_await guard_.call(request, call_spec);
  co_return out;
}

net::awaitable<errors::GuardedCall> Api::get(const std::string& path_and_query, const tokens::AccessToken& token,
                                             const jobs::Job& job, std::string_view rule, std::string_view scope) {
  http::Request request;
  request.url = settings_.base_url + path_and_query;
  request.headers.set("Authorization", "Bearer " + token.value.reveal());
  request.timeouts = api_timeouts();
  const auto call_spec = spec(job, "GET " + path_and_query.substr(0, path_and_query.find('?')), rule, scope,
                              errors::Safety::idempotent, &token);
  auto out = co_await guard_.call(request, call_spec);
  co_return out;
}

net::awaitable<errors::GuardedCall> Api::put_chunk(const std::string& upload_url, const http::FileRange& range,
                                                   std::uint64_t total, const std::string& content_type,
                                                   const jobs::Job& job) {
  http::Request request;
  request.method = "PUT";
  request.url = upload_url;
  request.headers.set("Content-Type", content_type);
  request.headers.set("Content-Range", "bytes " + std::to_string(range.offset) + "-" +
                                           std::to_string(range.offset + range.length - 1) + "/" +
                                           std::to_string(total));
  request.body = range;
  // A chunk is at most 128 MiB: slow links get time to send it, a stalled one is cut.
  request.timeouts.connect = std::chrono::seconds(10);
  request.timeouts.send = std::chrono::minutes(10);
  request.timeouts.headers = std::chrono::seconds(60);
  request.timeouts.body = std::chrono::seconds(30);
  request.timeouts.total = std::chrono::minutes(12);
  auto call_spec = spec(job, "PUT upload_url", {}, {}, errors::Safety::unsafe, nullptr);
  call_spec.breaker = false;
  call_spec.secrets.push_back(upload_url);  // its upload_token lets anyone write the upload
  const auto query = upload_url.find('?');
  if (query != std::string::npos) call_spec.secrets.push_back(upload_url.substr(query + 1));
  auto out = co_await guard_.call(request, call_spec);
  co_return out;
}

jobs::TokenUse token_use(const errors::GuardedCall& call, jobs::StepResult failure) {
  if (!call.deferred) {
    if (call.classified.kind == ErrorClass::auth_expired) return jobs::TokenUse::expired(call.classified.code);
    if (call.classified.kind == ErrorClass::auth_revoked) return jobs::TokenUse::revoked(call.classified.code);
  }
  return jobs::TokenUse::done(std::move(failure));
}

jobs::Outcome failure_of(const errors::GuardedCall& call, bool can_reconcile) {
  jobs::OutcomeRules rules;
  rules.can_reconcile = can_reconcile;
  return jobs::outcome_of(call, "tiktok", rules);
}

}  // namespace schedulo::tiktok
