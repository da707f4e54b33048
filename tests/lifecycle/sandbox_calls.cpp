#include "tests/lifecycle/sandbox_calls.hpp"

#include "platforms/oauth/call.hpp"
#include "platforms/oauth/connector.hpp"

namespace schedulo::test {
namespace {

using platforms::Introspection;
using platforms::TokenCallResult;
using platforms::TokenCallStatus;
using platforms::TokenSet;
namespace oauth = platforms::oauth;

constexpr std::chrono::milliseconds kTimeout{5000};

std::string basic(const std::string& id, const std::string& secret) {
  // base64 of "id:secret" with the standard alphabet.
  std::string out = oauth::base64url(id + ":" + secret);
  for (auto& c : out) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  while (out.size() % 4 != 0) out += '=';
  return "Basic " + out;
}

class XCalls final : public platforms::TokenCalls {
 public:
  XCalls(http::HttpClient& http, std::string base) : http_(http), base_(std::move(base)) {}
  std::chrono::milliseconds refresh_margin() const override { return std::chrono::minutes(5); }
  bool can_refresh(const TokenSet& t) const override { return !t.refresh_token.empty(); }
  net::awaitable<TokenCallResult> refresh(const TokenSet&) override {
    TokenCallResult r;
    r.status = TokenCallStatus::transient;  // not needed by these tests
    co_return r;
  }
  net::awaitable<TokenCallResult> revoke(const TokenSet& t) override {
    http::Request request;
    request.method = "POST";
    request.url = base_ + "/x/2/oauth2/revoke";
    const std::vector<std::pair<std::string, std::string>> form{
        {"token", t.refresh_token.empty() ? t.access_token.reveal() : t.refresh_token.reveal()},
        {"client_id", "sbx-x-client-id"}};
    request.body = oauth::form_encode(form);
    request.headers.set("Content-Type", "application/x-www-form-urlencoded");
    request.headers.set("Authorization", basic("sbx-x-client-id", "sbx-x-client-secret"));
    const auto answer = co_await oauth::call_json(http_, std::move(request), kTimeout);
    TokenCallResult r;
    r.status = answer.reached && answer.status == 200 ? TokenCallStatus::ok : TokenCallStatus::transient;
    r.message = answer.reached ? "HTTP " + std::to_string(answer.status) : answer.error;
    co_return r;
  }
  net::awaitable<Introspection> introspect(const TokenSet& t) override {
    http::Request request;
    request.url = base_ + "/x/2/users/me";
    request.headers.set("Authorization", "Bearer " + t.access_token.reveal());
    const auto answer = co_await oauth::call_json(http_, std::move(request), kTimeout);
    Introspection i;
    i.status = answer.reached ? TokenCallStatus::ok : TokenCallStatus::transient;
    i.valid = answer.status == 200;
    co_return i;
  }

 private:
  http::HttpClient& http_;
  std::string base_;
};

class MetaCalls final : public platforms::TokenCalls {
 public:
  MetaCalls(http::HttpClient& http, std::string base) : http_(http), base_(std::move(base)) {}
  std::chrono::milliseconds refresh_margin() const override { return std::chrono::minutes(5); }
  bool can_refresh(const TokenSet&) const override { return false; }  // Page tokens
  net::awaitable<TokenCallResult> refresh(const TokenSet&) override { co_return TokenCallResult{}; }
  net::awaitable<TokenCallResult> revoke(const TokenSet&) override {
    TokenCallResult r;
    r.status = TokenCallStatus::ok;
    co_return r;
  }
  net::awaitable<Introspection> introspect(const TokenSet& t) override {
    http::Request request;
    const std::vector<std::pair<std::string, std::string>> query{
        {"input_token", t.access_token.reveal()}, {"access_token", "sbx-meta-client-id|sbx-meta-client-secret"}};
    request.url = base_ + "/graph/v25.0/debug_token?" + oauth::form_encode(query);
    const auto answer = co_await oauth::call_json(http_, std::move(request), kTimeout);
    Introspection i;
    if (!answer.reached || answer.status != 200 || !answer.body.contains("data")) co_return i;
    const auto& d = answer.body["data"];
    i.status = TokenCallStatus::ok;
    i.valid = d.value("is_valid", false);
    i.expires_at_ms = d.value("expires_at", std::int64_t{0}) * 1000;
    i.data_access_expires_at_ms = d.value("data_access_expires_at", std::int64_t{0}) * 1000;
    co_return i;
  }

 private:
  http::HttpClient& http_;
  std::string base_;
};

}  // namespace

std::unique_ptr<platforms::TokenCalls> make_x_sandbox_calls(http::HttpClient& http, std::string sandbox_base) {
  return std::make_unique<XCalls>(http, std::move(sandbox_base));
}

std::unique_ptr<platforms::TokenCalls> make_meta_sandbox_calls(http::HttpClient& http, std::string sandbox_base) {
  return std::make_unique<MetaCalls>(http, std::move(sandbox_base));
}

}  // namespace schedulo::test
