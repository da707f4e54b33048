// The TikTok emulator, driven over plain HTTP as the daemon's client would drive it: OAuth with
// rotating refresh tokens, creator_info, the three inits, the chunked PUT, the status machine, the
// Display API, the per-minute limits and the v2 envelope (platform-apis.md section 2).
#include <gtest/gtest.h>

#include <unistd.h>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {
namespace {

using json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kClientKey = "sbx-tiktok-client-id";
constexpr const char* kClientSecret = "sbx-tiktok-client-secret";
constexpr const char* kDemoAccess = "act.sbx-tiktok-access-demo-0001";
constexpr const char* kDemoRefresh = "rft.sbx-tiktok-refresh-demo-0001";
constexpr const char* kDemoOpenId = "sbx-tiktok-open-id-0001";
constexpr std::int64_t kMiB = 1024 * 1024;

std::string form_encode(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string out;
  for (const auto& [k, v] : fields) {
    out += (out.empty() ? "" : "&") + k + "=";
    for (unsigned char c : v) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        static constexpr char kHex[] = "0123456789ABCDEF";
        out += '%';
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    }
  }
  return out;
}

// The v2 envelope: {data:{...}, error:{code, message, log_id}}.
void expect_envelope(const HttpReply& reply) {
  const auto j = reply.json();
  ASSERT_FALSE(j.is_discarded()) << reply.body;
  EXPECT_TRUE(j.contains("data") && j["data"].is_object()) << reply.body;
  ASSERT_TRUE(j.contains("error") && j["error"].is_object()) << reply.body;
  EXPECT_TRUE(j["error"]["code"].is_string()) << reply.body;
  EXPECT_TRUE(j["error"]["message"].is_string()) << reply.body;
  EXPECT_EQ(j["error"]["log_id"].get<std::string>().size(), 34u) << reply.body;
}

std::string code_of(const HttpReply& reply) {
  const auto j = reply.json();
  if (j.is_discarded() || !j.contains("error")) return "<no error: " + reply.body + ">";
  return j["error"].is_string() ? j["error"].get<std::string>() : j["error"].value("code", "<no code>");
}

class TikTokEmulator : public ::testing::Test {
 protected:
  void SetUp() override {
    // Most tests make more calls at one (frozen) instant than the per-minute limits allow.
    limits({{"init_per_min", 1000}, {"status_per_min", 1000}, {"creator_info_per_min", 1000}});
  }

  std::uint16_t port() const { return sandbox.port(); }
  std::string self() const { return "http://127.0.0.1:" + std::to_string(sandbox.port()); }
  void limits(const json& body) { http_json(port(), "POST", "/_sandbox/tiktok/limits", body); }
  void advance(std::int64_t ms) { http_json(port(), "POST", "/_sandbox/clock", {{"advance_ms", ms}}); }
  json admin(const std::string& method, const std::string& target, const json& body = nullptr) {
    return http_json(port(), method, target, body);
  }

  // A JSON API call with a Bearer token; every answer must be in the v2 envelope.
  HttpReply api(const std::string& method, const std::string& path, const std::string& token,
                const json& body = nullptr) {
    Headers headers{{"Content-Type", "application/json; charset=UTF-8"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    auto reply = http(port(), method, "/tiktok" + path, body.is_null() ? "" : body.dump(), headers);
    expect_envelope(reply);
    return reply;
  }
  HttpReply oauth(const std::string& path, const std::vector<std::pair<std::string, std::string>>& fields) {
    return http(port(), "POST", "/tiktok/v2/oauth/" + path, form_encode(fields),
                {{"Content-Type", "application/x-www-form-urlencoded"}});
  }
  HttpReply refresh(const std::string& refresh_token) {
    return oauth("token/", {{"client_key", kClientKey},
                            {"client_secret", kClientSecret},
                            {"grant_type", "refresh_token"},
                            {"refresh_token", refresh_token}});
  }

  // A user with a fresh token pair (all scopes unless given).
  json user(const std::string& open_id, const json& settings = json::object(), const json& scopes = nullptr) {
    admin("PUT", "/_sandbox/tiktok/users/" + open_id, settings);
    json body{{"open_id", open_id}};
    if (!scopes.is_null()) body["scopes"] = scopes;
    return admin("POST", "/_sandbox/tiktok/tokens", body);
  }

  static json direct_info(const std::string& privacy = "SELF_ONLY") {
    return {{"title", "sandbox #cat"},  {"privacy_level", privacy}, {"disable_duet", false},
            {"disable_comment", false}, {"disable_stitch", false},  {"brand_content_toggle", false}};
  }
  static json file_source(std::int64_t size, std::int64_t chunk, std::int64_t count) {
    return {{"source", "FILE_UPLOAD"}, {"video_size", size}, {"chunk_size", chunk}, {"total_chunk_count", count}};
  }
  HttpReply video_init(const std::string& token, const json& source, const json& info = direct_info()) {
    return api("POST", "/v2/post/publish/video/init/", token, {{"post_info", info}, {"source_info", source}});
  }
  // The upload_url's path and query (the test client talks to the port directly).
  std::string upload_target(const HttpReply& init) {
    const auto url = init.json()["data"]["upload_url"].get<std::string>();
    EXPECT_EQ(url.rfind(self() + "/tiktok-upload/video/?upload_id=", 0), 0u) << url;
    return url.substr(self().size());
  }
  HttpReply put_chunk(const std::string& target, std::int64_t first, std::int64_t length, std::int64_t total,
                      const std::string& type = "video/mp4") {
    const std::string bytes(static_cast<std::size_t>(length), '\xA5');
    return http(port(), "PUT", target, bytes,
                {{"Content-Type", type},
                 {"Content-Range", "bytes " + std::to_string(first) + "-" + std::to_string(first + length - 1) + "/" +
                                       std::to_string(total)}});
  }
  json status(const std::string& token, const std::string& publish_id) {
    auto reply = api("POST", "/v2/post/publish/status/fetch/", token, {{"publish_id", publish_id}});
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json()["data"];
  }
  json publish(const std::string& id) { return admin("GET", "/_sandbox/tiktok/publishes/" + id); }
  // Waits (with an overall limit that fails the test) for a pull to end.
  json wait_pulled(const std::string& id) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (;;) {
      auto p = publish(id);
      if (p["transfer_done"] == true || p["status"] == "FAILED") return p;
      if (std::chrono::steady_clock::now() > until) {
        ADD_FAILURE() << "the pull of " << id << " did not end: " << p.dump();
        return p;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  SandboxProcess sandbox;
};

// ---- OAuth ------------------------------------------------------------------------------------------

TEST_F(TikTokEmulator, AuthorizeRedirectsWithACodeThatIsExchangedOnce) {
  const auto page = http(port(), "GET",
                         "/tiktok/v2/auth/authorize/?client_key=sbx-tiktok-client-id&response_type=code"
                         "&scope=user.info.basic,video.publish&redirect_uri=https%3A%2F%2Fapp.example%2Fcb&state=xyz");
  ASSERT_EQ(page.status, 302) << page.body;
  const auto location = page.header("location");
  ASSERT_EQ(location.rfind("https://app.example/cb?code=", 0), 0u) << location;
  EXPECT_NE(location.find("&state=xyz"), std::string::npos) << location;
  const auto code = location.substr(28, location.find('&') - 28);
  const std::vector<std::pair<std::string, std::string>> exchange{{"client_key", kClientKey},
                                                                  {"client_secret", kClientSecret},
                                                                  {"code", code},
                                                                  {"grant_type", "authorization_code"},
                                                                  {"redirect_uri", "https://app.example/cb"}};
  const auto first = oauth("token/", exchange);
  ASSERT_EQ(first.status, 200) << first.body;
  const auto tokens = first.json();
  EXPECT_EQ(tokens["expires_in"], 7200) << "2 h access tokens (November 2026)";
  EXPECT_EQ(tokens["refresh_expires_in"], 15552000) << "180-day refresh tokens";
  EXPECT_EQ(tokens["token_type"], "Bearer");
  EXPECT_EQ(tokens["open_id"], kDemoOpenId);
  EXPECT_EQ(tokens["scope"], "user.info.basic,video.publish");
  EXPECT_EQ(tokens["access_token"].get<std::string>().rfind("act.", 0), 0u);
  EXPECT_EQ(tokens["refresh_token"].get<std::string>().rfind("rft.", 0), 0u);
  const auto again = oauth("token/", exchange);
  EXPECT_EQ(again.status, 200) << "OAuth refusals come with HTTP 200: the body tells";
  EXPECT_EQ(again.json()["error"], "invalid_grant");
  EXPECT_TRUE(again.json()["error_description"].is_string());
  EXPECT_TRUE(again.json()["log_id"].is_string());
}

TEST_F(TikTokEmulator, CodeExchangeChecksClientRedirectAndPkce) {
  const auto seeded = admin("POST", "/_sandbox/tiktok/codes",
                            {{"open_id", kDemoOpenId},
                             {"redirect_uri", "https://app.example/cb"},
                             // SHA-256("verifier-0123456789") in hex, as TikTok's desktop PKCE sends it.
                             {"code_challenge", "5a2b5e0df1bdb0a6e5b7fb7ff1b2b1b2b1b2b1b2b1b2b1b2b1b2b1b2b1b2b1b2"}});
  const auto code = seeded["code"].get<std::string>();
  auto exchange = [&](const std::string& secret, const std::string& redirect, const std::string& verifier) {
    return oauth("token/", {{"client_key", kClientKey},
                            {"client_secret", secret},
                            {"code", code},
                            {"grant_type", "authorization_code"},
                            {"redirect_uri", redirect},
                            {"code_verifier", verifier}});
  };
  EXPECT_EQ(exchange("wrong", "https://app.example/cb", "v").json()["error"], "invalid_client");
  EXPECT_EQ(exchange(kClientSecret, "https://other.example/cb", "v").json()["error"], "invalid_grant");
  EXPECT_EQ(exchange(kClientSecret, "https://app.example/cb", "not-the-verifier").json()["error"], "invalid_grant");

  // A code whose challenge matches its verifier (base64url form) is exchanged.
  const auto good = admin("POST", "/_sandbox/tiktok/codes",
                          {{"open_id", kDemoOpenId},
                           {"redirect_uri", "https://app.example/cb"},
                           // RFC 7636 appendix B: verifier and S256 challenge.
                           {"code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"}});
  const auto reply = oauth("token/", {{"client_key", kClientKey},
                                      {"client_secret", kClientSecret},
                                      {"code", good["code"].get<std::string>()},
                                      {"grant_type", "authorization_code"},
                                      {"redirect_uri", "https://app.example/cb"},
                                      {"code_verifier", "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"}});
  EXPECT_TRUE(reply.json().contains("access_token")) << reply.body;
  EXPECT_EQ(oauth("token/", {{"client_key", kClientKey}, {"client_secret", kClientSecret}, {"grant_type", "password"}})
                .json()["error"],
            "unsupported_grant_type");
}

TEST_F(TikTokEmulator, RefreshRotatesAndAUsedRefreshTokenGetsInvalidGrant) {
  const auto first = refresh(kDemoRefresh);
  ASSERT_EQ(first.status, 200);
  const auto one = first.json();
  ASSERT_TRUE(one.contains("refresh_token")) << first.body;
  EXPECT_NE(one["refresh_token"], kDemoRefresh) << "a new refresh token every time";
  EXPECT_EQ(one["expires_in"], 7200);
  EXPECT_EQ(one["refresh_expires_in"], 15552000);

  const auto reused = refresh(kDemoRefresh);
  EXPECT_EQ(reused.status, 200);
  EXPECT_EQ(reused.json()["error"], "invalid_grant") << reused.body;

  const auto second = refresh(one["refresh_token"]).json();
  ASSERT_TRUE(second.contains("access_token")) << second.dump();
  EXPECT_EQ(refresh(one["refresh_token"]).json()["error"], "invalid_grant");
  // The newest access token works; the sandbox's account record follows the rotation.
  EXPECT_EQ(api("GET", "/v2/user/info/?fields=open_id", second["access_token"]).status, 200);
  const auto account = admin("GET", "/_sandbox/accounts/demo-tiktok");
  EXPECT_EQ(account["refresh_token"], second["refresh_token"]);
  EXPECT_EQ(account["access_token"], second["access_token"]);

  // Injected faults on the OAuth routes answer in OAuth's flat shape.
  admin("POST", "/_sandbox/faults",
        {{"kind", "error"}, {"route", "tiktok_oauth.token"}, {"status", 503}, {"count", 1}});
  const auto outage = refresh(second["refresh_token"]);
  EXPECT_EQ(outage.status, 503);
  EXPECT_EQ(outage.json()["error"], "server_error");
  EXPECT_TRUE(outage.json().contains("error_description"));

  // A 400 instead of 200 for refusals, when a test wants it.
  limits({{"oauth_error_status", 400}});
  EXPECT_EQ(refresh(kDemoRefresh).status, 400);
}

TEST_F(TikTokEmulator, TokensExpireOnTheSandboxClock) {
  const auto pair = user("u-expiry");
  const auto access = pair["access_token"].get<std::string>();
  EXPECT_EQ(api("GET", "/v2/user/info/?fields=open_id", access).status, 200);
  advance(2 * 3600 * 1000LL);
  const auto expired = api("GET", "/v2/user/info/?fields=open_id", access);
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(code_of(expired), "access_token_invalid");
  const auto renewed = refresh(pair["refresh_token"]).json();
  ASSERT_TRUE(renewed.contains("access_token")) << renewed.dump();
  advance(180LL * 24 * 3600 * 1000);
  EXPECT_EQ(refresh(renewed["refresh_token"]).json()["error"], "invalid_grant") << "180 days later";
}

TEST_F(TikTokEmulator, RevokeDisconnectsTheUserAndFailsPublishesInProgress) {
  const auto pair = user("u-revoke");
  const auto access = pair["access_token"].get<std::string>();
  const auto init = video_init(access, file_source(1000, 1000, 1));
  ASSERT_EQ(init.status, 200);
  const auto publish_id = init.json()["data"]["publish_id"].get<std::string>();
  const auto revoked =
      oauth("revoke/", {{"client_key", kClientKey}, {"client_secret", kClientSecret}, {"token", access}});
  EXPECT_EQ(revoked.status, 200);
  EXPECT_EQ(revoked.json(), json::object());
  EXPECT_EQ(code_of(api("GET", "/v2/user/info/?fields=open_id", access)), "access_token_invalid");
  EXPECT_EQ(refresh(pair["refresh_token"]).json()["error"], "invalid_grant");
  EXPECT_EQ(publish(publish_id)["status"], "FAILED");
  EXPECT_EQ(publish(publish_id)["fail_reason"], "auth_removed");
}

// ---- creator_info -----------------------------------------------------------------------------------

TEST_F(TikTokEmulator, CreatorInfoListsTheAccountsPrivacyOptions) {
  const auto reply = api("POST", "/v2/post/publish/creator_info/query/", kDemoAccess);
  ASSERT_EQ(reply.status, 200);
  const auto data = reply.json()["data"];
  EXPECT_EQ(data["privacy_level_options"], json({"PUBLIC_TO_EVERYONE", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"}));
  EXPECT_EQ(data["max_video_post_duration_sec"], 300);
  EXPECT_EQ(data["creator_username"], "schedulo.demo");
  for (const char* field : {"comment_disabled", "duet_disabled", "stitch_disabled"})
    EXPECT_TRUE(data[field].is_boolean());

  const auto priv = user("u-private", {{"private_account", true}, {"max_video_post_duration_sec", 600}});
  const auto p = api("POST", "/v2/post/publish/creator_info/query/", priv["access_token"]).json()["data"];
  EXPECT_EQ(p["privacy_level_options"], json({"FOLLOWER_OF_CREATOR", "MUTUAL_FOLLOW_FRIENDS", "SELF_ONLY"}));
  EXPECT_EQ(p["max_video_post_duration_sec"], 600);

  const auto no_scope = user("u-noscope", json::object(), {"user.info.basic"});
  const auto refused = api("POST", "/v2/post/publish/creator_info/query/", no_scope["access_token"]);
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(code_of(refused), "scope_not_authorized");
}

TEST_F(TikTokEmulator, SpamAndCapErrorsComeWithHttp200FromCreatorInfoAnd403FromInit) {
  for (const char* code :
       {"spam_risk_too_many_posts", "spam_risk_user_banned_from_posting", "reached_active_user_cap"}) {
    const auto pair = user(std::string("u-") + code, {{"posting_error", code}});
    const auto info = api("POST", "/v2/post/publish/creator_info/query/", pair["access_token"]);
    EXPECT_EQ(info.status, 200) << code;
    EXPECT_EQ(code_of(info), code);
    const auto init = video_init(pair["access_token"], file_source(1000, 1000, 1));
    EXPECT_EQ(init.status, 403) << code;
    EXPECT_EQ(code_of(init), code);
  }
}

// ---- init -------------------------------------------------------------------------------------------

TEST_F(TikTokEmulator, FileUploadInitEnforcesTheChunkArithmetic) {
  struct Case {
    std::int64_t size, chunk, count;
    bool ok;
  };
  const std::vector<Case> cases{
      {50000123, 10000000, 5, true},      // the docs' worked example (last chunk 10,000,123 bytes)
      {50000123, 10000000, 6, false},     // count is floor(size / chunk), not the ceiling
      {4 * kMiB, 4 * kMiB, 1, true},      // under 5 MB: one chunk, chunk_size = video_size
      {4 * kMiB, 2 * kMiB, 2, false},     // ... and never split
      {20 * kMiB, 4 * kMiB, 5, false},    // chunks of at least 5 MB
      {200 * kMiB, 65 * kMiB, 3, false},  // and at most 64 MB
      {70 * kMiB, 40 * kMiB, 1, false},   // over 64 MB must be chunked
      {70 * kMiB, 35 * kMiB, 2, true},
      {300 * kMiB, 64 * kMiB, 4, true},       // last chunk 108 MB: may exceed chunk_size, up to 128 MB
      {5000LL * kMiB, 64 * kMiB, 78, false},  // over 4 GB
      {6 * kMiB, 6 * kMiB, 1, true},
  };
  for (const auto& c : cases) {
    const auto reply = video_init(kDemoAccess, file_source(c.size, c.chunk, c.count));
    EXPECT_EQ(reply.status, c.ok ? 200 : 400) << c.size << "/" << c.chunk << "/" << c.count << ": " << reply.body;
    if (!c.ok) {
      EXPECT_EQ(code_of(reply), "invalid_params");
    } else {
      EXPECT_EQ(reply.json()["data"]["publish_id"].get<std::string>().rfind("v_pub_file~v2-1.", 0), 0u);
    }
  }
  auto missing = file_source(1000, 1000, 1);
  missing.erase("total_chunk_count");
  EXPECT_EQ(video_init(kDemoAccess, missing).status, 400);
}

TEST_F(TikTokEmulator, PrivacyLevelMustBeOneOfTheCreatorsOptions) {
  const auto reply = video_init(kDemoAccess, file_source(1000, 1000, 1), direct_info("FOLLOWER_OF_CREATOR"));
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(code_of(reply), "privacy_level_option_mismatch");
  EXPECT_NE(
      reply.json()["error"]["message"].get<std::string>().find("PUBLIC_TO_EVERYONE,MUTUAL_FOLLOW_FRIENDS,SELF_ONLY"),
      std::string::npos);
  auto no_privacy = direct_info();
  no_privacy.erase("privacy_level");
  EXPECT_EQ(video_init(kDemoAccess, file_source(1000, 1000, 1), no_privacy).status, 400);
  auto long_title = direct_info();
  long_title["title"] = std::string(2201, 'a');
  EXPECT_EQ(video_init(kDemoAccess, file_source(1000, 1000, 1), long_title).status, 400);
  long_title["title"] = std::string(2200, 'a');
  EXPECT_EQ(video_init(kDemoAccess, file_source(1000, 1000, 1), long_title).status, 200);
}

TEST_F(TikTokEmulator, UnauditedClientsPostToPrivateAccountsOnly) {
  admin("PUT", "/_sandbox/tiktok/apps/sbx-tiktok-client-id", {{"audited", false}});
  const auto reply = video_init(kDemoAccess, file_source(1000, 1000, 1));
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(code_of(reply), "unaudited_client_can_only_post_to_private_accounts");
  const auto priv = user("u-private", {{"private_account", true}});
  EXPECT_EQ(video_init(priv["access_token"], file_source(1000, 1000, 1)).status, 200);
}

// ---- chunked PUT ------------------------------------------------------------------------------------

TEST_F(TikTokEmulator, ChunkedPutAnswers206Then201WithTheUploadedRange) {
  const std::int64_t size = 12 * kMiB + 123;  // 2 chunks of 5 MiB... floor(12/5) = 2, the last absorbs 2 MiB + 123
  const std::int64_t chunk = 5 * kMiB;
  const auto init = video_init(kDemoAccess, file_source(size, chunk, 2));
  ASSERT_EQ(init.status, 200) << init.body;
  const auto target = upload_target(init);
  const auto publish_id = init.json()["data"]["publish_id"].get<std::string>();
  EXPECT_EQ(status(kDemoAccess, publish_id)["status"], "PROCESSING_UPLOAD");

  const auto first = put_chunk(target, 0, chunk, size);
  EXPECT_EQ(first.status, 206) << first.body;
  EXPECT_EQ(first.header("content-range"), "bytes 0-" + std::to_string(chunk - 1) + "/" + std::to_string(size));
  EXPECT_EQ(status(kDemoAccess, publish_id)["uploaded_bytes"], chunk);

  // A last chunk of the wrong length, a wrong Content-Type, a wrong total: 400, nothing counted.
  EXPECT_EQ(put_chunk(target, chunk, chunk, size).status, 400);
  EXPECT_EQ(put_chunk(target, chunk, size - chunk, size, "application/octet-stream").status, 400);
  EXPECT_EQ(put_chunk(target, chunk, size - chunk, size + 1).status, 400);

  const auto last = put_chunk(target, chunk, size - chunk, size);
  EXPECT_EQ(last.status, 201) << last.body;
  EXPECT_EQ(last.header("content-range"), "bytes 0-" + std::to_string(size - 1) + "/" + std::to_string(size));
  expect_envelope(last);

  // The request log shows each chunk's range and that a chunk body is logged as its size.
  const auto log = admin("GET", "/_sandbox/log?route=tiktok.upload");
  std::vector<std::string> accepted;
  for (const auto& e : log["entries"])
    if (e["status"] == 206 || e["status"] == 201) accepted.push_back(e["headers"]["content-range"]);
  EXPECT_EQ(accepted, (std::vector<std::string>{"bytes 0-5242879/12583035", "bytes 5242880-12583034/12583035"}));
  EXPECT_EQ(log["entries"][0]["body"]["binary_bytes"], chunk);
}

TEST_F(TikTokEmulator, ContentRangeMustContinueTheUploadElse416) {
  const std::int64_t size = 10 * kMiB;
  const std::int64_t chunk = 5 * kMiB;
  const auto target = upload_target(video_init(kDemoAccess, file_source(size, chunk, 2)));
  const auto skipped = put_chunk(target, chunk, chunk, size);
  EXPECT_EQ(skipped.status, 416);
  EXPECT_EQ(skipped.header("content-range"), "bytes */" + std::to_string(size)) << "nothing uploaded yet";
  expect_envelope(skipped);
  EXPECT_EQ(put_chunk(target, 0, chunk, size).status, 206);
  const auto repeated = put_chunk(target, 0, chunk, size);
  EXPECT_EQ(repeated.status, 416);
  EXPECT_EQ(repeated.header("content-range"), "bytes 0-5242879/10485760") << "where to resume";
  EXPECT_EQ(put_chunk(target, chunk, chunk, size).status, 201);
  EXPECT_EQ(put_chunk(target, chunk, chunk, size).status, 416) << "all received: a resend is out of range";
}

TEST_F(TikTokEmulator, AChunkCommittedButItsAnswerLostIsResumedFromThe416Range) {
  const std::int64_t size = 10 * kMiB;
  const std::int64_t chunk = 5 * kMiB;
  const auto target = upload_target(video_init(kDemoAccess, file_source(size, chunk, 2)));
  admin("POST", "/_sandbox/faults", {{"kind", "commit_then_lose"}, {"route", "tiktok.upload"}, {"count", 1}});
  const auto lost = put_chunk(target, 0, chunk, size);
  EXPECT_FALSE(lost.answered);
  const auto retry = put_chunk(target, 0, chunk, size);
  EXPECT_EQ(retry.status, 416);
  EXPECT_EQ(retry.header("content-range"), "bytes 0-5242879/10485760");

  admin("POST", "/_sandbox/faults", {{"kind", "error"}, {"route", "tiktok.upload"}, {"status", 503}, {"count", 1}});
  const auto failed = put_chunk(target, chunk, chunk, size);
  EXPECT_EQ(failed.status, 503);
  EXPECT_EQ(code_of(failed), "internal_error");
  expect_envelope(failed);
  EXPECT_EQ(put_chunk(target, chunk, chunk, size).status, 201) << "the same chunk again after a 5xx";
}

TEST_F(TikTokEmulator, UploadUrlExpiresAfterOneHourOnTheSandboxClock) {
  const auto target = upload_target(video_init(kDemoAccess, file_source(10 * kMiB, 5 * kMiB, 2)));
  EXPECT_EQ(put_chunk(target, 0, 5 * kMiB, 10 * kMiB).status, 206);
  advance(3600 * 1000 - 1);
  advance(1);
  const auto expired = put_chunk(target, 5 * kMiB, 5 * kMiB, 10 * kMiB);
  EXPECT_EQ(expired.status, 403);
  expect_envelope(expired);
  const auto unknown = http(port(), "PUT", "/tiktok-upload/video/?upload_id=1&upload_token=nope", "x",
                            {{"Content-Type", "video/mp4"}, {"Content-Range", "bytes 0-0/1"}});
  EXPECT_EQ(unknown.status, 404);
}

// ---- status -----------------------------------------------------------------------------------------

TEST_F(TikTokEmulator, StatusMovesFromProcessingToCompleteAndThePublicIdAppearsLater) {
  admin("PUT", "/_sandbox/tiktok/users/" + std::string(kDemoOpenId), {{"processing_polls", 2}, {"public_polls", 2}});
  const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
  const auto id = init.json()["data"]["publish_id"].get<std::string>();
  EXPECT_EQ(status(kDemoAccess, id)["status"], "PROCESSING_UPLOAD") << "nothing uploaded: no progress";
  EXPECT_EQ(status(kDemoAccess, id)["status"], "PROCESSING_UPLOAD");
  EXPECT_EQ(put_chunk(upload_target(init), 0, 1000, 1000).status, 201);
  std::vector<std::string> seen;
  for (int i = 0; i < 4; ++i) {
    const auto s = status(kDemoAccess, id);
    seen.push_back(s["status"].get<std::string>() + (s["publicaly_available_post_id"].empty() ? "" : "+id"));
    EXPECT_EQ(s["uploaded_bytes"], 1000);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"PROCESSING_UPLOAD", "PROCESSING_UPLOAD", "PUBLISH_COMPLETE",
                                            "PUBLISH_COMPLETE"}));
  const auto done = api("POST", "/v2/post/publish/status/fetch/", kDemoAccess, {{"publish_id", id}});
  // The post id is an int64 beyond a double's exact range: check the digits as sent.
  const auto posts = admin("GET", "/_sandbox/tiktok/posts")["posts"];
  ASSERT_EQ(posts.size(), 1u);
  const auto post_id = posts[0]["post_id"].get<std::string>();
  EXPECT_GT(std::stoll(post_id), (1LL << 53));
  EXPECT_NE(done.body.find("\"publicaly_available_post_id\":[" + post_id + "]"), std::string::npos) << done.body;
}

TEST_F(TikTokEmulator, EachFailReasonEndsAPublishAsFailed) {
  const std::vector<std::string> reasons{"file_format_check_failed",
                                         "duration_check_failed",
                                         "frame_rate_check_failed",
                                         "picture_size_check_failed",
                                         "internal",
                                         "spam_risk_text",
                                         "spam_risk",
                                         "spam_risk_too_many_posts",
                                         "spam_risk_user_banned_from_posting"};
  admin("PUT", "/_sandbox/tiktok/users/" + std::string(kDemoOpenId), {{"fail_next", reasons}, {"processing_polls", 0}});
  for (const auto& reason : reasons) {
    const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
    EXPECT_EQ(put_chunk(upload_target(init), 0, 1000, 1000).status, 201);
    const auto s = status(kDemoAccess, init.json()["data"]["publish_id"]);
    EXPECT_EQ(s["status"], "FAILED");
    EXPECT_EQ(s["fail_reason"], reason);
  }
  EXPECT_EQ(admin("PUT", "/_sandbox/tiktok/users/x", {{"fail_next", {"not_a_reason"}}}).contains("error"), true);
}

TEST_F(TikTokEmulator, StatusOfAnotherUsersOrAnUnknownPublishIsRefused) {
  const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
  const auto other = user("u-other");
  const auto foreign = api("POST", "/v2/post/publish/status/fetch/", other["access_token"],
                           {{"publish_id", init.json()["data"]["publish_id"]}});
  EXPECT_EQ(foreign.status, 400);
  EXPECT_EQ(code_of(foreign), "token_not_authorized_for_specified_publish_id");
  const auto unknown =
      api("POST", "/v2/post/publish/status/fetch/", kDemoAccess, {{"publish_id", "v_pub_file~v2-1.1"}});
  EXPECT_EQ(code_of(unknown), "invalid_publish_id");
}

// ---- PULL_FROM_URL, inbox, photos -------------------------------------------------------------------

TEST_F(TikTokEmulator, PullFromUrlFetchesFromAVerifiedPrefixForReal) {
  const auto url = self() + "/cdn/mp4/clip.mp4?bytes=3000000";
  const auto init = video_init(kDemoAccess, {{"source", "PULL_FROM_URL"}, {"video_url", url}});
  ASSERT_EQ(init.status, 200) << init.body;
  const auto id = init.json()["data"]["publish_id"].get<std::string>();
  EXPECT_EQ(id.rfind("v_pub_url~v2.", 0), 0u);
  EXPECT_FALSE(init.json()["data"].contains("upload_url"));
  const auto pulled = wait_pulled(id);
  EXPECT_EQ(pulled["downloaded_bytes"], 3000000);
  const auto fetched = admin("GET", "/_sandbox/log?route=cdn.media")["entries"];
  ASSERT_EQ(fetched.size(), 1u) << "the emulator fetched the file over HTTP";
  EXPECT_EQ(fetched[0]["query"], "bytes=3000000");
  const auto s = status(kDemoAccess, id);
  EXPECT_EQ(s["status"], "PROCESSING_DOWNLOAD");
  EXPECT_EQ(s["downloaded_bytes"], 3000000);
  EXPECT_EQ(status(kDemoAccess, id)["status"], "PUBLISH_COMPLETE");

  // Outside the verified prefixes: refused. Prefixes are set per app.
  const auto refused =
      video_init(kDemoAccess, {{"source", "PULL_FROM_URL"}, {"video_url", "https://elsewhere.example/v.mp4"}});
  EXPECT_EQ(refused.status, 403);
  EXPECT_EQ(code_of(refused), "url_ownership_unverified");
  admin("PUT", "/_sandbox/tiktok/apps/sbx-tiktok-client-id", {{"verified_prefixes", {self() + "/cdn/jpeg"}}});
  EXPECT_EQ(code_of(video_init(kDemoAccess, {{"source", "PULL_FROM_URL"}, {"video_url", url}})),
            "url_ownership_unverified");
}

TEST_F(TikTokEmulator, AFailedPullFailsThePublish) {
  const auto cut = video_init(
      kDemoAccess, {{"source", "PULL_FROM_URL"}, {"video_url", self() + "/cdn/mp4?bytes=2000000&truncate=1000"}});
  const auto p = wait_pulled(cut.json()["data"]["publish_id"]);
  EXPECT_EQ(p["status"], "FAILED");
  EXPECT_EQ(p["fail_reason"], "video_pull_failed");
  const auto missing =
      video_init(kDemoAccess, {{"source", "PULL_FROM_URL"}, {"video_url", self() + "/cdn/nothing-here"}});
  EXPECT_EQ(wait_pulled(missing.json()["data"]["publish_id"])["fail_reason"], "video_pull_failed");
  const auto image = video_init(kDemoAccess, {{"source", "PULL_FROM_URL"}, {"video_url", self() + "/cdn/jpeg"}});
  EXPECT_EQ(wait_pulled(image.json()["data"]["publish_id"])["fail_reason"], "file_format_check_failed");
}

TEST_F(TikTokEmulator, APullInProgressCanBeCancelled) {
  const auto init = video_init(kDemoAccess, {{"source", "PULL_FROM_URL"},
                                             {"video_url", self() + "/cdn/mp4?bytes=2000000&slow_ms=200&chunk=1000"}});
  const auto id = init.json()["data"]["publish_id"].get<std::string>();
  const auto cancelled = api("POST", "/v2/post/publish/cancel/", kDemoAccess, {{"publish_id", id}});
  EXPECT_EQ(cancelled.status, 200) << cancelled.body;
  EXPECT_EQ(code_of(cancelled), "ok");
  const auto s = status(kDemoAccess, id);
  EXPECT_EQ(s["status"], "FAILED");
  EXPECT_EQ(s["fail_reason"], "publish_cancelled");
  const auto file = video_init(kDemoAccess, file_source(1000, 1000, 1));
  EXPECT_EQ(code_of(api("POST", "/v2/post/publish/cancel/", kDemoAccess,
                        {{"publish_id", file.json()["data"]["publish_id"]}})),
            "publish_not_cancellable");
}

TEST_F(TikTokEmulator, InboxUploadsEndInTheUsersInboxAndArePendingShares) {
  admin("PUT", "/_sandbox/tiktok/users/" + std::string(kDemoOpenId),
        {{"processing_polls", 0}, {"pending_share_cap", 2}});
  std::vector<std::string> ids;
  for (int i = 0; i < 2; ++i) {
    const auto init =
        api("POST", "/v2/post/publish/inbox/video/init/", kDemoAccess, {{"source_info", file_source(1000, 1000, 1)}});
    ASSERT_EQ(init.status, 200) << init.body;
    ids.push_back(init.json()["data"]["publish_id"]);
    EXPECT_EQ(ids.back().rfind("v_inbox_file~v2.", 0), 0u);
    EXPECT_EQ(put_chunk(upload_target(init), 0, 1000, 1000).status, 201);
    EXPECT_EQ(status(kDemoAccess, ids.back())["status"], "SEND_TO_USER_INBOX");
  }
  const auto capped =
      api("POST", "/v2/post/publish/inbox/video/init/", kDemoAccess, {{"source_info", file_source(1000, 1000, 1)}});
  EXPECT_EQ(capped.status, 403);
  EXPECT_EQ(code_of(capped), "spam_risk_too_many_pending_share");
  // The user posts a draft from the app: PUBLISH_COMPLETE, and no longer pending.
  admin("POST", "/_sandbox/tiktok/publishes/" + ids[0] + "/advance", {{"to", "inbox_posted"}});
  EXPECT_EQ(status(kDemoAccess, ids[0])["status"], "PUBLISH_COMPLETE");
  EXPECT_EQ(
      api("POST", "/v2/post/publish/inbox/video/init/", kDemoAccess, {{"source_info", file_source(1000, 1000, 1)}})
          .status,
      200);
  // video.upload is the inbox scope.
  const auto publish_only = user("u-publish-only", json::object(), {"video.publish"});
  EXPECT_EQ(code_of(api("POST", "/v2/post/publish/inbox/video/init/", publish_only["access_token"],
                        {{"source_info", file_source(1000, 1000, 1)}})),
            "scope_not_authorized");
}

TEST_F(TikTokEmulator, PhotoPostsArePulledFromVerifiedUrls) {
  const json images{self() + "/cdn/jpeg/a.jpg", self() + "/cdn/webp/b.webp"};
  auto photo = [&](const json& source, const json& info, const std::string& mode = "DIRECT_POST") {
    return api("POST", "/v2/post/publish/content/init/", kDemoAccess,
               {{"post_info", info}, {"source_info", source}, {"post_mode", mode}, {"media_type", "PHOTO"}});
  };
  const json source{{"source", "PULL_FROM_URL"}, {"photo_cover_index", 1}, {"photo_images", images}};
  const auto init = photo(source, {{"title", "cats"}, {"privacy_level", "PUBLIC_TO_EVERYONE"}});
  ASSERT_EQ(init.status, 200) << init.body;
  const auto id = init.json()["data"]["publish_id"].get<std::string>();
  EXPECT_EQ(id.rfind("p_pub_url~v2.", 0), 0u);
  EXPECT_TRUE(wait_pulled(id)["transfer_done"]);
  EXPECT_EQ(admin("GET", "/_sandbox/log?route=cdn.media")["entries"].size(), 2u);
  EXPECT_EQ(status(kDemoAccess, id)["status"], "PROCESSING_DOWNLOAD");
  EXPECT_EQ(status(kDemoAccess, id)["status"], "PUBLISH_COMPLETE");

  const auto inbox = photo(source, {{"title", "draft"}}, "MEDIA_UPLOAD");
  EXPECT_EQ(inbox.json()["data"]["publish_id"].get<std::string>().rfind("p_inbox_url~v2.", 0), 0u);

  json upload = source;
  upload["source"] = "FILE_UPLOAD";
  EXPECT_EQ(photo(upload, {{"privacy_level", "SELF_ONLY"}}).status, 400) << "photos are pulled only";
  EXPECT_EQ(photo(source, {{"title", std::string(91, 'a')}, {"privacy_level", "SELF_ONLY"}}).status, 400);
  EXPECT_EQ(code_of(photo(source, {{"privacy_level", "FOLLOWER_OF_CREATOR"}})), "privacy_level_option_mismatch");
  json bad_cover = source;
  bad_cover["photo_cover_index"] = 2;
  EXPECT_EQ(photo(bad_cover, {{"privacy_level", "SELF_ONLY"}}).status, 400);
  json foreign = source;
  foreign["photo_images"] = {"https://elsewhere.example/a.jpg"};
  EXPECT_EQ(code_of(photo(foreign, {{"privacy_level", "SELF_ONLY"}})), "url_ownership_unverified");
  json png = source;
  png["photo_images"] = {self() + "/cdn/png/c.png"};
  png["photo_cover_index"] = 0;
  const auto png_init = photo(png, {{"privacy_level", "SELF_ONLY"}});
  EXPECT_EQ(wait_pulled(png_init.json()["data"]["publish_id"])["fail_reason"], "file_format_check_failed");
}

// ---- caps and limits --------------------------------------------------------------------------------

TEST_F(TikTokEmulator, PerTokenPerMinuteLimitsAnswer429InTheEnvelope) {
  limits({{"init_per_min", 6}, {"status_per_min", 30}, {"creator_info_per_min", 20}});
  std::string publish_id;
  for (int i = 0; i < 6; ++i) {
    const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
    EXPECT_EQ(init.status, 200) << i;
    publish_id = init.json()["data"].value("publish_id", "");
  }
  const auto throttled = video_init(kDemoAccess, file_source(1000, 1000, 1));
  EXPECT_EQ(throttled.status, 429);
  EXPECT_EQ(code_of(throttled), "rate_limit_exceeded");
  // Per token: another user's token is not throttled; the inbox init has its own count.
  EXPECT_EQ(video_init(user("u-other")["access_token"], file_source(1000, 1000, 1)).status, 200);
  EXPECT_EQ(
      api("POST", "/v2/post/publish/inbox/video/init/", kDemoAccess, {{"source_info", file_source(1000, 1000, 1)}})
          .status,
      200);
  advance(60 * 1000);
  EXPECT_EQ(video_init(kDemoAccess, file_source(1000, 1000, 1)).status, 200) << "the window slid on";

  for (int i = 0; i < 20; ++i) EXPECT_EQ(api("POST", "/v2/post/publish/creator_info/query/", kDemoAccess).status, 200);
  EXPECT_EQ(api("POST", "/v2/post/publish/creator_info/query/", kDemoAccess).status, 429);

  for (int i = 0; i < 30; ++i)
    EXPECT_EQ(api("POST", "/v2/post/publish/status/fetch/", kDemoAccess, {{"publish_id", publish_id}}).status, 200);
  EXPECT_EQ(api("POST", "/v2/post/publish/status/fetch/", kDemoAccess, {{"publish_id", publish_id}}).status, 429);

  admin("POST", "/_sandbox/faults", {{"kind", "rate_limit"}, {"route", "tiktok.user_info"}, {"count", 1}});
  const auto injected = api("GET", "/v2/user/info/?fields=open_id", kDemoAccess);
  EXPECT_EQ(injected.status, 429);
  EXPECT_EQ(code_of(injected), "rate_limit_exceeded");
}

TEST_F(TikTokEmulator, TheDailyDirectPostCapAnswersSpamRiskTooManyPosts) {
  admin("PUT", "/_sandbox/tiktok/users/" + std::string(kDemoOpenId), {{"daily_post_cap", 2}, {"processing_polls", 0}});
  for (int i = 0; i < 2; ++i) {
    const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
    EXPECT_EQ(put_chunk(upload_target(init), 0, 1000, 1000).status, 201);
  }
  const auto capped = video_init(kDemoAccess, file_source(1000, 1000, 1));
  EXPECT_EQ(capped.status, 403);
  EXPECT_EQ(code_of(capped), "spam_risk_too_many_posts");
  advance(24 * 3600 * 1000LL);
  const auto renewed = refresh(kDemoRefresh).json();  // the 2 h access token ended meanwhile
  EXPECT_EQ(video_init(renewed["access_token"], file_source(1000, 1000, 1)).status, 200);
}

// ---- Display API ------------------------------------------------------------------------------------

TEST_F(TikTokEmulator, VideoQueryAnswersTheUsersOwnVideosTwentyIdsAtMost) {
  admin("PUT", "/_sandbox/tiktok/users/" + std::string(kDemoOpenId), {{"processing_polls", 0}, {"public_polls", 0}});
  const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
  EXPECT_EQ(put_chunk(upload_target(init), 0, 1000, 1000).status, 201);
  const auto post_id = admin("GET", "/_sandbox/tiktok/posts")["posts"][0]["post_id"].get<std::string>();
  admin("POST", "/_sandbox/tiktok/videos/" + post_id + "/stats", {{"view_count", 9000000000LL}, {"like_count", 42}});
  const auto reply = api("POST", "/v2/video/query/?fields=id,title,view_count,like_count,comment_count,share_count",
                         kDemoAccess, {{"filters", {{"video_ids", {post_id, "7000000000000000001"}}}}});
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto videos = reply.json()["data"]["videos"];
  ASSERT_EQ(videos.size(), 1u) << "only the user's own videos";
  EXPECT_EQ(videos[0]["id"], post_id) << "ids are strings";
  EXPECT_EQ(videos[0]["view_count"], 9000000000LL);
  EXPECT_EQ(videos[0]["like_count"], 42);
  EXPECT_EQ(videos[0]["title"], "sandbox #cat");
  EXPECT_FALSE(videos[0].contains("embed_html")) << "only the fields asked for";

  json ids = json::array();
  for (int i = 0; i < 21; ++i) ids.push_back(std::to_string(7000000000000000000LL + i));
  const auto too_many = api("POST", "/v2/video/query/?fields=id", kDemoAccess, {{"filters", {{"video_ids", ids}}}});
  EXPECT_EQ(too_many.status, 400);
  EXPECT_EQ(code_of(too_many), "invalid_params");
  const auto no_scope = user("u-nolist", json::object(), {"user.info.basic"});
  EXPECT_EQ(code_of(api("POST", "/v2/video/query/?fields=id", no_scope["access_token"],
                        {{"filters", {{"video_ids", {post_id}}}}})),
            "scope_not_authorized");
  const auto listed = api("POST", "/v2/video/list/?fields=id,view_count", kDemoAccess, {{"max_count", 20}});
  EXPECT_EQ(listed.json()["data"]["videos"].size(), 1u);
  EXPECT_EQ(listed.json()["data"]["has_more"], false);
}

TEST_F(TikTokEmulator, UserInfoAnswersTheFieldsItsScopesAllow) {
  const auto reply = api(
      "GET", "/v2/user/info/?fields=open_id,display_name,username,follower_count,likes_count,video_count", kDemoAccess);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto u = reply.json()["data"]["user"];
  EXPECT_EQ(u["open_id"], kDemoOpenId);
  EXPECT_EQ(u["follower_count"], 1200);
  EXPECT_EQ(u["video_count"], 12);
  EXPECT_EQ(u.size(), 6u);
  const auto basic = user("u-basic", json::object(), {"user.info.basic"});
  const auto missed = api("GET", "/v2/user/info/?fields=open_id,follower_count", basic["access_token"]);
  EXPECT_EQ(missed.status, 401);
  EXPECT_EQ(code_of(missed), "scope_permission_missed");
  EXPECT_EQ(api("GET", "/v2/user/info/?fields=open_id", basic["access_token"]).status, 200);
  EXPECT_EQ(code_of(api("GET", "/v2/user/info/?fields=open_id", "")), "access_token_invalid");
  EXPECT_EQ(api("GET", "/v2/nope/", kDemoAccess).status, 404);
}

// ---- test controls ----------------------------------------------------------------------------------

TEST_F(TikTokEmulator, TestControlsMovePublishesAndTokensOnWithoutPolling) {
  admin("PUT", "/_sandbox/tiktok/users/" + std::string(kDemoOpenId),
        {{"processing_polls", 100}, {"public_polls", 100}});
  const auto init = video_init(kDemoAccess, file_source(1000, 1000, 1));
  const auto id = init.json()["data"]["publish_id"].get<std::string>();
  EXPECT_EQ(http(port(), "POST", "/_sandbox/tiktok/publishes/" + id + "/advance", R"({"to":"processed"})").status, 409)
      << "nothing uploaded yet";
  EXPECT_EQ(put_chunk(upload_target(init), 0, 1000, 1000).status, 201);
  EXPECT_EQ(admin("POST", "/_sandbox/tiktok/publishes/" + id + "/advance", {{"to", "processed"}})["status"],
            "PUBLISH_COMPLETE");
  EXPECT_TRUE(status(kDemoAccess, id)["publicaly_available_post_id"].empty());
  admin("POST", "/_sandbox/tiktok/publishes/" + id + "/advance", {{"to", "public"}});
  EXPECT_EQ(status(kDemoAccess, id)["publicaly_available_post_id"].size(), 1u);

  const auto other =
      video_init(kDemoAccess, file_source(1000, 1000, 1)).json()["data"]["publish_id"].get<std::string>();
  admin("POST", "/_sandbox/tiktok/publishes/" + other + "/advance", {{"to", "failed"}, {"fail_reason", "internal"}});
  EXPECT_EQ(status(kDemoAccess, other)["fail_reason"], "internal");
  EXPECT_FALSE(publish(other).contains("upload_token")) << "the upload secret stays out of the listing";

  const auto inspected = admin("POST", "/_sandbox/tiktok/tokens/inspect", {{"token", kDemoRefresh}});
  EXPECT_EQ(inspected["kind"], "refresh");
  EXPECT_EQ(inspected["live"], true);
  EXPECT_FALSE(inspected.contains("token"));
  admin("POST", "/_sandbox/tiktok/tokens/expire", {{"token", kDemoAccess}});
  EXPECT_EQ(code_of(api("POST", "/v2/post/publish/creator_info/query/", kDemoAccess)), "access_token_invalid");

  admin("POST", "/_sandbox/tiktok/reset");
  EXPECT_TRUE(admin("GET", "/_sandbox/tiktok/publishes")["publishes"].empty());
  EXPECT_EQ(http(port(), "PUT", "/_sandbox/tiktok/users/x", R"({"no_such_setting":1})").status, 400);
}

// --state keeps the emulator's tokens and publishes across a restart (rotation included).
TEST(TikTokEmulatorState, TokensAndPublishesSurviveARestart) {
  const auto file = std::filesystem::temp_directory_path() / ("tiktok-state-" + std::to_string(::getpid()) + ".json");
  std::filesystem::remove(file);
  std::string newest;
  std::string publish_id;
  {
    SandboxProcess first({"--frozen-clock", "--state", file.string()});
    const auto rotated = http(first.port(), "POST", "/tiktok/v2/oauth/token/",
                              form_encode({{"client_key", kClientKey},
                                           {"client_secret", kClientSecret},
                                           {"grant_type", "refresh_token"},
                                           {"refresh_token", kDemoRefresh}}),
                              {{"Content-Type", "application/x-www-form-urlencoded"}})
                             .json();
    newest = rotated.value("refresh_token", "");
    const auto init =
        http(first.port(), "POST", "/tiktok/v2/post/publish/video/init/",
             json{{"post_info", {{"privacy_level", "SELF_ONLY"}}},
                  {"source_info",
                   {{"source", "FILE_UPLOAD"}, {"video_size", 1000}, {"chunk_size", 1000}, {"total_chunk_count", 1}}}}
                 .dump(),
             {{"Authorization", "Bearer " + rotated.value("access_token", "")}});
    publish_id = init.json()["data"].value("publish_id", "");
    EXPECT_EQ(first.stop(), 0);
  }
  SandboxProcess second({"--frozen-clock", "--state", file.string()});
  auto refresh = [&](const std::string& token) {
    return http(second.port(), "POST", "/tiktok/v2/oauth/token/",
                form_encode({{"client_key", kClientKey},
                             {"client_secret", kClientSecret},
                             {"grant_type", "refresh_token"},
                             {"refresh_token", token}}),
                {{"Content-Type", "application/x-www-form-urlencoded"}})
        .json();
  };
  EXPECT_EQ(refresh(kDemoRefresh)["error"], "invalid_grant") << "still spent after the restart";
  EXPECT_TRUE(refresh(newest).contains("access_token"));
  EXPECT_EQ(http_json(second.port(), "GET", "/_sandbox/tiktok/publishes/" + publish_id)["status"], "PROCESSING_UPLOAD");
  std::filesystem::remove(file);
}

}  // namespace
}  // namespace schedulo::test
