// The Facebook Pages adapter: publish steps (publish_steps.cpp), post insights, the Page token's
// validity check (a refresh_token job on Facebook) and revocation; and the token calls the token core
// uses (debug_token, DELETE /{user-id}/permissions).
#include <chrono>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "platforms/facebook/page_api.hpp"

namespace schedulo::facebook {
namespace {

using json = nlohmann::json;
using jobs::Outcome;
using platforms::TokenCallStatus;

constexpr int kRecentPostsForAnalytics = 10;

std::int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string graph_code(long long code, long long subcode) {
  return subcode != 0 ? std::to_string(code) + "/" + std::to_string(subcode) : std::to_string(code);
}

class FacebookTokenCalls final : public platforms::TokenCalls {
 public:
  FacebookTokenCalls(http::HttpClient& http, const FacebookOptions& options)
      : http_(http), options_(graph_options(options)), app_token_(options.app_id + "|" + options.app_secret.reveal()) {}

  std::chrono::milliseconds refresh_margin() const override { return std::chrono::minutes(1); }
  // Page tokens cannot be renewed (1.0): they live until the user's password change, role removal or
  // revocation, and then only connecting again helps.
  bool can_refresh(const platforms::TokenSet&) const override { return false; }

  net::awaitable<platforms::TokenCallResult> refresh(const platforms::TokenSet&) override {
    platforms::TokenCallResult out;
    out.status = TokenCallStatus::rejected;
    out.code = "not_renewable";
    out.message = "Facebook Page tokens cannot be renewed; connect the account again.";
    co_return out;
  }

  net::awaitable<platforms::Introspection> introspect(const platforms::TokenSet& current) override {
    platforms::Introspection out;
    DebugToken debug;
    const auto status = co_await debug_token(current.access_token, debug, out.message);
    out.status = status;
    if (status != TokenCallStatus::ok) co_return out;
    out.valid = debug.valid;
    out.expires_at_ms = debug.expires_at_s * 1000;
    out.data_access_expires_at_ms = debug.data_access_expires_at_s * 1000;
    out.scopes = debug.scopes;
    if (!debug.valid)
      out.message = "Facebook says the token is no longer valid (" +
                    graph_code(debug.error_code == 0 ? 190 : debug.error_code, debug.error_subcode) + ")";
    co_return out;
  }

  // DELETE /{user-id}/permissions (1.0) with the app token: the user behind the Page token comes
  // from debug_token. Every token of that user for this app dies with it.
  net::awaitable<platforms::TokenCallResult> revoke(const platforms::TokenSet& current) override {
    platforms::TokenCallResult out;
    DebugToken debug;
    out.status = co_await debug_token(current.access_token, debug, out.message);
    if (out.status != TokenCallStatus::ok) co_return out;
    if (debug.user_id.empty()) {
      // Nothing left to revoke: the token names no user any more.
      out.message = "the token was already invalid";
      co_return out;
    }
    graph::GraphCall call;
    call.method = "DELETE";
    call.path = "/" + debug.user_id + "/permissions";
    call.token = &app_token_;
    auto answer = co_await http_.request(graph::build_request(options_, call));
    if (!answer) {
      out.status = TokenCallStatus::unknown;
      out.message = "Facebook did not answer the revocation: " + answer.error().message;
      co_return out;
    }
    const auto body = graph::parse_body(answer->body);
    if (answer->ok() && body.is_object() && body.value("success", false)) {
      out.status = TokenCallStatus::ok;
      co_return out;
    }
    const auto error = graph::parse_error(answer->body);
    out.status = answer->status >= 500 || (error && error->is_transient) ? TokenCallStatus::transient
                                                                         : TokenCallStatus::rejected;
    out.code = error ? graph_code(error->code, error->subcode) : "http_" + std::to_string(answer->status);
    out.message = "Facebook refused the revocation (" + out.code + ")";
    co_return out;
  }

 private:
  net::awaitable<TokenCallStatus> debug_token(const Secret& token, DebugToken& out, std::string& message) {
    graph::GraphCall call;
    call.path = "/debug_token";
    call.params = {{"input_token", token.reveal()}};
    call.token = &app_token_;
    // The URL carries the token: never quoted in a message.
    auto answer = co_await http_.request(graph::build_request(options_, call));
    if (!answer) {
      message = "debug_token did not answer: " + answer.error().message;
      co_return TokenCallStatus::transient;
    }
    const auto body = graph::parse_body(answer->body);
    const auto parsed = parse_debug_token(body);
    if (!answer->ok() || !parsed) {
      const auto error = graph::parse_error(answer->body);
      message = "debug_token failed (" +
                (error ? graph_code(error->code, error->subcode) : "http_" + std::to_string(answer->status)) + ")";
      co_return TokenCallStatus::transient;
    }
    out = *parsed;
    co_return TokenCallStatus::ok;
  }

  http::HttpClient& http_;
  graph::GraphOptions options_;
  Secret app_token_;
};

class FacebookPlatform final : public jobs::PlatformAdapter {
 public:
  FacebookPlatform(errors::CallGuard& guard, http::HttpClient& http, tokens::TokenProvider& provider,
                   const FacebookOptions& options)
      : api_(guard, http, provider, options), calls_(http, options) {}

  std::string_view name() const override { return kPlatform; }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return make_publish_steps(api_); }

  net::awaitable<Outcome> refresh_token(jobs::JobContext& job) override;
  net::awaitable<Outcome> fetch_analytics(jobs::JobContext& job) override;
  net::awaitable<Outcome> revoke_token(jobs::JobContext& job) override;

 private:
  net::awaitable<std::optional<Outcome>> post_insights(jobs::JobContext& job, const std::string& post,
                                                       const std::string& page, json& out);

  PageApi api_;
  FacebookTokenCalls calls_;
};

// A Page token cannot be renewed, so a refresh_token job watches it instead (1.0, 4.1): debug_token
// says whether it still works and when the user's data access ends; an invalid token marks the account
// needs_reauth (with its Events row), and data access ending within reconnect_ahead marks it
// `expiring` with an Events row asking the user to reconnect before then.
net::awaitable<Outcome> FacebookPlatform::refresh_token(jobs::JobContext& job) {
  auto& provider = api_.provider();
  const auto ref = jobs::account_of(job.job());
  auto answer = co_await provider.get(ref);
  if (answer.state != tokens::TokenState::ready) co_return jobs::token_outcome(answer);
  platforms::TokenSet set;
  set.access_token = answer.token.value;
  const auto seen = co_await calls_.introspect(set);
  if (seen.status != TokenCallStatus::ok)
    co_return Outcome::retry("Checking the Facebook token failed: " + seen.message, "token_check");
  json result = {{"account", ref.account}, {"platform", ref.platform}, {"valid", seen.valid}};
  if (!seen.valid) {
    co_await provider.report_revoked(ref, answer.token.version, seen.message);
    co_return Outcome::fail("The facebook account " + ref.account + " must be connected again: " + seen.message,
                            "needs_reauth");
  }
  result["expires_at"] = seen.expires_at_ms == 0 ? json("never") : json(format_rfc3339_ms(seen.expires_at_ms));
  result["scopes"] = seen.scopes;
  if (seen.data_access_expires_at_ms > 0) {
    result["data_access_expires_at"] = format_rfc3339_ms(seen.data_access_expires_at_ms);
    const auto left = std::chrono::milliseconds(seen.data_access_expires_at_ms - now_ms());
    if (left < api_.options().reconnect_ahead) {
      const std::string message = "Facebook's data access for the account " + ref.account + " ends at " +
                                  format_rfc3339_ms(seen.data_access_expires_at_ms) +
                                  ": reconnect the account before then to keep publishing.";
      const std::vector<tokens::AccountEvent> events{{"reconnect_soon", message}};
      auto marked = co_await provider.store().set_status(ref, answer.token.version, tokens::AccountStatus::expiring,
                                                         message, now_ms(), false, events);
      if (!marked)
        co_return Outcome::defer("the token store cannot be written now", "token_store", std::chrono::seconds(5));
      result["reconnect_before"] = result["data_access_expires_at"];
      job.log().warn("{}", message);
    }
  }
  co_return Outcome::success(std::move(result));
}

net::awaitable<std::optional<Outcome>> FacebookPlatform::post_insights(jobs::JobContext& job, const std::string& post,
                                                                       const std::string& page, json& out) {
  PostInsights insights;
  graph::GraphAnswer answer;
  const PageApi::MakeCall metrics = [&] {
    graph::GraphCall c;
    c.path = "/" + post + "/insights";
    c.params = {{"metric", std::string(post_metrics())}};
    c.endpoint = "GET /{post-id}/insights";
    c.object_id = page;
    return c;
  };
  if (auto stop = co_await api_.call(job, metrics, answer)) co_return stop;
  if (!answer.ok()) {
    if (answer.classified().kind != errors::ErrorClass::permanent) co_return PageApi::outcome(answer);
    // This post cannot be read (deleted, not the Page's): say so and go on with the others.
    out = {
        {"post_id", post}, {"error", PageApi::outcome(answer).error}, {"error_code", answer.classified().error_code()}};
    co_return std::nullopt;
  }
  read_insights(answer.body, insights);
  const PageApi::MakeCall counts = [&] {
    graph::GraphCall c;
    c.path = "/" + post;
    c.params = {{"fields", std::string(engagement_fields())}};
    c.endpoint = "GET /{post-id}?fields=shares,comments,reactions";
    c.object_id = page;
    return c;
  };
  graph::GraphAnswer engagement;
  if (auto stop = co_await api_.call(job, counts, engagement)) co_return stop;
  if (engagement.ok()) read_engagement(engagement.body, insights);
  out = insights.to_json(post);
  co_return std::nullopt;
}

// Post insights with the current metrics (4.3): views (post_total_media_view_unique), reactions by
// type, clicks, and engagement (reactions + comments + shares + clicks). The deprecated impression
// metrics are never asked for.
net::awaitable<Outcome> FacebookPlatform::fetch_analytics(jobs::JobContext& job) {
  json ids = json::object();
  jobs::StepResult stop;
  const auto page = co_await api_.page_id(job, ids, stop);
  if (!page) co_return std::move(*stop);
  std::vector<std::string> targets = job.job().target_post_ids;
  if (targets.empty()) {
    graph::GraphAnswer answer;
    const PageApi::MakeCall recent = [&] {
      graph::GraphCall c;
      c.path = "/" + *page + "/posts";
      c.params = {{"fields", "id"}, {"limit", std::to_string(kRecentPostsForAnalytics)}};
      c.endpoint = "GET /{page-id}/posts";
      c.object_id = *page;
      return c;
    };
    if (auto end = co_await api_.call(job, recent, answer)) co_return std::move(*end);
    if (!answer.ok()) co_return PageApi::outcome(answer, false);
    for (const auto& p : parse_recent_posts(answer.body)) targets.push_back(p.id);
  }
  json posts = json::array();
  for (const auto& post : targets) {
    json one;
    if (auto end = co_await post_insights(job, post, *page, one)) co_return std::move(*end);
    posts.push_back(std::move(one));
  }
  co_return Outcome::success({{"page_id", *page}, {"posts", std::move(posts)}});
}

// revoke_token: DELETE /{user-id}/permissions, then the account's tokens are wiped (status revoked).
net::awaitable<Outcome> FacebookPlatform::revoke_token(jobs::JobContext& job) {
  auto& provider = api_.provider();
  const auto ref = jobs::account_of(job.job());
  auto loaded = co_await provider.store().load(ref);
  if (!loaded) co_return Outcome::defer("the token store cannot be read now", "token_store", std::chrono::seconds(5));
  if (!*loaded) co_return Outcome::fail("The facebook account " + ref.account + " is not connected.", "not_connected");
  const auto& account = **loaded;
  std::string error;
  auto tokens = provider.store().open(account, error);
  if (tokens && !tokens->access_token.empty()) {
    const auto revoked = co_await calls_.revoke(*tokens);
    if (revoked.status == TokenCallStatus::transient || revoked.status == TokenCallStatus::unknown)
      co_return Outcome::retry("Revoking the Facebook access failed: " + revoked.message, "revoke_failed");
    if (revoked.status == TokenCallStatus::rejected)
      job.log().warn("Facebook refused the revocation ({}); the account's tokens are wiped anyway", revoked.code);
  }
  const std::vector<tokens::AccountEvent> events{
      {"revoked", "The facebook account " + ref.account + " was disconnected."}};
  auto wiped = co_await provider.store().set_status(ref, std::nullopt, tokens::AccountStatus::revoked,
                                                    "disconnected on request", now_ms(), true, events);
  if (!wiped) co_return Outcome::defer("the token store cannot be written now", "token_store", std::chrono::seconds(5));
  co_return Outcome::success({{"account", ref.account}, {"platform", ref.platform}, {"revoked", true}});
}

}  // namespace

net::awaitable<PagesAnswer> list_pages(http::HttpClient& http, const FacebookOptions& options,
                                       const Secret& user_token) {
  PagesAnswer out;
  const auto graph = graph_options(options);
  std::string after;
  for (int page = 0; page < 20; ++page) {
    graph::GraphCall call;
    call.path = "/me/accounts";
    call.params = {{"fields", "id,name,access_token,category,tasks"}, {"limit", "100"}};
    if (!after.empty()) call.params.emplace_back("after", after);
    call.token = &user_token;
    auto answer = co_await http.request(graph::build_request(graph, call));
    if (!answer) {
      out.error = "me/accounts did not answer: " + answer.error().message;
      co_return out;
    }
    if (!answer->ok()) {
      const auto error = graph::parse_error(answer->body);
      out.error = "me/accounts failed (" +
                  (error ? graph_code(error->code, error->subcode) : "http_" + std::to_string(answer->status)) + ")";
      co_return out;
    }
    auto pages = parse_accounts(graph::parse_body(answer->body), after);
    for (auto& p : pages) out.pages.push_back(std::move(p));
    if (after.empty()) break;
  }
  out.ok = true;
  co_return out;
}

std::unique_ptr<jobs::PlatformAdapter> make_facebook_platform(errors::CallGuard& guard, http::HttpClient& http,
                                                              tokens::TokenProvider& provider,
                                                              const FacebookOptions& options) {
  return std::make_unique<FacebookPlatform>(guard, http, provider, options);
}

std::unique_ptr<platforms::TokenCalls> make_facebook_token_calls(http::HttpClient& http,
                                                                 const FacebookOptions& options) {
  return std::make_unique<FacebookTokenCalls>(http, options);
}

}  // namespace schedulo::facebook
