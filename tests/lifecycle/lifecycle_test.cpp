// The token lifecycle (issue 13, label `lifecycle`), against the sandbox emulators and a real Redis:
// the connect flow of every platform driven by an HTTP client that follows the redirects (the
// emulators' consent pages), with a denied consent, a missing scope, a replayed or forged state and a
// return_to outside the allow-list; the sweep's windows at their edges on the sandbox clock; two
// sweepers, one sweep; revocation with pending jobs. Each test has its own Redis key prefix.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sys/stat.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>

#include "common/rfc3339.hpp"
#include "daemon/api_server.hpp"
#include "daemon/callbacks.hpp"
#include "daemon/lifecycle_runtime.hpp"
#include "daemon/metrics.hpp"
#include "daemon/oauth_routes.hpp"
#include "jobs/intake.hpp"
#include "jobs/job_validation.hpp"
#include "jobs/token_revoke.hpp"
#include "jobs/token_sweep.hpp"
#include "outbox/records.hpp"
#include "platforms/airtable/schema.hpp"
#include "platforms/http/client.hpp"
#include "platforms/instagram/token_calls.hpp"
#include "platforms/oauth/connector.hpp"
#include "queue/notifier.hpp"
#include "queue/scripts.hpp"
#include "queue/store.hpp"
#include "tests/lifecycle/sandbox_calls.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"
#include "tokens/connect_store.hpp"
#include "tokens/notices.hpp"
#include "tokens/provider.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::daemon {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;
using test::run_for;

constexpr const char* kApiToken = "lifecycle-test-api-token-0123456789";
constexpr const char* kReturnTo = "https://app.example/connected";
constexpr std::int64_t kDay = 24LL * 3600 * 1000;

tokens::Vault vault_of(const std::string& text) {
  std::string error;
  auto v = tokens::Vault::from_text(text, error);
  if (!v) throw std::runtime_error(error);
  return std::move(*v);
}

std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

// The query parameters of a URL (decoded), fragment dropped.
std::map<std::string, std::string> query_of(const std::string& url) {
  std::map<std::string, std::string> out;
  const auto q = url.find('?');
  if (q == std::string::npos) return out;
  const auto end = url.find('#', q);
  for (auto& [k, v] :
       server::parse_query(url.substr(q + 1, end == std::string::npos ? std::string::npos : end - q - 1)))
    out[k] = v;
  return out;
}

// What one connect flow went through.
struct Flow {
  int start_status = 0;
  std::string start_body;
  std::string consent_url;
  std::string callback_url;
  int callback_status = 0;
  std::string callback_body;
  std::string final_url;  // where the daemon sent the browser back (return_to with the outcome)
  std::map<std::string, std::string> outcome;
};

class LifecycleTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() { sandbox_ = new test::SandboxProcess(); }
  static void TearDownTestSuite() {
    delete sandbox_;
    sandbox_ = nullptr;
  }

  void SetUp() override {
    redis::ClientOptions options;
    std::string error;
    options.url = *redis::parse_redis_url(test::shared_redis_url(), error);
    client_ = std::make_unique<redis::Client>(io_.get_executor(), options);
    client_->start();
    keys_ = std::make_unique<queue::Keys>(test::unique_prefix());
    store_ = std::make_unique<queue::Store>(*client_, *keys_, queue::QueueSettings{});
    tokens_ = std::make_unique<tokens::TokenStore>(*client_, *keys_, vault_);
    notifier_ = std::make_unique<queue::Notifier>(*client_, *keys_);
    http::ClientOptions ho;
    ho.policy = *http::AddressPolicy::from_entries({"127.0.0.0/8"}).policy;
    http_ = std::make_unique<http::HttpClient>(ho);
    base_ = "http://127.0.0.1:" + std::to_string(sandbox_->port());
    x_calls_ = test::make_x_sandbox_calls(*http_, base_);
    meta_calls_ = test::make_meta_sandbox_calls(*http_, base_);
    tokens::ProviderOptions po;
    po.owner = "lifecycle-test";
    po.on_needs_reauth = needs_reauth_notice(*notifier_);
    provider_ = std::make_unique<tokens::TokenProvider>(*tokens_, lookup(), po);
    for (const char* reset : {"/_sandbox/x/reset", "/_sandbox/graph/reset", "/_sandbox/tiktok/reset"})
      test::http(sandbox_->port(), "POST", reset, "{}", {{"Content-Type", "application/json"}});
    sandbox_now_ = test::http_json(sandbox_->port(), "GET", "/_sandbox/clock")["now_ms"].get<std::int64_t>();
  }

  void TearDown() override {
    if (api_) api_->stop();
    api_.reset();
    routes_.reset();
    client_->stop();
    io_.restart();
    io_.run_for(100ms);
  }

  tokens::TokenCallsLookup lookup() {
    return [this](std::string_view p) -> platforms::TokenCalls* {
      if (p == "x") return x_calls_.get();
      if (p == "facebook" || p == "instagram") return meta_calls_.get();
      return nullptr;
    };
  }

  platforms::oauth::ConnectSettings settings(const std::string& platform) const {
    if (platform == "x")
      return {base_ + "/x/i/oauth2/authorize", base_ + "/x", "sbx-x-client-id", "sbx-x-client-secret", 5s};
    if (platform == "tiktok")
      return {base_ + "/tiktok/v2/auth/authorize/", base_ + "/tiktok", "sbx-tiktok-client-id",
              "sbx-tiktok-client-secret", 5s};
    if (platform == "instagram-login")
      return {base_ + "/instagram/oauth/authorize",
              base_ + "/graph-instagram/v25.0",
              "sbx-meta-client-id",
              "sbx-meta-client-secret",
              5s,
              base_ + "/instagram-api/oauth/access_token"};
    return {base_ + "/facebook/v25.0/dialog/oauth", base_ + "/graph/v25.0", "sbx-meta-client-id",
            "sbx-meta-client-secret", 5s};
  }

  // Instagram's own token calls (platforms/instagram) on the sandbox, judging ages on its clock.
  std::unique_ptr<platforms::TokenCalls> instagram_calls() {
    instagram::InstagramOptions o;
    o.graph.base_url = base_ + "/graph/v25.0";
    o.login_base_url = base_ + "/graph-instagram/v25.0";
    o.app_id = "sbx-meta-client-id";
    o.graph.app_secret = Secret("sbx-meta-client-secret");
    o.now_ms = [this] { return sandbox_now_; };
    return instagram::make_token_calls(*http_, o);
  }

  // Moves the sandbox's clock (and the tests' view of it) to `t`.
  void set_sandbox_clock(std::int64_t t) {
    test::http_json(sandbox_->port(), "POST", "/_sandbox/clock", {{"set_ms", t}});
    sandbox_now_ = t;
  }

  // The API server with the OAuth routes, on a port picked first (the redirect URI names it).
  void start_api() {
    const auto port = free_port();
    states_ =
        std::make_unique<tokens::ConnectStore>(*client_, *keys_, vault_, "state-signing-key-0123456789", 600s, 900s);
    std::map<std::string, std::unique_ptr<platforms::oauth::Connector>> connectors;
    for (const char* p : {"instagram", "facebook", "tiktok", "x", "instagram-login"})
      connectors.emplace(p, platforms::oauth::make_connector(p, *http_, settings(p)));
    OAuthOptions o{"http://127.0.0.1:" + std::to_string(port), {kReturnTo}, [this] { return sandbox_now_; }};
    routes_ = std::make_unique<OAuthRoutes>(std::move(connectors), *states_, *tokens_, notifier_.get(), o);
    ApiOptions ao;
    ao.token = kApiToken;
    ao.server.handler_timeout = 900ms;  // the API default: the callback has a deadline of its own
    ApiDependencies deps{*store_, nullptr, nullptr, metrics_, [] { return true; }};
    deps.oauth = routes_.get();
    api_ = std::make_unique<ApiServer>(io_.get_executor(), std::move(deps), ao);
    ASSERT_FALSE(api_->listen("127.0.0.1", port));
    api_->start();
    api_base_ = "http://127.0.0.1:" + std::to_string(port);
  }

  net::awaitable<http::Response> get(const std::string& url) { return get_as(url, ""); }
  net::awaitable<http::Response> get_as(std::string url, std::string bearer) {
    http::Request r;
    r.url = std::move(url);
    if (!bearer.empty()) r.headers.set("Authorization", "Bearer " + bearer);
    auto answer = co_await http_->request(r);
    http::Response out;
    if (answer) out = std::move(*answer);
    co_return out;
  }

  static std::string location(const http::Response& r) { return std::string(r.headers.get("Location").value_or("")); }

  // Start -> the emulator's consent page -> the callback -> return_to, as a browser would go.
  // `edit_consent` changes the consent URL first (the user unticking a permission or refusing).
  Flow connect(const std::string& platform, const std::string& account, const std::string& return_to = kReturnTo,
               const std::function<std::string(std::string)>& edit_consent = {}) {
    return run_for(io_, [&]() -> net::awaitable<Flow> {
      Flow f;
      const std::vector<std::pair<std::string, std::string>> q{{"account", account}, {"return_to", return_to}};
      const std::string start_url = api_base_ + "/v1/oauth/" + platform + "/start?" + platforms::oauth::form_encode(q);
      auto start = co_await get(start_url);
      f.start_status = start.status;
      f.start_body = start.body;
      if (start.status != 302) co_return f;
      f.consent_url = location(start);
      const std::string consent_url = edit_consent ? edit_consent(f.consent_url) : f.consent_url;
      auto consent = co_await get(consent_url);
      f.callback_url = location(consent);
      if (consent.status != 302 || f.callback_url.empty()) co_return f;
      auto back = co_await get(f.callback_url);
      f.callback_status = back.status;
      f.callback_body = back.body;
      f.final_url = location(back);
      f.outcome = query_of(f.final_url);
      co_return f;
    }());
  }

  std::optional<tokens::StoredAccount> account(const std::string& platform, const std::string& name) {
    auto loaded = run_for(io_, tokens_->load({platform, name}));
    if (!loaded) throw std::runtime_error("redis");
    return *loaded;
  }

  std::vector<json> notifications() {
    std::vector<json> out;
    auto r = run_for(io_, client_->exec("LRANGE", keys_->notifications(), "0", "-1"));
    for (const auto& e : r->elements) out.push_back(json::parse(e.str));
    return out;
  }
  int count_kind(const std::string& kind) {
    int n = 0;
    for (const auto& j : notifications()) n += j.value("kind", "") == kind;
    return n;
  }

  // An account stored as if connected earlier (the sandbox need not know its tokens).
  void seed(const std::string& platform, const std::string& name, std::int64_t access_expires_at,
            const std::string& refresh = "", std::int64_t refresh_expires_at = 0, const std::string& scopes = "") {
    platforms::TokenSet t;
    t.access_token = Secret("seed-access-" + name);
    t.refresh_token = Secret(refresh);
    t.access_expires_at_ms = access_expires_at;
    t.refresh_expires_at_ms = refresh_expires_at;
    t.scopes = scopes;
    auto put = run_for(io_, tokens_->put({platform, name}, t, 0, tokens::AccountStatus::active, "", sandbox_now_));
    ASSERT_TRUE(put && put->written);
  }

  std::string job_state(const std::string& id, std::string* error = nullptr, std::string* code = nullptr) {
    auto r = run_for(io_, client_->exec("HMGET", keys_->job(id), "state", "error", "error_code"));
    if (error) *error = r->elements[1].str;
    if (code) *code = r->elements[2].str;
    return r->elements[0].str;
  }

  jobs::SweepOptions sweep_options_for(const std::string& owner) {
    jobs::SweepOptions o;
    o.owner = owner;
    o.now_ms = [this] { return sandbox_now_; };
    return o;
  }

  bool job_exists(const std::string& id) {
    auto r = run_for(io_, client_->exec("EXISTS", keys_->job(id)));
    return r->integer == 1;
  }

  static inline test::SandboxProcess* sandbox_ = nullptr;
  boost::asio::io_context io_;
  tokens::Vault vault_ = vault_of("k1 " + std::string(43, 'A') + "=\n");
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<queue::Keys> keys_;
  std::unique_ptr<queue::Store> store_;
  std::unique_ptr<tokens::TokenStore> tokens_;
  std::unique_ptr<queue::Notifier> notifier_;
  std::unique_ptr<http::HttpClient> http_;
  std::unique_ptr<platforms::TokenCalls> x_calls_;
  std::unique_ptr<platforms::TokenCalls> meta_calls_;
  std::unique_ptr<tokens::TokenProvider> provider_;
  std::unique_ptr<tokens::ConnectStore> states_;
  std::unique_ptr<OAuthRoutes> routes_;
  Metrics metrics_;
  std::unique_ptr<ApiServer> api_;
  std::string base_;
  std::string api_base_;
  std::int64_t sandbox_now_ = 0;
};

// ---- key names and the allow-list ---------------------------------------------------------------------

TEST_F(LifecycleTest, LuaAndCppBuildTheSameKeyNames) {
  redis::Args args{keys_->prefix(), "n0nce", "p3nding"};
  auto r = run_for(io_, client_->eval(queue::script("lifecycle_key_names"), {}, args));
  ASSERT_TRUE(r && r->is_array());
  const std::vector<std::string> cpp{keys_->oauth_state("n0nce"), keys_->oauth_pending("p3nding"), keys_->sweep_lease(),
                                     keys_->sweep_checks(), keys_->sweep_cursor()};
  ASSERT_EQ(r->elements.size(), cpp.size());
  for (std::size_t i = 0; i < cpp.size(); ++i) EXPECT_EQ(r->elements[i].str, cpp[i]);
}

TEST_F(LifecycleTest, ReturnToMustMatchTheAllowList) {
  const std::vector<std::string> allow{"https://app.example/connected", "https://other.example/oauth/"};
  EXPECT_TRUE(return_to_allowed("https://app.example/connected", allow));
  EXPECT_TRUE(return_to_allowed("https://app.example/connected?x=1#top", allow));
  EXPECT_TRUE(return_to_allowed("https://app.example/connected/done", allow));
  EXPECT_TRUE(return_to_allowed("https://other.example/oauth/a", allow));
  EXPECT_FALSE(return_to_allowed("https://app.example/connectedness", allow));
  EXPECT_FALSE(return_to_allowed("http://app.example/connected", allow));
  EXPECT_FALSE(return_to_allowed("https://app.example:8443/connected", allow));
  EXPECT_FALSE(return_to_allowed("https://app.example.evil.test/connected", allow));
  EXPECT_FALSE(return_to_allowed("https://evil.test/?https://app.example/connected", allow));
  EXPECT_FALSE(return_to_allowed("https://other.example/oauth/../admin", allow));
  EXPECT_FALSE(return_to_allowed("javascript:alert(1)", allow));
  EXPECT_FALSE(return_to_allowed("https://app.example/connected", {}));
}

// ---- the connect flow -----------------------------------------------------------------------------------

TEST_F(LifecycleTest, ConnectsXWithPkceAndStoresTheTokensSealed) {
  start_api();
  const auto f = connect("x", "acct-x");
  ASSERT_EQ(f.start_status, 302) << f.start_body;
  const auto consent = query_of(f.consent_url);
  EXPECT_EQ(consent.at("code_challenge_method"), "S256");
  EXPECT_EQ(consent.at("code_challenge").size(), 43u);
  EXPECT_EQ(consent.at("redirect_uri"), api_base_ + "/v1/oauth/x/callback");
  EXPECT_EQ(consent.at("scope"), "tweet.read tweet.write users.read offline.access media.write");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_TRUE(f.final_url.starts_with(std::string(kReturnTo) + "?")) << f.final_url;
  EXPECT_EQ(f.outcome.at("status"), "connected");
  EXPECT_EQ(f.outcome.at("account"), "acct-x");
  const auto a = account("x", "acct-x");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, tokens::AccountStatus::active);
  EXPECT_TRUE(a->access_sealed.starts_with("v1:")) << "sealed, never plaintext";
  EXPECT_FALSE(a->refresh_sealed.empty());
  EXPECT_EQ(a->access_expires_at_ms, sandbox_now_ + 7200 * 1000);
  EXPECT_NE(a->scopes.find("offline.access"), std::string::npos);
  // The stored token works at the emulator.
  std::string error;
  auto set = tokens_->open(*a, error);
  ASSERT_TRUE(set) << error;
  const auto me = run_for(io_, x_calls_->introspect(*set));
  EXPECT_TRUE(me.valid);
  EXPECT_EQ(f.final_url.find(set->access_token.reveal()), std::string::npos) << "no token in the redirect";
}

TEST_F(LifecycleTest, ConnectsTikTokWithPkce) {
  start_api();
  const auto f = connect("tiktok", "acct-tt");
  ASSERT_EQ(f.start_status, 302) << f.start_body;
  EXPECT_EQ(query_of(f.consent_url).at("scope"), "user.info.basic,video.publish,video.upload,video.list");
  EXPECT_FALSE(query_of(f.consent_url).at("code_challenge").empty());
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("status"), "connected") << f.final_url;
  const auto a = account("tiktok", "acct-tt");
  ASSERT_TRUE(a);
  EXPECT_GT(a->refresh_expires_at_ms, sandbox_now_) << "TikTok's refresh token has its own expiry";
  EXPECT_FALSE(a->refresh_sealed.empty());
}

TEST_F(LifecycleTest, ConnectsInstagramThroughFacebookLoginToItsPageToken) {
  start_api();
  const auto f = connect("instagram", "acct-ig");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("status"), "connected") << f.final_url;
  EXPECT_EQ(f.outcome.at("id"), "17841400000000001") << "the one Page with an Instagram business account";
  const auto a = account("instagram", "acct-ig");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->access_expires_at_ms, 0) << "a Page token from a long-lived user token never expires";
  // The stored token is a valid Page token.
  std::string error;
  auto set = tokens_->open(*a, error);
  ASSERT_TRUE(set);
  const auto check = run_for(io_, meta_calls_->introspect(*set));
  EXPECT_TRUE(check.valid);
}

TEST_F(LifecycleTest, ConnectsInstagramLogin) {
  start_api();
  const auto f = connect("instagram-login", "acct-igl");
  ASSERT_EQ(f.start_status, 302) << f.start_body;
  const auto consent = query_of(f.consent_url);
  EXPECT_TRUE(f.consent_url.starts_with(base_ + "/instagram/oauth/authorize?")) << "www.instagram.com's page";
  EXPECT_EQ(consent.at("scope"),
            "instagram_business_basic,instagram_business_content_publish,instagram_business_manage_insights");
  EXPECT_EQ(consent.at("redirect_uri"), api_base_ + "/v1/oauth/instagram-login/callback");
  EXPECT_EQ(consent.at("response_type"), "code");
  EXPECT_FALSE(consent.count("code_challenge")) << "no PKCE for Instagram Login";
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("status"), "connected") << f.final_url;
  EXPECT_EQ(f.outcome.at("platform"), "instagram-login");
  EXPECT_EQ(f.outcome.at("id"), "17841400000000002") << "the Instagram Login account, read as an integer";
  EXPECT_EQ(f.outcome.at("username"), "schedulo.iglogin");
  // Stored as an Instagram account: the long-lived token (60 days), its scopes, sealed.
  EXPECT_FALSE(account("instagram-login", "acct-igl"));
  const auto a = account("instagram", "acct-igl");
  ASSERT_TRUE(a);
  EXPECT_EQ(a->status, tokens::AccountStatus::active);
  EXPECT_TRUE(a->access_sealed.starts_with("v1:"));
  EXPECT_TRUE(a->refresh_sealed.empty()) << "Instagram Login has no refresh token";
  EXPECT_EQ(a->access_expires_at_ms, sandbox_now_ + 5183944LL * 1000) << "ig_exchange_token's 60 days";
  EXPECT_NE(a->scopes.find("instagram_business_content_publish"), std::string::npos) << a->scopes;
  std::string error;
  auto set = tokens_->open(*a, error);
  ASSERT_TRUE(set) << error;
  EXPECT_EQ(f.final_url.find(set->access_token.reveal()), std::string::npos) << "no token in the redirect";
  // The stored token is the long-lived one and works on graph.instagram.com (GET /me).
  const auto ig = instagram_calls();
  const auto me = run_for(io_, ig->introspect(*set));
  EXPECT_TRUE(me.valid) << me.message;
  // The three calls of the exchange, in order, on their hosts.
  const auto log = test::http_json(sandbox_->port(), "GET", "/_sandbox/log?api=instagram");
  std::vector<std::string> names;
  for (const auto& r : log.value("entries", json::array())) names.push_back(r.value("route", ""));
  const std::vector<std::string> want{"instagram.authorize", "instagram.login_token", "instagram.exchange_token",
                                      "instagram.me"};
  EXPECT_TRUE(std::search(names.begin(), names.end(), want.begin(), want.end()) != names.end()) << log.dump();
}

TEST_F(LifecycleTest, FacebookWithSeveralPagesWaitsForTheUsersChoice) {
  start_api();
  const auto f = connect("facebook", "acct-fb");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  ASSERT_EQ(f.outcome.at("status"), "choose") << f.final_url;
  const std::string pending = f.outcome.at("pending");
  EXPECT_FALSE(account("facebook", "acct-fb")) << "nothing stored before the choice";
  const std::string url = api_base_ + "/v1/oauth/facebook/pending/" + pending;
  // Bubble's backend reads the choices (Bearer), then records one.
  auto unauthorised = run_for(io_, get(url));
  EXPECT_EQ(unauthorised.status, 401);
  auto listed = run_for(io_, get_as(url, kApiToken));
  ASSERT_EQ(listed.status, 200) << listed.body;
  const auto choices = json::parse(listed.body)["choices"];
  ASSERT_EQ(choices.size(), 2u);
  EXPECT_EQ(listed.body.find("token"), std::string::npos) << "no Page token in the listing";
  auto post = [&](const std::string& body) {
    return run_for(io_, [&]() -> net::awaitable<http::Response> {
      http::Request r;
      r.method = "POST";
      r.url = url;
      r.body = body;
      r.headers.set("Authorization", std::string("Bearer ") + kApiToken);
      r.headers.set("Content-Type", "application/json");
      auto answer = co_await http_->request(r);
      http::Response out;
      if (answer) out = std::move(*answer);
      co_return out;
    }());
  };
  EXPECT_EQ(post(R"({"id":"not-a-choice"})").status, 400);
  const std::string chosen = choices[1]["id"].get<std::string>();
  auto recorded = post(json{{"id", chosen}}.dump());
  ASSERT_EQ(recorded.status, 200) << recorded.body;
  EXPECT_EQ(json::parse(recorded.body)["id"], chosen);
  EXPECT_EQ(post(json{{"id", chosen}}.dump()).status, 404) << "single use";
  ASSERT_TRUE(account("facebook", "acct-fb"));
}

TEST_F(LifecycleTest, DeniedConsentIsReportedBackAndStoresNothing) {
  start_api();
  // X: the user clicks "Cancel" on the consent page.
  auto f = connect("x", "acct-deny", kReturnTo, [](std::string url) { return url + "&sandbox_decision=deny"; });
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("status"), "error");
  EXPECT_EQ(f.outcome.at("error"), "access_denied");
  EXPECT_FALSE(account("x", "acct-deny"));
  // Facebook Login: the dialog refuses.
  test::http_json(sandbox_->port(), "POST", "/_sandbox/graph/consent", {{"facebook", {{"deny", true}}}});
  f = connect("instagram", "acct-deny");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("error"), "access_denied");
  EXPECT_FALSE(account("instagram", "acct-deny"));
  // Facebook Pages, through the same dialog.
  f = connect("facebook", "acct-deny");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("error"), "access_denied");
  EXPECT_FALSE(account("facebook", "acct-deny"));
  // TikTok.
  f = connect("tiktok", "acct-deny", kReturnTo, [](std::string url) { return url + "&sandbox_deny=1"; });
  EXPECT_EQ(f.outcome.at("error"), "access_denied");
  EXPECT_FALSE(account("tiktok", "acct-deny"));
  // Instagram Login: www.instagram.com's page refuses.
  test::http_json(sandbox_->port(), "POST", "/_sandbox/graph/consent", {{"instagram", {{"deny", true}}}});
  f = connect("instagram-login", "acct-deny");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("status"), "error");
  EXPECT_EQ(f.outcome.at("error"), "access_denied");
  EXPECT_FALSE(account("instagram", "acct-deny"));
}

TEST_F(LifecycleTest, AMissingScopeIsReportedNeverAccepted) {
  start_api();
  // X: the user unticks media.write.
  auto f = connect("x", "acct-scope", kReturnTo, [](std::string url) {
    const auto at = url.find("%20media.write");
    return at == std::string::npos ? url : url.erase(at, std::string("%20media.write").size());
  });
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("error"), "missing_scope") << f.final_url;
  EXPECT_EQ(f.outcome.at("missing"), "media.write");
  EXPECT_FALSE(account("x", "acct-scope"));
  // Instagram: the Facebook dialog's user declines publishing.
  test::http_json(sandbox_->port(), "POST", "/_sandbox/graph/consent",
                  {{"facebook", {{"decline", json::array({"instagram_content_publish"})}}}});
  f = connect("instagram", "acct-scope");
  EXPECT_EQ(f.outcome.at("error"), "missing_scope") << f.final_url;
  EXPECT_EQ(f.outcome.at("missing"), "instagram_content_publish");
  EXPECT_FALSE(account("instagram", "acct-scope"));
  // TikTok: video.list unticked.
  f = connect("tiktok", "acct-scope", kReturnTo, [](std::string url) {
    const auto at = url.find("%2Cvideo.list");
    return at == std::string::npos ? url : url.erase(at, std::string("%2Cvideo.list").size());
  });
  EXPECT_EQ(f.outcome.at("missing"), "video.list") << f.final_url;
  EXPECT_FALSE(account("tiktok", "acct-scope"));
  // Facebook Pages: the user declines publishing on the Pages.
  test::http_json(sandbox_->port(), "POST", "/_sandbox/graph/consent",
                  {{"facebook", {{"decline", json::array({"pages_manage_posts"})}}}});
  f = connect("facebook", "acct-scope");
  EXPECT_EQ(f.outcome.at("error"), "missing_scope") << f.final_url;
  EXPECT_EQ(f.outcome.at("missing"), "pages_manage_posts");
  EXPECT_FALSE(account("facebook", "acct-scope"));
  // Instagram Login: the user unticks insights.
  test::http_json(sandbox_->port(), "POST", "/_sandbox/graph/consent",
                  {{"instagram", {{"decline", json::array({"instagram_business_manage_insights"})}}}});
  f = connect("instagram-login", "acct-scope");
  ASSERT_EQ(f.callback_status, 302) << f.callback_body;
  EXPECT_EQ(f.outcome.at("error"), "missing_scope") << f.final_url;
  EXPECT_EQ(f.outcome.at("missing"), "instagram_business_manage_insights");
  EXPECT_FALSE(account("instagram", "acct-scope"));
}

TEST_F(LifecycleTest, AReplayedOrForgedStateIsRefused) {
  start_api();
  const auto f = connect("x", "acct-state");
  ASSERT_EQ(f.outcome.at("status"), "connected");
  const auto version = account("x", "acct-state")->version;
  // The same callback again (a replay): the state was used.
  auto replay = run_for(io_, get(f.callback_url));
  EXPECT_EQ(replay.status, 400);
  EXPECT_NE(replay.body.find("state_used_or_expired"), std::string::npos) << replay.body;
  EXPECT_FALSE(replay.headers.contains("Location"));
  // A forged state (signature changed) and one that is not a state at all.
  const auto state = query_of(f.callback_url).at("state");
  std::string forged = state;
  forged.back() = forged.back() == '0' ? '1' : '0';
  for (const std::string& s : {forged, std::string("nonsense"), std::string()}) {
    const std::string target = api_base_ + "/v1/oauth/x/callback?code=abc&state=" + platforms::oauth::percent_encode(s);
    auto r = run_for(io_, get(target));
    EXPECT_EQ(r.status, 400) << s;
    EXPECT_NE(r.body.find("invalid_state"), std::string::npos) << r.body;
  }
  EXPECT_EQ(account("x", "acct-state")->version, version) << "nothing stored by the refused callbacks";
}

TEST_F(LifecycleTest, StateReplayOrForgeryEveryPlatform) {
  start_api();
  std::string x_state;
  for (const std::string platform : {"x", "tiktok", "facebook", "instagram", "instagram-login"}) {
    const std::string acct = "acct-st-" + platform;
    const auto f = connect(platform, acct);
    ASSERT_EQ(f.callback_status, 302) << platform << ": " << f.callback_body;
    EXPECT_NE(f.outcome.at("status"), "error") << platform << ": " << f.final_url;
    const std::string stored_as = platform == "instagram-login" ? "instagram" : platform;
    const auto before = account(stored_as, acct);
    // Replayed: the state was used.
    auto replay = run_for(io_, get(f.callback_url));
    EXPECT_EQ(replay.status, 400) << platform;
    EXPECT_NE(replay.body.find("state_used_or_expired"), std::string::npos) << platform << ": " << replay.body;
    EXPECT_FALSE(replay.headers.contains("Location")) << platform;
    // Forged: its signature changed.
    std::string forged = query_of(f.callback_url).at("state");
    if (platform == "x") x_state = forged;
    forged.back() = forged.back() == '0' ? '1' : '0';
    const std::string target =
        api_base_ + "/v1/oauth/" + platform + "/callback?code=abc&state=" + platforms::oauth::percent_encode(forged);
    auto r = run_for(io_, get(target));
    EXPECT_EQ(r.status, 400) << platform;
    EXPECT_NE(r.body.find("invalid_state"), std::string::npos) << platform << ": " << r.body;
    const auto after = account(stored_as, acct);
    EXPECT_EQ(before.has_value(), after.has_value()) << platform;
    if (before && after) {
      EXPECT_EQ(before->version, after->version) << platform << ": nothing stored";
    }
  }
  // A fresh state of one platform's flow does not finish another's.
  const auto started = connect("x", "acct-st-cross", kReturnTo, [](std::string) { return std::string(); });
  const auto fresh = query_of(started.consent_url).at("state");
  auto cross = run_for(
      io_,
      get(api_base_ + "/v1/oauth/instagram-login/callback?code=abc&state=" + platforms::oauth::percent_encode(fresh)));
  EXPECT_EQ(cross.status, 400);
  EXPECT_NE(cross.body.find("invalid_state"), std::string::npos) << cross.body;
  EXPECT_FALSE(account("instagram", "acct-st-cross"));
}

TEST_F(LifecycleTest, AReturnToOutsideTheAllowListIsRefusedAtTheStart) {
  start_api();
  for (const std::string& bad : {std::string("https://evil.example/steal"), std::string("https://app.example/other")}) {
    const auto f = connect("x", "acct-rt", bad);
    EXPECT_EQ(f.start_status, 400) << bad;
    EXPECT_NE(f.start_body.find("return_to_not_allowed"), std::string::npos);
    EXPECT_TRUE(f.consent_url.empty()) << "never redirected";
  }
  for (const std::string platform : {"tiktok", "facebook", "instagram", "instagram-login"}) {
    const auto f = connect(platform, "acct-rt", "https://evil.example/steal");
    EXPECT_EQ(f.start_status, 400) << platform;
    EXPECT_NE(f.start_body.find("return_to_not_allowed"), std::string::npos) << platform;
    EXPECT_TRUE(f.consent_url.empty()) << platform << ": never redirected";
  }
  const auto unknown = connect("myspace", "acct-rt");
  EXPECT_EQ(unknown.start_status, 404);
}

TEST_F(LifecycleTest, ReconnectingAnAccountIsNotifiedAndClearsItsEarlierNotices) {
  start_api();
  ASSERT_EQ(connect("x", "acct-re").outcome.at("status"), "connected");
  EXPECT_EQ(count_kind("reconnected"), 0) << "a first connection is not a reconnection";
  auto marked = run_for(io_, tokens_->set_status({"x", "acct-re"}, std::nullopt, tokens::AccountStatus::needs_reauth,
                                                 "test", sandbox_now_, false));
  ASSERT_TRUE(marked && *marked);
  ASSERT_TRUE(run_for(io_, tokens::notify_needs_reauth(*notifier_, {"x", "acct-re"}, "test")));
  ASSERT_EQ(connect("x", "acct-re").outcome.at("status"), "connected");
  EXPECT_EQ(account("x", "acct-re")->status, tokens::AccountStatus::active);
  EXPECT_EQ(count_kind("reconnected"), 1);
  // Its needs_reauth notice can be sent again at once.
  EXPECT_TRUE(run_for(io_, tokens::notify_needs_reauth(*notifier_, {"x", "acct-re"}, "again")));
}

// ---- the sweep ------------------------------------------------------------------------------------------

TEST_F(LifecycleTest, SweepWindowsAtTheirEdges) {
  const auto o = sweep_options_for("sweeper");
  const std::int64_t t = sandbox_now_;
  const std::int64_t ahead = std::chrono::duration_cast<std::chrono::milliseconds>(o.refresh_ahead).count();
  const std::int64_t rt_ahead = std::chrono::duration_cast<std::chrono::milliseconds>(o.refresh_token_ahead).count();
  const std::string ig_scopes = "instagram_business_basic,instagram_business_content_publish";
  // Instagram Login (renews its own access token): on the edge of the window, and just past it.
  seed("instagram", "ig-edge", t + ahead, "", 0, ig_scopes);
  seed("instagram", "ig-out", t + ahead + 1, "", 0, ig_scopes);
  // TikTok refresh tokens: on the edge of their own window, and just past it.
  seed("tiktok", "tt-edge", t + 7200 * 1000, "rft-1", t + rt_ahead);
  seed("tiktok", "tt-out", t + 7200 * 1000, "rft-2", t + rt_ahead + 1);
  // X: short-lived, renewed on use: the sweep leaves it.
  seed("x", "x-idle", t + 7200 * 1000, "xrt-1");
  // X with a post due at the edge of sweep.posts_ahead_s, its token expiring before the post.
  seed("x", "x-post", t + 3600 * 1000, "xrt-2");
  seed("x", "x-late-post", t + 3600 * 1000, "xrt-3");
  auto publish = [&](const std::string& id, const std::string& acct, std::int64_t run_at) {
    auto parsed = jobs::parse_job(
        json{{"id", id}, {"type", "publish"}, {"platform", "x"}, {"account", acct}, {"post", {{"text", "hello"}}}}
            .dump(),
        jobs::ValidationContext{});
    ASSERT_TRUE(parsed.job);
    auto nj = jobs::to_new_job(std::move(*parsed.job), 3);
    nj.run_at_ms = run_at;
    std::vector<queue::NewJob> batch{nj};
    ASSERT_TRUE(run_for(io_, store_->enqueue(batch, t)));
  };
  publish("post-edge", "x-post", t + 3600 * 1000);
  publish("post-late", "x-late-post", t + 3600 * 1000 + 1);

  jobs::TokenSweep sweep(*store_, *tokens_, *notifier_, {}, nullptr, o);
  const auto report = run_for(io_, sweep.sweep_once());
  EXPECT_FALSE(report.failed);
  const std::int64_t bucket = t / (3600 * 1000);
  EXPECT_TRUE(job_exists(jobs::sweep_job_id({"instagram", "ig-edge"}, bucket)));
  EXPECT_FALSE(job_exists(jobs::sweep_job_id({"instagram", "ig-out"}, bucket)));
  EXPECT_TRUE(job_exists(jobs::sweep_job_id({"tiktok", "tt-edge"}, bucket)));
  EXPECT_FALSE(job_exists(jobs::sweep_job_id({"tiktok", "tt-out"}, bucket)));
  EXPECT_FALSE(job_exists(jobs::sweep_job_id({"x", "x-idle"}, bucket)));
  EXPECT_TRUE(job_exists(jobs::sweep_job_id({"x", "x-post"}, bucket)));
  EXPECT_FALSE(job_exists(jobs::sweep_job_id({"x", "x-late-post"}, bucket)));
  EXPECT_EQ(report.refresh_jobs, 3);
  auto type =
      run_for(io_, client_->exec("HGET", keys_->job(jobs::sweep_job_id({"tiktok", "tt-edge"}, bucket)), "type"));
  EXPECT_EQ(type->str, "refresh_token");
  // Again in the same hour: the same ids, nothing new (at most one pending refresh per account).
  const auto again = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(again.refresh_jobs, 0);
  EXPECT_EQ(again.duplicates, 3);
}

// An account connected with Instagram Login: the sweep leaves it until its 60-day token enters the
// refresh window (sweep.refresh_ahead_s, inclusive edge, on the sandbox clock), then enqueues one
// refresh_token job, and the refresh (ig_refresh_token on the sandbox) stores a token valid 60 days on.
TEST_F(LifecycleTest, SweepRenewsInstagramLoginInItsWindow) {
  start_api();
  ASSERT_EQ(connect("instagram-login", "acct-igs").outcome.at("status"), "connected");
  const tokens::AccountRef ref{"instagram", "acct-igs"};
  const auto connected = account("instagram", "acct-igs");
  ASSERT_TRUE(connected);
  const std::int64_t expires_at = connected->access_expires_at_ms;
  auto ig = instagram_calls();
  tokens::TokenCallsLookup calls = [&ig](std::string_view p) -> platforms::TokenCalls* {
    return p == "instagram" ? ig.get() : nullptr;
  };
  tokens::ProviderOptions po;
  po.owner = "lifecycle-test";
  po.now_ms = [this] { return sandbox_now_; };
  tokens::TokenProvider provider(*tokens_, calls, po);
  auto o = sweep_options_for("sweeper");
  const std::int64_t ahead = std::chrono::duration_cast<std::chrono::milliseconds>(o.refresh_ahead).count();
  jobs::TokenSweep sweep(*store_, *tokens_, *notifier_, calls, &provider, o);
  auto bucket = [&] { return sandbox_now_ / (3600 * 1000); };
  // Just connected: nothing to do.
  auto report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.refresh_jobs, 0);
  EXPECT_EQ(report.introspected, 0) << "a token with an expiry is not a Page token";
  // One millisecond before its window.
  set_sandbox_clock(expires_at - ahead - 1);
  report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.refresh_jobs, 0);
  EXPECT_EQ(report.expiring, 0) << "it renews itself: no expiring notice";
  EXPECT_FALSE(job_exists(jobs::sweep_job_id(ref, bucket())));
  // On the window's edge: one refresh job.
  set_sandbox_clock(expires_at - ahead);
  report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.refresh_jobs, 1);
  EXPECT_EQ(report.expiring, 0);
  const std::string job_id = jobs::sweep_job_id(ref, bucket());
  ASSERT_TRUE(job_exists(job_id));
  auto fields = run_for(io_, client_->exec("HMGET", keys_->job(job_id), "type", "platform", "account"));
  EXPECT_EQ(fields->elements[0].str, "refresh_token");
  EXPECT_EQ(fields->elements[1].str, "instagram");
  EXPECT_EQ(fields->elements[2].str, "acct-igs");
  EXPECT_EQ(run_for(io_, sweep.sweep_once()).duplicates, 1) << "at most one pending refresh per account";
  // What that job does: ig_refresh_token at the sandbox; the new token lasts 60 days from now.
  const auto answer = run_for(io_, provider.refresh_now(ref));
  ASSERT_EQ(answer.state, tokens::TokenState::ready) << answer.message;
  EXPECT_TRUE(answer.refreshed);
  const auto renewed = account("instagram", "acct-igs");
  ASSERT_TRUE(renewed);
  EXPECT_GT(renewed->version, connected->version);
  EXPECT_EQ(renewed->access_expires_at_ms, sandbox_now_ + 5184000LL * 1000) << "ig_refresh_token's 60 days";
  EXPECT_EQ(renewed->status, tokens::AccountStatus::active);
  std::string error;
  auto set = tokens_->open(*renewed, error);
  ASSERT_TRUE(set) << error;
  EXPECT_TRUE(run_for(io_, ig->introspect(*set)).valid);
  // Out of the window again: the next pass leaves it.
  set_sandbox_clock(sandbox_now_ + 3600 * 1000);
  EXPECT_EQ(run_for(io_, sweep.sweep_once()).refresh_jobs, 0);
}

TEST_F(LifecycleTest, ATokenNothingCanRenewIsToldAsExpiringWithItsDate) {
  auto o = sweep_options_for("sweeper");
  const std::int64_t notice = std::chrono::duration_cast<std::chrono::milliseconds>(o.expiring_notice).count();
  // A Facebook long-lived user token (no refresh token, not renewable): at the notice's edge, and past it.
  seed("facebook", "fb-user", sandbox_now_ + notice);
  seed("facebook", "fb-later", sandbox_now_ + notice + 1);
  jobs::TokenSweep sweep(*store_, *tokens_, *notifier_, lookup(), provider_.get(), o);
  const auto report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.expiring, 1);
  EXPECT_EQ(report.refresh_jobs, 0) << "nothing to renew it with";
  const auto all = notifications();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0]["kind"], "token_expiring");
  EXPECT_EQ(all[0]["account"], "fb-user");
  EXPECT_NE(all[0]["message"].get<std::string>().find(format_rfc3339_ms(sandbox_now_ + notice)), std::string::npos)
      << all[0]["message"];
  EXPECT_EQ(account("facebook", "fb-user")->status, tokens::AccountStatus::expiring);
  EXPECT_EQ(account("facebook", "fb-later")->status, tokens::AccountStatus::active);
  // Deduplicated: the next pass tells nobody again.
  EXPECT_EQ(run_for(io_, sweep.sweep_once()).expiring, 0);
  EXPECT_EQ(notifications().size(), 1u);
}

TEST_F(LifecycleTest, PageTokensAreIntrospectedAndAnInvalidOneNeedsReauth) {
  start_api();
  ASSERT_EQ(connect("instagram", "acct-page").outcome.at("status"), "connected");
  auto o = sweep_options_for("sweeper");
  jobs::TokenSweep sweep(*store_, *tokens_, *notifier_, lookup(), provider_.get(), o);
  auto report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.discovered, 1);
  EXPECT_EQ(report.introspected, 1);
  EXPECT_EQ(report.needs_reauth, 0);
  EXPECT_EQ(report.expiring, 0) << "data access lasts 90 days";
  // Not due again until sweep.check_every_s.
  EXPECT_EQ(run_for(io_, sweep.sweep_once()).introspected, 0);
  // The user removes the app: every token of theirs dies; the next check finds it.
  test::http(sandbox_->port(), "DELETE",
             "/graph/v25.0/100000000000099/permissions?access_token=sbx-meta-user-demo-0001");
  sandbox_now_ += std::chrono::duration_cast<std::chrono::milliseconds>(o.check_every).count();
  report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.introspected, 1);
  EXPECT_EQ(report.needs_reauth, 1);
  EXPECT_EQ(account("instagram", "acct-page")->status, tokens::AccountStatus::needs_reauth);
  EXPECT_EQ(count_kind("needs_reauth"), 1);
  const auto n = notifications().front();
  EXPECT_NE(n["message"].get<std::string>().find("no longer valid"), std::string::npos) << n["message"];
}

TEST_F(LifecycleTest, DataAccessEndingSoonIsTold) {
  start_api();
  ASSERT_EQ(connect("instagram", "acct-da").outcome.at("status"), "connected");
  auto o = sweep_options_for("sweeper");
  o.expiring_notice = std::chrono::seconds(91LL * 24 * 3600);  // the sandbox's data access lasts 90 days
  jobs::TokenSweep sweep(*store_, *tokens_, *notifier_, lookup(), provider_.get(), o);
  const auto report = run_for(io_, sweep.sweep_once());
  EXPECT_EQ(report.expiring, 1);
  EXPECT_EQ(count_kind("token_expiring"), 1);
  EXPECT_EQ(account("instagram", "acct-da")->status, tokens::AccountStatus::expiring);
}

// data_access_expires_at at the notice window's far edge is told; one second beyond it is not.
TEST_F(LifecycleTest, DataAccessNoticeAtItsEdge) {
  set_sandbox_clock(sandbox_now_ / 1000 * 1000);  // whole seconds, as debug_token counts
  start_api();
  ASSERT_EQ(connect("instagram", "acct-dae").outcome.at("status"), "connected");
  std::string error;
  auto set = tokens_->open(*account("instagram", "acct-dae"), error);
  ASSERT_TRUE(set) << error;
  const auto check = run_for(io_, meta_calls_->introspect(*set));
  ASSERT_GT(check.data_access_expires_at_ms, sandbox_now_);
  const auto until = std::chrono::seconds((check.data_access_expires_at_ms - sandbox_now_) / 1000);
  auto o = sweep_options_for("sweeper");
  o.expiring_notice = until - std::chrono::seconds(1);  // ends one second beyond the window
  jobs::TokenSweep before(*store_, *tokens_, *notifier_, lookup(), provider_.get(), o);
  auto report = run_for(io_, before.sweep_once());
  EXPECT_EQ(report.introspected, 1);
  EXPECT_EQ(report.expiring, 0);
  EXPECT_EQ(account("instagram", "acct-dae")->status, tokens::AccountStatus::active);
  // Due again (as after sweep.check_every_s), with the window reaching it exactly.
  ASSERT_TRUE(run_for(io_, client_->exec("ZADD", keys_->sweep_checks(), "0", "instagram:acct-dae")));
  o.expiring_notice = until;
  jobs::TokenSweep edge(*store_, *tokens_, *notifier_, lookup(), provider_.get(), o);
  report = run_for(io_, edge.sweep_once());
  EXPECT_EQ(report.introspected, 1);
  EXPECT_EQ(report.expiring, 1);
  EXPECT_EQ(account("instagram", "acct-dae")->status, tokens::AccountStatus::expiring);
  const auto all = notifications();
  ASSERT_EQ(all.size(), 1u);
  EXPECT_NE(all[0]["message"].get<std::string>().find(format_rfc3339_ms(check.data_access_expires_at_ms)),
            std::string::npos)
      << all[0]["message"];
}

TEST_F(LifecycleTest, TwoDaemonsOneSweep) {
  auto o1 = sweep_options_for("daemon-1");
  auto o2 = sweep_options_for("daemon-2");
  o1.interval = o2.interval = 50ms;
  jobs::TokenSweep a(*store_, *tokens_, *notifier_, {}, nullptr, o1);
  jobs::TokenSweep b(*store_, *tokens_, *notifier_, {}, nullptr, o2);
  // Both loops on one event loop, as two daemons on one Redis; watch until five passes were made.
  const bool done = run_for(io_, [&]() -> net::awaitable<bool> {
    auto ex = co_await boost::asio::this_coro::executor;
    boost::asio::co_spawn(ex, a.run(ex), boost::asio::detached);
    boost::asio::co_spawn(ex, b.run(ex), boost::asio::detached);
    net::Timer tick(ex);
    for (int i = 0; i < 400 && a.passes() + b.passes() < 5; ++i) {
      tick.expires_after(25ms);
      co_await tick.async_wait();
    }
    co_return a.passes() + b.passes() >= 5;
  }());
  ASSERT_TRUE(done) << "no sweep within the limit";
  EXPECT_TRUE(a.passes() == 0 || b.passes() == 0) << a.passes() << " and " << b.passes();
  jobs::TokenSweep& leader = a.passes() > 0 ? a : b;
  jobs::TokenSweep& other = a.passes() > 0 ? b : a;
  // The leader stops (giving the lease up): the other takes over.
  leader.stop();
  const bool took_over = run_for(io_, [&]() -> net::awaitable<bool> {
    net::Timer tick(co_await boost::asio::this_coro::executor);
    for (int i = 0; i < 400 && other.passes() == 0; ++i) {
      tick.expires_after(25ms);
      co_await tick.async_wait();
    }
    co_return other.passes() > 0;
  }());
  EXPECT_TRUE(took_over);
  other.stop();
  io_.restart();
  io_.run_for(200ms);
}

TEST_F(LifecycleTest, TheSweepCommandRunsOnePassOnDemand) {
  const std::string dir = ::testing::TempDir();
  const std::string key_file =
      dir + "/lifecycle-vault-" + keys_->prefix().substr(keys_->prefix().rfind(':') + 1) + ".keys";
  const std::string config_file = key_file + ".json";
  {
    std::ofstream keys(key_file);
    keys << "k1 " << std::string(43, 'A') << "=\n";
    std::ofstream config(config_file);
    config << json{{"redis", {{"url", test::shared_redis_url()}, {"prefix", keys_->prefix()}}},
                   {"vault", {{"key_file", key_file}}}}
                  .dump();
  }
  ::chmod(key_file.c_str(), 0600);
  // An Instagram Login token two days from its expiry, on the wall clock the command uses.
  const auto now = now_epoch_ms();
  platforms::TokenSet t;
  t.access_token = Secret("seed-access-cli");
  t.access_expires_at_ms = now + 2 * kDay;
  t.scopes = "instagram_business_basic,instagram_business_content_publish";
  auto put = run_for(io_, tokens_->put({"instagram", "ig-cli"}, t, 0, tokens::AccountStatus::active, "", now));
  ASSERT_TRUE(put && put->written);
  auto first = test::run_shell({SCHEDULO_BIN, "sweep", "--config", config_file});
  ASSERT_EQ(first.status, 0) << first.out;
  const auto report = json::parse(first.out.substr(first.out.rfind("{\"")));
  EXPECT_EQ(report["refresh_jobs"], 1) << first.out;
  EXPECT_EQ(report["complete"], true);
  auto second = test::run_shell({SCHEDULO_BIN, "sweep", "--config", config_file});
  ASSERT_EQ(second.status, 0) << second.out;
  EXPECT_EQ(json::parse(second.out.substr(second.out.rfind("{\"")))["already_pending"], 1) << second.out;
}

// `schedulo sweep` does what a daemon's sweep does for Page tokens: debug_token through the live
// platforms of its configuration; an invalid one is marked needs_reauth and told.
TEST_F(LifecycleTest, SweepCommandChecksPageTokens) {
  start_api();
  ASSERT_EQ(connect("instagram", "acct-cli-page").outcome.at("status"), "connected");
  const std::string dir = ::testing::TempDir();
  const std::string key_file =
      dir + "/lifecycle-pages-" + keys_->prefix().substr(keys_->prefix().rfind(':') + 1) + ".keys";
  const std::string config_file = key_file + ".json";
  {
    std::ofstream keys(key_file);
    keys << "k1 " << std::string(43, 'A') << "=\n";
    auto platform = [&](const std::string& api, const std::string& auth) {
      return json{{"base_url", base_ + api},
                  {"auth_url", base_ + auth},
                  {"client_id", "sbx-meta-client-id"},
                  {"client_secret", "sbx-meta-client-secret"}};
    };
    std::ofstream config(config_file);
    config << json{{"redis", {{"url", test::shared_redis_url()}, {"prefix", keys_->prefix()}}},
                   {"vault", {{"key_file", key_file}}},
                   {"workers", {{"mode", "live"}}},
                   {"security", {{"allow_private_hosts", {"127.0.0.0/8"}}}},
                   {"platforms",
                    {{"instagram", platform("/graph/v25.0", "/facebook/v25.0/dialog/oauth")},
                     {"facebook", platform("/graph/v25.0", "/facebook/v25.0/dialog/oauth")}}}}
                  .dump();
  }
  ::chmod(key_file.c_str(), 0600);
  auto report_of = [](const test::CommandResult& r) { return json::parse(r.out.substr(r.out.rfind("{\""))); };
  auto first = test::run_shell({SCHEDULO_BIN, "sweep", "--config", config_file});
  ASSERT_EQ(first.status, 0) << first.out;
  auto report = report_of(first);
  EXPECT_EQ(report["discovered_pages"], 1) << first.out;
  EXPECT_EQ(report["introspected"], 1) << first.out;
  EXPECT_EQ(report["needs_reauth"], 0);
  EXPECT_EQ(report["page_tokens"], "checked");
  EXPECT_EQ(account("instagram", "acct-cli-page")->status, tokens::AccountStatus::active);
  // The user removes the app; the account's check is due again (as after sweep.check_every_s).
  test::http(sandbox_->port(), "DELETE",
             "/graph/v25.0/100000000000099/permissions?access_token=sbx-meta-user-demo-0001");
  ASSERT_TRUE(run_for(io_, client_->exec("ZADD", keys_->sweep_checks(), "0", "instagram:acct-cli-page")));
  auto second = test::run_shell({SCHEDULO_BIN, "sweep", "--config", config_file});
  ASSERT_EQ(second.status, 0) << second.out;
  report = report_of(second);
  EXPECT_EQ(report["introspected"], 1) << second.out;
  EXPECT_EQ(report["needs_reauth"], 1) << second.out;
  EXPECT_EQ(account("instagram", "acct-cli-page")->status, tokens::AccountStatus::needs_reauth);
  EXPECT_EQ(count_kind("needs_reauth"), 1);
  EXPECT_EQ(second.out.find("sbx-meta-client-secret"), std::string::npos) << "no secret in the output";
}

// ---- revocation -----------------------------------------------------------------------------------------

TEST_F(LifecycleTest, RevocationRevokesWipesAndFailsThePendingJobs) {
  start_api();
  ASSERT_EQ(connect("x", "acct-rv").outcome.at("status"), "connected");
  std::string error;
  const auto before = account("x", "acct-rv");
  auto old_tokens = tokens_->open(*before, error);
  ASSERT_TRUE(old_tokens);
  // Pending work of the account: queued now, scheduled later, analytics; and another account's job.
  auto enqueue = [&](const std::string& id, const std::string& type, const std::string& acct, std::int64_t run_at) {
    json j{{"id", id}, {"type", type}, {"platform", "x"}, {"account", acct}};
    if (type == "publish") j["post"] = {{"text", "hi " + id}};
    auto parsed = jobs::parse_job(j.dump(), jobs::ValidationContext{});
    ASSERT_TRUE(parsed.job);
    // What intake records with each job (runtime.cpp): its Posts row, and its callback kept for an
    // ending before it starts.
    parsed.job->callback_url = "https://app.example/api/1.1/wf/job-done";
    parsed.job->run_at_ms = run_at > 0 ? std::optional<std::int64_t>(run_at) : std::nullopt;
    auto entries = outbox::intake_entries(*parsed.job, now_epoch_ms());
    if (auto cb = cancel_callback_entry(*parsed.job)) entries.push_back(std::move(*cb));
    auto nj = jobs::to_new_job(std::move(*parsed.job), 3);
    nj.run_at_ms = run_at;
    nj.outbox = queue::encode_outbox(entries);
    std::vector<queue::NewJob> batch{nj};
    ASSERT_TRUE(run_for(io_, store_->enqueue(batch, now_epoch_ms())));
  };
  const auto now = now_epoch_ms();
  enqueue("rv-now", "publish", "acct-rv", 0);
  enqueue("rv-later", "publish", "acct-rv", now + kDay);
  enqueue("rv-stats", "fetch_analytics", "acct-rv", 0);
  enqueue("rv-revoke", "revoke_token", "acct-rv", 0);
  enqueue("other-now", "publish", "acct-other", 0);
  jobs::Job job;
  job.id = "rv-revoke";
  job.type = jobs::JobType::revoke_token;
  job.platform = jobs::Platform::x;
  job.account = "acct-rv";
  jobs::JobContext ctx(*store_, job, queue::Lease{"rv-revoke", 1, 1, 3, "", ""},
                       std::chrono::steady_clock::now() + 60s);
  const auto outcome = run_for(io_, jobs::revoke_account_token(*provider_, *store_, ctx));
  ASSERT_EQ(outcome.kind, jobs::Outcome::Kind::succeeded) << outcome.error;
  EXPECT_EQ(outcome.result["platform_revoked"], true);
  EXPECT_EQ(outcome.result["failed_jobs"].size(), 3u);
  for (const char* id : {"rv-now", "rv-later", "rv-stats"}) {
    std::string message, code;
    EXPECT_EQ(job_state(id, &message, &code), "failed") << id;
    EXPECT_EQ(code, "account_revoked");
    EXPECT_NE(message.find("was disconnected"), std::string::npos) << message;
  }
  // Each failed job's outcome went through the outbox in the same step, like any final failure: its
  // Posts row says failed with the message, its callback carries the failure.
  auto item = [&](std::string_view dest, const std::string& key) {
    std::map<std::string, std::string> out;
    auto r = run_for(io_, client_->exec("HGETALL", keys_->outbox_item(std::string(dest) + "|" + key)));
    for (std::size_t i = 0; r && i + 1 < r->elements.size(); i += 2) out[r->elements[i].str] = r->elements[i + 1].str;
    return out;
  };
  auto queued = [&](std::string_view dest, const std::string& key) {
    auto r = run_for(io_, client_->exec("ZSCORE", keys_->outbox_queue(dest), key));
    return r && !r->is_nil();
  };
  namespace af = airtable::field;
  for (const char* id : {"rv-now", "rv-later"}) {
    const auto row = item(airtable::kPostsDest, id);
    ASSERT_TRUE(row.count(std::string("f:") + af::kState)) << id;
    EXPECT_EQ(json::parse(row.at(std::string("f:") + af::kState)), "failed") << id;
    EXPECT_EQ(json::parse(row.at(std::string("f:") + af::kErrorCode)), "account_revoked");
    EXPECT_NE(json::parse(row.at(std::string("f:") + af::kError)).get<std::string>().find("was disconnected"),
              std::string::npos);
    EXPECT_TRUE(queued(airtable::kPostsDest, id));
  }
  EXPECT_TRUE(item(airtable::kPostsDest, "rv-stats").empty()) << "analytics jobs have no Posts row";
  for (const char* id : {"rv-now", "rv-later", "rv-stats"}) {
    const auto cb = item(kCallbackDest, id);
    ASSERT_TRUE(cb.count("f:body")) << id;
    EXPECT_EQ(json::parse(cb.at("f:url")), "https://app.example/api/1.1/wf/job-done");
    const auto body = json::parse(cb.at("f:body"));
    EXPECT_EQ(body["job_id"], id);
    EXPECT_EQ(body["state"], "failed");
    EXPECT_EQ(body["error_code"], "account_revoked");
    EXPECT_NE(body["error"].get<std::string>().find("was disconnected"), std::string::npos);
    EXPECT_TRUE(body.contains("finished_at"));
    EXPECT_EQ(body["attempts"], 0);
    EXPECT_TRUE(queued(kCallbackDest, id));
  }
  EXPECT_TRUE(item(kCallbackDest, "other-now").empty()) << "another account's job has no outcome yet";
  EXPECT_EQ(job_state("other-now"), "queued") << "another account's job is untouched";
  EXPECT_EQ(job_state("rv-revoke"), "queued") << "the revoking job is settled by its dispatcher";
  const auto after = account("x", "acct-rv");
  EXPECT_EQ(after->status, tokens::AccountStatus::revoked);
  EXPECT_TRUE(after->access_sealed.empty());
  EXPECT_TRUE(after->refresh_sealed.empty());
  // The platform no longer takes the token.
  EXPECT_FALSE(run_for(io_, x_calls_->introspect(*old_tokens)).valid);
  // A second revoke_token (Bubble retried) is fine and fails nothing more.
  const auto again = run_for(io_, jobs::revoke_account_token(*provider_, *store_, ctx));
  EXPECT_EQ(again.kind, jobs::Outcome::Kind::succeeded);
  EXPECT_EQ(again.result["failed_jobs"].size(), 0u);
}

}  // namespace
}  // namespace schedulo::daemon
