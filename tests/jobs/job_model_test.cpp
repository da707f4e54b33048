// The job model and its validation: what is accepted, exactly what is said about what is not.
#include "jobs/job.hpp"
#include "jobs/job_validation.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <ostream>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace schedulo::jobs {
namespace {

using nlohmann::json;

ValidationContext test_context() {
  ValidationContext context;
  context.callback_hosts = {"myapp.bubbleapps.io", "LOCALHOST"};
  return context;
}

std::string describe(const std::vector<ValidationError>& errors) {
  std::string out;
  for (const auto& e : errors) out += "\n  [" + e.field + "] " + e.code + ": " + e.message;
  return out;
}

Job parse_ok(std::string_view raw) {
  const ParseResult result = parse_job(raw, test_context());
  EXPECT_TRUE(result.errors.empty()) << raw << describe(result.errors);
  EXPECT_TRUE(result.job.has_value());
  return result.job.value_or(Job{});
}

std::vector<ValidationError> parse_errors(std::string_view raw, const ValidationContext& context = test_context()) {
  const ParseResult result = parse_job(raw, context);
  EXPECT_FALSE(result.job.has_value()) << raw;
  return result.errors;
}

// --- valid jobs ---------------------------------------------------------------------------------

struct ValidCase {
  const char* name;
  const char* json;
};

void PrintTo(const ValidCase& c, std::ostream* os) {
  *os << c.name;
}

class ValidJob : public testing::TestWithParam<ValidCase> {};

TEST_P(ValidJob, IsAcceptedAndSurvivesItsCanonicalJson) {
  const Job job = parse_ok(GetParam().json);
  const std::string canonical = job.to_json().dump();
  const ParseResult again = parse_job(canonical, test_context());
  ASSERT_TRUE(again.errors.empty()) << canonical << describe(again.errors);
  EXPECT_EQ(*again.job, job) << canonical;
  EXPECT_EQ(again.job->to_json(), job.to_json());
}

const ValidCase kValidJobs[] = {
    {"InstagramSingleImage",
     R"({"type":"publish","platform":"instagram","account":"recAcct00000001",
         "post":{"text":"Hello #cats","media":[{"url":"https://cdn.example.com/cat.jpg","kind":"image"}]}})"},
    {"InstagramCarouselMixed",
     R"({"type":"publish","platform":"instagram","account":"acct",
         "post":{"text":"three","media":[
           {"url":"https://cdn.example.com/1.jpg","kind":"image","alt_text":"a cat"},
           {"url":"https://cdn.example.com/2.mp4","kind":"video"},
           {"url":"//s3.amazonaws.com/appforest_uf/f1/3.jpg","kind":"image"}],
           "options":{"instagram":{"as":"feed"}}}})"},
    {"InstagramReel",
     R"({"type":"publish","platform":"instagram","account":"acct",
         "post":{"text":"reel","media":[{"url":"https://cdn.example.com/r.mp4","kind":"video"}],
                 "options":{"instagram":{"as":"reel","share_to_feed":true}}}})"},
    {"InstagramStory",
     R"({"type":"publish","platform":"instagram","account":"acct",
         "post":{"media":[{"url":"https://cdn.example.com/s.jpg","kind":"image"}],
                 "options":{"instagram":{"as":"story"}}}})"},
    {"InstagramTenItems",
     R"({"type":"publish","platform":"instagram","account":"acct","post":{"media":[
         {"url":"https://c.example.com/1.jpg","kind":"image"},{"url":"https://c.example.com/2.jpg","kind":"image"},
         {"url":"https://c.example.com/3.jpg","kind":"image"},{"url":"https://c.example.com/4.jpg","kind":"image"},
         {"url":"https://c.example.com/5.jpg","kind":"image"},{"url":"https://c.example.com/6.jpg","kind":"image"},
         {"url":"https://c.example.com/7.jpg","kind":"image"},{"url":"https://c.example.com/8.jpg","kind":"image"},
         {"url":"https://c.example.com/9.jpg","kind":"image"},{"url":"https://c.example.com/0.jpg","kind":"image"}]}})"},
    {"FacebookTextOnly", R"({"type":"publish","platform":"facebook","account":"page-1","post":{"text":"Hello page"}})"},
    {"FacebookLinkOnly",
     R"({"type":"publish","platform":"facebook","account":"page-1",
         "post":{"options":{"facebook":{"link":"HTTPS://Example.com/article?id=7"}}}})"},
    {"FacebookPhotos",
     R"({"type":"publish","platform":"facebook","account":"page-1",
         "post":{"text":"two","media":[{"url":"https://c.example.com/1.jpg","kind":"image"},
                                       {"url":"https://c.example.com/2.jpg","kind":"image"}],
                 "options":{"facebook":{"as":"post"}}}})"},
    {"FacebookReel",
     R"({"type":"publish","platform":"facebook","account":"page-1",
         "post":{"media":[{"url":"https://c.example.com/r.mp4","kind":"video"}],
                 "options":{"facebook":{"as":"reel"}}}})"},
    {"TikTokVideoDirect",
     R"({"type":"publish","platform":"tiktok","account":"tt",
         "post":{"text":"funny #cat","media":[{"url":"https://c.example.com/v.mp4","kind":"video"}],
                 "options":{"tiktok":{"mode":"direct","source":"upload","privacy_level":"SELF_ONLY",
                   "disable_comment":true,"disable_duet":false,"disable_stitch":false}}}})"},
    {"TikTokPhotosInbox",
     R"({"type":"publish","platform":"tiktok","account":"tt",
         "post":{"media":[{"url":"https://c.example.com/1.jpg","kind":"image"},
                          {"url":"https://c.example.com/2.jpg","kind":"image"}],
                 "options":{"tiktok":{"mode":"inbox","source":"pull"}}}})"},
    {"XTextWithThreadAndReply",
     R"({"type":"publish","platform":"x","account":"x-1",
         "post":{"text":"first","options":{"x":{"reply_to":"1445880548472328192",
                                                "thread":["second","third"]}}}})"},
    {"XFourImages",
     R"({"type":"publish","platform":"x","account":"x-1","post":{"media":[
         {"url":"https://c.example.com/1.png","kind":"image","alt_text":"one"},
         {"url":"https://c.example.com/2.png","kind":"image"},
         {"url":"https://c.example.com/3.png","kind":"image"},
         {"url":"https://c.example.com/4.png","kind":"image"}]}})"},
    {"XOneVideo",
     R"({"type":"publish","platform":"x","account":"x-1",
         "post":{"media":[{"url":"https://c.example.com/v.mp4","kind":"video"}]}})"},
    {"RefreshToken", R"({"type":"refresh_token","platform":"x","account":"x-1"})"},
    {"RevokeToken", R"({"type":"revoke_token","platform":"tiktok","account":"tt"})"},
    {"FetchAnalyticsRecent", R"({"type":"fetch_analytics","platform":"instagram","account":"acct"})"},
    {"FetchAnalyticsTargets",
     R"({"type":"fetch_analytics","platform":"facebook","account":"page-1",
         "targets":{"post_ids":["123_456","123_789"]}})"},
    {"EveryOptionalField",
     R"({"id":"order-42:v1.2_x","type":"publish","platform":"x","account":"x-1",
         "run_at":"2026-05-01T09:30:00+02:00","post":{"text":"hi"},"post_record":"recA1b2C3d4E5f6G7",
         "callback_url":"https://MyApp.bubbleapps.io/api/1.1/wf/done?x=1","max_attempts":25})"},
    {"NullOptionalFields",
     R"({"id":null,"type":"publish","platform":"x","account":"x-1","run_at":null,
         "post":{"text":"hi","media":null,"options":null},"targets":null,"post_record":null,
         "callback_url":null,"max_attempts":null})"},
    {"OtherPlatformsOptionsIgnored",
     R"({"type":"publish","platform":"instagram","account":"acct",
         "post":{"media":[{"url":"https://c.example.com/1.jpg","kind":"image"}],
                 "options":{"instagram":{},"x":{"reply_to":"not a number","junk":1},
                            "tiktok":"whatever","facebook":null}}})"},
    {"TextWithLineBreaksAndEmoji",
     R"({"type":"publish","platform":"x","account":"x-1","post":{"text":"line 1\nline 2\t\ud83d\ude00"}})"},
};

INSTANTIATE_TEST_SUITE_P(Jobs, ValidJob, testing::ValuesIn(kValidJobs),
                         [](const auto& test) { return std::string(test.param.name); });

// --- what a valid job becomes ---------------------------------------------------------------------

TEST(JobModel, CanonicalJsonIsNormalised) {
  const Job job = parse_ok(
      R"({"type":"publish","platform":"instagram","account":"acct","run_at":"2026-05-01T09:30:00+02:00",
          "post":{"text":"hi","media":[{"url":"//s3.amazonaws.com/b/a.jpg","kind":"image","alt_text":""}],
                  "options":{"instagram":{"as":"feed"},"x":{"thread":["ignored"]}}},
          "callback_url":"https://MYAPP.bubbleapps.io:443/api/1.1/wf/done#top","max_attempts":3})");
  const json expected = json::parse(
      R"({"type":"publish","platform":"instagram","account":"acct","run_at":"2026-05-01T07:30:00.000Z",
          "post":{"text":"hi","media":[{"url":"https://s3.amazonaws.com/b/a.jpg","kind":"image"}],
                  "options":{"instagram":{"as":"feed"}}},
          "callback_url":"https://myapp.bubbleapps.io/api/1.1/wf/done","max_attempts":3})");
  EXPECT_EQ(job.to_json(), expected);
}

TEST(JobModel, ParsedFieldsLandInTheModel) {
  const Job job = parse_ok(
      R"({"id":"abc","type":"fetch_analytics","platform":"tiktok","account":"tt",
          "run_at":"1970-01-01T00:00:01Z","targets":{"post_ids":["p1"]},"post_record":"recAAAAAAAAAAAAAA"})");
  EXPECT_EQ(job.id, "abc");
  EXPECT_EQ(job.type, JobType::fetch_analytics);
  EXPECT_EQ(job.platform, Platform::tiktok);
  EXPECT_EQ(job.account, "tt");
  EXPECT_EQ(job.run_at_ms, 1000);
  EXPECT_FALSE(job.post);
  EXPECT_EQ(job.target_post_ids, std::vector<std::string>{"p1"});
  EXPECT_EQ(job.post_record, "recAAAAAAAAAAAAAA");
  EXPECT_FALSE(job.max_attempts);
}

TEST(JobModel, FacebookLinkIsNormalisedInsideTheOptions) {
  const Job job = parse_ok(R"({"type":"publish","platform":"facebook","account":"p",
      "post":{"options":{"facebook":{"link":"HTTPS://Example.com:443/a?b=1#c"}}}})");
  ASSERT_TRUE(job.post);
  EXPECT_EQ(job.post->options, json::parse(R"({"link":"https://example.com/a?b=1"})"));
}

TEST(JobModel, EnumNamesRoundTrip) {
  for (auto t : {JobType::publish, JobType::refresh_token, JobType::fetch_analytics, JobType::revoke_token})
    EXPECT_EQ(job_type_from_string(to_string(t)), t);
  for (auto p : {Platform::instagram, Platform::facebook, Platform::tiktok, Platform::x})
    EXPECT_EQ(platform_from_string(to_string(p)), p);
  for (auto k : {MediaKind::image, MediaKind::video}) EXPECT_EQ(media_kind_from_string(to_string(k)), k);
  EXPECT_FALSE(platform_from_string("Instagram"));
  EXPECT_FALSE(job_type_from_string(""));
}

// --- invalid jobs: exactly one error each, asserted in full ---------------------------------------

struct InvalidCase {
  const char* name;
  std::string json;
  std::string field;
  const char* code;
  std::string message;
};

void PrintTo(const InvalidCase& c, std::ostream* os) {
  *os << c.name;
}

class InvalidJob : public testing::TestWithParam<InvalidCase> {};

TEST_P(InvalidJob, IsRefusedWithOneExactError) {
  const auto& c = GetParam();
  const auto errors = parse_errors(c.json);
  ASSERT_EQ(errors.size(), 1u) << describe(errors);
  EXPECT_EQ(errors[0].field, c.field);
  EXPECT_EQ(errors[0].code, c.code);
  EXPECT_EQ(errors[0].message, c.message);
}

// A valid publish job for `platform` with `post` as its post (a JSON fragment), plus `extra` fields.
std::string publish(const std::string& platform, const std::string& post, const std::string& extra = "") {
  return R"({"type":"publish","platform":")" + platform + R"(","account":"acct","post":)" + post + extra + "}";
}
std::string image(const std::string& url = "https://c.example.com/a.jpg") {
  return R"({"url":")" + url + R"(","kind":"image"})";
}
std::string video(const std::string& url = "https://c.example.com/v.mp4") {
  return R"({"url":")" + url + R"(","kind":"video"})";
}
// n copies of item, comma-separated (for JSON arrays)
std::string repeat(const std::string& item, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += (i ? "," : "") + item;
  return out;
}
std::string times(const std::string& text, std::size_t n) {
  std::string out;
  for (std::size_t i = 0; i < n; ++i) out += text;
  return out;
}
std::string x_text(const std::string& extra) {
  return publish("x", R"({"text":"hi"})", extra);
}
std::string refresh(const std::string& extra) {
  return R"({"type":"refresh_token","platform":"x","account":"acct")" + extra + "}";
}

const std::string kHint = "; allow it in security.allow_private_hosts";
const std::string kTypes = "publish, refresh_token, fetch_analytics, revoke_token";

const InvalidCase kInvalidJobs[] = {
    // the document
    {"NotAnObject", "[1,2]", "", "wrong_type", "the job must be a JSON object, not an array"},
    {"ScalarDocument", "\"publish\"", "", "wrong_type", "the job must be a JSON object, not a string"},
    {"UnknownTopLevelField", refresh(R"(,"priority":1)"), "priority", "unknown_field",
     "unknown field \"priority\"; a job has id, type, platform, account, run_at, post, targets, "
     "post_record, callback_url, max_attempts"},
    {"UnknownFieldNameIsTruncated", refresh(",\"" + std::string(100, 'k') + "\":1"), std::string(64, 'k') + "…",
     "unknown_field",
     "unknown field \"" + std::string(64, 'k') +
         "…\"; a job has id, type, platform, account, run_at, post, targets, post_record, "
         "callback_url, max_attempts"},
    // id
    {"IdWithSpace", refresh(R"(,"id":"a b")"), "id", "invalid_value",
     "id must be 1 to 128 characters from A-Z a-z 0-9 _ . : - (got \"a b\")"},
    {"IdEmpty", refresh(R"(,"id":"")"), "id", "invalid_value",
     "id must be 1 to 128 characters from A-Z a-z 0-9 _ . : - (got \"\")"},
    {"IdTooLong", refresh(",\"id\":\"" + std::string(129, 'a') + "\""), "id", "invalid_value",
     "id must be 1 to 128 characters from A-Z a-z 0-9 _ . : - (got \"" + std::string(64, 'a') + "…\")"},
    {"IdNumber", refresh(R"(,"id":42)"), "id", "wrong_type", "id must be a string, not an integer"},
    // type and platform
    {"TypeMissing", R"({"platform":"x","account":"a"})", "type", "required", "type is required: one of " + kTypes},
    {"TypeUnknown", R"({"type":"post","platform":"x","account":"a"})", "type", "invalid_value",
     "type must be one of " + kTypes + " (got \"post\")"},
    {"TypeWrongCase", R"({"type":"Publish","platform":"x","account":"a"})", "type", "invalid_value",
     "type must be one of " + kTypes + " (got \"Publish\")"},
    {"TypeNumber", R"({"type":1,"platform":"x","account":"a"})", "type", "wrong_type",
     "type must be one of " + kTypes + ", not an integer"},
    {"PlatformMissing", R"({"type":"refresh_token","account":"a"})", "platform", "required",
     "platform is required: one of instagram, facebook, tiktok, x"},
    {"PlatformUnknown", R"({"type":"refresh_token","platform":"threads","account":"a"})", "platform", "invalid_value",
     "platform must be one of instagram, facebook, tiktok, x (got \"threads\")"},
    // account
    {"AccountMissing", R"({"type":"refresh_token","platform":"x"})", "account", "required",
     "account is required: the connected account's key"},
    {"AccountEmpty", R"({"type":"refresh_token","platform":"x","account":""})", "account", "invalid_value",
     "account must not be empty"},
    {"AccountNumber", R"({"type":"refresh_token","platform":"x","account":7})", "account", "wrong_type",
     "account must be a string, not an integer"},
    {"AccountTooLong", R"({"type":"refresh_token","platform":"x","account":")" + std::string(257, 'a') + "\"}",
     "account", "too_long", "account is 257 characters; at most 256 are allowed"},
    {"AccountControlCharacter", R"({"type":"refresh_token","platform":"x","account":"a\nb"})", "account",
     "invalid_value", "account must not contain control characters"},
    // run_at
    {"RunAtNotATime", refresh(R"(,"run_at":"tomorrow")"), "run_at", "invalid_value",
     "run_at must be an RFC 3339 time such as 2026-05-01T09:30:00Z (got \"tomorrow\")"},
    {"RunAtWithoutZone", refresh(R"(,"run_at":"2026-05-01T09:30:00")"), "run_at", "invalid_value",
     "run_at must be an RFC 3339 time such as 2026-05-01T09:30:00Z (got \"2026-05-01T09:30:00\")"},
    {"RunAtNumber", refresh(R"(,"run_at":1767225600000)"), "run_at", "wrong_type",
     "run_at must be an RFC 3339 time string, not an integer"},
    {"RunAtBefore1970", refresh(R"(,"run_at":"1969-12-31T23:59:59Z")"), "run_at", "invalid_value",
     "run_at must be between 1970 and 9999 (got \"1969-12-31T23:59:59Z\")"},
    {"RunAtPastYear9999", refresh(R"(,"run_at":"9999-12-31T23:59:59-01:00")"), "run_at", "invalid_value",
     "run_at must be between 1970 and 9999 (got \"9999-12-31T23:59:59-01:00\")"},
    // post presence and shape
    {"PublishWithoutPost", R"({"type":"publish","platform":"x","account":"a"})", "post", "required",
     "post is required for publish jobs"},
    {"PostOnRefresh", refresh(R"(,"post":{"text":"hi"})"), "post", "not_allowed",
     "post is only allowed in publish jobs"},
    {"PostNotAnObject", publish("x", R"("hello")"), "post", "wrong_type", "post must be an object, not a string"},
    {"PostUnknownField", publish("x", R"({"text":"hi","caption":"hi"})"), "post.caption", "unknown_field",
     "unknown field \"caption\" in post; post has text, media, options"},
    // text
    {"TextNumber", publish("x", R"({"text":5})"), "post.text", "wrong_type",
     "post.text must be a string, not an integer"},
    {"TextTooLongForInstagram",
     publish("instagram", R"({"text":")" + std::string(2201, 'a') + R"(","media":[)" + image() + "]}"), "post.text",
     "too_long", "post.text is 2201 characters; instagram allows at most 2200"},
    {"TextTooLongForTikTok",
     publish("tiktok", R"({"text":")" + std::string(2201, 'a') + R"(","media":[)" + video() + "]}"), "post.text",
     "too_long", "post.text is 2201 characters; tiktok allows at most 2200"},
    {"TextTooLongForX", publish("x", R"({"text":")" + std::string(25001, 'a') + "\"}"), "post.text", "too_long",
     "post.text is 25001 characters; x allows at most 25000"},
    {"TextCountsCharactersNotBytes",
     publish("instagram", R"({"text":")" + times("\xc3\xa9", 2201) + R"(","media":[)" + image() + "]}"), "post.text",
     "too_long", "post.text is 2201 characters; instagram allows at most 2200"},
    {"TextControlCharacter", publish("x", R"({"text":"a\u0000b"})"), "post.text", "invalid_value",
     "post.text must not contain control characters other than tab and line breaks"},
    // media list
    {"MediaNotAnArray", publish("x", R"({"media":{"url":"https://c.example.com/a.jpg"}})"), "post.media", "wrong_type",
     "post.media must be an array of {url, kind} objects, not an object"},
    {"InstagramElevenItems", publish("instagram", R"({"media":[)" + repeat(image(), 11) + "]}"), "post.media",
     "too_many", "post.media has 11 items; instagram allows at most 10"},
    {"FacebookElevenItems", publish("facebook", R"({"media":[)" + repeat(image(), 11) + "]}"), "post.media", "too_many",
     "post.media has 11 items; facebook allows at most 10"},
    {"XFiveImages", publish("x", R"({"media":[)" + repeat(image(), 5) + "]}"), "post.media", "too_many",
     "post.media has 5 items; x allows at most 4"},
    {"TikTok36Photos", publish("tiktok", R"({"media":[)" + repeat(image(), 36) + "]}"), "post.media", "too_many",
     "post.media has 36 items; tiktok allows at most 35"},
    // media items
    {"MediaItemString", publish("x", R"({"media":["https://c.example.com/a.jpg"]})"), "post.media[0]", "wrong_type",
     "post.media[0] must be an object with url and kind, not a string"},
    {"MediaUrlMissing", publish("x", R"({"media":[{"kind":"image"}]})"), "post.media[0].url", "required",
     "post.media[0].url is required"},
    {"MediaKindMissing", publish("x", R"({"media":[{"url":"https://c.example.com/a.jpg"}]})"), "post.media[0].kind",
     "required", "post.media[0].kind is required: one of image, video"},
    {"MediaKindGif", publish("x", R"({"media":[{"url":"https://c.example.com/a.gif","kind":"gif"}]})"),
     "post.media[0].kind", "invalid_value", "post.media[0].kind must be one of image, video (got \"gif\")"},
    {"MediaAltTextTooLong",
     publish("x", R"({"media":[{"url":"https://c.example.com/a.jpg","kind":"image","alt_text":")" +
                      std::string(1001, 'a') + "\"}]}"),
     "post.media[0].alt_text", "too_long", "post.media[0].alt_text is 1001 characters; at most 1000 are allowed"},
    {"MediaUnknownField",
     publish("x", R"({"media":[{"url":"https://c.example.com/a.jpg","kind":"image","type":"jpg"}]})"),
     "post.media[0].type", "unknown_field",
     "unknown field \"type\" in post.media[0]; a media item has url, kind, alt_text"},
    {"MediaUrlFtp", publish("x", R"({"media":[)" + image("ftp://c.example.com/a.jpg") + "]}"), "post.media[0].url",
     "invalid_url", "post.media[0].url: scheme \"ftp\" is not allowed: use http or https"},
    {"MediaUrlRelative", publish("x", R"({"media":[)" + image("/uploads/a.jpg") + "]}"), "post.media[0].url",
     "invalid_url", "post.media[0].url: not an absolute URL: it must start with https:// or http://"},
    {"MediaUrlCredentials", publish("x", R"({"media":[)" + image("https://u:p@c.example.com/a.jpg") + "]}"),
     "post.media[0].url", "invalid_url",
     "post.media[0].url: credentials (user:password@) are not allowed in a URL: they would leak into logs"},
    {"MediaUrlNumber", publish("x", R"({"media":[{"url":5,"kind":"image"}]})"), "post.media[0].url", "wrong_type",
     "post.media[0].url must be an http(s) URL string, not an integer"},
    {"MediaUrlLoopback",
     publish("x", R"({"media":[)" + image("https://c.example.com/a.jpg") + "," +
                      image("http://127.0.0.1:6379/?token=SECRET") + "]}"),
     "post.media[1].url", "private_address", "post.media[1].url: host 127.0.0.1 is a loopback address" + kHint},
    {"MediaUrlDecimalMetadata", publish("x", R"({"media":[)" + image("http://2852039166/latest") + "]}"),
     "post.media[0].url", "private_address",
     "post.media[0].url: host 169.254.169.254 is a cloud metadata address" + kHint},
    {"MediaUrlLocalhost", publish("x", R"({"media":[)" + image("http://localhost/a.jpg") + "]}"), "post.media[0].url",
     "private_address", "post.media[0].url: host \"localhost\" is an internal name" + kHint},
    // what each platform can post
    {"InstagramWithoutMedia", publish("instagram", R"({"text":"caption only"})"), "post.media", "required",
     "post.media must have at least one image or video for instagram"},
    {"TikTokEmptyMedia", publish("tiktok", R"({"text":"t","media":[]})"), "post.media", "required",
     "post.media must have at least one image or video for tiktok"},
    {"XEmptyPost", publish("x", R"({})"), "post", "required", "post needs text or media for x"},
    {"XEmptyText", publish("x", R"({"text":""})"), "post", "required", "post needs text or media for x"},
    {"FacebookEmptyPost", publish("facebook", R"({"options":{"facebook":{"as":"post"}}})"), "post", "required",
     "post needs text, media or options.facebook.link for facebook"},
    {"XVideoWithImage", publish("x", R"({"media":[)" + image() + "," + video() + "]}"), "post.media", "invalid_value",
     "on x a video must be the only item in post.media"},
    {"XTwoVideos", publish("x", R"({"media":[)" + video() + "," + video() + "]}"), "post.media", "invalid_value",
     "on x a video must be the only item in post.media"},
    {"TikTokVideoWithImage", publish("tiktok", R"({"media":[)" + video() + "," + image() + "]}"), "post.media",
     "invalid_value", "on tiktok a video must be the only item in post.media"},
    {"FacebookVideoWithImage", publish("facebook", R"({"media":[)" + image() + "," + video() + "]}"), "post.media",
     "invalid_value", "on facebook a video must be the only item in post.media"},
    {"InstagramReelOfAnImage",
     publish("instagram", R"({"media":[)" + image() + R"(],"options":{"instagram":{"as":"reel"}}})"), "post.media",
     "invalid_value", "an instagram reel needs exactly one video in post.media"},
    {"InstagramStoryOfTwo",
     publish("instagram", R"({"media":[)" + image() + "," + image() + R"(],"options":{"instagram":{"as":"story"}}})"),
     "post.media", "invalid_value", "an instagram story needs exactly one image or video in post.media"},
    {"InstagramStoryWithCaption",
     publish("instagram", R"({"text":"hi","media":[)" + image() + R"(],"options":{"instagram":{"as":"story"}}})"),
     "post.text", "not_allowed", "post.text is not allowed in an instagram story (stories have no caption)"},
    {"FacebookReelOfAnImage",
     publish("facebook", R"({"media":[)" + image() + R"(],"options":{"facebook":{"as":"reel"}}})"), "post.media",
     "invalid_value", "a facebook reel needs exactly one video in post.media"},
    {"TikTokPhotosByUpload",
     publish("tiktok", R"({"media":[)" + image() + R"(],"options":{"tiktok":{"source":"upload"}}})"),
     "post.options.tiktok.source", "invalid_value",
     "post.options.tiktok.source must be pull for photo posts: tiktok takes photos only by URL"},
    // options
    {"OptionsArray", publish("x", R"({"text":"hi","options":[]})"), "post.options", "wrong_type",
     "post.options must be an object, not an array"},
    {"OptionsUnknownPlatform", publish("x", R"({"text":"hi","options":{"threads":{}}})"), "post.options.threads",
     "unknown_field", "unknown field \"threads\" in post.options; post.options has instagram, facebook, tiktok, x"},
    {"OptionsBlockNotAnObject", publish("x", R"({"text":"hi","options":{"x":"reply"}})"), "post.options.x",
     "wrong_type", "post.options.x must be an object, not a string"},
    {"InstagramUnknownOption",
     publish("instagram", R"({"media":[)" + image() + R"(],"options":{"instagram":{"caption":"x"}}})"),
     "post.options.instagram.caption", "unknown_field",
     "unknown field \"caption\" in post.options.instagram; post.options.instagram has as, share_to_feed"},
    {"InstagramAsCarousel",
     publish("instagram", R"({"media":[)" + image() + R"(],"options":{"instagram":{"as":"carousel"}}})"),
     "post.options.instagram.as", "invalid_value",
     "post.options.instagram.as must be one of feed, reel, story (got \"carousel\")"},
    {"InstagramShareToFeedString",
     publish("instagram",
             R"({"media":[)" + video() + R"(],"options":{"instagram":{"as":"reel","share_to_feed":"yes"}}})"),
     "post.options.instagram.share_to_feed", "wrong_type",
     "post.options.instagram.share_to_feed must be true or false, not a string"},
    {"FacebookPrivateLink",
     publish("facebook", R"({"options":{"facebook":{"link":"http://10.0.0.1/admin?key=SECRET"}}})"),
     "post.options.facebook.link", "private_address",
     "post.options.facebook.link: host 10.0.0.1 is a private (RFC 1918) address" + kHint},
    {"TikTokPrivacyLowerCase",
     publish("tiktok", R"({"media":[)" + video() + R"(],"options":{"tiktok":{"privacy_level":"public"}}})"),
     "post.options.tiktok.privacy_level", "invalid_value",
     "post.options.tiktok.privacy_level must be one of PUBLIC_TO_EVERYONE, MUTUAL_FOLLOW_FRIENDS, "
     "FOLLOWER_OF_CREATOR, SELF_ONLY (got \"public\")"},
    {"TikTokModeDraft", publish("tiktok", R"({"media":[)" + video() + R"(],"options":{"tiktok":{"mode":"draft"}}})"),
     "post.options.tiktok.mode", "invalid_value",
     "post.options.tiktok.mode must be one of direct, inbox (got \"draft\")"},
    {"TikTokDisableCommentNumber",
     publish("tiktok", R"({"media":[)" + video() + R"(],"options":{"tiktok":{"disable_comment":1}}})"),
     "post.options.tiktok.disable_comment", "wrong_type",
     "post.options.tiktok.disable_comment must be true or false, not an integer"},
    {"XReplyToNotNumeric", publish("x", R"({"text":"hi","options":{"x":{"reply_to":"abc"}}})"),
     "post.options.x.reply_to", "invalid_value", "post.options.x.reply_to must be a numeric post id (got \"abc\")"},
    {"XReplyToNumber", publish("x", R"({"text":"hi","options":{"x":{"reply_to":1445880548472328192}}})"),
     "post.options.x.reply_to", "wrong_type", "post.options.x.reply_to must be a post id string, not an integer"},
    {"XThread26", publish("x", R"({"text":"hi","options":{"x":{"thread":[)" + repeat("\"t\"", 26) + "]}}}"),
     "post.options.x.thread", "too_many", "post.options.x.thread has 26 items; at most 25 are allowed"},
    {"XThreadEmptyPost", publish("x", R"({"text":"hi","options":{"x":{"thread":["a",""]}}})"),
     "post.options.x.thread[1]", "invalid_value", "post.options.x.thread[1] must not be empty"},
    {"XThreadNumber", publish("x", R"({"text":"hi","options":{"x":{"thread":[1]}}})"), "post.options.x.thread[0]",
     "wrong_type", "post.options.x.thread[0] must be a string, not an integer"},
    {"XThreadNotArray", publish("x", R"({"text":"hi","options":{"x":{"thread":"two"}}})"), "post.options.x.thread",
     "wrong_type", "post.options.x.thread must be an array of post texts, not a string"},
    {"XThreadPostTooLong",
     publish("x", R"({"text":"hi","options":{"x":{"thread":[")" + std::string(25001, 'a') + "\"]}}}"),
     "post.options.x.thread[0]", "too_long", "post.options.x.thread[0] is 25001 characters; x allows at most 25000"},
    {"XUnknownOption", publish("x", R"({"text":"hi","options":{"x":{"poll":{}}}})"), "post.options.x.poll",
     "unknown_field", "unknown field \"poll\" in post.options.x; post.options.x has reply_to, thread"},
    // targets
    {"TargetsOnPublish", x_text(R"(,"targets":{"post_ids":["1"]})"), "targets", "not_allowed",
     "targets is only allowed in fetch_analytics jobs"},
    {"TargetsArray", R"({"type":"fetch_analytics","platform":"x","account":"a","targets":["1"]})", "targets",
     "wrong_type", "targets must be an object, not an array"},
    {"TargetsWithoutPostIds", R"({"type":"fetch_analytics","platform":"x","account":"a","targets":{}})",
     "targets.post_ids", "required", "targets.post_ids is required: 1 to 100 platform post ids"},
    {"TargetsEmptyPostIds", R"({"type":"fetch_analytics","platform":"x","account":"a","targets":{"post_ids":[]}})",
     "targets.post_ids", "invalid_value",
     "targets.post_ids must list 1 to 100 post ids (leave out targets for the account's recent posts)"},
    {"Targets101PostIds",
     R"({"type":"fetch_analytics","platform":"x","account":"a","targets":{"post_ids":[)" + repeat("\"1\"", 101) + "]}}",
     "targets.post_ids", "too_many", "targets.post_ids has 101 items; at most 100 are allowed"},
    {"TargetsEmptyPostId", R"({"type":"fetch_analytics","platform":"x","account":"a","targets":{"post_ids":["1",""]}})",
     "targets.post_ids[1]", "invalid_value", "targets.post_ids[1] must not be empty"},
    {"TargetsNumericPostId", R"({"type":"fetch_analytics","platform":"x","account":"a","targets":{"post_ids":[123]}})",
     "targets.post_ids[0]", "wrong_type", "targets.post_ids[0] must be a post id string, not an integer"},
    {"TargetsUnknownField",
     R"({"type":"fetch_analytics","platform":"x","account":"a","targets":{"post_ids":["1"],"since":"x"}})",
     "targets.since", "unknown_field", "unknown field \"since\" in targets; targets has post_ids"},
    // post_record
    {"PostRecordShort", refresh(R"(,"post_record":"recABC")"), "post_record", "invalid_value",
     "post_record must be an Airtable record id: \"rec\" and 14 letters or digits (got \"recABC\")"},
    {"PostRecordWrongPrefix", refresh(R"(,"post_record":"tblA1b2C3d4E5f6G7h")"), "post_record", "invalid_value",
     "post_record must be an Airtable record id: \"rec\" and 14 letters or digits (got \"tblA1b2C3d4E5f6G7h\")"},
    // callback_url
    {"CallbackHostNotListed", refresh(R"(,"callback_url":"https://evil.example.com/wf?token=SECRET")"), "callback_url",
     "not_allowed", "callback_url host \"evil.example.com\" is not in bubble.callback_hosts"},
    {"CallbackFtp", refresh(R"(,"callback_url":"ftp://myapp.bubbleapps.io/wf")"), "callback_url", "invalid_url",
     "callback_url: scheme \"ftp\" is not allowed: use http or https"},
    {"CallbackListedButInternal", refresh(R"(,"callback_url":"http://localhost:8080/wf")"), "callback_url",
     "private_address", "callback_url: host \"localhost\" is an internal name" + kHint},
    // max_attempts
    {"MaxAttemptsFraction", refresh(R"(,"max_attempts":2.5)"), "max_attempts", "wrong_type",
     "max_attempts must be an integer from 1 to 25, not a decimal number"},
    {"MaxAttemptsWholeDecimal", refresh(R"(,"max_attempts":3.0)"), "max_attempts", "wrong_type",
     "max_attempts must be an integer from 1 to 25, not a decimal number"},
    {"MaxAttemptsString", refresh(R"(,"max_attempts":"3")"), "max_attempts", "wrong_type",
     "max_attempts must be an integer from 1 to 25, not a string"},
    {"MaxAttemptsBoolean", refresh(R"(,"max_attempts":true)"), "max_attempts", "wrong_type",
     "max_attempts must be an integer from 1 to 25, not a boolean"},
    {"MaxAttemptsZero", refresh(R"(,"max_attempts":0)"), "max_attempts", "invalid_value",
     "max_attempts must be an integer from 1 to 25 (got 0)"},
    {"MaxAttemptsNegative", refresh(R"(,"max_attempts":-1)"), "max_attempts", "invalid_value",
     "max_attempts must be an integer from 1 to 25 (got -1)"},
    {"MaxAttemptsAboveLimit", refresh(R"(,"max_attempts":26)"), "max_attempts", "invalid_value",
     "max_attempts must be an integer from 1 to 25 (got 26)"},
    {"MaxAttemptsHuge", refresh(R"(,"max_attempts":18446744073709551615)"), "max_attempts", "invalid_value",
     "max_attempts must be an integer from 1 to 25 (got 18446744073709551615)"},
    // raw input
    {"MalformedJson", R"({"type" "publish"})", "", "malformed_json",
     "the job is not valid JSON: syntax error at byte 17"},
    {"TruncatedJson", R"({"type":"publish")", "", "malformed_json",
     "the job is not valid JSON: syntax error at byte 18"},
    {"EmptyInput", "", "", "malformed_json", "the job is not valid JSON: syntax error at byte 1"},
    {"InvalidUtf8", "{\"type\":\"\xff\"}", "", "malformed_json", "the job is not valid JSON: syntax error at byte 10"},
    {"NumberOverflow", refresh(R"(,"max_attempts":1e400)"), "", "malformed_json",
     "the job is not valid JSON: a number is too large"},
    {"DuplicateTopLevelKey", R"({"type":"publish","type":"refresh_token","platform":"x","account":"a"})", "type",
     "duplicate_key", "type appears more than once; a key may appear only once"},
    {"DuplicateNestedKey",
     publish("x", R"({"media":[)" + image() +
                      R"(,{"url":"https://c.example.com/a.jpg","kind":"image","url":"http://127.0.0.1/"}]})"),
     "post.media[1].url", "duplicate_key", "post.media[1].url appears more than once; a key may appear only once"},
};

INSTANTIATE_TEST_SUITE_P(Jobs, InvalidJob, testing::ValuesIn(kInvalidJobs),
                         [](const auto& test) { return std::string(test.param.name); });

TEST(JobValidation, MessagesNeverRepeatAUrlsQuery) {
  for (const auto& c : kInvalidJobs) EXPECT_EQ(c.message.find("SECRET"), std::string::npos) << c.name;
  // and the test above would fail if the validator said otherwise; check the raw output once more
  const auto errors = parse_errors(refresh(R"(,"callback_url":"https://evil.example.com/wf?token=SECRET")"));
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message.find("SECRET"), std::string::npos);
}

TEST(JobValidation, MalformedJsonMessageDoesNotQuoteTheInput) {
  const auto errors = parse_errors(R"({"token":"SECRET-VALUE" "x"})");
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, "malformed_json");
  EXPECT_EQ(errors[0].message.find("SECRET"), std::string::npos) << errors[0].message;
}

// --- every problem at once -----------------------------------------------------------------------

TEST(JobValidation, ListsEveryProblemInOneAnswer) {
  const auto errors = parse_errors(R"({
      "id":"bad id!","type":"publish","platform":"x","account":"",
      "run_at":"soon","post":{"text":5,"media":[{"url":"file:///etc/passwd","kind":"image"},{"kind":"pdf"}]},
      "post_record":"rec1","callback_url":"https://evil.example.com/","max_attempts":"3","color":"red"})");
  const std::vector<ValidationError> expected = {
      {"id", "invalid_value", "id must be 1 to 128 characters from A-Z a-z 0-9 _ . : - (got \"bad id!\")"},
      {"account", "invalid_value", "account must not be empty"},
      {"run_at", "invalid_value", "run_at must be an RFC 3339 time such as 2026-05-01T09:30:00Z (got \"soon\")"},
      {"post.text", "wrong_type", "post.text must be a string, not an integer"},
      {"post.media[0].url", "invalid_url", "post.media[0].url: scheme \"file\" is not allowed: use http or https"},
      {"post.media[1].url", "required", "post.media[1].url is required"},
      {"post.media[1].kind", "invalid_value", "post.media[1].kind must be one of image, video (got \"pdf\")"},
      {"post_record", "invalid_value",
       "post_record must be an Airtable record id: \"rec\" and 14 letters or digits (got \"rec1\")"},
      {"callback_url", "not_allowed", "callback_url host \"evil.example.com\" is not in bubble.callback_hosts"},
      {"max_attempts", "wrong_type", "max_attempts must be an integer from 1 to 25, not a string"},
      {"color", "unknown_field",
       "unknown field \"color\"; a job has id, type, platform, account, run_at, post, targets, post_record, "
       "callback_url, max_attempts"},
  };
  EXPECT_EQ(errors, expected) << describe(errors);
}

TEST(JobValidation, StillChecksThePostWhenTheTypeIsUnknown) {
  const auto errors = parse_errors(R"({"type":"publsh","platform":"x","account":"a","post":{"media":[{"url":"x"}]}})");
  const std::vector<ValidationError> expected = {
      {"type", "invalid_value", "type must be one of " + kTypes + " (got \"publsh\")"},
      {"post.media[0].url", "invalid_url",
       "post.media[0].url: not an absolute URL: it must start with https:// or http://"},
      {"post.media[0].kind", "required", "post.media[0].kind is required: one of image, video"},
  };
  EXPECT_EQ(errors, expected) << describe(errors);
}

TEST(JobValidation, ValidateJobAcceptsAParsedDocument) {
  const auto result = validate_job(json{{"type", "revoke_token"}, {"platform", "x"}, {"account", "a"}}, test_context());
  ASSERT_TRUE(result.job);
  EXPECT_TRUE(result.ok());
  EXPECT_EQ(result.job->type, JobType::revoke_token);
}

TEST(JobValidation, ValidateJobRefusesInvalidUtf8BuiltInCode) {
  const auto result = validate_job(json{{"type", "revoke_token"}, {"platform", "x"}, {"account", std::string("a\xff")}},
                                   test_context());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0], (ValidationError{"account", "invalid_value", "account must be valid UTF-8 text"}));
}

TEST(JobValidation, UnknownKeysWithBrokenUtf8AreShownSafely) {
  const auto result =
      validate_job(json{{"type", "revoke_token"}, {"platform", "x"}, {"account", "a"}, {std::string("k\xe2\x82"), 1}},
                   test_context());
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].field, "k??");
  EXPECT_NO_THROW((void)json(result.errors[0].message).dump());
}

TEST(JobValidation, PrivateMediaIsAcceptedWhenAllowListed) {
  ValidationContext context = test_context();
  context.private_hosts = *http::AddressPolicy::from_entries({"127.0.0.0/8"}).policy;
  const auto result =
      parse_job(publish("x", R"({"media":[)" + image("http://127.0.0.1:9000/cdn/jpeg?bytes=100") + "]}"), context);
  ASSERT_TRUE(result.job) << describe(result.errors);
  EXPECT_EQ(result.job->post->media[0].url, "http://127.0.0.1:9000/cdn/jpeg?bytes=100");
}

TEST(JobValidation, MaxAttemptsLimitComesFromTheContext) {
  ValidationContext context = test_context();
  context.max_attempts_limit = 5;
  const auto errors = parse_errors(refresh(R"(,"max_attempts":6)"), context);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].message, "max_attempts must be an integer from 1 to 5 (got 6)");
}

// --- size and depth limits ------------------------------------------------------------------------

TEST(JobLimits, AcceptsAJobOfExactly64KiB) {
  std::string raw = refresh("");
  raw.insert(1, 64 * 1024 - raw.size(), ' ');
  ASSERT_EQ(raw.size(), 64u * 1024);
  EXPECT_TRUE(parse_job(raw, test_context()).job);
}

TEST(JobLimits, RefusesAJobLargerThan64KiBBeforeParsing) {
  std::string raw = refresh("");
  raw.insert(1, 64 * 1024 + 1 - raw.size(), ' ');
  const auto errors = parse_errors(raw);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], (ValidationError{"", "too_large", "the job is 65537 bytes; at most 65536 are accepted"}));
}

TEST(JobLimits, RefusesNestingDeeperThan32) {
  const std::string raw = refresh(",\"x\":" + std::string(32, '[') + std::string(32, ']'));
  const auto errors = parse_errors(raw);  // 33 levels with the job object itself
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0], (ValidationError{"", "too_deep", "the job is nested deeper than 32 levels"}));
}

TEST(JobLimits, Accepts32LevelsAndJudgesTheContent) {
  const std::string raw = refresh(",\"x\":" + std::string(31, '[') + std::string(31, ']'));
  const auto errors = parse_errors(raw);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, "unknown_field");
}

TEST(JobLimits, RefusesAHugelyDeepDocumentWithoutRecursing) {
  const std::string raw(1'000'000, '[');
  ValidationContext context = test_context();
  context.max_job_bytes = raw.size();
  const auto errors = parse_errors(raw, context);
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_EQ(errors[0].code, "too_deep");
}

TEST(JobLimits, BracketsInsideStringsDoNotCountAsNesting) {
  const std::string text = std::string(40, '[') + "\\\"" + std::string(40, '{');
  const Job job = parse_ok(publish("x", R"({"text":")" + text + "\"}"));
  EXPECT_EQ(job.post->text, std::string(40, '[') + "\"" + std::string(40, '{'));
}

// --- ids ------------------------------------------------------------------------------------------

TEST(JobId, UsesTheIdCharsetAndAFixedLength) {
  const std::string id = generate_job_id();
  EXPECT_EQ(id.size(), 22u);
  EXPECT_EQ(id[0], 'j');
  EXPECT_TRUE(std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z');
  })) << id;
  // and validation accepts it
  const Job job = parse_ok(refresh(",\"id\":\"" + id + "\""));
  EXPECT_EQ(job.id, id);
}

TEST(JobId, TenThousandIdsAreDistinct) {
  std::set<std::string> ids;
  for (int i = 0; i < 10'000; ++i) ids.insert(generate_job_id());
  EXPECT_EQ(ids.size(), 10'000u);
}

TEST(JobId, LaterIdsSortAfterEarlierOnes) {
  const std::string first = generate_job_id();
  std::this_thread::sleep_for(std::chrono::milliseconds(3));
  const std::string second = generate_job_id();
  EXPECT_LT(first, second);
  EXPECT_LT(first.substr(0, 12), second.substr(0, 12));
}

}  // namespace
}  // namespace schedulo::jobs
