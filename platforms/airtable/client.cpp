#include "platforms/airtable/client.hpp"

#include <algorithm>

#include "platforms/http/client.hpp"

namespace schedulo::airtable {
namespace {

using json = nlohmann::json;

// airtable.js switches to POST listRecords at 15 000 characters (Airtable's limit is 16 000).
constexpr std::size_t kMaxUrlLength = 15000;

json records_body(const std::vector<WriteRecord>& records, bool with_ids) {
  json out = json::array();
  for (const auto& r : records) {
    json j{{"fields", r.fields}};
    if (with_ids && !r.id.empty()) j["id"] = r.id;
    out.push_back(std::move(j));
  }
  return out;
}

std::vector<std::string> strings_of(const json& answer, const char* name) {
  std::vector<std::string> out;
  if (answer.contains(name) && answer[name].is_array())
    for (const auto& v : answer[name])
      if (v.is_string()) out.push_back(v.get<std::string>());
  return out;
}

Error too_many_records() {
  return Error{ErrorKind::invalid,
               0,
               "TOO_MANY_RECORDS",
               "at most " + std::to_string(kMaxRecordsPerRequest) + " records per request (not sent)",
               {}};
}

bool carries(const WriteRecord& r, const std::string& field) {
  return r.fields.contains(field);
}

}  // namespace

Result<Record> record_from(const json& j) {
  // An empty id is no id: kept, it would turn the record's next update into a call on the table itself.
  if (!j.is_object() || !j.contains("id") || !j["id"].is_string() || j["id"].get_ref<const std::string&>().empty())
    return Error{ErrorKind::bad_answer, 200, "", "a record without an id", {}};
  Record r;
  r.id = j["id"].get<std::string>();
  if (j.contains("createdTime") && j["createdTime"].is_string()) r.created_time = j["createdTime"].get<std::string>();
  if (j.contains("fields") && j["fields"].is_object()) r.fields = j["fields"];
  return r;
}

Result<std::vector<Record>> records_from(const json& answer) {
  if (!answer.is_object() || !answer.contains("records") || !answer["records"].is_array())
    return Error{ErrorKind::bad_answer, 200, "", "no records array in the answer", {}};
  std::vector<Record> out;
  for (const auto& j : answer["records"]) {
    auto r = record_from(j);
    if (!r) return r.error();
    out.push_back(std::move(*r));
  }
  return out;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (const unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

std::string formula_text(std::string_view text) {
  std::string out = "'";
  for (const char c : text) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

Client::Client(http::HttpClient& http, ClientConfig config, BeforeCall before_call)
    : http_(http), config_(std::move(config)), before_call_(std::move(before_call)) {}

std::string Client::table_path(const std::string& table) const {
  return "/v0/" + url_encode(config_.base_id) + "/" + url_encode(table);
}

net::awaitable<Result<json>> Client::call(const std::string& method, const std::string& path_and_query,
                                          const json& body) {
  if (before_call_) {
    auto stop = co_await before_call_();
    if (stop) co_return *stop;
  }
  http::Request request;
  request.method = method;
  request.url = config_.base_url + path_and_query;
  request.headers.set("Authorization", "Bearer " + config_.token);
  request.headers.set("Accept", "application/json");
  if (!body.is_null()) {
    request.headers.set("Content-Type", "application/json");
    request.body = body.dump();
  }
  request.timeouts = config_.timeouts;
  request.max_response_bytes = 32 << 20;
  ++calls_;
  auto response = co_await http_.request(request);
  if (!response) co_return error_from_http(response.error());
  if (!response->ok()) co_return error_from_response(response->status, response->body, response->headers);
  auto answer = json::parse(response->body, nullptr, false);
  if (answer.is_discarded()) co_return Error{ErrorKind::bad_answer, response->status, "", "the answer is not JSON", {}};
  co_return answer;
}

net::awaitable<Result<std::vector<Record>>> Client::list(const std::string& table, const ListQuery& query) {
  std::vector<Record> out;
  std::string offset;
  bool restarted = false;
  const int page_size = std::clamp(query.page_size, 1, kMaxPageSize);
  for (;;) {
    std::string q = "?pageSize=" + std::to_string(page_size);
    if (query.max_records) q += "&maxRecords=" + std::to_string(*query.max_records);
    if (!offset.empty()) q += "&offset=" + url_encode(offset);
    if (!query.formula.empty()) q += "&filterByFormula=" + url_encode(query.formula);
    if (!query.view.empty()) q += "&view=" + url_encode(query.view);
    for (const auto& f : query.fields) q += "&" + url_encode("fields[]") + "=" + url_encode(f);
    for (std::size_t i = 0; i < query.sort.size(); ++i) {
      const std::string at = "sort[" + std::to_string(i) + "]";
      q += "&" + url_encode(at + "[field]") + "=" + url_encode(query.sort[i].first);
      q += "&" + url_encode(at + "[direction]") + "=" + (query.sort[i].second ? "desc" : "asc");
    }
    Result<json> answer = Error{};
    if (config_.base_url.size() + table_path(table).size() + q.size() <= kMaxUrlLength) {
      answer = co_await call("GET", table_path(table) + q, nullptr);
    } else {
      json body{{"pageSize", page_size}};
      if (query.max_records) body["maxRecords"] = *query.max_records;
      if (!offset.empty()) body["offset"] = offset;
      if (!query.formula.empty()) body["filterByFormula"] = query.formula;
      if (!query.view.empty()) body["view"] = query.view;
      if (!query.fields.empty()) body["fields"] = query.fields;
      if (!query.sort.empty()) {
        body["sort"] = json::array();
        for (const auto& [field, desc] : query.sort)
          body["sort"].push_back({{"field", field}, {"direction", desc ? "desc" : "asc"}});
      }
      answer = co_await call("POST", table_path(table) + "/listRecords", body);
    }
    if (!answer) {
      // The iterator expired between pages (idle client, server restart): start again, once.
      if (answer.error().kind == ErrorKind::iterator_expired && !restarted) {
        restarted = true;
        out.clear();
        offset.clear();
        continue;
      }
      co_return answer.error();
    }
    auto page = records_from(*answer);
    if (!page) co_return page.error();
    for (auto& r : *page) out.push_back(std::move(r));
    if (!answer->contains("offset") || !(*answer)["offset"].is_string()) break;
    offset = (*answer)["offset"].get<std::string>();
  }
  co_return out;
}

net::awaitable<Result<Record>> Client::get(const std::string& table, const std::string& record_id) {
  auto answer = co_await call("GET", table_path(table) + "/" + url_encode(record_id), nullptr);
  if (!answer) co_return answer.error();
  co_return record_from(*answer);
}

net::awaitable<Result<std::vector<Record>>> Client::create(const std::string& table,
                                                           const std::vector<WriteRecord>& records, bool typecast) {
  if (records.size() > kMaxRecordsPerRequest) co_return too_many_records();
  const json body{{"records", records_body(records, false)}, {"typecast", typecast}};
  auto answer = co_await call("POST", table_path(table), body);
  if (!answer) co_return answer.error();
  co_return records_from(*answer);
}

net::awaitable<Result<std::vector<Record>>> Client::update(const std::string& table,
                                                           const std::vector<WriteRecord>& records, bool typecast,
                                                           bool replace) {
  if (records.size() > kMaxRecordsPerRequest) co_return too_many_records();
  const json body{{"records", records_body(records, true)}, {"typecast", typecast}};
  auto answer = co_await call(replace ? "PUT" : "PATCH", table_path(table), body);
  if (!answer) co_return answer.error();
  co_return records_from(*answer);
}

net::awaitable<Result<UpsertResult>> Client::upsert(const std::string& table, const std::vector<std::string>& merge_on,
                                                    const std::vector<WriteRecord>& records, bool typecast) {
  if (records.size() > kMaxRecordsPerRequest) co_return too_many_records();
  const json body{{"records", records_body(records, true)},
                  {"typecast", typecast},
                  {"performUpsert", {{"fieldsToMergeOn", merge_on}}}};
  auto answer = co_await call("PATCH", table_path(table), body);
  if (!answer) co_return answer.error();
  auto records_out = records_from(*answer);
  if (!records_out) co_return records_out.error();
  UpsertResult out;
  out.records = std::move(*records_out);
  out.created = strings_of(*answer, "createdRecords");
  out.updated = strings_of(*answer, "updatedRecords");
  co_return out;
}

net::awaitable<BatchResult> Client::write_batch(const std::string& table, const std::vector<std::string>& merge_on,
                                                const std::vector<WriteRecord>& records, bool typecast) {
  BatchResult out;
  out.records.resize(records.size());
  if (records.empty()) co_return out;
  if (records.size() > kMaxRecordsPerRequest) {
    out.stopped = too_many_records();
    for (auto& r : out.records) r.error = out.stopped;
    co_return out;
  }
  std::vector<std::size_t> all(records.size());
  for (std::size_t i = 0; i < all.size(); ++i) all[i] = i;
  co_await split(table, merge_on, records, std::move(all), typecast, nullptr, out);
  co_return out;
}

// Writes the records at `indexes` (`why` null: as one request, the first try); when Airtable refuses
// a request because of a record (`why`), narrows it down: the records the error names (a record id, or a field only
// some carry) are put apart, otherwise the group is halved, until each refused record stands alone.
net::awaitable<void> Client::split(const std::string& table, const std::vector<std::string>& merge_on,
                                   const std::vector<WriteRecord>& records, std::vector<std::size_t> indexes,
                                   bool typecast, const Error* why, BatchResult& out) {
  auto give_up = [&](const std::vector<std::size_t>& group, const Error& error) {
    for (const auto i : group) {
      out.records[i].state = RecordResult::State::not_written;
      out.records[i].error = error;
    }
  };
  if (out.stopped) {
    give_up(indexes, *out.stopped);
    co_return;
  }
  std::vector<std::vector<std::size_t>> groups;
  if (!why) {
    groups.push_back(std::move(indexes));
  } else {
    std::vector<std::size_t> named, rest;
    const auto record = why->kind == ErrorKind::not_found ? record_named_in(why->message) : std::string();
    const auto field = why->kind == ErrorKind::invalid ? field_named_in(why->message) : std::string();
    for (const auto i : indexes) {
      const bool hit = !record.empty() ? records[i].id == record : !field.empty() && carries(records[i], field);
      (hit ? named : rest).push_back(i);
    }
    // A record that does not exist, or a field the table does not have, refuses every record that
    // names it: no need to send those again.
    const bool certain = !record.empty() || why->type == "UNKNOWN_FIELD_NAME";
    if (!named.empty() && (certain || named.size() == 1)) {
      for (const auto i : named) {
        out.records[i].state = RecordResult::State::rejected;
        out.records[i].error = *why;
      }
      groups.push_back(std::move(rest));
    } else if (!named.empty() && !rest.empty()) {
      groups.push_back(std::move(named));
      groups.push_back(std::move(rest));
    } else {
      const auto half = indexes.begin() + static_cast<std::ptrdiff_t>(indexes.size() / 2);
      groups.emplace_back(indexes.begin(), half);
      groups.emplace_back(half, indexes.end());
    }
  }
  for (auto& group : groups) {
    if (group.empty()) continue;
    if (out.stopped) {
      give_up(group, *out.stopped);
      continue;
    }
    std::vector<WriteRecord> batch;
    batch.reserve(group.size());
    for (const auto i : group) batch.push_back(records[i]);
    auto answer = co_await upsert(table, merge_on, batch, typecast);
    if (answer || answer.error().kind != ErrorKind::not_sent) ++out.calls;
    if (answer) {
      for (std::size_t k = 0; k < group.size(); ++k) {
        out.records[group[k]].state = RecordResult::State::written;
        out.records[group[k]].error.reset();
        if (k < answer->records.size()) out.records[group[k]].record_id = answer->records[k].id;
      }
    } else if (answer.error().rejects_records() && group.size() == 1) {
      out.records[group[0]].state = RecordResult::State::rejected;
      out.records[group[0]].error = answer.error();
    } else if (answer.error().rejects_records()) {
      const Error refused = answer.error();
      co_await split(table, merge_on, records, group, typecast, &refused, out);
    } else {
      out.stopped = answer.error();
      give_up(group, answer.error());
    }
  }
}

net::awaitable<Result<json>> Client::tables() {
  auto answer = co_await call("GET", "/v0/meta/bases/" + url_encode(config_.base_id) + "/tables", nullptr);
  if (!answer) co_return answer.error();
  if (!answer->contains("tables") || !(*answer)["tables"].is_array())
    co_return Error{ErrorKind::bad_answer, 200, "", "no tables array in the answer", {}};
  co_return (*answer)["tables"];
}

net::awaitable<Result<json>> Client::create_table(const json& table) {
  co_return co_await call("POST", "/v0/meta/bases/" + url_encode(config_.base_id) + "/tables", table);
}

net::awaitable<Result<json>> Client::create_field(const std::string& table_id, const json& field) {
  co_return co_await call(
      "POST", "/v0/meta/bases/" + url_encode(config_.base_id) + "/tables/" + url_encode(table_id) + "/fields", field);
}

net::awaitable<Result<std::string>> Client::whoami() {
  auto answer = co_await call("GET", "/v0/meta/whoami", nullptr);
  if (!answer) co_return answer.error();
  if (!answer->contains("id") || !(*answer)["id"].is_string())
    co_return Error{ErrorKind::bad_answer, 200, "", "no id in the answer", {}};
  co_return (*answer)["id"].get<std::string>();
}

}  // namespace schedulo::airtable
