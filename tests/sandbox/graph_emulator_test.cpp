// The Graph emulator's shared plumbing over HTTP, as the daemon's client will meet it: versioned
// paths, the error envelope, usage headers and throttles, the tokens of Facebook Login (dialog, code,
// fb_exchange_token, Page tokens from me/accounts, debug_token, revocation), session events, the
// Resumable Upload API, and the core's faults in Graph's shapes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <filesystem>
#include <memory>

#include "tests/sandbox/graph_support.hpp"

namespace schedulo::test {
namespace {

std::string hmac_hex(const std::string& key, const std::string& message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest.data(), &length);
  std::string out;
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

// The query parameters of a redirect Location (before any '#').
std::map<std::string, std::string> location_params(const std::string& location) {
  std::map<std::string, std::string> out;
  auto q = location.find('?');
  const auto hash = location.find('#');
  if (q == std::string::npos) return out;
  const auto query = location.substr(q + 1, hash == std::string::npos ? std::string::npos : hash - q - 1);
  std::size_t at = 0;
  while (at < query.size()) {
    auto amp = query.find('&', at);
    if (amp == std::string::npos) amp = query.size();
    const auto item = query.substr(at, amp - at);
    const auto eq = item.find('=');
    out[item.substr(0, eq)] = eq == std::string::npos ? "" : item.substr(eq + 1);
    at = amp + 1;
  }
  return out;
}

// One request over TLS with a client of OpenSSL's own that trusts only `ca_file`; the raw answer.
std::string tls_exchange(std::uint16_t port, const std::string& ca_file, const std::string& request) {
  std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)> ctx(SSL_CTX_new(TLS_client_method()), SSL_CTX_free);
  SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, nullptr);
  if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) return "<cannot load CA>";
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return "<cannot connect>";
  std::unique_ptr<SSL, decltype(&SSL_free)> ssl(SSL_new(ctx.get()), SSL_free);
  X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), "127.0.0.1");
  SSL_set_fd(ssl.get(), fd);
  std::string out;
  if (SSL_connect(ssl.get()) == 1) {
    SSL_write(ssl.get(), request.data(), static_cast<int>(request.size()));
    std::array<char, 4096> buf{};
    for (int n; (n = SSL_read(ssl.get(), buf.data(), static_cast<int>(buf.size()))) > 0;)
      out.append(buf.data(), static_cast<std::size_t>(n));
  } else {
    out = "<handshake failed>";
  }
  ::close(fd);
  return out;
}

class GraphEmulator : public GraphTest {
 protected:
  // Facebook Login end to end: the dialog's code, exchanged for a short-lived user token.
  std::string login(const std::string& scope, const std::string& redirect = "https://app.example/cb") {
    const auto dialog = get("/facebook/v25.0/dialog/oauth",
                            {{"client_id", kAppId}, {"redirect_uri", redirect}, {"state", "s-1"}, {"scope", scope}});
    EXPECT_EQ(dialog.status, 302);
    auto params = location_params(dialog.header("location"));
    EXPECT_EQ(params["state"], "s-1");
    const auto token = get(
        "/graph/v25.0/oauth/access_token",
        {{"client_id", kAppId}, {"client_secret", kAppSecret}, {"redirect_uri", redirect}, {"code", params["code"]}});
    EXPECT_EQ(token.status, 200) << token.body;
    return token.json().value("access_token", "");
  }
};

TEST_F(GraphEmulator, AnswersWithTheVersionAskedForAndTheDefaultWhenUnversioned) {
  const auto v24 = get(std::string("/graph/v24.0/") + kIgUser, {{"access_token", kIgPageToken}});
  EXPECT_EQ(v24.status, 200) << v24.body;
  EXPECT_EQ(v24.header("facebook-api-version"), "v24.0");
  const auto unversioned = get(std::string("/graph/") + kIgUser, {{"access_token", kIgPageToken}});
  EXPECT_EQ(unversioned.status, 200) << unversioned.body;
  EXPECT_EQ(unversioned.header("facebook-api-version"), "v25.0");
  EXPECT_EQ(unversioned.json()["id"], kIgUser);
}

TEST_F(GraphEmulator, AnExpiredVersionIsServedByTheOldestAvailableOne) {
  admin("POST", "/clock", {{"set", "2026-10-01T00:00:00Z"}});  // v20.0 ended on 2026-09-24
  const auto old = get(std::string("/graph/v19.0/") + kIgUser, {{"access_token", kIgPageToken}});
  EXPECT_EQ(old.status, 200) << old.body;
  EXPECT_EQ(old.header("facebook-api-version"), "v21.0");
  const auto future = get(std::string("/graph/v99.0/") + kIgUser, {{"access_token", kIgPageToken}});
  expect_error(future, 2500);
}

TEST_F(GraphEmulator, ErrorsUseTheEnvelopeForUnknownObjectsPathsAndFields) {
  const auto node = get("/graph/v25.0/123456789", {{"access_token", kIgPageToken}});
  EXPECT_EQ(node.status, 400);
  expect_error(node, 100, 33);
  EXPECT_NE(graph_error(node)["message"].get<std::string>().find("Object with ID '123456789' does not exist"),
            std::string::npos);
  expect_error(get(std::string("/graph/v25.0/") + kIgUser + "/nonsense", {{"access_token", kIgPageToken}}), 2500);
  const auto field =
      get(std::string("/graph/v25.0/") + kIgUser, {{"fields", "id,shoe_size"}, {"access_token", kIgPageToken}});
  expect_error(field, 100);
  EXPECT_EQ(graph_error(field)["message"],
            "(#100) Tried accessing nonexisting field (shoe_size) on node type (IGUser)");
}

TEST_F(GraphEmulator, TokenErrorsAre104And190WithTheirSubcodes) {
  const std::string user = std::string("/graph/v25.0/") + kIgUser;
  const auto none = get(user);
  expect_error(none, 104);
  EXPECT_NE(none.header("www-authenticate").find("invalid_token"), std::string::npos);
  expect_error(get(user, {{"access_token", "not-a-token"}}), 190);
  // An Instagram Login token means nothing on graph.facebook.com, and the reverse.
  expect_error(get(std::string("/graph/v25.0/") + kIgLoginUser, {{"access_token", kIgLoginToken}}), 190);
  expect_error(get(std::string("/graph-instagram/v25.0/") + kIgUser, {{"access_token", kIgPageToken}}), 190);
  // Expiry on the sandbox clock: 463.
  admin("POST", "/graph/tokens", {{"token", kDemoUserToken}, {"expires_in_s", 60}});
  EXPECT_EQ(get(user, {{"access_token", kDemoUserToken}}).status, 200);
  advance(60 * 1000);
  expect_error(get(user, {{"access_token", kDemoUserToken}}), 190, 463);
  // A test can break a token with any subcode.
  admin("POST", "/graph/tokens", {{"token", kIgPageToken}, {"invalid_subcode", 460}});
  expect_error(get(user, {{"access_token", kIgPageToken}}), 190, 460);
}

TEST_F(GraphEmulator, SessionEventsKillTheTokensIssuedBeforeThemAndANewLoginWorks) {
  const std::string page = std::string("/graph/v25.0/") + kFbPage;
  admin("POST", std::string("/graph/facebook/users/") + kDemoUser + "/events", {{"event", "password_changed"}});
  expect_error(get(page, {{"access_token", kFbPageToken}}), 190, 460);
  expect_error(get(page, {{"access_token", kDemoUserToken}}), 190, 460);
  // The user logs in again: new user token, new Page token, both valid.
  const auto user_token = login("pages_show_list,pages_read_engagement,pages_manage_posts");
  const auto accounts = get("/graph/v25.0/me/accounts", {{"access_token", user_token}});
  ASSERT_EQ(accounts.status, 200) << accounts.body;
  std::string page_token;
  const auto pages = accounts.json()["data"];
  for (const auto& p : pages)
    if (p["id"] == kFbPage) page_token = p["access_token"];
  ASSERT_FALSE(page_token.empty());
  EXPECT_NE(page_token, kFbPageToken);
  EXPECT_EQ(get(page, {{"access_token", page_token}}).status, 200);

  // Losing the role on the Page: 492 for that Page's tokens.
  admin("POST", std::string("/graph/facebook/users/") + kDemoUser + "/events",
        {{"event", "page_role_removed"}, {"page_id", kFbPage}});
  expect_error(get(page, {{"access_token", page_token}}), 190, 492);
}

TEST_F(GraphEmulator, DialogCodeExchangeAndFbExchangeTokenGiveShortThenLongLivedUserTokens) {
  const std::string redirect = "https://app.example/oauth/facebook";
  const auto dialog = get("/facebook/v25.0/dialog/oauth", {{"client_id", kAppId},
                                                           {"redirect_uri", redirect},
                                                           {"state", "xyz"},
                                                           {"scope", "pages_show_list,pages_manage_posts"}});
  ASSERT_EQ(dialog.status, 302);
  const auto location = dialog.header("location");
  EXPECT_TRUE(location.starts_with(redirect + "?code=")) << location;
  auto params = location_params(location);
  const Form exchange{
      {"client_id", kAppId}, {"client_secret", kAppSecret}, {"redirect_uri", redirect}, {"code", params["code"]}};
  const auto wrong_redirect = get("/graph/v25.0/oauth/access_token", {{"client_id", kAppId},
                                                                      {"client_secret", kAppSecret},
                                                                      {"redirect_uri", "https://evil.example/"},
                                                                      {"code", params["code"]}});
  expect_error(wrong_redirect, 100, 36008);
  const auto first = get("/graph/v25.0/oauth/access_token", exchange);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.json()["token_type"], "bearer");
  EXPECT_EQ(first.json()["expires_in"], 5400);
  expect_error(get("/graph/v25.0/oauth/access_token", exchange), 100, 36009);  // a code works once
  expect_error(get("/graph/v25.0/oauth/access_token",
                   {{"client_id", kAppId}, {"client_secret", "wrong"}, {"redirect_uri", redirect}, {"code", "x"}}),
               1);

  const auto long_lived = get("/graph/v25.0/oauth/access_token", {{"grant_type", "fb_exchange_token"},
                                                                  {"client_id", kAppId},
                                                                  {"client_secret", kAppSecret},
                                                                  {"fb_exchange_token", first.json()["access_token"]}});
  ASSERT_EQ(long_lived.status, 200) << long_lived.body;
  EXPECT_EQ(long_lived.json()["expires_in"], 5183944);
  // An expired token cannot be exchanged.
  admin("POST", "/graph/tokens", {{"token", first.json()["access_token"]}, {"expires_in_s", 0}});
  expect_error(get("/graph/v25.0/oauth/access_token", {{"grant_type", "fb_exchange_token"},
                                                       {"client_id", kAppId},
                                                       {"client_secret", kAppSecret},
                                                       {"fb_exchange_token", first.json()["access_token"]}}),
               190, 463);
  // A denied consent comes back as an error on the redirect.
  admin("POST", "/graph/consent", {{"facebook", {{"deny", true}}}});
  const auto denied =
      get("/facebook/v25.0/dialog/oauth", {{"client_id", kAppId}, {"redirect_uri", redirect}, {"state", "z"}});
  EXPECT_EQ(location_params(denied.header("location"))["error"], "access_denied");
}

TEST_F(GraphEmulator, MeAccountsHandsOutPageTokensThatNeverExpireFromALongLivedUserToken) {
  const auto accounts = get(
      "/graph/v25.0/me/accounts",
      {{"fields", "id,name,access_token,category,tasks,instagram_business_account"}, {"access_token", kDemoUserToken}});
  ASSERT_EQ(accounts.status, 200) << accounts.body;
  const auto data = accounts.json()["data"];
  ASSERT_EQ(data.size(), 2U);
  for (const auto& p : data) {
    EXPECT_TRUE(p.contains("tasks"));
    const auto debug = get("/graph/v25.0/debug_token", {{"input_token", p["access_token"]},
                                                        {"access_token", std::string(kAppId) + "|" + kAppSecret}});
    ASSERT_EQ(debug.status, 200) << debug.body;
    const auto d = debug.json()["data"];
    EXPECT_EQ(d["type"], "PAGE");
    EXPECT_EQ(d["expires_at"], 0);
    EXPECT_EQ(d["is_valid"], true);
    EXPECT_EQ(d["profile_id"], p["id"]);
    EXPECT_GT(d["data_access_expires_at"].get<std::int64_t>(), clock_ms() / 1000);
  }
  EXPECT_EQ(data[0]["instagram_business_account"]["id"], kIgUser);
  // Paging: limit=1 gives one Page and a cursor to the next.
  const auto first = get("/graph/v25.0/me/accounts", {{"limit", "1"}, {"access_token", kDemoUserToken}});
  ASSERT_EQ(first.json()["data"].size(), 1U);
  const auto after = first.json()["paging"]["cursors"]["after"].get<std::string>();
  EXPECT_NE(first.json()["paging"]["next"].get<std::string>().find("after=" + after), std::string::npos);
  const auto second =
      get("/graph/v25.0/me/accounts", {{"limit", "1"}, {"after", after}, {"access_token", kDemoUserToken}});
  ASSERT_EQ(second.json()["data"].size(), 1U);
  EXPECT_NE(second.json()["data"][0]["id"], first.json()["data"][0]["id"]);
  EXPECT_FALSE(second.json()["paging"].contains("next"));
}

TEST_F(GraphEmulator, DebugTokenDescribesUserTokensAndInvalidOnes) {
  const std::string app = std::string(kAppId) + "|" + kAppSecret;
  const auto user = get("/graph/v25.0/debug_token", {{"input_token", kDemoUserToken}, {"access_token", app}});
  const auto d = user.json()["data"];
  EXPECT_EQ(d["type"], "USER");
  EXPECT_EQ(d["app_id"], kAppId);
  EXPECT_EQ(d["user_id"], kDemoUser);
  EXPECT_GT(d["expires_at"].get<std::int64_t>(), 0);
  EXPECT_NE(std::find(d["scopes"].begin(), d["scopes"].end(), "pages_manage_posts"), d["scopes"].end());
  bool granular = false;
  for (const auto& g : d["granular_scopes"])
    if (g["scope"] == "pages_manage_posts") granular = g["target_ids"].size() == 2;
  EXPECT_TRUE(granular) << d.dump();

  admin("POST", std::string("/graph/facebook/users/") + kDemoUser + "/events", {{"event", "logged_out"}});
  const auto invalid = get("/graph/v25.0/debug_token", {{"input_token", kFbPageToken}, {"access_token", app}});
  ASSERT_EQ(invalid.status, 200);
  EXPECT_EQ(invalid.json()["data"]["is_valid"], false);
  EXPECT_EQ(invalid.json()["data"]["error"]["code"], 190);
  EXPECT_EQ(invalid.json()["data"]["error"]["subcode"], 467);
  const auto garbage = get("/graph/v25.0/debug_token", {{"input_token", "garbage"}, {"access_token", app}});
  EXPECT_EQ(garbage.json()["data"]["is_valid"], false);
  expect_error(get("/graph/v25.0/debug_token", {{"input_token", kDemoUserToken}, {"access_token", "x|y"}}), 190);
}

TEST_F(GraphEmulator, DataAccessExpiryIsReportedAndThenRefusesTheTokens) {
  const std::string app = std::string(kAppId) + "|" + kAppSecret;
  const auto at = clock_ms() / 1000 + 3600;
  admin("POST", std::string("/graph/facebook/users/") + kDemoUser + "/events",
        {{"event", "data_access_expires"}, {"at", at}});
  const auto d = get("/graph/v25.0/debug_token", {{"input_token", kFbPageToken}, {"access_token", app}}).json()["data"];
  EXPECT_EQ(d["data_access_expires_at"], at);
  EXPECT_EQ(d["expires_at"], 0);
  EXPECT_EQ(get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", kFbPageToken}}).status, 200);
  advance(3600 * 1000);
  expect_error(get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", kFbPageToken}}), 190, 463);
}

TEST_F(GraphEmulator, RevokingPermissionsKillsEveryTokenOfTheUserWith467) {
  const auto revoke =
      del(std::string("/graph/v25.0/") + kDemoUser + "/permissions", {{"access_token", kDemoUserToken}});
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  EXPECT_EQ(revoke.json()["success"], true);
  expect_error(get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", kFbPageToken}}), 190, 467);
  expect_error(get(std::string("/graph/v25.0/") + kIgUser, {{"access_token", kIgPageToken}}), 190, 467);
}

TEST_F(GraphEmulator, RevokingOnePermissionNarrowsTheScopes) {
  const auto revoke = del(std::string("/graph/v25.0/") + kDemoUser + "/permissions/pages_manage_posts",
                          {{"access_token", kDemoUserToken}});
  ASSERT_EQ(revoke.status, 200) << revoke.body;
  const auto post = this->post(std::string("/graph/v25.0/") + kFbPage + "/feed",
                               {{"message", "hello"}, {"access_token", kFbPageToken}});
  EXPECT_EQ(post.status, 403);
  expect_error(post, 200);
}

TEST_F(GraphEmulator, AppsecretProofIsCheckedWhenSentAndRequiredWhenConfigured) {
  const std::string user = std::string("/graph/v25.0/") + kIgUser;
  const auto good = hmac_hex(kAppSecret, kIgPageToken);
  EXPECT_EQ(get(user, {{"access_token", kIgPageToken}, {"appsecret_proof", good}}).status, 200);
  expect_error(get(user, {{"access_token", kIgPageToken}, {"appsecret_proof", "00"}}), 100);
  limits({{"require_appsecret_proof", true}});
  expect_error(get(user, {{"access_token", kIgPageToken}}), 100);
  EXPECT_EQ(get(user, {{"access_token", kIgPageToken}, {"appsecret_proof", good}}).status, 200);
}

TEST_F(GraphEmulator, UsageHeadersComeOnEveryResponseAndGrowWithCalls) {
  limits({{"instagram_buc_calls_per_day", 10}, {"app_calls_per_hour", 20}});
  const std::string user = std::string("/graph/v25.0/") + kIgUser;
  const auto first = get(user, {{"access_token", kIgPageToken}});
  const auto buc = json::parse(first.header("x-business-use-case-usage"));
  ASSERT_TRUE(buc.contains(kIgUser)) << buc.dump();
  EXPECT_EQ(buc[kIgUser][0]["type"], "instagram");
  EXPECT_EQ(buc[kIgUser][0]["call_count"], 10);  // 1 of 10
  EXPECT_EQ(buc[kIgUser][0]["estimated_time_to_regain_access"], 0);
  const auto app = json::parse(first.header("x-app-usage"));
  EXPECT_TRUE(app.contains("call_count") && app.contains("total_time") && app.contains("total_cputime"));
  const auto second = get(user, {{"access_token", kIgPageToken}});
  EXPECT_EQ(json::parse(second.header("x-business-use-case-usage"))[kIgUser][0]["call_count"], 20);
  // A user-token call on a Page feeds the platform counters (X-App-Usage, X-Page-Usage).
  const auto page = get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", kDemoUserToken}});
  EXPECT_EQ(json::parse(page.header("x-app-usage"))["call_count"], 5);  // 1 of 20
  EXPECT_FALSE(page.header("x-page-usage").empty());
  EXPECT_TRUE(page.header("x-business-use-case-usage").empty());
}

TEST_F(GraphEmulator, InstagramCallsThrottlePast100PercentWith80002UntilTheWindowPasses) {
  limits({{"instagram_buc_calls_per_day", 100}});
  admin("POST", "/graph/usage", {{"counter", "instagram"}, {"id", kIgUser}, {"call_count", 99}});
  const std::string user = std::string("/graph/v25.0/") + kIgUser;
  const auto last = get(user, {{"access_token", kIgPageToken}});
  EXPECT_EQ(last.status, 200);
  EXPECT_EQ(json::parse(last.header("x-business-use-case-usage"))[kIgUser][0]["call_count"], 100);
  const auto throttled = get(user, {{"access_token", kIgPageToken}});
  expect_error(throttled, 80002);
  EXPECT_EQ(graph_error(throttled)["is_transient"], true);
  const auto regain =
      json::parse(throttled.header("x-business-use-case-usage"))[kIgUser][0]["estimated_time_to_regain_access"];
  EXPECT_EQ(regain, 24 * 60) << "the phantom usage leaves the 24 h window in 24 h";
  advance(kDayMs - 1000);
  expect_error(get(user, {{"access_token", kIgPageToken}}), 80002);
  advance(1000);
  EXPECT_EQ(get(user, {{"access_token", kIgPageToken}}).status, 200);
}

TEST_F(GraphEmulator, PageCallsThrottleWith80001ForPageTokensAnd32ForUserTokens) {
  admin("POST", "/graph/usage", {{"counter", "pages"}, {"id", kFbPage}, {"call_count", 100}});
  const std::string page = std::string("/graph/v25.0/") + kFbPage;
  expect_error(get(page, {{"access_token", kFbPageToken}}), 80001);
  admin("POST", "/graph/usage", {{"counter", "page_user"}, {"id", kFbPage}, {"total_cputime", 100}});
  const auto user = get(page, {{"access_token", kDemoUserToken}});
  expect_error(user, 32);
  EXPECT_EQ(json::parse(user.header("x-page-usage"))["total_cputime"], 100);
  admin("POST", "/graph/usage", {{"counter", "app"}, {"call_count", 100}});
  expect_error(get("/graph/v25.0/me/accounts", {{"access_token", kDemoUserToken}}), 4);
  admin("DELETE", "/graph/usage");
  admin("POST", "/graph/usage", {{"counter", "user"}, {"id", kDemoUser}, {"total_time", 100}});
  expect_error(get("/graph/v25.0/me/accounts", {{"access_token", kDemoUserToken}}), 17);
  limits({{"throttle_http_status", 403}});
  EXPECT_EQ(get("/graph/v25.0/me/accounts", {{"access_token", kDemoUserToken}}).status, 403);
}

TEST_F(GraphEmulator, InjectedFaultsAnswerInGraphsShapeAndCommitThenLoseTakesEffect) {
  fault({{"kind", "error"}, {"api", "instagram"}, {"status", 500}, {"count", 1}});
  const auto unknown = get(std::string("/graph/v25.0/") + kIgUser, {{"access_token", kIgPageToken}});
  EXPECT_EQ(unknown.status, 500);
  expect_error(unknown, 1);
  fault({{"kind", "outage"}, {"route", "facebook.page"}, {"count", 1}});
  const auto outage = get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", kFbPageToken}});
  EXPECT_EQ(outage.status, 503);
  expect_error(outage, 2);
  EXPECT_EQ(graph_error(outage)["is_transient"], true);
  fault({{"kind", "rate_limit"}, {"api", "instagram"}, {"count", 1}});
  expect_error(get(std::string("/graph/v25.0/") + kIgUser, {{"access_token", kIgPageToken}}), 80002);
  // The log names the route the dispatcher chose for the node.
  const auto log = admin("GET", "/log?api=instagram");
  EXPECT_EQ(log["entries"].back()["route"], "instagram.user");
}

// Issue 16: an injected throttle's usage headers are the fault's: they replace the emulator's
// X-App-Usage, and reset_in_ms writes the regain time (minutes, rounded up) into the usage headers
// that carry one.
TEST_F(GraphEmulator, AnInjectedThrottlesHeadersReplaceTheEmulatorsAndNameItsRegainTime) {
  const std::string buc = std::string(R"({")") + kIgUser +
                          R"(":[{"type":"instagram","call_count":100,"total_cputime":1,"total_time":1,)"
                          R"("estimated_time_to_regain_access":0}]})";
  fault({{"kind", "rate_limit"},
         {"api", "instagram"},
         {"count", 1},
         {"reset_in_ms", 90000},
         {"headers",
          {{"x-app-usage", R"({"call_count":42,"total_time":1,"total_cputime":1})"},
           {"X-Business-Use-Case-Usage", buc}}}});
  const auto limited = get(std::string("/graph/v25.0/") + kIgUser, {{"access_token", kIgPageToken}});
  expect_error(limited, 80002);
  EXPECT_EQ(json::parse(std::string(limited.header("x-app-usage")))["call_count"], 42) << "the fault's, not 100";
  const auto usage = json::parse(std::string(limited.header("x-business-use-case-usage")));
  EXPECT_EQ(usage[kIgUser][0]["estimated_time_to_regain_access"], 2) << "90 s, in whole minutes";
  EXPECT_EQ(usage[kIgUser][0]["call_count"], 100) << "the rest of the fault's header as given";
  fault({{"kind", "rate_limit"}, {"api", "instagram"}, {"count", 1}, {"reset_in_ms", 90000}});
  const auto plain = get(std::string("/graph/v25.0/") + kIgUser, {{"access_token", kIgPageToken}});
  expect_error(plain, 80002);
  EXPECT_EQ(json::parse(std::string(plain.header("x-app-usage")))["call_count"], 100);
}

TEST_F(GraphEmulator, TheResumableUploadApiResumesFromTheOffsetItReports) {
  const std::string data(3000, 'v');
  const auto start = post(std::string("/graph/v25.0/") + kAppId + "/uploads", {{"file_name", "clip.mp4"},
                                                                               {"file_length", "3000"},
                                                                               {"file_type", "video/mp4"},
                                                                               {"access_token", kDemoUserToken}});
  ASSERT_EQ(start.status, 200) << start.body;
  const std::string session = start.json()["id"];
  EXPECT_TRUE(session.starts_with("upload:"));
  const Headers auth{{"Authorization", std::string("OAuth ") + kDemoUserToken},
                     {"Content-Type", "application/octet-stream"}};
  // The connection breaks after 1200 bytes: the server keeps them and says so.
  fault({{"kind", "commit_then_lose"}, {"route", "graph.upload_transfer"}, {"cut_after", 1200}, {"count", 1}});
  Headers first = auth;
  first.emplace_back("file_offset", "0");
  const auto broken = http(port(), "POST", "/graph/v25.0/" + session, data, first);
  EXPECT_FALSE(broken.answered);
  const auto where = get("/graph/v25.0/" + session, {}, auth);
  ASSERT_EQ(where.status, 200) << where.body;
  EXPECT_EQ(where.json()["file_offset"], 1200);
  Headers rest = auth;
  rest.emplace_back("file_offset", "1200");
  const auto done = http(port(), "POST", "/graph/v25.0/" + session, data.substr(1200), rest);
  ASSERT_EQ(done.status, 200) << done.body;
  EXPECT_TRUE(done.json()["h"].get<std::string>().starts_with("4:"));
}

TEST_F(GraphEmulator, SeededUsersGetPagesLinkedAccountsAndWorkingTokens) {
  const auto seeded =
      admin("POST", "/graph/facebook/users",
            {{"name", "Seeded"},
             {"pages", {{{"name", "Shop"}, {"instagram", {{"username", "shop.ig"}}}}, {{"name", "Blog"}}}}});
  ASSERT_EQ(seeded["pages"].size(), 2U) << seeded.dump();
  const auto shop = seeded["pages"][0];
  const std::string ig = shop["instagram_user_id"];
  const auto account = get("/graph/v25.0/" + ig, {{"fields", "username"}, {"access_token", shop["access_token"]}});
  ASSERT_EQ(account.status, 200) << account.body;
  EXPECT_EQ(account.json()["username"], "shop.ig");
  const auto me = get("/graph/v25.0/me", {{"fields", "id,name"}, {"access_token", seeded["user_token"]}});
  EXPECT_EQ(me.json()["name"], "Seeded");
  // Another user's Page is not reachable with these tokens.
  expect_error(get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", shop["access_token"]}}), 100, 33);
  const auto tokens = admin("GET", "/graph/tokens?user_id=" + seeded["user_id"].get<std::string>());
  EXPECT_EQ(tokens["tokens"].size(), 3U);  // the user token and two Page tokens
  admin("POST", "/graph/reset");
  expect_error(get("/graph/v25.0/" + ig, {{"access_token", shop["access_token"]}}), 100, 33);
  expect_error(get(std::string("/graph/v25.0/") + kFbPage, {{"access_token", shop["access_token"]}}), 190);
}

TEST(GraphEmulatorState, PublishedMediaAndTokensSurviveARestart) {
  char dir_template[] = "/tmp/schedulo-graph-state.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  const std::string state = dir + "/state.json";
  std::string media_id;
  std::string token;
  {
    SandboxProcess first({"--frozen-clock", "--state", state});
    const auto base = "http://127.0.0.1:" + std::to_string(first.port());
    const auto created = http(first.port(), "POST", std::string("/graph/v25.0/") + kIgUser + "/media",
                              "image_url=" + base + "/cdn/jpeg&access_token=" + kIgPageToken,
                              {{"Content-Type", "application/x-www-form-urlencoded"}});
    ASSERT_EQ(created.status, 200) << created.body;
    const auto published =
        http(first.port(), "POST", std::string("/graph/v25.0/") + kIgUser + "/media_publish",
             "creation_id=" + created.json()["id"].get<std::string>() + "&access_token=" + kIgPageToken,
             {{"Content-Type", "application/x-www-form-urlencoded"}});
    ASSERT_EQ(published.status, 200) << published.body;
    media_id = published.json()["id"];
    token = http_json(first.port(), "POST", "/_sandbox/graph/instagram/users", {{"username", "kept"}})["access_token"];
    EXPECT_EQ(first.stop(), 0);
  }
  SandboxProcess second({"--state", state});
  const auto media =
      http(second.port(), "GET", "/graph/v25.0/" + media_id + "?fields=id,media_type&access_token=" + kIgPageToken);
  EXPECT_EQ(media.status, 200) << media.body;
  EXPECT_EQ(media.json()["media_type"], "IMAGE");
  EXPECT_EQ(http(second.port(), "GET", "/graph-instagram/v25.0/me?access_token=" + token).status, 200);
  EXPECT_EQ(second.stop(), 0);
  std::filesystem::remove_all(dir);
}

TEST(GraphEmulatorTls, MediaUrlsAreFetchedOverHttpsTrustingTheSandboxCa) {
  char dir_template[] = "/tmp/schedulo-graph-tls.XXXXXX";
  ASSERT_NE(::mkdtemp(dir_template), nullptr);
  const std::string dir = dir_template;
  SandboxProcess sandbox({"--frozen-clock", "--tls", "--tls-dir", dir});
  const auto port = std::to_string(sandbox.port());
  const std::string body = "image_url=https://127.0.0.1:" + port + "/cdn/jpeg&access_token=" + kIgPageToken;
  const auto answer = tls_exchange(
      sandbox.port(), dir + "/ca.pem",
      std::string("POST /graph/v25.0/") + kIgUser + "/media HTTP/1.1\r\nHost: 127.0.0.1:" + port +
          "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(body.size()) +
          "\r\nConnection: close\r\n\r\n" + body);
  EXPECT_TRUE(answer.starts_with("HTTP/1.1 200")) << answer;
  EXPECT_NE(answer.find("\"id\":\"1788"), std::string::npos) << answer;
  // The resumable upload URI is https like the sandbox.
  const std::string resumable = "media_type=REELS&upload_type=resumable&access_token=" + std::string(kIgPageToken);
  const auto reel = tls_exchange(
      sandbox.port(), dir + "/ca.pem",
      std::string("POST /graph/v25.0/") + kIgUser + "/media HTTP/1.1\r\nHost: 127.0.0.1:" + port +
          "\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: " + std::to_string(resumable.size()) +
          "\r\nConnection: close\r\n\r\n" + resumable);
  EXPECT_NE(reel.find("\"uri\":\"https://127.0.0.1:" + port + "/rupload/ig-api-upload/v25.0/"), std::string::npos)
      << reel;
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace schedulo::test
