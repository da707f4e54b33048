#include "tests/tokens/endpoint_platform.hpp"

#include <openssl/crypto.h>

#include <nlohmann/json.hpp>

#include "jobs/token_use.hpp"
#include "platforms/http/client.hpp"

namespace schedulo::test {
namespace {

using json = nlohmann::json;
using platforms::TokenCallResult;
using platforms::TokenCallStatus;

std::string form_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char ch : s) {
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

void wipe(std::string& s) {
  if (!s.empty()) OPENSSL_cleanse(s.data(), s.size());
}

http::Timeouts short_timeouts() {
  http::Timeouts t;
  t.connect = std::chrono::seconds(2);
  t.headers = std::chrono::seconds(60);  // held answers: the provider's deadline decides
  t.total = std::chrono::seconds(120);
  return t;
}

class EndpointTokenCalls final : public platforms::TokenCalls {
 public:
  EndpointTokenCalls(std::string base, http::AddressPolicy policy, std::chrono::milliseconds margin)
      : base_(std::move(base)),
        http_(http::ClientOptions{std::move(policy), {}, 16, std::chrono::seconds(30)}),
        margin_(margin) {}

  std::chrono::milliseconds refresh_margin() const override { return margin_; }
  bool can_refresh(const platforms::TokenSet& current) const override { return !current.refresh_token.empty(); }

  net::awaitable<TokenCallResult> refresh(const platforms::TokenSet& current) override {
    http::Request request;
    request.method = "POST";
    request.url = base_ + "/oauth/token";
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    std::string body =
        "grant_type=refresh_token&client_id=schedulo-test&refresh_token=" + form_encode(current.refresh_token.reveal());
    request.body = body;
    wipe(body);
    request.timeouts = short_timeouts();
    auto response = co_await http_.request(request);
    wipe(std::get<std::string>(request.body));
    TokenCallResult result;
    if (!response) {
      // A request that may have been sent: the refresh token may be spent.
      const auto kind = response.error().kind;
      result.status =
          kind == http::ErrorKind::network || kind == http::ErrorKind::timeout || kind == http::ErrorKind::cancelled
              ? TokenCallStatus::unknown
              : TokenCallStatus::transient;
      result.message = "token endpoint: " + response.error().message;
      co_return result;
    }
    json doc = json::parse(response->body, nullptr, false);
    wipe(response->body);
    if (response->status == 200 && doc.is_object() && doc.contains("access_token") && doc["access_token"].is_string()) {
      result.status = TokenCallStatus::ok;
      result.access_token = Secret(doc["access_token"].get<std::string>());
      if (doc.contains("refresh_token") && doc["refresh_token"].is_string())
        result.refresh_token = Secret(doc["refresh_token"].get<std::string>());
      if (doc.contains("expires_in") && doc["expires_in"].is_number_integer())
        result.expires_in = std::chrono::seconds(doc["expires_in"].get<long long>());
      if (doc.contains("scope") && doc["scope"].is_string()) result.scopes = doc["scope"].get<std::string>();
    } else if (response->status == 200) {
      result.status = TokenCallStatus::unknown;  // answered, but unreadably: it may have rotated
      result.message = "token endpoint: an unreadable answer";
    } else if (doc.is_object() && doc.value("error", "") == "invalid_grant") {
      result.status = TokenCallStatus::rejected;
      result.code = "invalid_grant";
      // The endpoint quotes the token it refused; the provider scrubs messages, this test proves it.
      result.message = doc.value("error_description", "");
    } else {
      result.status = TokenCallStatus::transient;
      result.code = "http_" + std::to_string(response->status);
      result.message = "token endpoint answered HTTP " + std::to_string(response->status);
    }
    for (const char* k : {"access_token", "refresh_token"})
      if (doc.is_object() && doc.contains(k) && doc[k].is_string()) wipe(doc[k].get_ref<std::string&>());
    co_return result;
  }

  net::awaitable<TokenCallResult> revoke(const platforms::TokenSet& current) override {
    http::Request request;
    request.method = "POST";
    request.url = base_ + "/oauth/revoke";
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.body = "token=" + form_encode(current.access_token.reveal());
    request.timeouts = short_timeouts();
    auto response = co_await http_.request(request);
    wipe(std::get<std::string>(request.body));
    TokenCallResult result;
    result.status = response && response->ok() ? TokenCallStatus::ok : TokenCallStatus::transient;
    co_return result;
  }

  net::awaitable<platforms::Introspection> introspect(const platforms::TokenSet& current) override {
    http::Request request;
    request.url = base_ + "/api/me";
    request.headers.set("Authorization", "Bearer " + current.access_token.reveal());
    request.timeouts = short_timeouts();
    auto response = co_await http_.request(request);
    platforms::Introspection out;
    if (!response) co_return out;
    out.status = TokenCallStatus::ok;
    out.valid = response->status == 200;
    co_return out;
  }

 private:
  std::string base_;
  http::HttpClient http_;
  std::chrono::milliseconds margin_;
};

class EndpointSteps final : public jobs::PublishSteps {
 public:
  EndpointSteps(tokens::TokenProvider& provider, http::HttpClient& http, const std::string& base,
                const std::string& worker)
      : provider_(provider), http_(http), base_(base), worker_(worker) {}

  net::awaitable<jobs::StepResult> run(jobs::PublishStep step, jobs::JobContext& job, json& ids) override {
    if (step != jobs::PublishStep::publish) co_return std::nullopt;
    const jobs::TokenCall call = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
      http::Request request;
      request.method = "POST";
      request.url = base_ + "/api/post";
      request.headers.set("Authorization", "Bearer " + token.value.reveal());
      request.headers.set("Content-Type", "application/json");
      request.body = json({{"job", job.lease().id}}).dump();
      request.timeouts = short_timeouts();
      auto response = co_await http_.request(request);
      if (!response)
        co_return jobs::TokenUse::done(
            jobs::Outcome::retry("the test API did not answer: " + response.error().message, "outcome_unknown"));
      if (response->status == 401) co_return jobs::TokenUse::expired("HTTP 401 Unauthorized");
      if (!response->ok())
        co_return jobs::TokenUse::done(
            jobs::Outcome::retry("the test API answered HTTP " + std::to_string(response->status), "http"));
      const auto doc = json::parse(response->body, nullptr, false);
      ids["published_id"] = doc.is_object() ? doc["data"].value("id", "") : "";
      ids["worker"] = worker_;
      co_return jobs::TokenUse::done();
    };
    co_return co_await jobs::with_token(provider_, job, call);
  }

  net::awaitable<jobs::StepResult> before_publish(jobs::JobContext& job) override {
    co_return co_await jobs::prepare_token(provider_, job);
  }

  net::awaitable<jobs::Existence> find_existing(jobs::JobContext& job, json& ids) override {
    auto check = co_await jobs::token_for_check(provider_, job);
    if (!check.token) co_return check.otherwise;
    http::Request request;
    request.url = base_ + "/api/post?job=" + form_encode(job.lease().id);
    request.headers.set("Authorization", "Bearer " + check.token->value.reveal());
    request.timeouts = short_timeouts();
    auto response = co_await http_.request(request);
    if (!response) co_return jobs::Existence::unknown;
    if (response->status == 404) co_return jobs::Existence::not_found;
    if (!response->ok()) co_return jobs::Existence::unknown;
    const auto doc = json::parse(response->body, nullptr, false);
    ids["published_id"] = doc.is_object() ? doc["data"].value("id", "") : "";
    co_return jobs::Existence::found;
  }

  std::chrono::milliseconds deadline(jobs::PublishStep) const override { return std::chrono::seconds(30); }

 private:
  tokens::TokenProvider& provider_;
  http::HttpClient& http_;
  const std::string& base_;
  const std::string& worker_;
};

class EndpointPlatform final : public jobs::PlatformAdapter {
 public:
  EndpointPlatform(std::string worker, tokens::TokenProvider& provider, std::string base, http::AddressPolicy policy)
      : worker_(std::move(worker)),
        provider_(provider),
        base_(std::move(base)),
        http_(http::ClientOptions{std::move(policy), {}, 64, std::chrono::seconds(30)}) {}

  std::string_view name() const override { return "x"; }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override {
    return std::make_unique<EndpointSteps>(provider_, http_, base_, worker_);
  }
  net::awaitable<jobs::Outcome> refresh_token(jobs::JobContext& job) override {
    co_return co_await jobs::refresh_account_token(provider_, job);
  }
  net::awaitable<jobs::Outcome> fetch_analytics(jobs::JobContext& job) override {
    const jobs::TokenCall call = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
      http::Request request;
      request.url = base_ + "/api/me";
      request.headers.set("Authorization", "Bearer " + token.value.reveal());
      request.timeouts = short_timeouts();
      auto response = co_await http_.request(request);
      if (response && response->status == 401) co_return jobs::TokenUse::expired("HTTP 401 Unauthorized");
      if (!response || !response->ok())
        co_return jobs::TokenUse::done(jobs::Outcome::retry("the test API failed", "http"));
      co_return jobs::TokenUse::done();
    };
    auto step = co_await jobs::with_token(provider_, job, call);
    if (step) co_return std::move(*step);
    co_return jobs::Outcome::success({{"metrics", json::object()}});
  }
  net::awaitable<jobs::Outcome> revoke_token(jobs::JobContext&) override {
    co_return jobs::Outcome::fail("revoking is the lifecycle issue's", "unsupported");
  }

 private:
  std::string worker_;
  tokens::TokenProvider& provider_;
  std::string base_;
  http::HttpClient http_;
};

}  // namespace

std::unique_ptr<platforms::TokenCalls> make_endpoint_token_calls(std::string base_url, http::AddressPolicy policy,
                                                                 std::chrono::milliseconds margin) {
  return std::make_unique<EndpointTokenCalls>(std::move(base_url), std::move(policy), margin);
}

std::unique_ptr<jobs::PlatformAdapter> make_endpoint_platform(std::string worker, tokens::TokenProvider& provider,
                                                              std::string base_url, http::AddressPolicy policy) {
  return std::make_unique<EndpointPlatform>(std::move(worker), provider, std::move(base_url), std::move(policy));
}

}  // namespace schedulo::test
