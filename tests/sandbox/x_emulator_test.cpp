// The X emulator, driven over plain HTTP as X's clients drive X (platform-apis.md section 3): OAuth 2.0
// with PKCE and rotating refresh tokens, posts, metrics, media upload v2 with processing on the
// sandbox clock, the 15-minute windows, 24-hour caps and usage cap, X's error shapes and the faults.
#include <gtest/gtest.h>

#include <string>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {
namespace {

using json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;

constexpr const char* kClientId = "sbx-x-client-id";
constexpr const char* kClientSecret = "sbx-x-client-secret";
constexpr const char* kDemoUser = "1500000000000000001";
constexpr const char* kDemoAccess = "sbx-x-access-demo-0001";
constexpr const char* kDemoRefresh = "sbx-x-refresh-demo-0001";
constexpr const char* kAppBearer = "sbx-x-app-bearer-0001";
// RFC 7636 appendix B: a verifier and its S256 challenge, computed by the RFC's authors.
constexpr const char* kVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
constexpr const char* kChallenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";
constexpr const char* kRedirect = "http://127.0.0.1:9/x/callback";
const json kDuplicateBody{{"detail", "You are not allowed to create a Tweet with duplicate content."},
                          {"type", "about:blank"},
                          {"title", "Forbidden"},
                          {"status", 403}};

std::string base64(const std::string& in) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    for (int s : {18, 12, 6, 0}) out += kAlphabet[(n >> s) & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

std::string query_value(const std::string& url, const std::string& name) {
  const auto at = url.find(name + "=");
  if (at == std::string::npos) return {};
  const auto start = at + name.size() + 1;
  const auto end = url.find('&', start);
  return url.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

std::int64_t header_int(const HttpReply& reply, const std::string& name) {
  const auto text = reply.header(name);
  EXPECT_FALSE(text.empty()) << "no " << name << " header";
  return text.empty() ? -1 : std::stoll(text);
}

std::string multipart(const std::string& boundary, const std::vector<std::pair<std::string, std::string>>& fields,
                      const std::string& media, const std::string& media_type = "application/octet-stream") {
  std::string body;
  for (const auto& [name, value] : fields)
    body += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + name + "\"\r\n\r\n" + value + "\r\n";
  body += "--" + boundary +
          "\r\nContent-Disposition: form-data; name=\"media\"; filename=\"blob\"\r\nContent-Type: " + media_type +
          "\r\n\r\n" + media + "\r\n";
  body += "--" + boundary + "--\r\n";
  return body;
}

class XEmulator : public ::testing::Test {
 protected:
  // Whole seconds on the (frozen) clock, so reset headers (epoch seconds) compare exactly.
  void SetUp() override {
    const auto now = http_json(sandbox.port(), "GET", "/_sandbox/clock")["now_ms"].get<std::int64_t>();
    http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"set_ms", (now / 1000 + 1) * 1000}});
  }

  HttpReply api(const std::string& method, const std::string& target, const json& body = nullptr,
                const std::string& token = kDemoAccess) {
    Headers headers{{"Content-Type", "application/json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return http(sandbox.port(), method, "/x" + target, body.is_null() ? "" : body.dump(), headers);
  }
  HttpReply form(const std::string& target, const std::string& body, bool basic = true) {
    Headers headers{{"Content-Type", "application/x-www-form-urlencoded"}};
    if (basic) headers.emplace_back("Authorization", "Basic " + base64(std::string(kClientId) + ":" + kClientSecret));
    return http(sandbox.port(), "POST", "/x" + target, body, headers);
  }
  json admin(const std::string& method, const std::string& target, const json& body = nullptr) {
    return http_json(sandbox.port(), method, "/_sandbox/x" + target, body);
  }
  void advance_secs(std::int64_t secs) {
    http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"advance_ms", secs * 1000}});
  }
  std::int64_t now_secs() {
    return http_json(sandbox.port(), "GET", "/_sandbox/clock")["now_ms"].get<std::int64_t>() / 1000;
  }

  // The authorize page approves at once; returns the code from the redirect.
  std::string authorize(
      const std::string& challenge = kChallenge,
      const std::string& scope = "tweet.read%20tweet.write%20users.read%20offline.access%20media.write") {
    const auto reply = http(sandbox.port(), "GET",
                            "/x/i/oauth2/authorize?response_type=code&client_id=" + std::string(kClientId) +
                                "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fx%2Fcallback&scope=" + scope +
                                "&state=st-42&code_challenge=" + challenge + "&code_challenge_method=S256");
    EXPECT_EQ(reply.status, 302) << reply.body;
    const auto location = reply.header("location");
    EXPECT_TRUE(location.starts_with(std::string(kRedirect) + "?")) << location;
    EXPECT_EQ(query_value(location, "state"), "st-42");
    return query_value(location, "code");
  }
  HttpReply exchange(const std::string& code, const std::string& verifier = kVerifier, bool basic = true) {
    return form("/2/oauth2/token",
                "grant_type=authorization_code&code=" + code +
                    "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fx%2Fcallback&code_verifier=" + verifier +
                    "&client_id=" + kClientId,
                basic);
  }
  HttpReply refresh(const std::string& refresh_token) {
    return form("/2/oauth2/token",
                "grant_type=refresh_token&refresh_token=" + refresh_token + "&client_id=" + kClientId);
  }
  std::string post(const std::string& text, const json& extra = json::object()) {
    json body = extra;
    body["text"] = text;
    const auto reply = api("POST", "/2/tweets", body);
    EXPECT_EQ(reply.status, 201) << reply.body;
    return reply.json()["data"].value("id", "");
  }
  // Initialize + append `sizes` segments + finalize; returns the finalize answer.
  std::pair<std::string, json> upload(const std::string& media_type, const std::string& category,
                                      const std::vector<std::size_t>& sizes) {
    std::size_t total = 0;
    for (auto s : sizes) total += s;
    const auto init = api("POST", "/2/media/upload/initialize",
                          {{"media_type", media_type}, {"total_bytes", total}, {"media_category", category}});
    EXPECT_EQ(init.status, 200) << init.body;
    const std::string id = init.json()["data"]["id"];
    for (std::size_t i = 0; i < sizes.size(); ++i) {
      const auto body = multipart("xBoUnDaRy", {{"segment_index", std::to_string(i)}},
                                  std::string(sizes[i], 'a' + static_cast<char>(i)));
      const auto reply = http(sandbox.port(), "POST", "/x/2/media/upload/" + id + "/append", body,
                              {{"Content-Type", "multipart/form-data; boundary=xBoUnDaRy"},
                               {"Authorization", std::string("Bearer ") + kDemoAccess}});
      EXPECT_EQ(reply.status, 200) << reply.body;
    }
    const auto fin = api("POST", "/2/media/upload/" + id + "/finalize");
    EXPECT_EQ(fin.status, 200) << fin.body;
    return {id, fin.json()};
  }
  json status(const std::string& id) {
    const auto reply = api("GET", "/2/media/upload?command=STATUS&media_id=" + id);
    EXPECT_EQ(reply.status, 200) << reply.body;
    return reply.json()["data"];
  }

  SandboxProcess sandbox;
};

// ---- OAuth 2.0 -----------------------------------------------------------------------------------------

TEST_F(XEmulator, CodeExchangeWithTheS256VerifierIssuesTokensForTheApprovingUser) {
  const auto code = authorize();
  ASSERT_FALSE(code.empty());
  const auto reply = exchange(code);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const auto tokens = reply.json();
  EXPECT_EQ(tokens["token_type"], "bearer");
  EXPECT_EQ(tokens["expires_in"], 7200);
  EXPECT_NE(tokens["scope"].get<std::string>().find("offline.access"), std::string::npos);
  ASSERT_TRUE(tokens.contains("refresh_token"));
  const auto me = api("GET", "/2/users/me", nullptr, tokens["access_token"]);
  ASSERT_EQ(me.status, 200) << me.body;
  EXPECT_EQ(me.json()["data"]["id"], kDemoUser);
  EXPECT_EQ(me.json()["data"]["username"], "schedulo_demo");
}

TEST_F(XEmulator, AWrongVerifierOrASecondUseOfTheCodeIsRefused) {
  const auto code = authorize();
  const auto wrong = exchange(code, std::string(43, 'A'));
  EXPECT_EQ(wrong.status, 400);
  EXPECT_EQ(wrong.json(), (json{{"error", "invalid_request"},
                                {"error_description", "Value passed for the authorization code was invalid."}}));
  ASSERT_EQ(exchange(code).status, 200) << "a refused verifier does not spend the code";
  EXPECT_EQ(exchange(code).status, 400) << "a code is single-use";
}

TEST_F(XEmulator, WithoutScopeOfflineAccessThereIsNoRefreshToken) {
  const auto reply = exchange(authorize(kChallenge, "tweet.read%20users.read"));
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_FALSE(reply.json().contains("refresh_token"));
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "no write scope"}}, reply.json()["access_token"]).status, 403);
}

TEST_F(XEmulator, AConfidentialClientWithoutBasicAuthIsUnauthorized) {
  const auto reply = exchange(authorize(), kVerifier, false);
  EXPECT_EQ(reply.status, 401);
  EXPECT_EQ(reply.json(),
            (json{{"error", "unauthorized_client"}, {"error_description", "Missing valid authorization header"}}));
}

TEST_F(XEmulator, AnAuthorizationCodeExpiresAfterThirtySeconds) {
  const auto code = authorize();
  advance_secs(31);
  EXPECT_EQ(exchange(code).status, 400);
}

TEST_F(XEmulator, RefreshRotatesAndTheOldRefreshTokenIsRefusedOnReuse) {
  const auto first = refresh(kDemoRefresh);
  ASSERT_EQ(first.status, 200) << first.body;
  const std::string next = first.json()["refresh_token"];
  EXPECT_NE(next, kDemoRefresh);
  const auto reused = refresh(kDemoRefresh);
  EXPECT_EQ(reused.status, 400);
  EXPECT_EQ(reused.json(),
            (json{{"error", "invalid_request"}, {"error_description", "Value passed for the token was invalid."}}));
  const auto second = refresh(next);
  ASSERT_EQ(second.status, 200) << "the successor works once";
  EXPECT_EQ(api("GET", "/2/users/me", nullptr, second.json()["access_token"]).status, 200);
  EXPECT_EQ(admin("POST", "/tokens/inspect", {{"token", next}})["used"], true);
}

TEST_F(XEmulator, AnExpiredAccessTokenIs401UntilRefreshed) {
  advance_secs(7200);
  const auto expired = api("GET", "/2/users/me");
  EXPECT_EQ(expired.status, 401);
  EXPECT_EQ(expired.json(),
            (json{{"title", "Unauthorized"}, {"type", "about:blank"}, {"status", 401}, {"detail", "Unauthorized"}}));
  EXPECT_EQ(expired.header("content-type"), "application/problem+json");
  const auto fresh = refresh(kDemoRefresh);
  ASSERT_EQ(fresh.status, 200);
  EXPECT_EQ(api("GET", "/2/users/me", nullptr, fresh.json()["access_token"]).status, 200);
}

TEST_F(XEmulator, RevokingTheRefreshTokenEndsTheWholeGrant) {
  const auto reply = form("/2/oauth2/revoke", std::string("token=") + kDemoRefresh +
                                                  "&token_type_hint=refresh_token&client_id=" + kClientId);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(refresh(kDemoRefresh).status, 400);
  EXPECT_EQ(api("GET", "/2/users/me").status, 401) << "the access token of the grant ends too";
}

TEST_F(XEmulator, RevokingAnAccessTokenLeavesTheRefreshToken) {
  ASSERT_EQ(form("/2/oauth2/revoke", std::string("token=") + kDemoAccess + "&token_type_hint=access_token").status,
            200);
  EXPECT_EQ(api("GET", "/2/users/me").status, 401);
  EXPECT_EQ(refresh(kDemoRefresh).status, 200);
}

TEST_F(XEmulator, APublicClientNeedsARegisteredRedirectAndNoBasicAuth) {
  admin("POST", "/apps", {{"client_id", "public-app"}, {"callback_urls", {"http://127.0.0.1:9/cb"}}});
  const std::string base =
      "/x/i/oauth2/authorize?response_type=code&client_id=public-app&scope=tweet.read%20users.read"
      "&state=s&code_challenge=" +
      std::string(kChallenge) + "&code_challenge_method=S256&redirect_uri=";
  EXPECT_EQ(http(sandbox.port(), "GET", base + "http%3A%2F%2F127.0.0.1%3A9%2Fother").status, 400);
  const auto denied = http(sandbox.port(), "GET", base + "http%3A%2F%2F127.0.0.1%3A9%2Fcb&sandbox_decision=deny");
  EXPECT_EQ(query_value(denied.header("location"), "error"), "access_denied");
  const auto approved = http(sandbox.port(), "GET", base + "http%3A%2F%2F127.0.0.1%3A9%2Fcb");
  ASSERT_EQ(approved.status, 302);
  const auto code = query_value(approved.header("location"), "code");
  const auto reply =
      form("/2/oauth2/token",
           "grant_type=authorization_code&code=" + code +
               "&redirect_uri=http%3A%2F%2F127.0.0.1%3A9%2Fcb&code_verifier=" + kVerifier + "&client_id=public-app",
           false);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(api("GET", "/2/users/me", nullptr, reply.json()["access_token"]).json()["data"]["id"], kDemoUser);
}

TEST_F(XEmulator, TheExpireControlEndsAnAccessTokenAtOnce) {
  EXPECT_EQ(admin("POST", "/tokens/expire", {{"access_token", kDemoAccess}})["expired"], 1);
  EXPECT_EQ(api("GET", "/2/users/me").status, 401);
}

// ---- posts -------------------------------------------------------------------------------------------------

TEST_F(XEmulator, APostIsCreatedWith201AndCarriesTheDailyLimitHeaders) {
  const auto reply = api("POST", "/2/tweets", {{"text", "Hello from the sandbox"}});
  ASSERT_EQ(reply.status, 201) << reply.body;
  const auto data = reply.json()["data"];
  EXPECT_EQ(data["text"], "Hello from the sandbox");
  EXPECT_EQ(data["edit_history_tweet_ids"], json::array({data["id"]}));
  EXPECT_EQ(header_int(reply, "x-rate-limit-limit"), 100);
  EXPECT_EQ(header_int(reply, "x-rate-limit-remaining"), 99);
  EXPECT_EQ(header_int(reply, "x-rate-limit-reset"), now_secs() + 900);
  EXPECT_EQ(header_int(reply, "x-user-limit-24hour-limit"), 100);
  EXPECT_EQ(header_int(reply, "x-user-limit-24hour-remaining"), 99);
  EXPECT_EQ(header_int(reply, "x-user-limit-24hour-reset"), now_secs() + 86400);
  EXPECT_EQ(header_int(reply, "x-app-limit-24hour-limit"), 10000);
  EXPECT_EQ(header_int(reply, "x-app-limit-24hour-remaining"), 9999);
}

TEST_F(XEmulator, DuplicateTextFromTheSameUserIs403WithXsBody) {
  post("Same words twice");
  const auto again = api("POST", "/2/tweets", {{"text", "Same words twice"}});
  EXPECT_EQ(again.status, 403);
  EXPECT_EQ(again.json(), kDuplicateBody);
  const auto other = admin("POST", "/users", {{"username", "other_user"}})["tokens"]["access_token"].get<std::string>();
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "Same words twice"}}, other).status, 201) << "another user may say it";
  EXPECT_EQ(admin("GET", std::string("/posts?user_id=") + kDemoUser)["posts"].size(), 1u);
}

TEST_F(XEmulator, TextIsLimitedTo280WeightedCharacters) {
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", std::string(280, 'a')}}).status, 201);
  const auto too_long = api("POST", "/2/tweets", {{"text", std::string(281, 'b')}});
  EXPECT_EQ(too_long.status, 400);
  EXPECT_EQ(too_long.json()["type"], "https://api.twitter.com/2/problems/invalid-request");
  EXPECT_TRUE(too_long.json()["errors"][0]["parameters"].contains("text"));
  std::string cjk;
  for (int i = 0; i < 140; ++i) cjk += "\xE6\x97\xA5";  // U+65E5 weighs 2
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", cjk}}).status, 201);
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", cjk + "c"}}).status, 400);
  // A URL weighs 23 however long it is.
  EXPECT_EQ(
      api("POST", "/2/tweets", {{"text", std::string(250, 'd') + " https://example.com/" + std::string(100, 'p')}})
          .status,
      201);
}

TEST_F(XEmulator, AReplyJoinsTheConversationAndAReplyToADeletedPostIsRefused) {
  const auto root = post("Thread 1/2");
  const auto reply = post("Thread 2/2", {{"reply", {{"in_reply_to_tweet_id", root}}}});
  const auto got = api(
      "GET", "/2/tweets/" + reply + "?tweet.fields=conversation_id,in_reply_to_user_id,referenced_tweets,author_id");
  ASSERT_EQ(got.status, 200) << got.body;
  const auto data = got.json()["data"];
  EXPECT_EQ(data["conversation_id"], root);
  EXPECT_EQ(data["in_reply_to_user_id"], kDemoUser);
  EXPECT_EQ(data["referenced_tweets"], (json::array({{{"type", "replied_to"}, {"id", root}}})));
  EXPECT_EQ(data["author_id"], kDemoUser);
  ASSERT_EQ(api("DELETE", "/2/tweets/" + root).status, 200);
  const auto orphan = api("POST", "/2/tweets", {{"text", "late reply"}, {"reply", {{"in_reply_to_tweet_id", root}}}});
  EXPECT_EQ(orphan.status, 403);
}

TEST_F(XEmulator, DeleteAnswersDeletedTrueAndTheIdIsThenNotFound) {
  const auto id = post("short-lived");
  const auto deleted = api("DELETE", "/2/tweets/" + id);
  ASSERT_EQ(deleted.status, 200);
  EXPECT_EQ(deleted.json(), (json{{"data", {{"deleted", true}}}}));
  const auto lookup = api("GET", "/2/tweets?ids=" + id);
  EXPECT_EQ(lookup.status, 200);
  EXPECT_FALSE(lookup.json().contains("data"));
  EXPECT_EQ(lookup.json()["errors"][0]["resource_id"], id);
  EXPECT_EQ(lookup.json()["errors"][0]["type"], "https://api.twitter.com/2/problems/resource-not-found");
  EXPECT_EQ(api("DELETE", "/2/tweets/" + id).status, 404);
  EXPECT_EQ(post("short-lived").empty(), false) << "a deleted post's text is no duplicate";
}

TEST_F(XEmulator, MetricsArePublicForAllAndNonPublicAndOrganicForTheAuthorsRecentPosts) {
  const auto id = post("measured");
  admin("POST", "/posts/" + id + "/metrics",
        {{"public_metrics", {{"like_count", 7}, {"impression_count", 120}}},
         {"non_public_metrics", {{"url_link_clicks", 3}}},
         {"organic_metrics", {{"impression_count", 118}}}});
  const auto fields = "?ids=" + id + "&tweet.fields=public_metrics,non_public_metrics,organic_metrics,created_at";
  const auto own = api("GET", "/2/tweets" + fields);
  ASSERT_EQ(own.status, 200) << own.body;
  const auto data = own.json()["data"][0];
  EXPECT_EQ(data["public_metrics"]["like_count"], 7);
  EXPECT_EQ(data["public_metrics"]["bookmark_count"], 0);
  EXPECT_EQ(data["non_public_metrics"]["url_link_clicks"], 3);
  EXPECT_EQ(data["non_public_metrics"]["user_profile_clicks"], 0);
  EXPECT_EQ(data["organic_metrics"]["impression_count"], 118);
  EXPECT_FALSE(own.json().contains("errors"));

  const auto app_only = api("GET", "/2/tweets" + fields, nullptr, kAppBearer);
  ASSERT_EQ(app_only.status, 200) << app_only.body;
  EXPECT_EQ(app_only.json()["data"][0]["public_metrics"]["like_count"], 7);
  EXPECT_FALSE(app_only.json()["data"][0].contains("non_public_metrics"));
  EXPECT_EQ(app_only.json()["errors"].size(), 2u);
  EXPECT_EQ(app_only.json()["errors"][0]["title"], "Field Authorization Error");

  const auto old = admin("POST", "/posts", {{"text", "from last season"}, {"created_at", "2020-01-01T00:00:00Z"}})["id"]
                       .get<std::string>();
  const auto aged = api("GET", "/2/tweets?ids=" + old + "&tweet.fields=public_metrics,non_public_metrics");
  EXPECT_TRUE(aged.json()["data"][0].contains("public_metrics"));
  EXPECT_FALSE(aged.json()["data"][0].contains("non_public_metrics")) << "older than 30 days";
}

TEST_F(XEmulator, LookupTakesUpTo100Ids) {
  std::string ids = post("one");
  for (int i = 0; i < 99; ++i) ids += ",1" + std::to_string(i);
  const auto hundred = api("GET", "/2/tweets?ids=" + ids);
  EXPECT_EQ(hundred.status, 200);
  EXPECT_EQ(hundred.json()["data"].size(), 1u);
  EXPECT_EQ(hundred.json()["errors"].size(), 99u);
  EXPECT_EQ(api("GET", "/2/tweets?ids=" + ids + ",2").status, 400);
}

TEST_F(XEmulator, AUsersPostsComeNewestFirstInPages) {
  std::vector<std::string> ids;
  for (int i = 0; i < 7; ++i) {
    ids.push_back(post("post " + std::to_string(i)));
    advance_secs(1);
  }
  post("a reply", {{"reply", {{"in_reply_to_tweet_id", ids[0]}}}});
  const auto first = api("GET", std::string("/2/users/") + kDemoUser + "/tweets?max_results=5&exclude=replies");
  ASSERT_EQ(first.status, 200) << first.body;
  const auto page1 = first.json();
  ASSERT_EQ(page1["data"].size(), 5u);
  EXPECT_EQ(page1["data"][0]["id"], ids[6]);
  EXPECT_EQ(page1["meta"]["newest_id"], ids[6]);
  EXPECT_EQ(page1["meta"]["oldest_id"], ids[2]);
  ASSERT_TRUE(page1["meta"].contains("next_token"));
  const auto page2 =
      api("GET", std::string("/2/users/") + kDemoUser + "/tweets?max_results=5&exclude=replies&pagination_token=" +
                     page1["meta"]["next_token"].get<std::string>())
          .json();
  ASSERT_EQ(page2["data"].size(), 2u);
  EXPECT_EQ(page2["data"][1]["id"], ids[0]);
  EXPECT_FALSE(page2["meta"].contains("next_token"));
  EXPECT_EQ(api("GET", std::string("/2/users/") + kDemoUser + "/tweets?max_results=4").status, 400);
}

TEST_F(XEmulator, AnAppOnlyTokenCannotPost) {
  const auto reply = api("POST", "/2/tweets", {{"text", "as the app"}}, kAppBearer);
  EXPECT_EQ(reply.status, 403);
  EXPECT_EQ(reply.json()["title"], "Unsupported Authentication");
}

// ---- media -----------------------------------------------------------------------------------------------------

TEST_F(XEmulator, VideoProcessingMovesOnlyWhenPolledAfterCheckAfterSecs) {
  admin("POST", "/processing", {{"category", "tweet_video"}, {"polls", 3}, {"check_after_secs", 5}});
  const auto [id, fin] = upload("video/mp4", "tweet_video", {1000, 1000, 500});
  EXPECT_EQ(fin["data"]["size"], 2500);
  EXPECT_EQ(fin["data"]["media_key"], "7_" + id);
  EXPECT_EQ(fin["data"]["processing_info"], (json{{"state", "pending"}, {"check_after_secs", 5}}));
  const auto early = api("POST", "/2/tweets", {{"text", "too soon"}, {"media", {{"media_ids", {id}}}}});
  EXPECT_EQ(early.status, 400) << "media is attached only after succeeded";

  advance_secs(2);
  EXPECT_EQ(status(id)["processing_info"], (json{{"state", "pending"}, {"check_after_secs", 3}}))
      << "a poll before check_after_secs changes nothing";
  advance_secs(3);
  EXPECT_EQ(status(id)["processing_info"],
            (json{{"state", "in_progress"}, {"check_after_secs", 5}, {"progress_percent", 33}}));
  advance_secs(5);
  EXPECT_EQ(status(id)["processing_info"]["progress_percent"], 66);
  advance_secs(5);
  EXPECT_EQ(status(id)["processing_info"], (json{{"state", "succeeded"}, {"progress_percent", 100}}));

  const auto with_video = post("watch this", {{"media", {{"media_ids", {id}}}}});
  const auto got =
      api("GET", "/2/tweets?ids=" + with_video + "&tweet.fields=attachments&expansions=attachments.media_keys");
  EXPECT_EQ(got.json()["data"][0]["attachments"]["media_keys"], json::array({"7_" + id}));
  EXPECT_EQ(got.json()["includes"]["media"][0]["type"], "video");
}

TEST_F(XEmulator, ProcessingCanFailWithAnError) {
  admin("POST", "/processing",
        {{"category", "tweet_gif"}, {"polls", 1}, {"check_after_secs", 1}, {"outcome", "failed"}});
  const auto [id, fin] = upload("image/gif", "tweet_gif", {300});
  EXPECT_EQ(fin["data"]["media_key"], "16_" + id);
  advance_secs(1);
  const auto info = status(id)["processing_info"];
  EXPECT_EQ(info["state"], "failed");
  EXPECT_EQ(info["error"]["name"], "InvalidMedia");
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "gif"}, {"media", {{"media_ids", {id}}}}}).status, 400);
}

TEST_F(XEmulator, ImagesAreReadyAtFinalizeAndUpToFourGoInOnePost) {
  std::vector<std::string> ids;
  for (int i = 0; i < 5; ++i) {
    const auto [id, fin] = upload("image/png", "tweet_image", {100});
    EXPECT_FALSE(fin["data"].contains("processing_info")) << "no processing_info: ready";
    ids.push_back(id);
  }
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "five"}, {"media", {{"media_ids", ids}}}}).status, 400);
  ids.pop_back();
  post("four pictures", {{"media", {{"media_ids", ids}}}});
  admin("POST", "/processing", {{"category", "tweet_video"}, {"polls", 1}, {"require_wait", false}});
  const auto [video, fin] = upload("video/mp4", "tweet_video", {100});
  status(video);
  EXPECT_EQ(status(video)["processing_info"]["state"], "succeeded");
  const auto mixed = api("POST", "/2/tweets", {{"text", "mixed"}, {"media", {{"media_ids", {ids[0], video}}}}});
  EXPECT_EQ(mixed.status, 400) << "a video goes alone";
}

TEST_F(XEmulator, AltTextIsKeptAndShownWithTheMedia) {
  const auto [id, fin] = upload("image/jpeg", "tweet_image", {64});
  const auto set =
      api("POST", "/2/media/metadata", {{"id", id}, {"metadata", {{"alt_text", {{"text", "a red kite"}}}}}});
  ASSERT_EQ(set.status, 200) << set.body;
  EXPECT_EQ(
      api("POST", "/2/media/metadata", {{"id", id}, {"metadata", {{"alt_text", {{"text", std::string(1001, 'x')}}}}}})
          .status,
      400);
  const auto with_alt = post("kite", {{"media", {{"media_ids", {id}}}}});
  const auto got = api("GET", "/2/tweets?ids=" + with_alt + "&expansions=attachments.media_keys&media.fields=alt_text");
  EXPECT_EQ(got.json()["includes"]["media"][0]["alt_text"], "a red kite");
}

TEST_F(XEmulator, SegmentsMustAddUpToTotalBytesAndARepeatedSegmentReplacesItself) {
  const auto init = api("POST", "/2/media/upload/initialize",
                        {{"media_type", "video/mp4"}, {"total_bytes", 10}, {"media_category", "tweet_video"}});
  const std::string id = init.json()["data"]["id"];
  auto append = [&](int index, const std::string& bytes) {
    return api("POST", "/2/media/upload/" + id + "/append", {{"segment_index", index}, {"media", base64(bytes)}});
  };
  const auto first = append(0, "aaaa");
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(first.json()["data"].contains("expires_at"));
  EXPECT_EQ(append(0, "aaaa").status, 200) << "the same segment again (a lost answer) is accepted";
  EXPECT_EQ(append(1, std::string(7, 'b')).status, 400) << "past total_bytes";
  const auto short_finalize = api("POST", "/2/media/upload/" + id + "/finalize");
  EXPECT_EQ(short_finalize.status, 400);
  EXPECT_NE(short_finalize.body.find("Segments do not add up to provided total file size."), std::string::npos);
  ASSERT_EQ(append(1, "bbbbbb").status, 200);
  EXPECT_EQ(api("POST", "/2/media/upload/" + id + "/finalize").status, 200);
  const auto media = admin("GET", "/media/" + id);
  EXPECT_EQ(media["segments"].size(), 2u);
  EXPECT_EQ(media["finalized"], true);
}

TEST_F(XEmulator, MediaOfAnotherUserCannotBeUsed) {
  const auto [id, fin] = upload("image/jpeg", "tweet_image", {50});
  const auto other =
      admin("POST", "/users", {{"username", "someone_else"}})["tokens"]["access_token"].get<std::string>();
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "stolen"}, {"media", {{"media_ids", {id}}}}}, other).status, 400);
}

TEST_F(XEmulator, TheV11UploadSpeaksItsOwnShapes) {
  const auto headers = Headers{{"Content-Type", "application/x-www-form-urlencoded"},
                               {"Authorization", std::string("Bearer ") + kDemoAccess}};
  const auto init = http(sandbox.port(), "POST", "/x/1.1/media/upload.json",
                         "command=INIT&total_bytes=3&media_type=video%2Fmp4&media_category=tweet_video", headers);
  ASSERT_EQ(init.status, 200) << init.body;
  const std::string id = init.json()["media_id_string"];
  EXPECT_EQ(std::to_string(init.json()["media_id"].get<std::int64_t>()), id);
  const auto append = http(
      sandbox.port(), "POST", "/x/1.1/media/upload.json",
      multipart("b0", {{"command", "APPEND"}, {"media_id", id}, {"segment_index", "0"}}, "xyz"),
      {{"Content-Type", "multipart/form-data; boundary=b0"}, {"Authorization", std::string("Bearer ") + kDemoAccess}});
  EXPECT_EQ(append.status, 204) << append.body;
  const auto fin = http(sandbox.port(), "POST", "/x/1.1/media/upload.json", "command=FINALIZE&media_id=" + id, headers);
  ASSERT_EQ(fin.status, 200) << fin.body;
  EXPECT_EQ(fin.json()["processing_info"]["state"], "pending");
  EXPECT_EQ(fin.json()["video"]["video_type"], "video/mp4");
  const auto bad = http(sandbox.port(), "POST", "/x/1.1/media/upload.json", "command=FINALIZE&media_id=" + id,
                        {{"Authorization", "Bearer nope"}});
  EXPECT_EQ(bad.status, 401);
  EXPECT_EQ(bad.json(), (json{{"errors", {{{"code", 89}, {"message", "Invalid or expired token."}}}}}));
}

// ---- limits -----------------------------------------------------------------------------------------------------

TEST_F(XEmulator, ASpentWindowIs429WithRemainingZeroUntilItsReset) {
  admin("POST", "/limits", {{"route", "x.users.me"}, {"user_15min", 2}});
  const auto start = now_secs();
  EXPECT_EQ(header_int(api("GET", "/2/users/me"), "x-rate-limit-remaining"), 1);
  EXPECT_EQ(header_int(api("GET", "/2/users/me"), "x-rate-limit-remaining"), 0);
  const auto limited = api("GET", "/2/users/me");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(
      limited.json(),
      (json{
          {"title", "Too Many Requests"}, {"detail", "Too Many Requests"}, {"type", "about:blank"}, {"status", 429}}));
  EXPECT_EQ(header_int(limited, "x-rate-limit-remaining"), 0);
  EXPECT_EQ(header_int(limited, "x-rate-limit-reset"), start + 900);
  EXPECT_TRUE(limited.header("retry-after").empty()) << "X sends no Retry-After";
  advance_secs(899);
  EXPECT_EQ(api("GET", "/2/users/me").status, 429);
  advance_secs(1);
  EXPECT_EQ(api("GET", "/2/users/me").status, 200) << "a new window at the reset";
}

TEST_F(XEmulator, TheExhaustControlSpendsAWindowFifteenMinutesAhead) {
  const auto spent = admin("POST", "/rate_limits/exhaust", {{"route", "x.tweets.create"}, {"scope", "user_15min"}});
  EXPECT_EQ(spent["reset"], now_secs() + 900);
  const auto limited = api("POST", "/2/tweets", {{"text", "blocked"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_int(limited, "x-rate-limit-reset"), now_secs() + 900);
  EXPECT_TRUE(admin("GET", "/posts")["posts"].empty());
  advance_secs(900);
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "blocked"}}).status, 201);
}

TEST_F(XEmulator, ASpentDailyCapIs429ThoughTheWindowHasRemaining) {
  admin("POST", "/rate_limits/exhaust", {{"route", "x.tweets.create"}, {"scope", "user_24h"}});
  const auto limited = api("POST", "/2/tweets", {{"text", "over the day's cap"}});
  EXPECT_EQ(limited.status, 429);
  EXPECT_GT(header_int(limited, "x-rate-limit-remaining"), 0);
  EXPECT_EQ(header_int(limited, "x-user-limit-24hour-remaining"), 0);
  EXPECT_EQ(header_int(limited, "x-user-limit-24hour-reset"), now_secs() + 86400);
  EXPECT_GT(header_int(limited, "x-app-limit-24hour-remaining"), 0);
  advance_secs(86400);
  const auto fresh = refresh(kDemoRefresh).json();  // the day outlived the access token
  EXPECT_EQ(api("POST", "/2/tweets", {{"text", "over the day's cap"}}, fresh["access_token"]).status, 201);
}

TEST_F(XEmulator, TheMonthlyUsageCapIs429UsageCapExceededWithRemainingNotZero) {
  const auto id = post("read me");
  admin("POST", "/usage", {{"read_cap", 10}, {"reads_used", 10}});
  const auto capped = api("GET", "/2/tweets?ids=" + id);
  EXPECT_EQ(capped.status, 429);
  EXPECT_EQ(capped.json(), (json{{"title", "UsageCapExceeded"},
                                 {"detail", "Usage cap exceeded: Monthly product cap"},
                                 {"type", "https://api.twitter.com/2/problems/usage-capped"},
                                 {"period", "Monthly"},
                                 {"scope", "Product"}}));
  EXPECT_GT(header_int(capped, "x-rate-limit-remaining"), 0);
  EXPECT_EQ(api("GET", "/2/users/me").status, 200) << "the cap is on reading posts";
}

// ---- faults and shapes -------------------------------------------------------------------------------------------

TEST_F(XEmulator, CommitThenLoseMakesThePostAndTheRetryIsADuplicate) {
  http_json(sandbox.port(), "POST", "/_sandbox/faults",
            {{"kind", "commit_then_lose"}, {"route", "x.tweets.create"}, {"count", 1}});
  const auto lost = api("POST", "/2/tweets", {{"text", "did it go out?"}});
  EXPECT_FALSE(lost.answered);
  EXPECT_EQ(admin("GET", "/posts")["posts"].size(), 1u) << "the post exists though no answer came";
  const auto retry = api("POST", "/2/tweets", {{"text", "did it go out?"}});
  EXPECT_EQ(retry.status, 403);
  EXPECT_EQ(retry.json(), kDuplicateBody);
  const auto timeline = api("GET", std::string("/2/users/") + kDemoUser + "/tweets").json();
  EXPECT_EQ(timeline["meta"]["result_count"], 1);
  EXPECT_EQ(timeline["data"][0]["text"], "did it go out?");
}

// How a test fails the third post of a thread: a deterministic rate of 0.34 selects request 3 of 3.
TEST_F(XEmulator, AFaultAtRateAThirdFailsExactlyTheThirdPostOfAThread) {
  http_json(sandbox.port(), "POST", "/_sandbox/faults",
            {{"kind", "error"}, {"status", 503}, {"route", "x.tweets.create"}, {"rate", 0.34}, {"count", 1}});
  std::vector<std::string> thread{post("thread 1/5")};
  thread.push_back(post("thread 2/5", {{"reply", {{"in_reply_to_tweet_id", thread.back()}}}}));
  const json third{{"text", "thread 3/5"}, {"reply", {{"in_reply_to_tweet_id", thread.back()}}}};
  EXPECT_EQ(api("POST", "/2/tweets", third).status, 503);
  for (int i = 3; i <= 5; ++i)
    thread.push_back(
        post("thread " + std::to_string(i) + "/5", {{"reply", {{"in_reply_to_tweet_id", thread.back()}}}}));
  const auto posts = admin("GET", "/posts")["posts"];
  ASSERT_EQ(posts.size(), 5u);
  for (const auto& p : posts) EXPECT_EQ(p["conversation_id"], thread.front());
  EXPECT_EQ(posts[4]["in_reply_to_id"], thread[3]);
}

TEST_F(XEmulator, InjectedFaultsAnswerInXsShapes) {
  http_json(sandbox.port(), "POST", "/_sandbox/faults",
            json::array({{{"kind", "rate_limit"}, {"route", "x.users.me"}, {"count", 1}},
                         {{"kind", "outage"}, {"route", "x.tweets.create"}, {"count", 1}}}));
  const auto limited = api("GET", "/2/users/me");
  EXPECT_EQ(limited.status, 429);
  EXPECT_EQ(header_int(limited, "x-rate-limit-remaining"), 0);
  EXPECT_EQ(header_int(limited, "x-rate-limit-reset"), now_secs() + 900);
  const auto down = api("POST", "/2/tweets", {{"text", "during the outage"}});
  EXPECT_EQ(down.status, 503);
  EXPECT_EQ(down.json()["title"], "Service Unavailable");
  EXPECT_TRUE(admin("GET", "/posts")["posts"].empty());
}

// Issue 16: a storm scaled to a test's timeouts. reset_in_ms names a window that ends that long after
// each answer (the emulator's own 15-minute reset replaced, not joined), and the fault's headers
// replace the emulator's of the same name; the request log keeps what the answer said.
TEST_F(XEmulator, AnInjected429NamesTheFaultsResetInPlaceOfTheEmulatorsOwn) {
  http_json(sandbox.port(), "POST", "/_sandbox/faults",
            {{"kind", "rate_limit"},
             {"route", "x.users.me"},
             {"count", 2},
             {"reset_in_ms", 2500},
             {"headers", {{"X-Rate-Limit-Limit", "7"}}}});
  const auto first = api("GET", "/2/users/me");
  EXPECT_EQ(first.status, 429);
  EXPECT_EQ(header_int(first, "x-rate-limit-reset"), now_secs() + 3) << "2.5 s, rounded up to a whole second";
  EXPECT_EQ(header_int(first, "x-rate-limit-limit"), 7);
  EXPECT_EQ(header_int(first, "x-rate-limit-remaining"), 0);
  advance_secs(10);
  const auto second = api("GET", "/2/users/me");
  EXPECT_EQ(header_int(second, "x-rate-limit-reset"), now_secs() + 3) << "relative to each answer";
  const auto log = http_json(sandbox.port(), "GET", "/_sandbox/log?route=x.users.me");
  ASSERT_EQ(log["entries"].size(), 2U);
  EXPECT_EQ(log["entries"][1]["response_headers"]["x-rate-limit-reset"], std::to_string(now_secs() + 3));
  EXPECT_EQ(api("GET", "/2/users/me").status, 200) << "the fault was for two answers";
  json bad = http_json(sandbox.port(), "POST", "/_sandbox/faults", {{"kind", "error"}, {"reset_in_ms", 1}});
  EXPECT_FALSE(bad.contains("ids")) << "reset_in_ms belongs to rate_limit faults: " << bad.dump();
}

TEST_F(XEmulator, AnUnknownPathAnswersTheOlderErrorsShape) {
  const auto reply = api("GET", "/2/nothing/here");
  EXPECT_EQ(reply.status, 404);
  EXPECT_EQ(reply.json(), (json{{"errors", {{{"code", 34}, {"message", "Sorry, that page does not exist"}}}}}));
}

TEST_F(XEmulator, ASeededUserGetsWorkingTokens) {
  const auto seeded = admin(
      "POST", "/users", {{"username", "seeded"}, {"access_token", "known-access"}, {"refresh_token", "known-refresh"}});
  EXPECT_EQ(seeded["tokens"]["access_token"], "known-access");
  const auto me = api("GET", "/2/users/me", nullptr, "known-access");
  ASSERT_EQ(me.status, 200);
  EXPECT_EQ(me.json()["data"]["username"], "seeded");
  EXPECT_EQ(refresh("known-refresh").status, 200);
}

TEST(XEmulatorState, PostsAndRotatedTokensSurviveARestart) {
  char tmpl[] = "/tmp/schedulo-x-state.XXXXXX";
  ASSERT_NE(::mkdtemp(tmpl), nullptr);
  const std::string file = std::string(tmpl) + "/state.json";
  std::string refresh_token;
  std::string id;
  {
    SandboxProcess sandbox({"--frozen-clock", "--state", file});
    const auto rotated = http(sandbox.port(), "POST", "/x/2/oauth2/token",
                              std::string("grant_type=refresh_token&refresh_token=") + kDemoRefresh,
                              {{"Content-Type", "application/x-www-form-urlencoded"},
                               {"Authorization", "Basic " + base64(std::string(kClientId) + ":" + kClientSecret)}});
    ASSERT_EQ(rotated.status, 200);
    refresh_token = rotated.json()["refresh_token"];
    const auto created =
        http(sandbox.port(), "POST", "/x/2/tweets", json{{"text", "kept"}}.dump(),
             {{"Content-Type", "application/json"}, {"Authorization", std::string("Bearer ") + kDemoAccess}});
    ASSERT_EQ(created.status, 201);
    id = created.json()["data"]["id"];
    EXPECT_EQ(sandbox.stop(), 0);
  }
  SandboxProcess again({"--frozen-clock", "--state", file});
  const auto got =
      http(again.port(), "GET", "/x/2/tweets/" + id, "", {{"Authorization", std::string("Bearer ") + kDemoAccess}});
  EXPECT_EQ(got.json()["data"]["text"], "kept");
  const auto basic = Headers{{"Content-Type", "application/x-www-form-urlencoded"},
                             {"Authorization", "Basic " + base64(std::string(kClientId) + ":" + kClientSecret)}};
  EXPECT_EQ(http(again.port(), "POST", "/x/2/oauth2/token",
                 std::string("grant_type=refresh_token&refresh_token=") + kDemoRefresh, basic)
                .status,
            400);
  EXPECT_EQ(
      http(again.port(), "POST", "/x/2/oauth2/token", "grant_type=refresh_token&refresh_token=" + refresh_token, basic)
          .status,
      200);
}

}  // namespace
}  // namespace schedulo::test
