#include "platforms/instagram/token_calls.hpp"

#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"
#include "platforms/graph/client.hpp"
#include "platforms/instagram/instagram.hpp"

namespace schedulo::instagram {
namespace {

using json = nlohmann::json;
using platforms::TokenCallResult;
using platforms::TokenCallStatus;
using std::chrono::milliseconds;

constexpr std::int64_t kDayMs = 24LL * 3600 * 1000;
constexpr std::int64_t kLongLivedMs = 60 * kDayMs;

http::Timeouts token_timeouts() {
  http::Timeouts t;
  t.connect = std::chrono::seconds(5);
  t.headers = std::chrono::seconds(10);
  t.body = std::chrono::seconds(10);
  t.total = std::chrono::seconds(15);
  return t;
}

// A Graph answer of a token call: its class, with messages that never carry a token.
TokenCallResult failed(const http::Result<http::Response>& answer, const char* what) {
  TokenCallResult r;
  const auto c = graph::classify(answer, errors::Safety::idempotent, errors::SystemClock::now());
  r.code = c.error_code();
  r.message =
      std::string(what) + " failed: " + (c.code.empty() ? std::string(errors::to_string(c.kind)) : c.error_code());
  switch (c.kind) {
    case errors::ErrorClass::auth_expired:
      r.status = TokenCallStatus::rejected;
      break;
    case errors::ErrorClass::auth_revoked:
      r.status = TokenCallStatus::revoked;
      break;
    default:
      // Refused for a reason a later try can overcome (a token younger than 24 h, a throttle, an
      // outage): nothing changed, the old token stays valid until its own expiry.
      r.status = TokenCallStatus::transient;
      r.retry_after = c.clears_in(errors::SystemClock::now());
      break;
  }
  return r;
}

class InstagramTokenCalls final : public platforms::TokenCalls {
 public:
  InstagramTokenCalls(http::HttpClient& http, InstagramOptions options) : http_(http), options_(std::move(options)) {}

  milliseconds refresh_margin() const override { return options_.refresh_margin; }

  bool can_refresh(const platforms::TokenSet& current) const override {
    if (login_of(current.scopes, current.access_token) != Login::instagram) return false;  // Page tokens
    const auto expires = current.access_expires_at_ms;
    if (expires <= 0) return false;
    const auto now = options_.now_ms ? options_.now_ms() : now_epoch_ms();
    // Not expired, and at least 24 h old (a long-lived token lives 60 days from its issue).
    return expires > now && expires - now <= kLongLivedMs - kDayMs;
  }

  net::awaitable<TokenCallResult> refresh(const platforms::TokenSet& current) override {
    http::Request r;
    r.url = unversioned(options_.login_base_url) + "/refresh_access_token?" +
            graph::form_encode({{"grant_type", "ig_refresh_token"}, {"access_token", current.access_token.reveal()}});
    r.timeouts = token_timeouts();
    auto answer = co_await http_.request(r);
    if (!answer || !answer->ok()) co_return failed(answer, "the Instagram token refresh");
    co_return read_refresh_answer(graph::parse_body(answer->body));
  }

  net::awaitable<TokenCallResult> revoke(const platforms::TokenSet& current) override {
    TokenCallResult out;
    if (login_of(current.scopes, current.access_token) == Login::instagram) {
      // Instagram Login has no revocation endpoint: forgetting the token is all there is.
      out.status = TokenCallStatus::ok;
      out.message = "Instagram Login has no revocation endpoint; the stored token was discarded";
      co_return out;
    }
    graph::GraphCall call;
    call.method = "DELETE";
    call.path = "/me/permissions";
    call.token = &current.access_token;
    call.timeouts = token_timeouts();
    auto answer = co_await http_.request(graph::build_request(options_.graph, call));
    if (answer && answer->ok()) {
      out.status = TokenCallStatus::ok;
      co_return out;
    }
    out = failed(answer, "revoking the Facebook Login grant");
    const auto kind = graph::classify(answer, errors::Safety::idempotent, errors::SystemClock::now()).kind;
    // A token Meta no longer accepts has nothing left to revoke; one Meta will not revoke this way (a
    // Page token cannot remove the user's grant) is left to the user: the stored token goes anyway.
    if (kind == errors::ErrorClass::auth_expired || kind == errors::ErrorClass::auth_revoked ||
        kind == errors::ErrorClass::permanent) {
      out.status = TokenCallStatus::ok;
      if (kind == errors::ErrorClass::permanent)
        out.message = "Meta did not revoke the grant (" + out.code +
                      "); remove the app in the account's Facebook settings to end it there";
    }
    co_return out;
  }

  net::awaitable<platforms::Introspection> introspect(const platforms::TokenSet& current) override {
    platforms::Introspection out;
    if (login_of(current.scopes, current.access_token) == Login::instagram) {
      graph::GraphOptions g = options_.graph;
      g.base_url = options_.login_base_url;
      g.app_secret = Secret();
      graph::GraphCall me;
      me.path = "/me";
      me.params = {{"fields", "user_id,username"}};
      me.token = &current.access_token;
      me.timeouts = token_timeouts();
      auto answer = co_await http_.request(graph::build_request(g, me));
      if (answer && answer->ok()) {
        out.status = TokenCallStatus::ok;
        out.valid = true;
        out.expires_at_ms = current.access_expires_at_ms;
        out.scopes = current.scopes;
        co_return out;
      }
      const auto r = failed(answer, "the Instagram token check");
      out.status = r.status == TokenCallStatus::transient ? TokenCallStatus::transient : TokenCallStatus::ok;
      out.valid = false;
      out.message = r.message;
      co_return out;
    }
    // debug_token with the app token (app id|app secret): a secret of its own, never quoted.
    const Secret app_token(options_.app_id + "|" + options_.graph.app_secret.reveal());
    graph::GraphOptions g = options_.graph;
    g.app_secret = Secret();  // the proof is for user tokens; the app token carries the secret
    graph::GraphCall debug;
    debug.path = "/debug_token";
    debug.params = {{"input_token", current.access_token.reveal()}};
    debug.token = &app_token;
    debug.timeouts = token_timeouts();
    auto answer = co_await http_.request(graph::build_request(g, debug));
    if (!answer || !answer->ok()) {
      const auto r = failed(answer, "debug_token");
      out.status = TokenCallStatus::transient;
      out.message = r.message;
      co_return out;
    }
    co_return read_debug_token(graph::parse_body(answer->body));
  }

 private:
  http::HttpClient& http_;
  InstagramOptions options_;
};

}  // namespace

TokenCallResult read_refresh_answer(const json& doc) {
  TokenCallResult out;
  // An empty token is no token: stored, it would replace the working one (found by oauth_answers_fuzz).
  if (!doc.is_object() || !doc.contains("access_token") || !doc["access_token"].is_string() ||
      doc["access_token"].get_ref<const std::string&>().empty()) {
    out.status = TokenCallStatus::transient;  // the old token still works: try again later
    out.message = "the Instagram token refresh answered without a token";
    return out;
  }
  out.status = TokenCallStatus::ok;
  out.access_token = Secret(doc["access_token"].get<std::string>());
  if (doc.contains("expires_in") && doc["expires_in"].is_number_integer()) {
    const long long s = doc["expires_in"].get<long long>();
    if (s > 0 && s <= platforms::kMaxTokenLifetimeS) out.expires_in = std::chrono::seconds(s);
  }
  return out;
}

platforms::Introspection read_debug_token(const json& doc) {
  platforms::Introspection out;
  const auto member = [](const json& o, const char* name) -> const json* {
    if (!o.is_object()) return nullptr;
    const auto it = o.find(name);
    return it == o.end() ? nullptr : &*it;
  };
  const json* found = member(doc, "data");
  const json data = found && found->is_object() ? *found : json::object();
  out.status = TokenCallStatus::ok;
  const json* valid = member(data, "is_valid");
  out.valid = valid && valid->is_boolean() && valid->get<bool>();
  // Epoch seconds as milliseconds; 0 (never, unknown) for anything not a time this side of year 2^31.
  const auto ms = [&](const char* name) -> std::int64_t {
    const json* v = member(data, name);
    if (!v || !v->is_number_integer()) return 0;
    const auto s = v->get<std::int64_t>();
    return s > 0 && s < (std::int64_t{1} << 40) ? s * 1000 : 0;
  };
  out.expires_at_ms = ms("expires_at");
  out.data_access_expires_at_ms = ms("data_access_expires_at");
  if (const json* scopes = member(data, "scopes"); scopes && scopes->is_array()) {
    for (const auto& s : *scopes)
      if (s.is_string()) out.scopes += (out.scopes.empty() ? "" : ",") + s.get<std::string>();
  }
  if (const json* e = member(data, "error"); !out.valid && e && e->is_object()) {
    const auto number = [&](const char* name) -> std::string {
      const json* v = member(*e, name);
      return v && v->is_number_integer() ? std::to_string(v->get<long long>()) : std::string("0");
    };
    out.message = "Meta says the token is not valid (code " + number("code") +
                  (e->contains("subcode") ? "/" + number("subcode") : std::string()) + ")";
  }
  return out;
}

std::string unversioned(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  const auto slash = url.find_last_of('/');
  if (slash != std::string::npos && slash + 2 < url.size() && url[slash + 1] == 'v' &&
      url.find('.', slash) != std::string::npos &&
      url.substr(slash).find_first_not_of("/v0123456789.") == std::string::npos)
    url.erase(slash);
  return url;
}

std::unique_ptr<platforms::TokenCalls> make_token_calls(http::HttpClient& http, InstagramOptions options) {
  return std::make_unique<InstagramTokenCalls>(http, std::move(options));
}

}  // namespace schedulo::instagram
