// The Airtable emulator, driven over plain HTTP: records, pages, formulas, upserts, the limits and the
// error shapes of platform-apis.md section 5.
#include <gtest/gtest.h>

#include <set>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {
namespace {

using json = nlohmann::json;

constexpr const char* kToken = "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr const char* kReadOnly = "patSbxReadOnly001.1123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr const char* kNoAccess = "patSbxNoAccess001.2123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
constexpr const char* kCommenter = "patSbxCommenter01.3123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
const std::string kBase = "/v0/appSandboxBase001";
const std::string kPosts = kBase + "/Posts";

class AirtableEmulator : public ::testing::Test {
 protected:
  void SetUp() override {
    // Most tests make more than 5 calls at one (frozen) instant: lift the rate limits unless a test
    // is about them.
    set_limits({{"base_rps", 1000}, {"token_rps", 1000}});
  }

  HttpReply call(const std::string& method, const std::string& target, const json& body = nullptr,
                 const std::string& token = kToken) {
    std::vector<std::pair<std::string, std::string>> headers{{"Content-Type", "application/json"}};
    if (!token.empty()) headers.emplace_back("Authorization", "Bearer " + token);
    return http(sandbox.port(), method, target, body.is_null() ? "" : body.dump(), headers);
  }
  json ok(const std::string& method, const std::string& target, const json& body = nullptr) {
    auto reply = call(method, target, body);
    EXPECT_EQ(reply.status, 200) << method << " " << target << ": " << reply.body;
    return reply.json();
  }
  void set_limits(const json& limits) { http_json(sandbox.port(), "POST", "/_sandbox/airtable/limits", limits); }
  void advance(std::int64_t ms) { http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"advance_ms", ms}}); }

  // Creates `n` Posts in batches of 10; returns their ids.
  std::vector<std::string> create_posts(int n, const std::string& platform = "instagram") {
    std::vector<std::string> ids;
    for (int done = 0; done < n;) {
      json records = json::array();
      for (int i = 0; i < 10 && done < n; ++i, ++done)
        records.push_back({{"fields", {{"Post Key", "post-" + std::to_string(done)}, {"Platform", platform}, {"Attempts", done}}}});
      const auto answer = ok("POST", kPosts, {{"records", records}});
      for (const auto& r : answer["records"]) ids.push_back(r["id"]);
    }
    return ids;
  }

  SandboxProcess sandbox;
};

std::string type_of(const HttpReply& reply) {
  const auto j = reply.json();
  if (j.is_discarded() || !j.contains("error")) return "<no error: " + reply.body + ">";
  return j["error"].is_string() ? j["error"].get<std::string>() : j["error"].value("type", "<no type>");
}

TEST_F(AirtableEmulator, ListPagesToTheLastPageWhichHasNoOffset) {
  const auto created = create_posts(25);
  std::set<std::string> seen;
  std::string offset;
  std::vector<std::size_t> page_sizes;
  for (int page = 0; page < 10; ++page) {
    const auto target = kPosts + "?pageSize=10" + (offset.empty() ? "" : "&offset=" + offset);
    const auto answer = ok("GET", target);
    page_sizes.push_back(answer["records"].size());
    for (const auto& r : answer["records"]) seen.insert(r["id"].get<std::string>());
    if (!answer.contains("offset")) break;
    offset = answer["offset"].get<std::string>();
    EXPECT_NE(offset.find('/'), std::string::npos) << "Airtable's offsets contain a slash: " << offset;
    // Sent as is (unescaped '/'), as many clients do.
  }
  EXPECT_EQ(page_sizes, (std::vector<std::size_t>{10, 10, 5}));
  EXPECT_EQ(seen, std::set<std::string>(created.begin(), created.end()));
}

TEST_F(AirtableEmulator, OffsetOfAnIdleIteratorExpires) {
  create_posts(3);
  const auto first = ok("GET", kPosts + "?pageSize=1");
  ASSERT_TRUE(first.contains("offset"));
  advance(5 * 60 * 1000 + 1);
  const auto reply = call("GET", kPosts + "?pageSize=1&offset=" + first["offset"].get<std::string>());
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(type_of(reply), "LIST_RECORDS_ITERATOR_NOT_AVAILABLE");
}

TEST_F(AirtableEmulator, OneBadRecordRejectsTheWholeBatchWith422) {
  const json batch{{"records",
                    {{{"fields", {{"Post Key", "a"}}}}, {{"fields", {{"Post Kee", "b"}}}}, {{"fields", {{"Post Key", "c"}}}}}}};
  const auto reply = call("POST", kPosts, batch);
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(type_of(reply), "UNKNOWN_FIELD_NAME");
  const auto wrong_type = call("POST", kPosts, {{"records", {{{"fields", {{"Post Key", "a"}}}}, {{"fields", {{"Attempts", "three"}}}}}}});
  EXPECT_EQ(wrong_type.status, 422);
  EXPECT_EQ(type_of(wrong_type), "INVALID_VALUE_FOR_COLUMN");
  EXPECT_EQ(ok("GET", kPosts)["records"].size(), 0u) << "nothing of a rejected batch is written";
}

TEST_F(AirtableEmulator, MoreThanTenRecordsPerRequestAreRefused) {
  json records = json::array();
  for (int i = 0; i < 11; ++i) records.push_back({{"fields", {{"Post Key", std::to_string(i)}}}});
  const auto reply = call("POST", kPosts, {{"records", records}});
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(ok("GET", kPosts)["records"].size(), 0u);
  records.erase(records.begin());
  EXPECT_EQ(call("POST", kPosts, {{"records", records}}).status, 200);
}

TEST_F(AirtableEmulator, UpsertCreatesThenUpdatesTheSameRecord) {
  const json first{{"performUpsert", {{"fieldsToMergeOn", {"Post Key"}}}},
                   {"records", {{{"fields", {{"Post Key", "job-1"}, {"State", "queued"}, {"Attempts", 1}}}}}}};
  const auto created = ok("PATCH", kPosts, first);
  ASSERT_EQ(created["createdRecords"].size(), 1u);
  EXPECT_TRUE(created["updatedRecords"].empty());
  const auto id = created["createdRecords"][0].get<std::string>();

  const json second{{"performUpsert", {{"fieldsToMergeOn", {"Post Key"}}}},
                    {"records", {{{"fields", {{"Post Key", "job-1"}, {"State", "succeeded"}}}}}}};
  const auto updated = ok("PATCH", kPosts, second);
  EXPECT_TRUE(updated["createdRecords"].empty());
  EXPECT_EQ(updated["updatedRecords"], json::array({id}));
  EXPECT_EQ(updated["records"][0]["fields"]["State"], "succeeded");
  EXPECT_EQ(updated["records"][0]["fields"]["Attempts"], 1) << "PATCH merges: unnamed fields stay";
  EXPECT_EQ(ok("GET", kPosts)["records"].size(), 1u);
}

TEST_F(AirtableEmulator, UpsertMatchingTwoRecordsFailsAndChangesNothing) {
  ok("POST", kPosts, {{"records", {{{"fields", {{"Post Key", "dup"}}}}, {{"fields", {{"Post Key", "dup"}}}}}}});
  const auto reply = call("PATCH", kPosts,
                          {{"performUpsert", {{"fieldsToMergeOn", {"Post Key"}}}},
                           {"records", {{{"fields", {{"Post Key", "dup"}, {"State", "failed"}}}}}}});
  EXPECT_EQ(reply.status, 422);
  const auto all = ok("GET", kPosts);
  for (const auto& r : all["records"]) EXPECT_FALSE(r["fields"].contains("State"));
}

TEST_F(AirtableEmulator, PutReplacesFieldsWherePatchMerges) {
  const auto id = create_posts(1)[0];
  const auto patched = ok("PATCH", kPosts + "/" + id, {{"fields", {{"State", "running"}}}});
  EXPECT_EQ(patched["fields"]["Post Key"], "post-0");
  const auto put = ok("PUT", kPosts + "/" + id, {{"fields", {{"State", "failed"}}}});
  EXPECT_FALSE(put["fields"].contains("Post Key")) << "PUT clears the cells it does not name";
  EXPECT_EQ(put["fields"]["State"], "failed");
}

TEST_F(AirtableEmulator, FilterByFormulaAndFieldsSelectRecordsAndCells) {
  const auto ids = create_posts(4, "instagram");
  ok("POST", kPosts, {{"records", {{{"fields", {{"Post Key", "x-1"}, {"Platform", "x"}, {"Attempts", 2}}}}}}});
  auto keys = [](const json& answer) {
    std::set<std::string> out;
    for (const auto& r : answer["records"]) out.insert(r["fields"].value("Post Key", "?"));
    return out;
  };
  EXPECT_EQ(keys(ok("GET", kPosts + "?filterByFormula=" + "%7BPost%20Key%7D%3D'post-2'")), std::set<std::string>{"post-2"});
  EXPECT_EQ(keys(ok("GET", kPosts + "?filterByFormula=AND(%7BPlatform%7D%3D'instagram'%2C%7BAttempts%7D%3E%3D2)")),
            (std::set<std::string>{"post-2", "post-3"}));
  EXPECT_EQ(keys(ok("GET", kPosts + "?filterByFormula=OR(%7BPlatform%7D%3D'x'%2CRECORD_ID()%3D'" + ids[0] + "')")),
            (std::set<std::string>{"post-0", "x-1"}));
  const auto only = ok("GET", kPosts + "?fields%5B%5D=Post%20Key&filterByFormula=%7BPlatform%7D%3D'x'");
  ASSERT_EQ(only["records"].size(), 1u);
  EXPECT_EQ(only["records"][0]["fields"], json({{"Post Key", "x-1"}}));
  const auto bad = call("GET", kPosts + "?filterByFormula=AND(%7BNope%7D%3D1)");
  EXPECT_EQ(bad.status, 422);
  EXPECT_EQ(type_of(bad), "INVALID_FILTER_BY_FORMULA");
}

TEST_F(AirtableEmulator, SortAndMaxRecordsShapeTheList) {
  create_posts(5);
  const auto answer = ok("GET", kPosts + "?sort%5B0%5D%5Bfield%5D=Attempts&sort%5B0%5D%5Bdirection%5D=desc&maxRecords=3&pageSize=2");
  ASSERT_EQ(answer["records"].size(), 2u);
  EXPECT_EQ(answer["records"][0]["fields"]["Attempts"], 4);
  EXPECT_EQ(answer["records"][1]["fields"]["Attempts"], 3);
  const auto rest = ok("GET", kPosts + "?pageSize=2&offset=" + answer["offset"].get<std::string>());
  ASSERT_EQ(rest["records"].size(), 1u) << "maxRecords counts across pages";
  EXPECT_EQ(rest["records"][0]["fields"]["Attempts"], 2);
  EXPECT_FALSE(rest.contains("offset"));
}

TEST_F(AirtableEmulator, WrongJsonTypesInTheBodyAre422) {
  const auto reply = call("POST", kPosts, {{"fields", {{"Post Key", "t"}}}, {"typecast", "yes"}});
  EXPECT_EQ(reply.status, 422);
  EXPECT_EQ(type_of(reply), "INVALID_REQUEST_UNKNOWN");
}

TEST_F(AirtableEmulator, EmptyAndNullFieldsAreOmittedFromAnswers) {
  const auto created = ok("POST", kPosts, {{"fields", {{"Post Key", "e"}, {"Error", ""}, {"Attempts", nullptr}, {"Text", "hi"}}}});
  EXPECT_EQ(created["fields"], json({{"Post Key", "e"}, {"Text", "hi"}}));
  const auto cleared = ok("PATCH", kPosts + "/" + created["id"].get<std::string>(), {{"fields", {{"Text", ""}}}});
  EXPECT_EQ(cleared["fields"], json({{"Post Key", "e"}}));
}

TEST_F(AirtableEmulator, SixthRequestInASecondIsRefusedForThirtySeconds) {
  set_limits({{"base_rps", 5}, {"token_rps", 50}});
  for (int i = 0; i < 5; ++i) EXPECT_EQ(call("GET", kPosts).status, 200) << "request " << i;
  const auto sixth = call("GET", kPosts);
  EXPECT_EQ(sixth.status, 429);
  EXPECT_EQ(sixth.json(), json::parse(R"({"error":{"type":"RATE_LIMIT_REACHED","message":"Rate limit exceeded. Please try again later"}})"));
  advance(1000);  // a new second, but the penalty holds
  EXPECT_EQ(call("GET", kPosts).status, 429);
  advance(28999);  // 29.999 s after the sixth request
  EXPECT_EQ(call("GET", kPosts).status, 429);
  advance(1);
  EXPECT_EQ(call("GET", kPosts).status, 200);
}

TEST_F(AirtableEmulator, RequestsSpreadOverASecondStayUnderTheLimit) {
  set_limits({{"base_rps", 5}, {"token_rps", 50}});
  for (int i = 0; i < 20; ++i) {
    EXPECT_EQ(call("GET", kPosts).status, 200) << "request " << i;
    advance(200);  // 5 per second exactly
  }
}

TEST_F(AirtableEmulator, TokenLimitAppliesAcrossTheBase) {
  set_limits({{"base_rps", 1000}, {"token_rps", 3}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", kPosts).status, 200);
  EXPECT_EQ(call("GET", kPosts).status, 429);
  EXPECT_EQ(call("GET", kPosts, nullptr, kReadOnly).status, 200) << "another token has its own budget";
}

TEST_F(AirtableEmulator, MonthlyQuotaAnswers429UntilTheNextMonth) {
  http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"set", "2026-11-30T23:59:00Z"}});
  set_limits({{"monthly_call_quota", 3}});
  for (int i = 0; i < 3; ++i) EXPECT_EQ(call("GET", kPosts).status, 200);
  const auto refused = call("GET", kPosts);
  EXPECT_EQ(refused.status, 429);
  EXPECT_EQ(type_of(refused), "PUBLIC_API_BILLING_LIMIT_EXCEEDED");
  advance(60 * 1000);  // December
  EXPECT_EQ(call("GET", kPosts).status, 200);
}

TEST_F(AirtableEmulator, RecordCapRefusesCreationsButNotUpdates) {
  const auto summary = http_json(sandbox.port(), "GET", "/_sandbox/airtable");
  const int existing = summary["bases"][0]["records"].get<int>();  // the demo accounts
  set_limits({{"record_cap", existing + 2}});
  const auto ids = create_posts(2);
  const auto refused = call("POST", kPosts, {{"fields", {{"Post Key", "one-too-many"}}}});
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(type_of(refused), "ROW_LIMIT_EXCEEDED");
  const auto upsert = call("PATCH", kPosts,
                           {{"performUpsert", {{"fieldsToMergeOn", {"Post Key"}}}},
                            {"records", {{{"fields", {{"Post Key", "new-key"}}}}}}});
  EXPECT_EQ(upsert.status, 422) << "an upsert that would create is refused too";
  EXPECT_EQ(call("PATCH", kPosts + "/" + ids[0], {{"fields", {{"State", "running"}}}}).status, 200);
}

TEST_F(AirtableEmulator, AuthenticationAndPermissionErrorsHaveAirtablesShapes) {
  const auto none = call("GET", kPosts, nullptr, "");
  EXPECT_EQ(none.status, 401);
  EXPECT_EQ(type_of(none), "AUTHENTICATION_REQUIRED");
  EXPECT_EQ(call("GET", kPosts, nullptr, "patNotAToken").status, 401);
  const auto no_base = call("GET", kPosts, nullptr, kNoAccess);
  EXPECT_EQ(no_base.status, 403);
  EXPECT_EQ(type_of(no_base), "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
  const auto read_only = call("POST", kPosts, {{"fields", {{"Post Key", "x"}}}}, kReadOnly);
  EXPECT_EQ(read_only.status, 403);
  EXPECT_EQ(type_of(read_only), "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");
  const auto commenter = call("POST", kPosts, {{"fields", {{"Post Key", "x"}}}}, kCommenter);
  EXPECT_EQ(commenter.status, 403);
  EXPECT_EQ(type_of(commenter), "INVALID_PERMISSIONS");
  EXPECT_EQ(call("GET", kBase + "/NoSuchTable").status, 403);
  const auto route = call("GET", "/v0/a/b/c/d/e");
  EXPECT_EQ(route.status, 404);
  EXPECT_EQ(route.json(), json::parse(R"({"error":"NOT_FOUND"})")) << "the string form of error";
}

TEST_F(AirtableEmulator, MetaTablesDescribesTheFourTables) {
  const auto answer = ok("GET", "/v0/meta/bases/appSandboxBase001/tables");
  std::set<std::string> names;
  for (const auto& t : answer["tables"]) {
    names.insert(t["name"].get<std::string>());
    EXPECT_EQ(t["primaryFieldId"], t["fields"][0]["id"]);
    EXPECT_TRUE(t["id"].get<std::string>().starts_with("tbl"));
  }
  EXPECT_EQ(names, (std::set<std::string>{"Accounts", "Posts", "Analytics", "Events"}));
  EXPECT_EQ(ok("GET", "/v0/meta/whoami")["id"], "usrSandboxUser001");
}

TEST_F(AirtableEmulator, GetAndDeleteRecords) {
  const auto ids = create_posts(3);
  EXPECT_EQ(ok("GET", kPosts + "/" + ids[1])["fields"]["Post Key"], "post-1");
  const auto deleted = ok("DELETE", kPosts + "?records%5B%5D=" + ids[0] + "&records%5B%5D=" + ids[1]);
  EXPECT_EQ(deleted["records"], json::parse(R"([{"id":")" + ids[0] + R"(","deleted":true},{"id":")" + ids[1] +
                                            R"(","deleted":true}])"));
  EXPECT_EQ(call("GET", kPosts + "/" + ids[0]).status, 404);
  EXPECT_EQ(ok("DELETE", kPosts + "/" + ids[2])["deleted"], true);
  EXPECT_EQ(ok("GET", kPosts)["records"].size(), 0u);
}

TEST_F(AirtableEmulator, UnknownSelectOptionNeedsTypecast) {
  const auto refused = call("POST", kPosts, {{"fields", {{"Post Key", "s"}, {"State", "exploded"}}}});
  EXPECT_EQ(refused.status, 422);
  EXPECT_EQ(type_of(refused), "INVALID_MULTIPLE_CHOICE_OPTIONS");
  const auto cast = ok("POST", kPosts, {{"fields", {{"Post Key", "s"}, {"State", "exploded"}}}, {"typecast", true}});
  EXPECT_EQ(cast["fields"]["State"], "exploded");
}

TEST_F(AirtableEmulator, DemoAccountsAreConnectedInTheAccountsTable) {
  const auto answer = ok("GET", kBase + "/Accounts?filterByFormula=%7BStatus%7D%3D'connected'");
  std::set<std::string> keys;
  for (const auto& r : answer["records"]) keys.insert(r["fields"]["Account Key"].get<std::string>());
  EXPECT_EQ(keys, (std::set<std::string>{"demo-instagram", "demo-facebook", "demo-tiktok", "demo-x"}));
}

}  // namespace
}  // namespace schedulo::test
