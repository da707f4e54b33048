// The Airtable client against the sandbox's emulator (label `airtable`): every page of a list, the
// iterator restart, long formulas, upserts, typecast, each error shape, a refused batch split to the
// refused record, the meta API, and a call made only after its BeforeCall allows it.
#include "platforms/airtable/client.hpp"

#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <set>

#include "platforms/airtable/schema.hpp"
#include "platforms/http/client.hpp"
#include "platforms/http/headers.hpp"
#include "tests/support/run.hpp"
#include "tests/support/sandbox_process.hpp"

namespace schedulo::airtable {
namespace {

using json = nlohmann::json;
using test::run_for;

constexpr const char* kBase = "appSandboxBase001";
constexpr const char* kToken = "patSbxReadWrite01.0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

http::ClientOptions loopback() {
  http::ClientOptions o;
  o.policy = *http::AddressPolicy::from_entries({"127.0.0.0/8"}).policy;
  return o;
}

class AirtableClient : public ::testing::Test {
 protected:
  AirtableClient() : http(loopback()) {
    config.base_url = "http://127.0.0.1:" + std::to_string(sandbox.port());
    config.base_id = kBase;
    config.token = kToken;
    client = std::make_unique<Client>(http, config);
    limits({{"base_rps", 100000}, {"token_rps", 100000}});
  }
  void limits(const json& l) { test::http_json(sandbox.port(), "POST", "/_sandbox/airtable/limits", l); }
  json log(const std::string& route = "") {
    return test::http_json(sandbox.port(), "GET",
                           "/_sandbox/log?api=airtable" + (route.empty() ? "" : "&route=" + route));
  }
  std::vector<Record> create_posts(int n, const std::string& prefix = "p") {
    std::vector<Record> out;
    for (int done = 0; done < n;) {
      std::vector<WriteRecord> batch;
      for (int i = 0; i < 10 && done < n; ++i, ++done)
        batch.push_back({"", {{"Post Key", prefix + std::to_string(done)}, {"Attempts", done}}});
      auto r = run_for(io, client->create("Posts", batch));
      EXPECT_TRUE(r) << r.error().describe();
      if (r) out.insert(out.end(), r->begin(), r->end());
    }
    return out;
  }
  static std::vector<WriteRecord> posts(int n) {
    std::vector<WriteRecord> out;
    for (int i = 0; i < n; ++i)
      out.push_back({"", {{"Post Key", "k" + std::to_string(i)}, {"State", "succeeded"}, {"Attempts", i}}});
    return out;
  }

  test::SandboxProcess sandbox;
  boost::asio::io_context io{1};
  http::HttpClient http;
  ClientConfig config;
  std::unique_ptr<Client> client;
};

TEST_F(AirtableClient, ListReadsEveryPage) {
  const auto created = create_posts(250);
  ASSERT_EQ(created.size(), 250u);
  auto all = run_for(io, client->list("Posts", ListQuery{}));
  ASSERT_TRUE(all) << all.error().describe();
  std::set<std::string> ids;
  for (const auto& r : *all) ids.insert(r.id);
  EXPECT_EQ(ids.size(), 250u);
  EXPECT_EQ(log("airtable.list")["entries"].size(), 3u) << "pages of 100";
}

TEST_F(AirtableClient, ListStartsOverOnceWhenTheIteratorExpires) {
  create_posts(4);
  // The second list request (the second page) answers that the iterator is gone.
  test::http_json(sandbox.port(), "POST", "/_sandbox/faults",
                  {{"kind", "error"},
                   {"route", "airtable.list"},
                   {"status", 422},
                   {"rate", 0.5},
                   {"count", 1},
                   {"body", {{"error", {{"type", "LIST_RECORDS_ITERATOR_NOT_AVAILABLE"}}}}}});
  ListQuery q;
  q.page_size = 2;
  auto all = run_for(io, client->list("Posts", q));
  ASSERT_TRUE(all) << all.error().describe();
  EXPECT_EQ(all->size(), 4u) << "no record twice, none missing";
  EXPECT_EQ(log("airtable.list")["entries"].size(), 4u);
}

TEST_F(AirtableClient, AFormulaTooLongForAUrlGoesInAListRecordsBody) {
  create_posts(3);
  std::string formula = "OR({Post Key}='p1'";
  for (int i = 0; i < 800; ++i) formula += ",{Post Key}='absent-key-" + std::to_string(i) + "'";
  formula += ")";
  ASSERT_GT(formula.size(), 15000u);
  ListQuery q;
  q.formula = formula;
  auto found = run_for(io, client->list("Posts", q));
  ASSERT_TRUE(found) << found.error().describe();
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ(found->front().fields["Post Key"], "p1");
  const auto entries = log("airtable.list")["entries"];
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(entries[0]["method"], "POST");
}

TEST_F(AirtableClient, UpsertCreatesThenUpdatesOnTheMergeField) {
  auto first = run_for(io, client->upsert("Posts", {"Post Key"}, posts(3)));
  ASSERT_TRUE(first) << first.error().describe();
  EXPECT_EQ(first->created.size(), 3u);
  auto again = posts(3);
  again[1].fields["State"] = "failed";
  auto second = run_for(io, client->upsert("Posts", {"Post Key"}, again));
  ASSERT_TRUE(second);
  EXPECT_EQ(second->updated.size(), 3u);
  EXPECT_TRUE(second->created.empty());
  EXPECT_EQ(second->records[1].id, first->records[1].id);
  auto row = run_for(io, client->get("Posts", first->records[1].id));
  ASSERT_TRUE(row);
  EXPECT_EQ(row->fields["State"], "failed");
}

TEST_F(AirtableClient, TypecastCreatesASelectOptionAndWithoutItTheOptionIsRefused) {
  std::vector<WriteRecord> odd{{"", {{"Post Key", "o1"}, {"State", "on_hold"}}}};
  auto strict = run_for(io, client->create("Posts", odd, false));
  ASSERT_FALSE(strict);
  EXPECT_EQ(strict.error().kind, ErrorKind::invalid);
  EXPECT_EQ(strict.error().type, "INVALID_MULTIPLE_CHOICE_OPTIONS");
  auto cast = run_for(io, client->create("Posts", odd, true));
  ASSERT_TRUE(cast) << cast.error().describe();
  EXPECT_EQ(cast->front().fields["State"], "on_hold");
}

TEST_F(AirtableClient, EveryErrorShapeIsClassified) {
  auto missing = run_for(io, client->get("Posts", "recDoesNotExist01"));
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().kind, ErrorKind::not_found);
  EXPECT_EQ(missing.error().type, "NOT_FOUND") << "the string shape: {\"error\":\"NOT_FOUND\"}";

  auto unknown_field = run_for(io, client->create("Posts", {{"", {{"Sate", "x"}}}}));
  ASSERT_FALSE(unknown_field);
  EXPECT_EQ(unknown_field.error().kind, ErrorKind::invalid);
  EXPECT_EQ(unknown_field.error().type, "UNKNOWN_FIELD_NAME");
  EXPECT_EQ(field_named_in(unknown_field.error().message), "Sate");

  auto no_table = run_for(io, client->list("Nope", ListQuery{}));
  ASSERT_FALSE(no_table);
  EXPECT_EQ(no_table.error().kind, ErrorKind::permission);
  EXPECT_EQ(no_table.error().type, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND");

  ClientConfig wrong = config;
  wrong.token = "patWrongToken0000.00";
  Client stranger(http, wrong);
  auto denied = run_for(io, stranger.list("Posts", ListQuery{}));
  ASSERT_FALSE(denied);
  EXPECT_EQ(denied.error().kind, ErrorKind::auth);
  EXPECT_EQ(denied.error().message.find(wrong.token), std::string::npos);

  test::http_json(sandbox.port(), "POST", "/_sandbox/faults",
                  {{"kind", "error"}, {"route", "airtable.list"}, {"status", 503}, {"count", 1}});
  auto unavailable = run_for(io, client->list("Posts", ListQuery{}));
  ASSERT_FALSE(unavailable);
  EXPECT_EQ(unavailable.error().kind, ErrorKind::transient);
  EXPECT_EQ(unavailable.error().type, "RETRIABLE_ERROR");
  ASSERT_TRUE(unavailable.error().retry_after);
  EXPECT_EQ(*unavailable.error().retry_after, std::chrono::seconds(30));
}

TEST_F(AirtableClient, TooManyRequestsAndTheMonthlyQuotaAreTwoKinds) {
  limits({{"base_rps", 2}, {"token_rps", 1000}, {"monthly_call_quota", 100000}});
  for (int i = 0; i < 2; ++i) ASSERT_TRUE(run_for(io, client->list("Posts", ListQuery{})));
  auto throttled = run_for(io, client->list("Posts", ListQuery{}));
  ASSERT_FALSE(throttled);
  EXPECT_EQ(throttled.error().kind, ErrorKind::rate_limited);
  EXPECT_EQ(throttled.error().type, "RATE_LIMIT_REACHED");

  test::http_json(sandbox.port(), "POST", "/_sandbox/clock", {{"advance_ms", 31000}});
  limits({{"base_rps", 1000}, {"monthly_call_quota", 1}});
  auto spent = run_for(io, client->list("Posts", ListQuery{}));
  ASSERT_FALSE(spent);
  EXPECT_EQ(spent.error().kind, ErrorKind::quota_exhausted);
}

TEST_F(AirtableClient, ErrorBodiesOfBothShapesParseWithoutASandbox) {
  http::Headers none;
  EXPECT_EQ(error_from_response(404, R"({"error":"NOT_FOUND"})", none).type, "NOT_FOUND");
  const auto e = error_from_response(
      422,
      R"({"error":{"type":"INVALID_VALUE_FOR_COLUMN","message":"Field \"Attempts\" cannot accept the provided value"}})",
      none);
  EXPECT_EQ(e.kind, ErrorKind::invalid);
  EXPECT_EQ(field_named_in(e.message), "Attempts");
  EXPECT_EQ(error_from_response(502, "<html>bad gateway</html>", none).kind, ErrorKind::transient);
  EXPECT_EQ(error_from_response(413, "", none).kind, ErrorKind::too_large);
  EXPECT_EQ(error_from_response(402, "", none).kind, ErrorKind::quota_exhausted);
  EXPECT_EQ(record_named_in("Could not find record recAbCdEf01234567"), "recAbCdEf01234567");
}

// Found by ./scripts/fuzz (airtable_answers): {"id":""} was read as a record.
TEST_F(AirtableClient, ARecordWithAnEmptyIdIsABadAnswer) {
  const auto empty = record_from(nlohmann::json::parse(R"({"id":"","fields":{}})"));
  ASSERT_FALSE(empty);
  EXPECT_EQ(empty.error().kind, ErrorKind::bad_answer);
  EXPECT_TRUE(record_from(nlohmann::json::parse(R"({"id":"recA"})")));
}

TEST_F(AirtableClient, ABatchRefusedForOneRecordWritesTheNineOthersAndNamesTheOne) {
  auto batch = posts(10);
  batch[6].fields["Published At"] = "not a date";  // only this record carries the field
  auto r = run_for(io, client->write_batch("Posts", {"Post Key"}, batch));
  ASSERT_FALSE(r.stopped);
  int written = 0;
  for (std::size_t i = 0; i < 10; ++i) {
    if (i == 6) {
      EXPECT_EQ(r.records[i].state, RecordResult::State::rejected);
      ASSERT_TRUE(r.records[i].error);
      EXPECT_EQ(r.records[i].error->type, "INVALID_VALUE_FOR_COLUMN");
    } else {
      written += r.records[i].state == RecordResult::State::written;
    }
  }
  EXPECT_EQ(written, 9);
  EXPECT_EQ(r.calls, 2) << "the field named by the error singles the record out";
  auto rows = run_for(io, client->list("Posts", ListQuery{}));
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 9u);
}

TEST_F(AirtableClient, ARefusedValueOfAFieldEveryRecordCarriesIsFoundByHalving) {
  auto batch = posts(10);
  batch[3].fields["Attempts"] = "three";
  auto r = run_for(io, client->write_batch("Posts", {"Post Key"}, batch));
  ASSERT_FALSE(r.stopped);
  for (std::size_t i = 0; i < 10; ++i)
    EXPECT_EQ(r.records[i].state, i == 3 ? RecordResult::State::rejected : RecordResult::State::written) << i;
  EXPECT_LE(r.calls, 9);
  auto rows = run_for(io, client->list("Posts", ListQuery{}));
  ASSERT_TRUE(rows);
  EXPECT_EQ(rows->size(), 9u);
}

TEST_F(AirtableClient, AnUpdateOfARecordThatIsGoneIsRefusedAloneWithoutAnotherCall) {
  auto batch = posts(4);
  batch[2].id = "recGoneGoneGone01";
  auto r = run_for(io, client->write_batch("Posts", {"Post Key"}, batch));
  EXPECT_EQ(r.records[2].state, RecordResult::State::rejected);
  EXPECT_EQ(r.records[0].state, RecordResult::State::written);
  EXPECT_EQ(r.calls, 2);
}

TEST_F(AirtableClient, ABatchStoppedByARateLimitIsNotWrittenAndSaysWhy) {
  test::http_json(sandbox.port(), "POST", "/_sandbox/faults", {{"kind", "rate_limit"}, {"route", "airtable.update"}});
  auto r = run_for(io, client->write_batch("Posts", {"Post Key"}, posts(10)));
  ASSERT_TRUE(r.stopped);
  EXPECT_EQ(r.stopped->kind, ErrorKind::rate_limited);
  for (const auto& rec : r.records) EXPECT_EQ(rec.state, RecordResult::State::not_written);
  EXPECT_EQ(r.calls, 1);
}

TEST_F(AirtableClient, NoCallGoesOutUnlessBeforeCallAllowsIt) {
  int asked = 0;
  bool allow = false;
  Client paced(http, config, [&]() -> net::awaitable<std::optional<Error>> {
    ++asked;
    if (allow) co_return std::nullopt;
    co_return Error(ErrorKind::not_sent, 0, "BUDGET", "spent");
  });
  auto refused = run_for(io, paced.list("Posts", ListQuery{}));
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().kind, ErrorKind::not_sent);
  EXPECT_EQ(log()["entries"].size(), 0u);
  allow = true;
  ASSERT_TRUE(run_for(io, paced.list("Posts", ListQuery{})));
  EXPECT_EQ(asked, 2);
  EXPECT_EQ(paced.calls(), 1);
}

TEST_F(AirtableClient, TheMetaApiCreatesATableAndAField) {
  json table{{"name", "Scratch"}, {"fields", json::array({{{"name", "Key"}, {"type", "singleLineText"}}})}};
  auto created = run_for(io, client->create_table(table));
  ASSERT_TRUE(created) << created.error().describe();
  const std::string id = (*created)["id"];
  auto again = run_for(io, client->create_table(table));
  ASSERT_FALSE(again);
  EXPECT_EQ(again.error().type, "DUPLICATE_TABLE_NAME");
  auto bad = run_for(io, client->create_field(id, {{"name", "Count"}, {"type", "number"}}));
  ASSERT_FALSE(bad) << "a number field needs its precision";
  EXPECT_EQ(bad.error().kind, ErrorKind::invalid);
  auto field =
      run_for(io, client->create_field(id, {{"name", "Count"}, {"type", "number"}, {"options", {{"precision", 0}}}}));
  ASSERT_TRUE(field) << field.error().describe();
  auto tables = run_for(io, client->tables());
  ASSERT_TRUE(tables);
  bool found = false;
  for (const auto& t : *tables)
    if (t["name"] == "Scratch") found = t["fields"].size() == 2;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace schedulo::airtable
