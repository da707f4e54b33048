// The error taxonomy without Redis (label `errors`): every platform's limit headers and 429 bodies
// parsed from the examples in shared/docs/platform-apis.md, the HTTP fallback classification, the
// friendly-message catalogue, the back-off bounds as properties, outcomes, redaction.
#include <gtest/gtest.h>

#include <random>

#include "jobs/call_outcome.hpp"
#include "jobs/retry_policy.hpp"
#include "platforms/errors/call_log.hpp"
#include "platforms/errors/classification.hpp"
#include "platforms/errors/default_limits.hpp"
#include "platforms/errors/messages.hpp"
#include "platforms/errors/outage_watch.hpp"
#include "platforms/errors/rate_feedback.hpp"
#include "platforms/errors/rate_headers.hpp"

namespace schedulo::errors {
namespace {

using namespace std::chrono_literals;
using std::chrono::milliseconds;

const SystemTime kNow = std::chrono::system_clock::from_time_t(1'700'000'000);

http::Headers headers(std::initializer_list<std::pair<const char*, const char*>> fields) {
  http::Headers h;
  for (const auto& [k, v] : fields) h.add(k, v);
  return h;
}

http::Response response(int status, std::string body = {}, http::Headers h = {}) {
  http::Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers = std::move(h);
  return r;
}

// ---- Retry-After (Airtable 503, Bubble, any 429/503) -------------------------------------------

TEST(RetryAfterTest, SecondsAndEveryHttpDateFormRead) {
  EXPECT_EQ(parse_retry_after("120", kNow), kNow + 120s);
  EXPECT_EQ(parse_retry_after(" 0 ", kNow), kNow);
  const auto date = std::chrono::system_clock::from_time_t(784111777);  // 1994-11-06 08:49:37 UTC
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date - 10s), date);
  EXPECT_EQ(parse_retry_after("Sunday, 06-Nov-94 08:49:37 GMT", date - 10s), date);
  EXPECT_EQ(parse_retry_after("Sun Nov  6 08:49:37 1994", date - 10s), date);
  EXPECT_EQ(parse_retry_after("Sun, 06 Nov 1994 08:49:37 GMT", date + 1h), date + 1h) << "a past date: now";
}

TEST(RetryAfterTest, GarbageIsIgnoredNotGuessed) {
  for (const char* bad : {"", "soon", "-5", "12s", "Sun, 06 Nov 1994 08:49:37 CET", "Sun, 32 Nov 1994 08:49:37 GMT",
                          "Foo, 06 Xyz 1994 08:49:37 GMT"})
    EXPECT_FALSE(parse_retry_after(bad, kNow)) << bad;
  EXPECT_FALSE(retry_after(http::Headers{}, kNow));
  EXPECT_EQ(retry_after(headers({{"retry-after", "30"}}), kNow), kNow + 30s) << "header names ignore case";
}

// ---- X (section 3.6) ----------------------------------------------------------------------------

TEST(XRateLimitTest, TheThreeHeaderSetsOfPostTweetsParse) {
  const auto h = headers({{"x-rate-limit-limit", "100"},
                          {"x-rate-limit-remaining", "0"},
                          {"x-rate-limit-reset", "1700000900"},
                          {"x-user-limit-24hour-limit", "17"},
                          {"x-user-limit-24hour-remaining", "3"},
                          {"x-user-limit-24hour-reset", "1700050000"},
                          {"x-app-limit-24hour-limit", "1667"},
                          {"x-app-limit-24hour-remaining", "1200"},
                          {"x-app-limit-24hour-reset", "1700060000"}});
  const auto l = parse_x_rate_limits(h);
  EXPECT_EQ(l.window.limit, 100);
  EXPECT_EQ(l.window.remaining, 0);
  EXPECT_EQ(l.window.reset, std::chrono::system_clock::from_time_t(1700000900));
  EXPECT_TRUE(l.window.exhausted());
  EXPECT_EQ(l.user_24h.limit, 17);
  EXPECT_EQ(l.user_24h.remaining, 3);
  EXPECT_EQ(l.app_24h.reset, std::chrono::system_clock::from_time_t(1700060000));
  EXPECT_EQ(x_limit_clears_at(l), std::chrono::system_clock::from_time_t(1700000900));
}

TEST(XRateLimitTest, ADayLimitAtZeroWinsOverTheWindow) {
  const auto l = parse_x_rate_limits(headers({{"x-rate-limit-remaining", "5"},
                                              {"x-rate-limit-reset", "1700000900"},
                                              {"x-user-limit-24hour-remaining", "0"},
                                              {"x-user-limit-24hour-reset", "1700050000"}}));
  EXPECT_EQ(x_limit_clears_at(l), std::chrono::system_clock::from_time_t(1700050000));
}

// Found by tests/fuzz/x_answers_fuzz.cpp: system_clock's nanoseconds end in 2262; a reset after that
// overflowed (UBSan). Such a reset is ignored, as a missing one is.
TEST(XRateLimitTest, AResetPastTheClocksRangeIsIgnored) {
  const auto l = parse_x_rate_limits(headers({{"x-rate-limit-remaining", "0"},
                                              {"x-rate-limit-reset", "9715407407"},
                                              {"x-user-limit-24hour-remaining", "0"},
                                              {"x-user-limit-24hour-reset", "11795715407"}}));
  EXPECT_FALSE(l.window.reset.has_value());
  EXPECT_FALSE(l.user_24h.reset.has_value());
  EXPECT_EQ(parse_x_rate_limits(headers({{"x-rate-limit-reset", "8000000000"}})).window.reset,
            std::chrono::system_clock::from_time_t(8000000000))
      << "year 2223 is still a time";
}

TEST(XRateLimitTest, A429ClearsAtTheResetOrAfterFifteenMinutes) {
  const auto problem =
      R"({"title":"Too Many Requests","detail":"Too Many Requests","type":"about:blank","status":429})";
  EXPECT_EQ(x_rate_limit_clears_at(response(429, problem, headers({{"x-rate-limit-reset", "1700000600"}})), kNow),
            kNow + 600s);
  EXPECT_EQ(x_rate_limit_clears_at(response(429, problem), kNow), kNow + 15min);
  EXPECT_EQ(x_rate_limit_clears_at(response(400, R"({"errors":[{"code":88,"message":"Rate limit exceeded"}]})"), kNow),
            kNow + 15min)
      << "v1.1's code 88";
  EXPECT_FALSE(x_rate_limit_clears_at(response(200, R"({"errors":[{"code":"88"}]})"), kNow));
  EXPECT_FALSE(x_rate_limit_clears_at(
      response(403, R"({"detail":"You are not allowed to create a Tweet with duplicate content."})"), kNow));
}

TEST(XRateLimitTest, ExhaustedSetsBlockTheirBucketsUntilReset) {
  const queue::Bucket window{"x", "account", "tweets_create:u1", {100, 15min, 0}};
  const queue::Bucket day{"x", "account", "tweets_create_24h:u1", {17, 24h, 0}};
  const auto obs = x_observations(headers({{"x-rate-limit-remaining", "0"},
                                           {"x-rate-limit-reset", "1700000900"},
                                           {"x-user-limit-24hour-remaining", "2"},
                                           {"x-user-limit-24hour-reset", "1700050000"}}),
                                  kNow, XBuckets{&window, &day, nullptr});
  ASSERT_EQ(obs.size(), 1u);
  EXPECT_EQ(obs[0].bucket.key, "tweets_create:u1");
  EXPECT_EQ(obs[0].blocked_for, 900s);
}

// ---- Meta (section 1.0) -------------------------------------------------------------------------

TEST(MetaUsageTest, XAppUsageFromTheReference) {
  const auto u = parse_app_usage(R"({"call_count":28,"total_time":25,"total_cputime":25})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->call_count, 28);
  EXPECT_EQ(u->total_time, 25);
  EXPECT_EQ(u->total_cputime, 25);
  EXPECT_EQ(u->percent(), 28);
  EXPECT_FALSE(u->regain_minutes);
  EXPECT_FALSE(parse_app_usage("not json"));
  EXPECT_FALSE(parse_app_usage("{}"));
}

TEST(MetaUsageTest, XPageUsageMayCarryARegainTime) {
  const auto u =
      parse_app_usage(R"({"call_count":"100","total_cputime":40,"total_time":12,"estimated_time_to_regain_access":7})");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->percent(), 100);
  EXPECT_EQ(u->regain_minutes, 7);
}

TEST(MetaUsageTest, BusinessUseCaseUsageFromTheReference) {
  const auto list = parse_buc_usage(
      R"({"{business-object-id}":[{"type":"pages","call_count":97,"total_cputime":23,"total_time":23,"estimated_time_to_regain_access":0}]})");
  ASSERT_EQ(list.size(), 1u);
  EXPECT_EQ(list[0].object_id, "{business-object-id}");
  EXPECT_EQ(list[0].type, "pages");
  EXPECT_EQ(list[0].percent(), 97);
  EXPECT_EQ(list[0].regain(), 0min);
}

TEST(MetaUsageTest, BusinessUseCaseUsageWithSeveralObjectsAndAThrottledOne) {
  const auto list = parse_buc_usage(
      R"({"1755847768034402":[{"type":"pages","call_count":100,"total_cputime":30,"total_time":41,"estimated_time_to_regain_access":12}],
          "17841400000000000":[{"type":"instagram","call_count":5,"total_cputime":1,"total_time":2,"estimated_time_to_regain_access":0},
                               {"type":"ads_insights","call_count":1,"total_cputime":1,"total_time":1}]})");
  ASSERT_EQ(list.size(), 3u);
  const auto& page = list[0].object_id == "1755847768034402" ? list[0] : list[2];
  EXPECT_EQ(page.percent(), 100);
  EXPECT_EQ(page.regain(), 12min);
  EXPECT_TRUE(parse_buc_usage("[]").empty());
  EXPECT_TRUE(parse_buc_usage(R"({"1":"nope"})").empty());
}

TEST(MetaUsageTest, HeadersBecomeUsageReadingsOfTheirBuckets) {
  const queue::Bucket app{"facebook", "app", "app_usage:123", {}};
  const auto h = headers(
      {{"X-App-Usage", R"({"call_count":28,"total_time":25,"total_cputime":25})"},
       {"X-Business-Use-Case-Usage",
        R"({"1755847768034402":[{"type":"pages","call_count":100,"total_cputime":23,"total_time":23,"estimated_time_to_regain_access":12}]})"}});
  MetaBuckets b;
  b.app = &app;
  b.buc = [](const BucUsage& u) -> std::optional<queue::Bucket> {
    return queue::Bucket{"facebook", "account", "buc:" + u.object_id, {}};
  };
  const auto obs = meta_observations(h, b);
  ASSERT_EQ(obs.size(), 2u);
  EXPECT_EQ(obs[0].bucket.key, "app_usage:123");
  EXPECT_EQ(obs[0].usage_percent, 28);
  EXPECT_EQ(obs[0].blocked_for, 0ms);
  EXPECT_EQ(obs[1].bucket.key, "buc:1755847768034402");
  EXPECT_EQ(obs[1].usage_percent, 100);
  EXPECT_EQ(obs[1].blocked_for, 12min);
}

TEST(MetaUsageTest, TheRegainTimeIsTheLatestAnyObjectGives) {
  const auto h = headers({{"X-Business-Use-Case-Usage",
                           R"({"1":[{"type":"pages","call_count":100,"estimated_time_to_regain_access":12}],
                               "2":[{"type":"instagram","call_count":100,"estimated_time_to_regain_access":30}]})"}});
  EXPECT_EQ(meta_regain_at(h, kNow), kNow + 30min);
  EXPECT_FALSE(meta_regain_at(headers({{"X-App-Usage", R"({"call_count":100})"}}), kNow)) << "none given";
  EXPECT_EQ(
      meta_regain_at(headers({{"X-Page-Usage", R"({"call_count":100,"estimated_time_to_regain_access":3})"}}), kNow),
      kNow + 3min);
}

// ---- TikTok (section 2) -------------------------------------------------------------------------

TEST(TikTokErrorTest, TheEnvelopeAndItsRateLimitBody) {
  auto ok = parse_tiktok_error(
      R"({"data":{},"error":{"code":"ok","message":"","log_id":"202210112248442CB9319E1FB30C1073F3"}})");
  ASSERT_TRUE(ok);
  EXPECT_TRUE(ok->ok());
  EXPECT_EQ(ok->log_id, "202210112248442CB9319E1FB30C1073F3");
  auto limited = parse_tiktok_error(
      R"({"data":{},"error":{"code":"rate_limit_exceeded","message":"Too many requests","logid":"20231015ABCDEF"}})");
  ASSERT_TRUE(limited);
  EXPECT_TRUE(limited->rate_limited());
  EXPECT_EQ(limited->log_id, "20231015ABCDEF") << "the docs' tables spell it logid";
  EXPECT_EQ(tiktok_rate_limit_clears_at(
                response(429, R"({"error":{"code":"rate_limit_exceeded","message":"","log_id":"x"}})"), kNow),
            kNow + 60s);
  EXPECT_FALSE(
      tiktok_rate_limit_clears_at(response(200, R"({"error":{"code":"ok","message":"","log_id":"x"}})"), kNow));
}

TEST(TikTokErrorTest, OAuthErrorsHaveAFlatShapeAndMayComeWithStatus200) {
  auto e =
      parse_tiktok_error(R"({"error":"invalid_grant","error_description":"Refresh token is invalid","log_id":"L1"})");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->code, "invalid_grant");
  EXPECT_EQ(e->message, "Refresh token is invalid");
  EXPECT_EQ(e->log_id, "L1");
  EXPECT_FALSE(parse_tiktok_error("{}"));
  EXPECT_FALSE(parse_tiktok_error("<html>"));
}

// ---- Airtable (section 5.3) ---------------------------------------------------------------------

TEST(AirtableErrorTest, BothBodyShapesAndThe30SecondPenalty) {
  auto limited = parse_airtable_error(
      R"({"error":{"type":"RATE_LIMIT_REACHED","message":"Rate limit exceeded. Please try again later"}})");
  ASSERT_TRUE(limited);
  EXPECT_TRUE(limited->rate_limited());
  auto bare = parse_airtable_error(R"({"error":"NOT_FOUND"})");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->type, "NOT_FOUND");
  EXPECT_EQ(airtable_rate_limit_clears_at(response(429, R"({"error":{"type":"RATE_LIMIT_REACHED"}})"), kNow),
            kNow + 30s);
  EXPECT_EQ(airtable_rate_limit_clears_at(response(429, "", headers({{"Retry-After", "45"}})), kNow), kNow + 45s);
  EXPECT_FALSE(airtable_rate_limit_clears_at(response(422, R"({"error":{"type":"INVALID_REQUEST_UNKNOWN"}})"), kNow));
}

// ---- the HTTP fallback ----------------------------------------------------------------------------

http::Result<http::Response> answer(int status, http::Headers h = {}, std::string body = {}) {
  return response(status, std::move(body), std::move(h));
}
http::Result<http::Response> failure(http::ErrorKind kind) {
  return http::Error{kind, "boom", 0};
}

TEST(ClassifyHttpTest, StatusesMapToTheTaxonomy) {
  EXPECT_EQ(classify_http(answer(200), Safety::unsafe, kNow).kind, ErrorClass::ok);
  EXPECT_EQ(classify_http(answer(204), Safety::idempotent, kNow).kind, ErrorClass::ok);
  EXPECT_EQ(classify_http(answer(401), Safety::idempotent, kNow).kind, ErrorClass::auth_expired);
  EXPECT_EQ(classify_http(answer(408), Safety::unsafe, kNow).kind, ErrorClass::transient);
  for (int s : {301, 400, 403, 404, 413, 422})
    EXPECT_EQ(classify_http(answer(s), Safety::idempotent, kNow).kind, ErrorClass::permanent) << s;
  const auto limited = classify_http(answer(429, headers({{"Retry-After", "17"}})), Safety::unsafe, kNow);
  EXPECT_EQ(limited.kind, ErrorClass::rate_limited);
  EXPECT_EQ(limited.clears_at, kNow + 17s);
  EXPECT_EQ(limited.code, "http_429");
  EXPECT_EQ(classify_http(answer(429), Safety::unsafe, kNow, 30s).clears_at, kNow + 30s);
  const auto unavailable = classify_http(answer(503, headers({{"Retry-After", "5"}})), Safety::unsafe, kNow);
  EXPECT_EQ(unavailable.kind, ErrorClass::transient) << "503: not processed, even for an unsafe call";
  EXPECT_EQ(unavailable.clears_in(kNow), 5000ms);
  for (int s : {500, 502, 504}) {
    EXPECT_EQ(classify_http(answer(s), Safety::idempotent, kNow).kind, ErrorClass::transient) << s;
    EXPECT_EQ(classify_http(answer(s), Safety::unsafe, kNow).kind, ErrorClass::outcome_unknown) << s;
  }
}

TEST(ClassifyHttpTest, TransportFailuresByWhetherTheRequestMayHaveLeft) {
  for (auto kind : {http::ErrorKind::network, http::ErrorKind::timeout}) {
    EXPECT_EQ(classify_http(failure(kind), Safety::idempotent, kNow).kind, ErrorClass::transient);
    EXPECT_EQ(classify_http(failure(kind), Safety::unsafe, kNow).kind, ErrorClass::outcome_unknown);
  }
  for (auto kind : {http::ErrorKind::resolve, http::ErrorKind::tls})
    EXPECT_EQ(classify_http(failure(kind), Safety::unsafe, kNow).kind, ErrorClass::transient) << "never sent";
  for (auto kind : {http::ErrorKind::bad_url, http::ErrorKind::refused_address, http::ErrorKind::too_large,
                    http::ErrorKind::media_rejected})
    EXPECT_EQ(classify_http(failure(kind), Safety::idempotent, kNow).kind, ErrorClass::permanent);
  EXPECT_EQ(classify_http(failure(http::ErrorKind::timeout), Safety::idempotent, kNow).code, "timeout");
  const http::Result<http::Response> download_status = http::Error{http::ErrorKind::http_status, "HTTP 404", 404};
  EXPECT_EQ(classify_http(download_status, Safety::idempotent, kNow).kind, ErrorClass::permanent);
}

TEST(ClassifyHttpTest, TraceIdsFromEachPlatform) {
  EXPECT_EQ(
      find_trace_id(response(
          400,
          R"({"error":{"message":"(#32) Page request limit reached","type":"OAuthException","code":32,"fbtrace_id":"Fz54k3GZrio"}})")),
      "Fz54k3GZrio");
  EXPECT_EQ(
      find_trace_id(response(
          429,
          R"({"data":{},"error":{"code":"rate_limit_exceeded","message":"","log_id":"202210112248442CB9319E1FB30C1073F3"}})")),
      "202210112248442CB9319E1FB30C1073F3");
  EXPECT_EQ(find_trace_id(response(429, "", headers({{"x-transaction-id", "a1b2c3"}}))), "a1b2c3");
  EXPECT_EQ(find_trace_id(response(400, R"({"error":"invalid_grant","log_id":"L9"})")), "L9");
  EXPECT_EQ(find_trace_id(response(500, "oops")), "");
}

// ---- the catalogue ----------------------------------------------------------------------------------

TEST(CatalogueTest, EveryEntryHasASentenceAndAnAction) {
  const auto& all = message_catalogue();
  ASSERT_TRUE(all.is_object());
  int entries = 0;
  for (auto section = all.begin(); section != all.end(); ++section) {
    if (section.key() == "_comment" || section.key() == "also") continue;
    for (auto e = section->begin(); e != section->end(); ++e) {
      ++entries;
      ASSERT_TRUE(e->is_object()) << section.key() << "." << e.key();
      EXPECT_FALSE(e->value("message", std::string()).empty()) << section.key() << "." << e.key();
      EXPECT_FALSE(e->value("action", std::string()).empty()) << section.key() << "." << e.key();
      EXPECT_EQ(e->value("message", std::string()).back(), '.') << section.key() << "." << e.key();
    }
  }
  EXPECT_GT(entries, 100);
  for (const char* kind : {"transient", "rate_limited", "auth_expired", "auth_revoked", "permanent", "outcome_unknown"})
    EXPECT_TRUE(all.at("generic").contains(kind)) << kind;
}

TEST(CatalogueTest, LookupsGoFromTheMostSpecificToTheClass) {
  EXPECT_EQ(friendly_message("instagram", "190", "460", ErrorClass::auth_revoked).message,
            "The account's password was changed, which ended the connection.");
  EXPECT_EQ(friendly_message("facebook", "190", "999", ErrorClass::auth_revoked).message,
            "Meta no longer accepts this account's access token.")
      << "unknown subcode: the code's entry";
  EXPECT_EQ(friendly_message("instagram", "-1", "2207010", ErrorClass::permanent).action,
            "Shorten the caption to 2,200 characters or fewer.")
      << "Instagram subcodes stand on their own";
  EXPECT_EQ(friendly_message("tiktok", "spam_risk_too_many_posts", "", ErrorClass::permanent).action,
            "Post it later (the limit resets daily).");
  EXPECT_EQ(friendly_message("x", "no_such_code", "", ErrorClass::rate_limited).message,
            message_catalogue()["generic"]["rate_limited"]["message"]);
  EXPECT_EQ(friendly_message("airtable", "timeout", "", ErrorClass::transient).message,
            message_catalogue()["generic"]["timeout"]["message"]);
  EXPECT_EQ(friendly_message("x", "88", "", ErrorClass::rate_limited).text(),
            "X's rate limit was reached. Nothing to do: it goes out automatically when the limit resets.");
}

// ---- back-off bounds, as properties -------------------------------------------------------------------

TEST(RetryPolicyTest, DelaysStayWithinTheirBoundsForAnyAttemptAndFloor) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    jobs::RetryPolicy p;
    p.base = milliseconds(1 + static_cast<long long>(rng() % 10000));
    p.cap = p.base + milliseconds(static_cast<long long>(rng() % 3'600'000));
    long long previous = 0;
    for (int attempt = 1; attempt <= 40; ++attempt) {
      const auto ceiling = p.ceiling(attempt);
      EXPECT_GE(ceiling.count(), previous) << "the ceiling never shrinks";
      EXPECT_LE(ceiling, p.cap);
      if (attempt == 1) {
        EXPECT_EQ(ceiling, std::min(p.base, p.cap));
      }
      previous = ceiling.count();
      const auto floor = milliseconds(rng() % 3 == 0 ? static_cast<long long>(rng() % 7'200'000) : 0);
      const auto d = p.delay(attempt, floor, rng);
      EXPECT_GE(d, floor) << "never sooner than the platform asked";
      EXPECT_LE(d, std::max(floor, ceiling));
      EXPECT_GE(d.count(), 0);
    }
    EXPECT_EQ(p.ceiling(40), p.cap) << "capped";
  }
}

TEST(RetryPolicyTest, JitterIsFullNotBunched) {
  jobs::RetryPolicy p;
  p.base = 1000ms;
  p.cap = 1h;
  std::mt19937_64 rng(99);
  long long low = 0, high = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto d = p.delay(4, 0ms, rng);  // uniform over [0, 8 s]
    if (d < 2000ms) ++low;
    if (d > 6000ms) ++high;
  }
  EXPECT_GT(low, 300);
  EXPECT_GT(high, 300);
}

// ---- outcomes ---------------------------------------------------------------------------------------

Classified of(ErrorClass kind, std::string code = "c", std::optional<SystemTime> clears = std::nullopt) {
  Classified c;
  c.kind = kind;
  c.code = std::move(code);
  c.clears_at = clears;
  return c;
}

TEST(OutcomeTest, EachClassEndsTheAttemptItsOwnWay) {
  using K = jobs::Outcome::Kind;
  auto limited = jobs::outcome_of(of(ErrorClass::rate_limited, "rate_limit_exceeded", kNow + 42s), "tiktok", {}, kNow);
  EXPECT_EQ(limited.kind, K::defer) << "a rate limit uses no attempt";
  EXPECT_EQ(limited.after, 42000ms) << "until the platform's reset";
  EXPECT_EQ(limited.error_code, "rate_limit_exceeded");
  EXPECT_EQ(limited.error,
            "TikTok's rate limit was reached. Nothing to do: it goes out automatically when the limit resets.");
  EXPECT_EQ(jobs::outcome_of(of(ErrorClass::rate_limited), "x", {}, kNow).after, 60000ms);
  auto transient = jobs::outcome_of(of(ErrorClass::transient, "http_503", kNow + 5s), "x", {}, kNow);
  EXPECT_EQ(transient.kind, K::retry);
  EXPECT_EQ(transient.after, 5000ms) << "the back-off's floor";
  EXPECT_EQ(jobs::outcome_of(of(ErrorClass::auth_expired), "x", {}, kNow).kind, K::retry);
  Classified revoked = of(ErrorClass::auth_revoked, "190");
  revoked.subcode = "460";
  auto failed = jobs::outcome_of(revoked, "instagram", {}, kNow);
  EXPECT_EQ(failed.kind, K::failed);
  EXPECT_EQ(failed.error_code, "190/460");
  EXPECT_EQ(failed.error, "The account's password was changed, which ended the connection. Reconnect the account.");
  EXPECT_EQ(jobs::outcome_of(of(ErrorClass::permanent), "x", {}, kNow).kind, K::failed);
  EXPECT_EQ(jobs::outcome_of(of(ErrorClass::outcome_unknown), "x", {}, kNow).kind, K::retry)
      << "the next attempt asks the platform first";
  EXPECT_EQ(jobs::outcome_of(of(ErrorClass::outcome_unknown), "x", jobs::OutcomeRules{false}, kNow).kind,
            K::needs_review)
      << "no way to ask: a person decides";
  auto deferred = jobs::outcome_of(Deferral{2500ms, "the circuit for x is open", "circuit_open"});
  EXPECT_EQ(deferred.kind, K::defer);
  EXPECT_EQ(deferred.after, 2500ms);
  EXPECT_EQ(deferred.error_code, "circuit_open");
  EXPECT_EQ(deferred.error,
            "The platform is having an outage, so requests to it are paused. Nothing to do: waiting posts go out when "
            "it recovers.");
}

// ---- redaction and the endpoint ----------------------------------------------------------------------

TEST(RedactTest, EverySpellingOfASecretGoes) {
  const std::string token = "EAAB/x+y=z 9";
  const std::string text =
      "raw " + token + " pct EAAB%2Fx%2By%3Dz%209 low EAAB%2fx%2by%3dz%209 form EAAB%2Fx%2By%3Dz+9";
  const auto clean = redact(text, {token});
  EXPECT_EQ(clean, "raw [redacted] pct [redacted] low [redacted] form [redacted]");
  EXPECT_EQ(redact("nothing here", {token, ""}), "nothing here");
}

TEST(RedactTest, TheEndpointHasNoQuery) {
  http::Request r;
  r.method = "POST";
  r.url = "https://graph.facebook.com/v25.0/17841400000000000/media?access_token=SECRET123&caption=x";
  EXPECT_EQ(endpoint_of(r), "POST graph.facebook.com/v25.0/17841400000000000/media");
}

// ---- defaults and the outage watch ------------------------------------------------------------------

TEST(DefaultLimitsTest, TheReferencesLimitsAreTheDefaults) {
  const auto t = default_limits();
  EXPECT_EQ(t.find("x", "account", "tweets_create"), (queue::BucketLimit{100, 15min, 99}));
  EXPECT_EQ(t.find("x", "app", "tweets_create"), (queue::BucketLimit{10000, 24h, 9999}));
  EXPECT_EQ(t.find("tiktok", "account", "video_init"), (queue::BucketLimit{6, 1min, 0}));
  EXPECT_EQ(t.find("tiktok", "app", "video_query"), (queue::BucketLimit{600, 1min, 0}));
  EXPECT_EQ(t.find("facebook", "account", "video_reels"), (queue::BucketLimit{30, 24h, 29}));
  EXPECT_EQ(t.find("airtable", "app", "token"), (queue::BucketLimit{50, 1s, 0}));
  EXPECT_GE(t.rules().size(), 30u);
}

TEST(OutageWatchTest, DueOncePerOutageAfterTheAllowedTime) {
  OutageWatch w(10min);
  const auto t0 = OutageWatch::Clock::now();
  EXPECT_FALSE(w.due(t0));
  w.failure(t0);
  w.failure(t0 + 5min);
  EXPECT_FALSE(w.due(t0 + 9min));
  EXPECT_TRUE(w.due(t0 + 10min));
  EXPECT_FALSE(w.due(t0 + 20min)) << "once per outage";
  w.success();
  w.failure(t0 + 30min);
  EXPECT_TRUE(w.due(t0 + 41min));
}

}  // namespace
}  // namespace schedulo::errors
