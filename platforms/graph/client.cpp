#include "platforms/graph/client.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <array>
#include <cstdio>

#include "platforms/errors/rate_feedback.hpp"

namespace schedulo::graph {
namespace {

using json = nlohmann::json;

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
         c == '_' || c == '~';
}

void encode_into(std::string& out, std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  for (const unsigned char c : s) {
    if (unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xF]);
    }
  }
}

bool absolute(std::string_view path) {
  return path.starts_with("http://") || path.starts_with("https://");
}

// Whether the BUC entry belongs to this platform's accounts (ads types are not ours).
bool our_type(const std::string& platform, const std::string& type) {
  if (platform == "instagram") return type == "instagram";
  if (platform == "facebook") return type == "pages";
  return false;
}

}  // namespace

std::string form_encode(const Params& params) {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out.push_back('&');
    encode_into(out, name);
    out.push_back('=');
    encode_into(out, value);
  }
  return out;
}

std::string appsecret_proof(std::string_view token, std::string_view app_secret) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), app_secret.data(), static_cast<int>(app_secret.size()),
       reinterpret_cast<const unsigned char*>(token.data()), token.size(), mac.data(), &length);
  std::string hex;
  hex.reserve(length * 2);
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    hex.push_back(kHex[mac[i] >> 4]);
    hex.push_back(kHex[mac[i] & 0xF]);
  }
  return hex;
}

json parse_body(std::string_view body) {
  if (body.empty()) return nullptr;
  auto doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) return nullptr;
  return doc;
}

std::string GraphAnswer::text(std::string_view name) const {
  if (!body.is_object()) return {};
  const auto it = body.find(std::string(name));
  if (it == body.end()) return {};
  if (it->is_string()) return it->get<std::string>();
  if (it->is_number_integer()) return std::to_string(it->get<long long>());
  if (it->is_number_unsigned()) return std::to_string(it->get<unsigned long long>());
  return {};
}

std::vector<queue::Bucket> graph_buckets(const std::string& platform, const queue::LimitTable& limits,
                                         std::string_view object_id) {
  std::vector<queue::Bucket> out;
  if (!object_id.empty()) out.push_back(limits.bucket(platform, "account", "buc", object_id));
  out.push_back(limits.bucket(platform, "app", "app_usage"));
  return out;
}

errors::Feedback usage_feedback(const std::string& platform, const queue::LimitTable& limits) {
  return [platform, limits](const http::Response& response, errors::SystemClock::time_point) {
    const auto app = limits.bucket(platform, "app", "app_usage");
    const auto page = limits.bucket(platform, "app", "page_usage");
    errors::MetaBuckets b;
    b.app = &app;
    b.page = &page;
    b.buc = [&](const errors::BucUsage& u) -> std::optional<queue::Bucket> {
      if (u.object_id.empty() || !our_type(platform, u.type)) return std::nullopt;
      return limits.bucket(platform, "account", "buc", u.object_id);
    };
    return errors::meta_observations(response.headers, b);
  };
}

GraphClient::GraphClient(errors::CallGuard& guard, GraphOptions options)
    : guard_(guard), options_(std::move(options)) {}

std::string graph_url(const GraphOptions& options, std::string_view path) {
  if (absolute(path)) return std::string(path);
  std::string out = options.base_url;
  while (!out.empty() && out.back() == '/') out.pop_back();
  if (!path.starts_with('/')) out.push_back('/');
  out += path;
  return out;
}

http::Request build_request(const GraphOptions& options, const GraphCall& call) {
  http::Request r;
  r.method = call.method;
  r.timeouts = call.timeouts.value_or(options.timeouts);
  r.headers = call.headers;

  Params params = call.params;
  if (call.token && !call.token->empty()) {
    if (call.token_in == TokenPlacement::param) params.emplace_back("access_token", call.token->reveal());
    if (call.token_in == TokenPlacement::oauth_header) r.headers.set("Authorization", "OAuth " + call.token->reveal());
    if (call.token_in != TokenPlacement::none && !options.app_secret.empty())
      params.emplace_back("appsecret_proof", appsecret_proof(call.token->reveal(), options.app_secret.reveal()));
  }

  const bool form_body = call.method == "POST" && !call.json && !call.raw;
  std::string target = graph_url(options, call.path);
  if (!form_body && !params.empty()) {
    target.push_back(target.find('?') == std::string::npos ? '?' : '&');
    target += form_encode(params);
  }
  r.url = std::move(target);
  if (form_body) {
    r.headers.set("Content-Type", "application/x-www-form-urlencoded");
    r.body = form_encode(params);
  } else if (call.json) {
    r.headers.set("Content-Type", "application/json");
    r.body = call.json->dump();
  } else if (call.raw) {
    if (!call.raw->content_type.empty()) r.headers.set("Content-Type", call.raw->content_type);
    if (const auto* s = std::get_if<std::string>(&call.raw->data)) {
      r.body = *s;
    } else {
      r.body = std::get<http::FileRange>(call.raw->data);
    }
  }
  return r;
}

errors::CallSpec build_spec(const GraphOptions& options, const GraphCall& call) {
  errors::CallSpec s;
  s.platform = options.platform;
  s.endpoint = call.endpoint;
  s.job_id = call.job_id;
  s.account = call.account;
  s.safety = call.safety;
  s.buckets = graph_buckets(options.platform, options.limits, call.object_id);
  s.buckets.insert(s.buckets.end(), call.buckets.begin(), call.buckets.end());
  if (call.token && !call.token->empty()) {
    s.secrets.push_back(call.token->reveal());
    if (!options.app_secret.empty())
      s.secrets.push_back(appsecret_proof(call.token->reveal(), options.app_secret.reveal()));
  }
  if (!options.app_secret.empty()) s.secrets.push_back(options.app_secret.reveal());
  const auto classify_options = options.classify;
  s.classify = [classify_options](const http::Result<http::Response>& answer, errors::Safety safety,
                                  errors::SystemClock::time_point now) {
    return classify(answer, safety, now, classify_options);
  };
  s.feedback = usage_feedback(options.platform, options.limits);
  s.breaker = call.breaker;
  return s;
}

net::awaitable<GraphAnswer> GraphClient::call(const GraphCall& call) {
  const auto req = request(call);
  const auto call_spec = spec(call);
  GraphAnswer out;
  out.call = co_await guard_.call(req, call_spec);
  if (out.call.answer) out.body = parse_body(out.call.answer->body);
  co_return out;
}

}  // namespace schedulo::graph
