// The Graph error table (platform-apis.md 1.0 and 1.1) -> the error taxonomy, request building
// (versioned base URL, token placement, appsecret_proof) and the usage feedback. Pure: no network.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "platforms/errors/messages.hpp"
#include "platforms/graph/client.hpp"
#include "platforms/graph/errors.hpp"

namespace schedulo::graph {
namespace {

using errors::ErrorClass;
using json = nlohmann::json;
using namespace std::chrono_literals;

http::Result<http::Response> answer(int status, const json& error, http::Headers headers = {}) {
  http::Response r;
  r.status = status;
  r.body = json{{"error", error}}.dump();
  r.headers = std::move(headers);
  return r;
}

json error_body(long long code, long long subcode = 0, bool transient = false) {
  json e{{"message", "(#" + std::to_string(code) + ") something"},
         {"type", "OAuthException"},
         {"code", code},
         {"is_transient", transient},
         {"fbtrace_id", "TRACE"}};
  if (subcode != 0) e["error_subcode"] = subcode;
  return e;
}

struct Row {
  long long code;
  long long subcode;
  ErrorClass kind;
  const char* error_code;
};

TEST(GraphErrors, EveryCodeOfTheReferenceHasItsClass) {
  const Row rows[] = {
      {190, 0, ErrorClass::auth_expired, "190"},
      {190, 463, ErrorClass::auth_expired, "190/463"},
      {190, 458, ErrorClass::auth_revoked, "190/458"},
      {190, 459, ErrorClass::auth_revoked, "190/459"},
      {190, 460, ErrorClass::auth_revoked, "190/460"},
      {190, 464, ErrorClass::auth_revoked, "190/464"},
      {190, 467, ErrorClass::auth_revoked, "190/467"},
      {190, 492, ErrorClass::auth_revoked, "190/492"},
      {102, 0, ErrorClass::auth_expired, "102"},
      {102, 460, ErrorClass::auth_revoked, "102/460"},
      {1, 0, ErrorClass::transient, "1"},
      {2, 0, ErrorClass::transient, "2"},
      {3, 0, ErrorClass::permanent, "3"},
      {4, 0, ErrorClass::rate_limited, "4"},
      {10, 0, ErrorClass::permanent, "10"},
      {17, 0, ErrorClass::rate_limited, "17"},
      {32, 0, ErrorClass::rate_limited, "32"},
      {100, 0, ErrorClass::permanent, "100"},
      {200, 0, ErrorClass::permanent, "200"},
      {341, 0, ErrorClass::rate_limited, "341"},
      {368, 0, ErrorClass::transient, "368"},
      {506, 0, ErrorClass::permanent, "506"},
      {613, 0, ErrorClass::rate_limited, "613"},
      {613, 1996, ErrorClass::rate_limited, "613/1996"},
      {1609005, 0, ErrorClass::permanent, "1609005"},
      {80001, 0, ErrorClass::rate_limited, "80001"},
      {80002, 0, ErrorClass::rate_limited, "80002"},
      {80014, 0, ErrorClass::rate_limited, "80014"},
      // Instagram publishing (1.1).
      {-2, 2207003, ErrorClass::transient, "-2/2207003"},
      {-2, 2207020, ErrorClass::permanent, "-2/2207020"},
      {-1, 2207001, ErrorClass::transient, "-1/2207001"},
      {-1, 2207032, ErrorClass::transient, "-1/2207032"},
      {-1, 2207053, ErrorClass::permanent, "-1/2207053"},
      {1, 2207057, ErrorClass::transient, "1/2207057"},
      {4, 2207051, ErrorClass::permanent, "4/2207051"},
      {9, 2207042, ErrorClass::rate_limited, "9/2207042"},
      {9007, 2207027, ErrorClass::transient, "9007/2207027"},
      {36000, 2207004, ErrorClass::permanent, "36000/2207004"},
      {36001, 2207005, ErrorClass::permanent, "36001/2207005"},
      {36003, 2207009, ErrorClass::permanent, "36003/2207009"},
      {24, 2207008, ErrorClass::permanent, "24/2207008"},
      {100, 2207010, ErrorClass::permanent, "100/2207010"},
      {100, 2207028, ErrorClass::permanent, "100/2207028"},
      {-1, 2207082, ErrorClass::transient, "-1/2207082"},
      {3001, 1504028, ErrorClass::permanent, "3001/1504028"},
  };
  const auto now = errors::SystemClock::now();
  for (const auto& row : rows) {
    const auto c = classify(answer(400, error_body(row.code, row.subcode)), errors::Safety::idempotent, now);
    EXPECT_EQ(c.kind, row.kind) << row.error_code << " is " << errors::to_string(c.kind);
    EXPECT_EQ(c.error_code(), row.error_code);
    EXPECT_EQ(c.status, 400);
    EXPECT_EQ(c.trace_id, "TRACE");
    EXPECT_EQ(c.detail.rfind("(#", 0), 0u) << "the platform's message is the detail";
    // Every class but ok has a sentence for the user, the Graph section's where it has one.
    const auto friendly = errors::friendly_message("instagram", c);
    EXPECT_FALSE(friendly.message.empty());
    EXPECT_FALSE(friendly.action.empty());
  }
}

TEST(GraphErrors, ThrottlesClearWhenMetaSaysElseAfterTheDefault) {
  const auto now = errors::SystemClock::now();
  http::Headers h;
  h.set(
      "X-Business-Use-Case-Usage",
      R"({"17841400000000001":[{"type":"instagram","call_count":100,"total_cputime":3,"total_time":4,"estimated_time_to_regain_access":7}]})");
  const auto told = classify(answer(400, error_body(80002, 0, true), h), errors::Safety::idempotent, now);
  ASSERT_EQ(told.kind, ErrorClass::rate_limited);
  ASSERT_TRUE(told.clears_at);
  EXPECT_EQ(*told.clears_at - now, std::chrono::minutes(7));

  ClassifyOptions options;
  options.throttle_wait = 90s;
  const auto untold = classify(answer(403, error_body(4)), errors::Safety::idempotent, now, options);
  ASSERT_TRUE(untold.clears_at);
  EXPECT_EQ(*untold.clears_at - now, 90s);

  const auto policy = classify(answer(400, error_body(368)), errors::Safety::idempotent, now);
  ASSERT_TRUE(policy.clears_at);
  EXPECT_GE(*policy.clears_at - now, std::chrono::hours(1)) << "a policy block is not hammered";
}

TEST(GraphErrors, ServerTroubleOnAnUnsafeCallMayHaveHappened) {
  const auto now = errors::SystemClock::now();
  EXPECT_EQ(classify(answer(500, error_body(1)), errors::Safety::unsafe, now).kind, ErrorClass::outcome_unknown);
  EXPECT_EQ(classify(answer(500, error_body(1)), errors::Safety::idempotent, now).kind, ErrorClass::transient);
  EXPECT_EQ(classify(answer(400, error_body(2, 0, true)), errors::Safety::unsafe, now).kind, ErrorClass::transient)
      << "a 4xx was refused before processing";
  EXPECT_EQ(classify(answer(400, error_body(12345, 0, true)), errors::Safety::idempotent, now).kind,
            ErrorClass::transient)
      << "is_transient is honoured for codes the table does not name";

  // No Graph body: the HTTP fallback.
  http::Response bare;
  bare.status = 502;
  EXPECT_EQ(classify(http::Result<http::Response>(bare), errors::Safety::unsafe, now).kind,
            ErrorClass::outcome_unknown);
  EXPECT_EQ(classify(http::Result<http::Response>(http::Error{http::ErrorKind::timeout, "timed out", 0}),
                     errors::Safety::unsafe, now)
                .kind,
            ErrorClass::outcome_unknown);
  http::Response fine;
  fine.status = 200;
  fine.body = R"({"id":"1"})";
  EXPECT_TRUE(classify(http::Result<http::Response>(fine), errors::Safety::unsafe, now).ok());
}

TEST(GraphErrors, ErrorBodiesAreReadLeniently) {
  const auto e = parse_error(
      R"({"error":{"message":"Media ID is not available","type":"OAuthException","code":"9007","error_subcode":2207027,)"
      R"("is_transient":false,"error_user_title":"Cannot Publish","error_user_msg":"The media is not ready","fbtrace_id":"X"}})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, 9007);
  EXPECT_EQ(e->subcode, 2207027);
  EXPECT_EQ(e->user_message, "The media is not ready");
  EXPECT_FALSE(parse_error("not json"));
  EXPECT_FALSE(parse_error(R"({"id":"1"})"));
  EXPECT_TRUE(not_ready(classify_error(*e, 400, {}, errors::Safety::unsafe, errors::SystemClock::now())));
}

TEST(GraphRequest, AppSecretProofIsTheHexHmacOfTheToken) {
  // RFC 4231-style check with a well-known vector: HMAC-SHA256(key="key", "The quick brown fox ...").
  EXPECT_EQ(appsecret_proof("The quick brown fox jumps over the lazy dog", "key"),
            "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8");
}

GraphOptions options_with_secret() {
  GraphOptions o;
  o.platform = "instagram";
  o.base_url = "https://graph.facebook.com/v25.0/";
  o.app_secret = Secret("app-secret");
  return o;
}

TEST(GraphRequest, TokensGoInTheQueryOrFormOrHeaderWithTheirProof) {
  const auto options = options_with_secret();
  const Secret token("tok en/1");
  const std::string proof = appsecret_proof("tok en/1", "app-secret");

  GraphCall get;
  get.path = "/17841400000000001";
  get.params = {{"fields", "id,username"}};
  get.token = &token;
  auto r = build_request(options, get);
  EXPECT_EQ(r.method, "GET");
  EXPECT_EQ(r.url,
            "https://graph.facebook.com/v25.0/17841400000000001?fields=id%2Cusername&access_token=tok%20en%2F1"
            "&appsecret_proof=" +
                proof);
  EXPECT_TRUE(std::holds_alternative<std::monostate>(r.body));

  GraphCall post;
  post.method = "POST";
  post.path = "/1/media";
  post.params = {{"caption", "a & b"}};
  post.token = &token;
  r = build_request(options, post);
  EXPECT_EQ(r.url, "https://graph.facebook.com/v25.0/1/media");
  EXPECT_EQ(std::get<std::string>(r.body), "caption=a%20%26%20b&access_token=tok%20en%2F1&appsecret_proof=" + proof);
  EXPECT_EQ(r.headers.get("Content-Type").value_or(""), "application/x-www-form-urlencoded");

  GraphCall up;
  up.method = "POST";
  up.path = "https://rupload.facebook.com/ig-api-upload/v25.0/1";
  up.token = &token;
  up.token_in = TokenPlacement::oauth_header;
  up.raw = RawBody{"application/octet-stream", std::string("bytes")};
  r = build_request(options, up);
  EXPECT_EQ(r.url, "https://rupload.facebook.com/ig-api-upload/v25.0/1?appsecret_proof=" + proof);
  EXPECT_EQ(r.headers.get("Authorization").value_or(""), "OAuth tok en/1");
  EXPECT_EQ(std::get<std::string>(r.body), "bytes");

  GraphCall js;
  js.method = "POST";
  js.path = "/x";
  js.json = json{{"a", 1}};
  js.token = &token;
  r = build_request(options, js);
  EXPECT_EQ(std::get<std::string>(r.body), R"({"a":1})");
  EXPECT_NE(r.url.find("access_token="), std::string::npos);

  // Without a secret configured there is no proof.
  auto o = options_with_secret();
  o.app_secret = Secret();
  EXPECT_EQ(build_request(o, get).url.find("appsecret_proof"), std::string::npos);

  // The secrets of the call are the token, its proof and the app secret.
  const auto spec = build_spec(options, get);
  EXPECT_EQ(spec.platform, "instagram");
  EXPECT_NE(std::find(spec.secrets.begin(), spec.secrets.end(), "tok en/1"), spec.secrets.end());
  EXPECT_NE(std::find(spec.secrets.begin(), spec.secrets.end(), proof), spec.secrets.end());
  EXPECT_NE(std::find(spec.secrets.begin(), spec.secrets.end(), "app-secret"), spec.secrets.end());
}

TEST(GraphRequest, BucketsAreTheAccountsBusinessUseCaseThenTheApp) {
  queue::LimitTable limits;
  const auto b = graph_buckets("instagram", limits, "178");
  ASSERT_EQ(b.size(), 2u);
  EXPECT_EQ(b[0].name(), "instagram:account:buc:178");
  EXPECT_EQ(b[1].name(), "instagram:app:app_usage");

  http::Response r;
  r.headers.set("X-App-Usage", R"({"call_count":28,"total_time":25,"total_cputime":25})");
  r.headers.set(
      "X-Business-Use-Case-Usage",
      R"({"178":[{"type":"instagram","call_count":97,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}],)"
      R"("999":[{"type":"ads_insights","call_count":50,"total_cputime":1,"total_time":1,"estimated_time_to_regain_access":0}]})");
  const auto observations = usage_feedback("instagram", limits)(r, errors::SystemClock::now());
  ASSERT_EQ(observations.size(), 2u) << "the ads entry is not ours";
  EXPECT_EQ(observations[0].bucket.name(), "instagram:app:app_usage");
  EXPECT_EQ(observations[0].usage_percent, 28);
  EXPECT_EQ(observations[1].bucket.name(), "instagram:account:buc:178");
  EXPECT_EQ(observations[1].usage_percent, 97);
}

}  // namespace
}  // namespace schedulo::graph
