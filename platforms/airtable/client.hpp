#pragma once
// The Airtable Web API client (platform-apis.md section 5): records (list with every page, get,
// create, update, upsert in batches of at most 10, typecast) and the meta API (tables, create table,
// create field, whoami). Every call goes through the daemon's HTTP client with deadlines, and first
// awaits `before_call` (the fleet-wide pacing and the monthly call budget, outbox/pacing.hpp): the
// client itself never decides when a call may go.
//
// write_batch() splits a batch Airtable refused because of one record (422, 404, 413), to write the
// others and find the one to report; the split calls are paced like any other.
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "platforms/airtable/errors.hpp"
#include "platforms/http/message.hpp"

namespace schedulo::http {
class HttpClient;
}

namespace schedulo::airtable {

inline constexpr std::size_t kMaxRecordsPerRequest = 10;
inline constexpr int kMaxPageSize = 100;

struct ClientConfig {
  std::string base_url = "https://api.airtable.com";  // airtable.base_url (without /v0)
  std::string base_id;
  std::string token;  // never logged, never in an error
  http::Timeouts timeouts{std::chrono::seconds(10), std::chrono::seconds(30), std::chrono::seconds(30),
                          std::chrono::seconds(30), std::chrono::seconds(45)};
};

// Awaited before each call; an Error (kind not_sent, or rate_limited while the base is paused) stops
// the call from being made and is returned as its result.
using BeforeCall = std::function<net::awaitable<std::optional<Error>>()>;

struct Record {
  std::string id;
  std::string created_time;
  nlohmann::json fields = nlohmann::json::object();
};

struct ListQuery {
  std::string formula;                             // filterByFormula; empty = every record
  std::vector<std::string> fields;                 // fields[]; empty = all
  std::vector<std::pair<std::string, bool>> sort;  // field, descending
  int page_size = kMaxPageSize;
  std::optional<int> max_records;
  std::string view;
};

// One record to write: `id` updates that record; without it an upsert matches on the merge fields
// (create() ignores ids).
struct WriteRecord {
  std::string id;
  nlohmann::json fields = nlohmann::json::object();
};

struct UpsertResult {
  std::vector<Record> records;
  std::vector<std::string> created, updated;
};

// What became of each record of write_batch(), in input order.
struct RecordResult {
  enum class State { written, rejected, not_written };
  State state = State::not_written;
  std::string record_id;       // written: Airtable's id
  std::optional<Error> error;  // rejected: why this record; not_written: what stopped the batch
};

struct BatchResult {
  std::vector<RecordResult> records;
  int calls = 0;                 // requests made (the first and the splits)
  std::optional<Error> stopped;  // set when a call failed for a reason that is not a record's
};

class Client {
 public:
  Client(http::HttpClient& http, ClientConfig config, BeforeCall before_call = {});

  const ClientConfig& config() const { return config_; }

  // Every page (pageSize ≤ 100), restarting from page 1 once when Airtable's iterator expires; the
  // options go in a POST .../listRecords body when the URL would pass 15 000 characters.
  net::awaitable<Result<std::vector<Record>>> list(const std::string& table, const ListQuery& query);
  net::awaitable<Result<Record>> get(const std::string& table, const std::string& record_id);
  // At most kMaxRecordsPerRequest records per call (more is a caller's error: invalid, not sent).
  net::awaitable<Result<std::vector<Record>>> create(const std::string& table, const std::vector<WriteRecord>& records,
                                                     bool typecast = true);
  net::awaitable<Result<std::vector<Record>>> update(const std::string& table, const std::vector<WriteRecord>& records,
                                                     bool typecast = true, bool replace = false);
  net::awaitable<Result<UpsertResult>> upsert(const std::string& table, const std::vector<std::string>& merge_on,
                                              const std::vector<WriteRecord>& records, bool typecast = true);
  // Upserts ≤ 10 records; a record-level refusal splits the batch until the refused records stand
  // alone (each `rejected` with its own error) and every other one is written.
  net::awaitable<BatchResult> write_batch(const std::string& table, const std::vector<std::string>& merge_on,
                                          const std::vector<WriteRecord>& records, bool typecast = true);

  // Meta API: GET /v0/meta/bases/{base}/tables -> the "tables" array (id, name, primaryFieldId,
  // fields [{id, name, type, options}]).
  net::awaitable<Result<nlohmann::json>> tables();
  // POST /v0/meta/bases/{base}/tables {"name","fields":[...]} -> the table (its first field is primary).
  net::awaitable<Result<nlohmann::json>> create_table(const nlohmann::json& table);
  // POST /v0/meta/bases/{base}/tables/{tableId}/fields {"name","type","options"} -> the field.
  net::awaitable<Result<nlohmann::json>> create_field(const std::string& table_id, const nlohmann::json& field);
  // GET /v0/meta/whoami -> the user id.
  net::awaitable<Result<std::string>> whoami();

  // Requests sent since construction (answered or not).
  long long calls() const { return calls_; }

 private:
  net::awaitable<Result<nlohmann::json>> call(const std::string& method, const std::string& path_and_query,
                                              const nlohmann::json& body);
  net::awaitable<void> split(const std::string& table, const std::vector<std::string>& merge_on,
                             const std::vector<WriteRecord>& records, std::vector<std::size_t> indexes, bool typecast,
                             const Error* why, BatchResult& out);
  std::string table_path(const std::string& table) const;

  http::HttpClient& http_;
  ClientConfig config_;
  BeforeCall before_call_;
  long long calls_ = 0;
};

// A record, or a list answer's records ({"records":[...]}); bad_answer when the shape is wrong.
// Pure: fuzzed (tests/fuzz/airtable_answers_fuzz.cpp).
Result<Record> record_from(const nlohmann::json& j);
Result<std::vector<Record>> records_from(const nlohmann::json& answer);
// Percent-encodes a path segment or query value (RFC 3986 unreserved characters stay).
std::string url_encode(std::string_view text);
// A text literal for filterByFormula: 'it\'s' (quotes and backslashes escaped).
std::string formula_text(std::string_view text);

}  // namespace schedulo::airtable
