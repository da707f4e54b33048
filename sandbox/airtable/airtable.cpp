#include "sandbox/airtable/airtable.hpp"

#include <algorithm>
#include <deque>
#include <map>
#include <set>

#include "sandbox/airtable/formula.hpp"

namespace schedulo::sandbox::airtable {
namespace {

constexpr std::size_t kMaxRecordsPerRequest = 10;
constexpr std::size_t kMaxPageSize = 100;
constexpr std::int64_t kWindowMs = 1000;

// ---- errors (section 5.3: `error` as a string, or as an object with type and message) -------------

Response error(int status, const std::string& type, const std::string& message) {
  json e{{"type", type}};
  if (!message.empty()) e["message"] = message;
  return json_response(status, {{"error", e}});
}
Response not_found_route() { return json_response(404, {{"error", "NOT_FOUND"}}); }
Response unauthenticated() { return error(401, "AUTHENTICATION_REQUIRED", "Authentication required"); }
Response model_not_found() {
  return error(403, "INVALID_PERMISSIONS_OR_MODEL_NOT_FOUND",
               "Invalid permissions, or the requested model was not found. Check that both your user and your token "
               "have the required permissions, and that the model names and/or ids are correct.");
}
Response not_permitted() { return error(403, "INVALID_PERMISSIONS", "You are not permitted to perform this operation"); }
Response invalid_request(const std::string& detail = {}) {
  return error(422, "INVALID_REQUEST_UNKNOWN",
               "Invalid request: parameter validation failed. Check your request data." +
                   (detail.empty() ? std::string() : " (" + detail + ")"));
}
Response rate_limited() { return error(429, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later"); }
Response shaped(int status) {
  switch (status) {
    case 401: return unauthenticated();
    case 403: return model_not_found();
    case 404: return not_found_route();
    case 413: return error(413, "REQUEST_TOO_LARGE", "Request body too large");
    case 422: return invalid_request();
    case 429: return rate_limited();
    case 502: return error(502, "BAD_GATEWAY", "Airtable is restarting; it is safe to retry the request");
    case 503: {
      auto r = error(503, "RETRIABLE_ERROR",
                     "Server encountered an error while processing your request, and it is safe to retry the request");
      r.set_header("Retry-After", "30");
      return r;
    }
    default:
      if (status >= 500) return error(status, "SERVER_ERROR", "Unexpected server error");
      return error(status, "INVALID_REQUEST_UNKNOWN", "");
  }
}

// ---- model ----------------------------------------------------------------------------------------

struct FieldDef {
  std::string id;
  std::string name;
  std::string type;
  std::vector<std::string> choices;  // select types
};

struct Record {
  std::string id;
  std::int64_t created_ms = 0;
  json fields = json::object();  // blank values never stored
};

struct Table {
  std::string id;
  std::string name;
  std::vector<FieldDef> fields;
  std::vector<Record> records;  // creation order (the default list order)

  const FieldDef* field(const std::string& key) const {
    for (const auto& f : fields)
      if (f.name == key || f.id == key) return &f;
    return nullptr;
  }
  FieldDef* field(const std::string& key) {
    for (auto& f : fields)
      if (f.name == key || f.id == key) return &f;
    return nullptr;
  }
  Record* record(const std::string& record_id) {
    for (auto& r : records)
      if (r.id == record_id) return &r;
    return nullptr;
  }
  std::vector<std::string> field_names() const {
    std::vector<std::string> out;
    for (const auto& f : fields) out.push_back(f.name);
    return out;
  }
};

struct Base {
  std::string id;
  std::string name;
  std::vector<Table> tables;
  std::deque<std::int64_t> recent;  // accepted requests in the last second
  std::int64_t penalty_until = 0;
  std::int64_t quota_month = 0;  // year * 12 + month of calls_this_month
  std::int64_t calls_this_month = 0;

  Table* table(const std::string& name_or_id) {
    for (auto& t : tables)
      if (t.name == name_or_id || t.id == name_or_id) return &t;
    return nullptr;
  }
  std::size_t record_count() const {
    std::size_t n = 0;
    for (const auto& t : tables) n += t.records.size();
    return n;
  }
};

struct Token {
  std::string token;
  std::string user;
  std::set<std::string> scopes;
  std::set<std::string> bases;
  bool can_write_data = true;  // the user's permission on the bases (a commenter cannot)
  std::deque<std::int64_t> recent;
  std::int64_t penalty_until = 0;
};

struct Limits {
  std::int64_t base_rps = 5;
  std::int64_t token_rps = 50;
  std::int64_t penalty_ms = 30000;
  std::int64_t monthly_call_quota = 100000;  // Team plan; 0 = unlimited
  std::int64_t record_cap = 50000;           // Team plan; 0 = unlimited
  std::int64_t iterator_ttl_ms = 5 * 60 * 1000;

  json to_json() const {
    return {{"base_rps", base_rps},
            {"token_rps", token_rps},
            {"penalty_ms", penalty_ms},
            {"monthly_call_quota", monthly_call_quota},
            {"record_cap", record_cap},
            {"iterator_ttl_ms", iterator_ttl_ms}};
  }
  void from_json(const json& j) {
    base_rps = j.value("base_rps", base_rps);
    token_rps = j.value("token_rps", token_rps);
    penalty_ms = j.value("penalty_ms", penalty_ms);
    monthly_call_quota = j.value("monthly_call_quota", monthly_call_quota);
    record_cap = j.value("record_cap", record_cap);
    iterator_ttl_ms = j.value("iterator_ttl_ms", iterator_ttl_ms);
  }
};

// A list iteration in progress: the matching ids at the first page, where the next page starts.
struct Iterator {
  std::string base;
  std::string table;
  std::vector<std::string> ids;
  std::size_t next = 0;
  std::int64_t last_used_ms = 0;
};

// An error while validating a write: the whole request is answered with it, nothing is applied.
struct WriteError {
  Response response;
};

bool blank(const json& v) {
  return v.is_null() || (v.is_string() && v.get<std::string>().empty()) || (v.is_array() && v.empty()) ||
         (v.is_boolean() && !v.get<bool>());
}

std::int64_t month_of(std::int64_t ms) {
  const auto text = format_rfc3339_ms(ms);  // YYYY-MM-...
  return std::stoll(text.substr(0, 4)) * 12 + std::stoll(text.substr(5, 2));
}

bool is_text_type(const std::string& t) {
  return t == "singleLineText" || t == "multilineText" || t == "email" || t == "url" || t == "phoneNumber" ||
         t == "richText";
}
bool is_number_type(const std::string& t) {
  return t == "number" || t == "currency" || t == "percent" || t == "duration" || t == "rating";
}
bool mergeable_type(const std::string& t) {
  return is_text_type(t) || t == "number" || t == "singleSelect" || t == "multipleSelects" || t == "date" ||
         t == "dateTime";
}

class Emulator {
 public:
  explicit Emulator(Core& core) : core_(core) { reset(); }

  void reset() {
    bases_.clear();
    bases_.push_back(default_base());
    iterators_.clear();
    tokens_.clear();
    const std::set<std::string> all{"data.records:read", "data.records:write", "schema.bases:read",
                                    "schema.bases:write"};
    tokens_.push_back({kToken, "usrSandboxUser001", all, {kBaseId}, true, {}, 0});
    tokens_.push_back({kReadOnlyToken, "usrSandboxUser001", {"data.records:read", "schema.bases:read"}, {kBaseId},
                       true, {}, 0});
    tokens_.push_back({kNoAccessToken, "usrSandboxUser002", all, {}, true, {}, 0});
    tokens_.push_back({kCommenterToken, "usrSandboxUser003", all, {kBaseId}, false, {}, 0});
    seed_accounts();
  }

  void install() {
    core_.add_api({"airtable", shaped, rate_limited, [this] { return save(); }, [this](const json& j) { load(j); }});
    auto on = [this](std::string name, std::string method, std::string pattern, Response (Emulator::*fn)(Request&)) {
      core_.route("airtable", std::move(name), std::move(method), std::move(pattern),
                  [this, fn](Request& r) { return (this->*fn)(r); });
    };
    on("airtable.whoami", "GET", "/v0/meta/whoami", &Emulator::whoami);
    on("airtable.meta_tables", "GET", "/v0/meta/bases/{base}/tables", &Emulator::meta_tables);
    on("airtable.meta_create_table", "POST", "/v0/meta/bases/{base}/tables", &Emulator::meta_create_table);
    on("airtable.meta_create_field", "POST", "/v0/meta/bases/{base}/tables/{table}/fields",
       &Emulator::meta_create_field);
    on("airtable.list", "GET", "/v0/{base}/{table}", &Emulator::list);
    on("airtable.list", "POST", "/v0/{base}/{table}/listRecords", &Emulator::list);
    on("airtable.get", "GET", "/v0/{base}/{table}/{record}", &Emulator::get);
    on("airtable.create", "POST", "/v0/{base}/{table}", &Emulator::create);
    on("airtable.update", "PATCH", "/v0/{base}/{table}", &Emulator::update_many);
    on("airtable.update", "PUT", "/v0/{base}/{table}", &Emulator::update_many);
    on("airtable.update", "PATCH", "/v0/{base}/{table}/{record}", &Emulator::update_one);
    on("airtable.update", "PUT", "/v0/{base}/{table}/{record}", &Emulator::update_one);
    on("airtable.delete", "DELETE", "/v0/{base}/{table}", &Emulator::delete_many);
    on("airtable.delete", "DELETE", "/v0/{base}/{table}/{record}", &Emulator::delete_one);
    on("airtable.unknown", "*", "/v0/*", &Emulator::unknown_route);

    core_.admin_route("GET", "/airtable", [this](Request&) { return json_response(200, summary()); });
    core_.admin_route("POST", "/airtable/limits", [this](Request& r) {
      auto body = parse_body(r);
      if (!body || !body->is_object()) return json_response(400, {{"error", "body must be a JSON object"}});
      limits_.from_json(*body);
      return json_response(200, limits_.to_json());
    });
    core_.admin_route("POST", "/airtable/reset", [this](Request&) {
      reset();
      return json_response(200, summary());
    });
    core_.admin_route("PUT", "/airtable/bases/{base}/tables/{table}", [this](Request& r) { return define_table(r); });
    core_.admin_route("DELETE", "/airtable/bases/{base}/tables/{table}", [this](Request& r) { return drop_table(r); });
  }

 private:
  // ---- the base the daemon's config names, with its four tables --------------------------------------
  Base default_base() {
    Base b;
    b.id = kBaseId;
    b.name = "Schedulo (sandbox)";
    const std::vector<std::string> platforms{"instagram", "facebook", "tiktok", "x"};
    auto table = [&](std::string name, std::vector<FieldDef> fields) {
      Table t;
      t.id = new_id("tbl");
      t.name = std::move(name);
      for (auto& f : fields) {
        f.id = new_id("fld");
        t.fields.push_back(std::move(f));
      }
      b.tables.push_back(std::move(t));
    };
    auto text = [](const char* n) { return FieldDef{"", n, "singleLineText", {}}; };
    auto longtext = [](const char* n) { return FieldDef{"", n, "multilineText", {}}; };
    auto number = [](const char* n) { return FieldDef{"", n, "number", {}}; };
    auto when = [](const char* n) { return FieldDef{"", n, "dateTime", {}}; };
    auto select = [](const char* n, std::vector<std::string> c) { return FieldDef{"", n, "singleSelect", std::move(c)}; };
    table("Accounts", {text("Account Key"), select("Platform", platforms),
                       select("Status", {"active", "expiring", "needs_reauth", "revoked", "connected",
                                         "needs_reconnect", "disconnected"}),
                       text("Display Name"), text("Platform Account ID"), longtext("Token"), longtext("Refresh Token"),
                       text("Key Id"), when("Token Expires At"), when("Refresh Expires At"), number("Token Version"),
                       longtext("Scopes"), when("Last Checked At"), longtext("Error"), when("Updated At")});
    table("Posts", {text("Post Key"), text("Job ID"), text("Account"), select("Platform", platforms),
                    select("State", {"queued", "scheduled", "running", "retrying", "deferred", "waiting", "succeeded",
                                     "failed", "dead", "needs_review", "cancelled"}),
                    longtext("Text"), when("Run At"), longtext("Job"), text("Platform Post ID"),
                    FieldDef{"", "Permalink", "url", {}}, longtext("Error"), text("Error Code"), number("Attempts"),
                    when("Published At"), when("Updated At")});
    table("Analytics",
          {text("Post Key"), text("Job ID"), text("Account"), select("Platform", platforms), text("Platform Post ID"),
           number("Impressions"), number("Reach"), number("Likes"), number("Comments"), number("Shares"),
           number("Saves"), number("Views"), when("Fetched At"), longtext("History")});
    table("Events", {text("Event Key"), select("Kind", {"error", "warning", "notification", "info"}), text("Code"),
                     text("Job ID"), text("Account"), longtext("Message"), when("At")});
    return b;
  }

  // The demo accounts appear in the Accounts table as connected (their token records live in the core).
  void seed_accounts() {
    Table* accounts = bases_.front().table("Accounts");
    for (auto it = core_.accounts().begin(); it != core_.accounts().end(); ++it) {
      Record r;
      r.id = new_id("rec");
      r.created_ms = core_.clock().now_ms();
      r.fields = {{"Account Key", it.key()},
                  {"Platform", it.value().value("platform", "")},
                  {"Status", "connected"},
                  {"Display Name", it.value().value("username", "")},
                  {"Platform Account ID", it.value().value("platform_account_id", "")}};
      accounts->records.push_back(std::move(r));
    }
  }

  // Ids look like Airtable's: a prefix and 14 letters or digits, unique, deterministic per run.
  std::string new_id(const char* prefix) {
    static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    // splitmix64's finaliser is a bijection on 64 bits: distinct counters give distinct ids.
    auto mix = [](std::uint64_t x) {
      x ^= x >> 30;
      x *= 0xBF58476D1CE4E5B9ULL;
      x ^= x >> 27;
      x *= 0x94D049BB133111EBULL;
      x ^= x >> 31;
      return x;
    };
    std::uint64_t unique = mix(++id_counter_);
    std::uint64_t looks = mix(unique);
    std::string id = prefix;
    for (int i = 0; i < 11; ++i, unique /= 62) id += kAlphabet[unique % 62];  // 62^11 > 2^64
    for (int i = 0; i < 3; ++i, looks /= 62) id += kAlphabet[looks % 62];
    return id;
  }

  // ---- persistence -------------------------------------------------------------------------------------
  json save() const {
    json bases = json::array();
    for (const auto& b : bases_) {
      json tables = json::array();
      for (const auto& t : b.tables) {
        json fields = json::array();
        for (const auto& f : t.fields) fields.push_back({{"id", f.id}, {"name", f.name}, {"type", f.type}, {"choices", f.choices}});
        json records = json::array();
        for (const auto& r : t.records)
          records.push_back({{"id", r.id}, {"createdTime", format_rfc3339_ms(r.created_ms)}, {"fields", r.fields}});
        tables.push_back({{"id", t.id}, {"name", t.name}, {"fields", fields}, {"records", records}});
      }
      bases.push_back({{"id", b.id}, {"name", b.name}, {"tables", tables}, {"quota_month", b.quota_month},
                       {"calls_this_month", b.calls_this_month}});
    }
    return {{"limits", limits_.to_json()}, {"id_counter", id_counter_}, {"bases", bases}};
  }

  void load(const json& j) {
    limits_.from_json(j.value("limits", json::object()));
    id_counter_ = j.value("id_counter", id_counter_);
    bases_.clear();
    for (const auto& bj : j.at("bases")) {
      Base b;
      b.id = bj.at("id").get<std::string>();
      b.name = bj.value("name", b.id);
      b.quota_month = bj.value("quota_month", std::int64_t{0});
      b.calls_this_month = bj.value("calls_this_month", std::int64_t{0});
      for (const auto& tj : bj.at("tables")) {
        Table t;
        t.id = tj.at("id").get<std::string>();
        t.name = tj.at("name").get<std::string>();
        for (const auto& fj : tj.at("fields"))
          t.fields.push_back({fj.at("id").get<std::string>(), fj.at("name").get<std::string>(),
                              fj.at("type").get<std::string>(), fj.value("choices", std::vector<std::string>{})});
        for (const auto& rj : tj.at("records"))
          t.records.push_back({rj.at("id").get<std::string>(),
                               parse_rfc3339_ms(rj.at("createdTime").get<std::string>()).value_or(0), rj.at("fields")});
        b.tables.push_back(std::move(t));
      }
      bases_.push_back(std::move(b));
    }
  }

  json summary() const {
    json bases = json::array();
    for (const auto& b : bases_) {
      json tables = json::object();
      for (const auto& t : b.tables) tables[t.name] = t.records.size();
      bases.push_back({{"id", b.id},
                       {"records", b.record_count()},
                       {"tables", tables},
                       {"calls_this_month", b.calls_this_month},
                       {"penalty_until_ms", b.penalty_until}});
    }
    return {{"limits", limits_.to_json()}, {"bases", bases}};
  }

  Response define_table(Request& r) {
    Base* base = find_base(r.params["base"]);
    if (!base) {
      bases_.push_back(Base{r.params["base"], r.params["base"], {}, {}, 0, 0, 0});
      base = &bases_.back();
    }
    auto body = parse_body(r);
    if (!body || !body->contains("fields") || !(*body)["fields"].is_array() || (*body)["fields"].empty())
      return json_response(400, {{"error", "body: {\"fields\":[{\"name\":..,\"type\":..,\"choices\":[..]}]}, the first is primary"}});
    Table* table = base->table(r.params["table"]);
    if (!table) {
      base->tables.push_back(Table{new_id("tbl"), r.params["table"], {}, {}});
      table = &base->tables.back();
    }
    std::vector<FieldDef> fields;
    for (const auto& f : (*body)["fields"]) {
      const FieldDef* old = table->field(f.at("name").get<std::string>());
      fields.push_back({old ? old->id : new_id("fld"), f.at("name").get<std::string>(),
                        f.value("type", "singleLineText"), f.value("choices", std::vector<std::string>{})});
    }
    table->fields = std::move(fields);
    core_.save_state();
    return json_response(200, {{"id", table->id}, {"name", table->name}});
  }

  Response drop_table(Request& r) {
    Base* base = find_base(r.params["base"]);
    if (!base) return json_response(404, {{"error", "no such base"}});
    const auto before = base->tables.size();
    std::erase_if(base->tables,
                  [&](const Table& t) { return t.name == r.params["table"] || t.id == r.params["table"]; });
    if (base->tables.size() == before) return json_response(404, {{"error", "no such table"}});
    core_.save_state();
    return json_response(200, {{"dropped", r.params["table"]}});
  }

  // ---- the meta API's writes (schema.bases:write): tables and fields as Airtable creates them ---------
  // A field model from a create request: name, type, and the options the type requires (number:
  // precision; dateTime: timeZone, dateFormat, timeFormat; single/multiple select: choices).
  std::optional<Response> field_from(const json& spec, const Table* table, FieldDef& out, bool primary) {
    if (!spec.is_object() || !spec.contains("name") || !spec["name"].is_string() ||
        spec["name"].get<std::string>().empty())
      return error(422, "INVALID_REQUEST_UNKNOWN", "Invalid request: each field needs a non-empty \"name\"");
    if (!spec.contains("type") || !spec["type"].is_string())
      return error(422, "INVALID_REQUEST_UNKNOWN",
                   "Invalid request: field \"" + spec["name"].get<std::string>() + "\" needs a \"type\"");
    out.name = spec["name"].get<std::string>();
    out.type = spec["type"].get<std::string>();
    if (table && table->field(out.name))
      return error(422, "DUPLICATE_OR_EMPTY_FIELD_NAME",
                   "Field name \"" + out.name + "\" already exists in this table");
    static const std::set<std::string> kTypes{"singleLineText",
                                              "multilineText",
                                              "richText",
                                              "email",
                                              "url",
                                              "phoneNumber",
                                              "number",
                                              "currency",
                                              "percent",
                                              "duration",
                                              "rating",
                                              "checkbox",
                                              "singleSelect",
                                              "multipleSelects",
                                              "date",
                                              "dateTime",
                                              "multipleRecordLinks"};
    if (!kTypes.contains(out.type))
      return error(422, "INVALID_FIELD_TYPE", "Field type \"" + out.type + "\" cannot be created through the API");
    static const std::set<std::string> kPrimaryTypes{"singleLineText", "multilineText", "email",   "url",
                                                     "phoneNumber",    "number",        "date",    "dateTime",
                                                     "currency",       "percent",       "duration"};
    if (primary && !kPrimaryTypes.contains(out.type))
      return error(422, "INVALID_PRIMARY_FIELD_TYPE", "The first field of a table cannot be of type " + out.type);
    const json options = spec.value("options", json());
    auto bad_options = [&](const std::string& what) {
      return error(422, "INVALID_FIELD_OPTIONS",
                   "Field \"" + out.name + "\" of type " + out.type + " needs options." + what);
    };
    if (out.type == "number" || out.type == "currency" || out.type == "percent") {
      if (!options.is_object() || !options.contains("precision") || !options["precision"].is_number_integer())
        return bad_options("precision");
    } else if (out.type == "dateTime") {
      if (!options.is_object() || !options.contains("timeZone") || !options.contains("dateFormat") ||
          !options.contains("timeFormat"))
        return bad_options("timeZone, options.dateFormat and options.timeFormat");
    } else if (out.type == "date") {
      if (!options.is_object() || !options.contains("dateFormat")) return bad_options("dateFormat");
    } else if (out.type == "singleSelect" || out.type == "multipleSelects") {
      if (!options.is_object() || !options.contains("choices") || !options["choices"].is_array())
        return bad_options("choices");
      for (const auto& c : options["choices"]) {
        if (!c.is_object() || !c.contains("name") || !c["name"].is_string()) return bad_options("choices[].name");
        out.choices.push_back(c["name"].get<std::string>());
      }
    }
    out.id = new_id("fld");
    return std::nullopt;
  }

  json field_json(const FieldDef& f) {
    json fj{{"id", f.id}, {"name", f.name}, {"type", f.type}};
    if (f.type == "singleSelect" || f.type == "multipleSelects") {
      json choices = json::array();
      for (std::size_t i = 0; i < f.choices.size(); ++i)
        choices.push_back({{"id", "sel" + f.id.substr(3, 10) + std::to_string(i)}, {"name", f.choices[i]}});
      fj["options"] = {{"choices", choices}};
    }
    return fj;
  }

  Response meta_create_table(Request& r) {
    Access a;
    if (auto e = check(r, a, "schema.bases:write", false, false)) return std::move(*e);
    if (!a.token->can_write_data) return not_permitted();  // a commenter cannot change the schema
    auto body = parse_body(r);
    if (!body || !body->is_object()) return error(400, "INVALID_REQUEST_BODY", "Could not parse request body");
    if (!body->contains("name") || !(*body)["name"].is_string() || (*body)["name"].get<std::string>().empty())
      return invalid_request("the table needs a name");
    const auto name = (*body)["name"].get<std::string>();
    if (a.base->table(name)) return error(422, "DUPLICATE_TABLE_NAME", "A table named \"" + name + "\" already exists");
    if (!body->contains("fields") || !(*body)["fields"].is_array() || (*body)["fields"].empty())
      return invalid_request("the table needs at least one field (the first is its primary field)");
    Table t{new_id("tbl"), name, {}, {}};
    for (const auto& spec : (*body)["fields"]) {
      FieldDef f;
      if (auto e = field_from(spec, &t, f, t.fields.empty())) return std::move(*e);
      t.fields.push_back(std::move(f));
    }
    json fields = json::array();
    for (const auto& f : t.fields) fields.push_back(field_json(f));
    json out{{"id", t.id},
             {"name", t.name},
             {"primaryFieldId", t.fields.front().id},
             {"fields", fields},
             {"views", json::array({{{"id", "viw" + t.id.substr(3)}, {"name", "Grid view"}, {"type", "grid"}}})}};
    a.base->tables.push_back(std::move(t));
    return json_response(200, out);
  }

  Response meta_create_field(Request& r) {
    Access a;
    if (auto e = check(r, a, "schema.bases:write", false, false)) return std::move(*e);
    if (!a.token->can_write_data) return not_permitted();
    Table* table = a.base->table(r.params["table"]);
    if (!table) return model_not_found();
    auto body = parse_body(r);
    if (!body || !body->is_object()) return error(400, "INVALID_REQUEST_BODY", "Could not parse request body");
    FieldDef f;
    if (auto e = field_from(*body, table, f, false)) return std::move(*e);
    table->fields.push_back(f);
    return json_response(200, field_json(f));
  }

  // ---- the checks every data request passes, in Airtable's order --------------------------------------
  Base* find_base(const std::string& id) {
    for (auto& b : bases_)
      if (b.id == id) return &b;
    return nullptr;
  }
  Token* find_token(const std::string& token) {
    for (auto& t : tokens_)
      if (t.token == token) return &t;
    return nullptr;
  }

  // True when another request fits in the window; starts the penalty when it does not.
  static bool admit(std::deque<std::int64_t>& recent, std::int64_t& penalty_until, std::int64_t rps,
                    std::int64_t penalty_ms, std::int64_t now) {
    if (now < penalty_until) return false;
    while (!recent.empty() && recent.front() <= now - kWindowMs) recent.pop_front();
    if (static_cast<std::int64_t>(recent.size()) >= rps) {
      penalty_until = now + penalty_ms;
      return false;
    }
    return true;
  }

  struct Access {
    Token* token = nullptr;
    Base* base = nullptr;
    Table* table = nullptr;
  };

  // Authenticates, finds the base (and table), applies the rate limits and the monthly quota.
  // `scope` is the scope the call needs; `write` whether it changes data.
  std::optional<Response> check(Request& r, Access& a, const std::string& scope, bool write, bool needs_table = true) {
    const auto secret = bearer_token(r);
    a.token = secret.empty() ? nullptr : find_token(secret);
    if (!a.token) return unauthenticated();
    a.base = find_base(r.params["base"]);
    if (!a.base || !a.token->bases.contains(a.base->id)) return model_not_found();
    const auto now = core_.clock().now_ms();
    // Both budgets are checked before either is charged, so a refused request costs nothing.
    const bool token_ok = admit(a.token->recent, a.token->penalty_until, limits_.token_rps, limits_.penalty_ms, now);
    const bool base_ok = token_ok && admit(a.base->recent, a.base->penalty_until, limits_.base_rps, limits_.penalty_ms, now);
    if (!token_ok || !base_ok) return rate_limited();
    a.token->recent.push_back(now);
    a.base->recent.push_back(now);
    const auto month = month_of(now);
    if (a.base->quota_month != month) {
      a.base->quota_month = month;
      a.base->calls_this_month = 0;
    }
    if (limits_.monthly_call_quota > 0 && a.base->calls_this_month >= limits_.monthly_call_quota)
      return error(429, "PUBLIC_API_BILLING_LIMIT_EXCEEDED",
                   "The monthly API call limit of this workspace's plan (" + std::to_string(limits_.monthly_call_quota) +
                       " calls) has been reached; it resets at the start of the next billing cycle.");
    ++a.base->calls_this_month;
    if (!a.token->scopes.contains(scope)) return model_not_found();
    if (write && !a.token->can_write_data) return not_permitted();
    if (needs_table) {
      a.table = a.base->table(r.params["table"]);
      if (!a.table) return model_not_found();
    }
    return std::nullopt;
  }

  // ---- rendering --------------------------------------------------------------------------------------
  static json render(const Record& rec, const std::vector<std::string>* only = nullptr) {
    json fields = json::object();
    for (auto it = rec.fields.begin(); it != rec.fields.end(); ++it) {
      if (blank(it.value())) continue;  // empty fields are omitted from answers
      if (only && std::find(only->begin(), only->end(), it.key()) == only->end()) continue;
      fields[it.key()] = it.value();
    }
    return {{"id", rec.id}, {"createdTime", format_rfc3339_ms(rec.created_ms)}, {"fields", fields}};
  }

  // ---- validation of written cells --------------------------------------------------------------------
  static std::optional<Response> invalid_value(const std::string& field) {
    return error(422, "INVALID_VALUE_FOR_COLUMN", "Field \"" + field + "\" cannot accept the provided value");
  }

  // Checks one cell against its field's type (converting with typecast) and returns the stored value.
  std::optional<Response> check_cell(Table& table, const std::string& name, json value, bool typecast, json& out) {
    FieldDef* f = table.field(name);
    if (!f) return error(422, "UNKNOWN_FIELD_NAME", "Unknown field name: \"" + name + "\"");
    if (value.is_null()) {
      out = nullptr;
      return std::nullopt;
    }
    const auto& t = f->type;
    if (is_text_type(t)) {
      if (!value.is_string()) {
        if (!typecast || value.is_object() || value.is_array()) return invalid_value(f->name);
        value = value.is_number() ? value.dump() : (value.get<bool>() ? "true" : "false");
      }
    } else if (is_number_type(t)) {
      if (value.is_string() && typecast) {
        const auto s = value.get<std::string>();
        char* end = nullptr;
        const double d = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0') return invalid_value(f->name);
        value = d;
      }
      if (!value.is_number()) return invalid_value(f->name);
    } else if (t == "checkbox") {
      if (!value.is_boolean()) return invalid_value(f->name);
    } else if (t == "singleSelect" || t == "multipleSelects") {
      json items = t == "singleSelect" ? json::array({value}) : value;
      if (!items.is_array()) return invalid_value(f->name);
      for (const auto& item : items) {
        if (!item.is_string()) return invalid_value(f->name);
        const auto choice = item.get<std::string>();
        if (choice.empty()) continue;
        if (std::find(f->choices.begin(), f->choices.end(), choice) == f->choices.end()) {
          if (!typecast)
            return error(422, "INVALID_MULTIPLE_CHOICE_OPTIONS",
                         "Insufficient permissions to create new select option \"\"" + choice + "\"\"");
          f->choices.push_back(choice);  // typecast creates the option
        }
      }
    } else if (t == "dateTime") {
      if (!value.is_string()) return invalid_value(f->name);
      auto ms = parse_rfc3339_ms(value.get<std::string>());
      if (!ms) return invalid_value(f->name);
      value = format_rfc3339_ms(*ms);
    } else if (t == "date") {
      if (!value.is_string()) return invalid_value(f->name);
      const auto s = value.get<std::string>();
      if (!parse_rfc3339_ms(s.substr(0, 10) + "T00:00:00Z")) return invalid_value(f->name);
      value = s.substr(0, 10);
    } else if (t == "multipleRecordLinks") {
      if (!value.is_array()) return invalid_value(f->name);
      for (const auto& item : value)
        if (!item.is_string() || !item.get<std::string>().starts_with("rec")) return invalid_value(f->name);
    } else {
      return invalid_value(f->name);  // computed fields (autoNumber, createdTime, formula, ...) take no value
    }
    out = std::move(value);
    return std::nullopt;
  }

  // Applies `fields` to `rec`: merge (PATCH) or replace (PUT, creates).
  std::optional<Response> write_fields(Table& table, Record& rec, const json& fields, bool typecast, bool replace) {
    if (!fields.is_object()) return invalid_request("fields must be an object");
    json next = replace ? json::object() : rec.fields;
    for (auto it = fields.begin(); it != fields.end(); ++it) {
      json stored;
      if (auto e = check_cell(table, it.key(), it.value(), typecast, stored)) return e;
      const std::string name = table.field(it.key())->name;
      if (blank(stored))
        next.erase(name);
      else
        next[name] = std::move(stored);
    }
    rec.fields = std::move(next);
    return std::nullopt;
  }

  std::optional<Response> check_cap(const Base& base, const Table& staged, const Table& original) {
    if (limits_.record_cap <= 0) return std::nullopt;
    const auto after = base.record_count() - original.records.size() + staged.records.size();
    if (after > static_cast<std::size_t>(limits_.record_cap) && staged.records.size() > original.records.size())
      return error(422, "ROW_LIMIT_EXCEEDED",
                   "This base has reached its record limit of " + std::to_string(limits_.record_cap) +
                       " records for its plan; delete records or upgrade the plan.");
    return std::nullopt;
  }

  static bool batch_ok(const json& body) {
    return body.is_object() && body.contains("records") && body["records"].is_array() && !body["records"].empty();
  }
  static Response too_many() {
    return error(422, "INVALID_RECORDS",
                 "You can include up to " + std::to_string(kMaxRecordsPerRequest) + " records per request");
  }

  // ---- routes ----------------------------------------------------------------------------------------
  Response unknown_route(Request&) { return not_found_route(); }

  Response whoami(Request& r) {
    const auto secret = bearer_token(r);
    Token* token = secret.empty() ? nullptr : find_token(secret);
    if (!token) return unauthenticated();
    const auto now = core_.clock().now_ms();
    if (!admit(token->recent, token->penalty_until, limits_.token_rps, limits_.penalty_ms, now)) return rate_limited();
    token->recent.push_back(now);
    return json_response(200, {{"id", token->user}});
  }

  Response meta_tables(Request& r) {
    Access a;
    if (auto e = check(r, a, "schema.bases:read", false, false)) return std::move(*e);
    json tables = json::array();
    for (const auto& t : a.base->tables) {
      json fields = json::array();
      for (const auto& f : t.fields) {
        json fj{{"id", f.id}, {"name", f.name}, {"type", f.type}};
        if (f.type == "singleSelect" || f.type == "multipleSelects") {
          json choices = json::array();
          for (std::size_t i = 0; i < f.choices.size(); ++i)
            choices.push_back({{"id", "sel" + f.id.substr(3, 10) + std::to_string(i)}, {"name", f.choices[i]}});
          fj["options"] = {{"choices", choices}};
        }
        fields.push_back(std::move(fj));
      }
      tables.push_back({{"id", t.id},
                        {"name", t.name},
                        {"primaryFieldId", t.fields.empty() ? "" : t.fields.front().id},
                        {"fields", fields},
                        {"views", json::array({{{"id", "viw" + t.id.substr(3)}, {"name", "Grid view"}, {"type", "grid"}}})}});
    }
    return json_response(200, {{"tables", tables}});
  }

  // The list options, from the query (GET) or the JSON body (POST .../listRecords).
  struct ListOptions {
    std::optional<std::size_t> page_size;
    std::optional<std::size_t> max_records;
    std::string offset;
    std::string formula;
    std::vector<std::string> fields;
    bool has_fields = false;
    std::vector<std::pair<std::string, bool>> sort;  // field, descending
  };

  static std::optional<std::size_t> to_count(const std::string& s) {
    if (s.empty() || s.find_first_not_of("0123456789") != std::string::npos || s.size() > 9) return std::nullopt;
    return std::stoul(s);
  }

  std::optional<Response> list_options(Request& r, ListOptions& o) {
    if (r.method == "POST") {
      auto body = parse_body(r);
      if (!body || !body->is_object()) return error(400, "INVALID_REQUEST_BODY", "Could not parse request body");
      const json& b = *body;
      try {
        if (b.contains("pageSize")) o.page_size = b["pageSize"].get<std::size_t>();
        if (b.contains("maxRecords")) o.max_records = b["maxRecords"].get<std::size_t>();
        o.offset = b.value("offset", "");
        o.formula = b.value("filterByFormula", "");
        if (b.contains("fields")) {
          o.fields = b["fields"].get<std::vector<std::string>>();
          o.has_fields = true;
        }
        if (b.contains("sort"))
          for (const auto& s : b["sort"]) o.sort.emplace_back(s.at("field").get<std::string>(), s.value("direction", "asc") == "desc");
      } catch (const json::exception&) {
        return invalid_request("listRecords body");
      }
      return std::nullopt;
    }
    std::map<std::size_t, std::pair<std::string, bool>> sorts;
    for (const auto& [key, value] : r.query_params()) {
      if (key == "pageSize") {
        o.page_size = to_count(value);
        if (!o.page_size) return invalid_request("pageSize");
      } else if (key == "maxRecords") {
        o.max_records = to_count(value);
        if (!o.max_records) return invalid_request("maxRecords");
      } else if (key == "offset") {
        o.offset = value;
      } else if (key == "filterByFormula") {
        o.formula = value;
      } else if (key == "fields[]" || key == "fields") {
        o.fields.push_back(value);
        o.has_fields = true;
      } else if (key.starts_with("sort[")) {
        const auto close = key.find(']');
        auto index = to_count(key.substr(5, close == std::string::npos ? 0 : close - 5));
        if (!index) return invalid_request("sort");
        if (key.ends_with("[field]"))
          sorts[*index].first = value;
        else if (key.ends_with("[direction]"))
          sorts[*index].second = value == "desc";
        else
          return invalid_request("sort");
      } else if (key == "view" || key == "cellFormat" || key == "timeZone" || key == "userLocale" ||
                 key == "returnFieldsByFieldId" || key.starts_with("recordMetadata")) {
        // accepted and ignored: the sandbox has one grid view and answers JSON cell values
      } else {
        return invalid_request("unknown parameter " + key);
      }
    }
    for (auto& [i, s] : sorts) {
      if (s.first.empty()) return invalid_request("sort without a field");
      o.sort.push_back(s);
    }
    return std::nullopt;
  }

  Response list(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:read", false)) return std::move(*e);
    ListOptions o;
    if (auto e = list_options(r, o)) return std::move(*e);
    const auto page_size = o.page_size.value_or(kMaxPageSize);
    if (page_size == 0 || page_size > kMaxPageSize) return invalid_request("pageSize must be 1 to 100");
    for (const auto& f : o.fields)
      if (!a.table->field(f)) return error(422, "UNKNOWN_FIELD_NAME", "Unknown field name: \"" + f + "\"");
    for (const auto& s : o.sort)
      if (!a.table->field(s.first)) return error(422, "UNKNOWN_FIELD_NAME", "Unknown field name: \"" + s.first + "\"");
    const auto now = core_.clock().now_ms();

    Iterator* it = nullptr;
    std::string iterator_id;
    if (!o.offset.empty()) {
      // "itr.../rec...": the iterator, then the first record of the page it stands for.
      const auto slash = o.offset.find('/');
      iterator_id = o.offset.substr(0, slash);
      auto found = iterators_.find(iterator_id);
      if (found == iterators_.end() || slash == std::string::npos || found->second.table != a.table->id ||
          now - found->second.last_used_ms > limits_.iterator_ttl_ms ||
          found->second.next >= found->second.ids.size() || found->second.ids[found->second.next] != o.offset.substr(slash + 1)) {
        if (found != iterators_.end()) iterators_.erase(found);
        return error(422, "LIST_RECORDS_ITERATOR_NOT_AVAILABLE", "");
      }
      it = &found->second;
    } else {
      std::optional<Formula> formula;
      if (!o.formula.empty()) {
        std::string why;
        formula = Formula::parse(o.formula, a.table->field_names(), why);
        if (!formula)
          return error(422, "INVALID_FILTER_BY_FORMULA",
                       "The formula for filtering records is invalid: " + why + ". Please check your formula text.");
      }
      std::vector<const Record*> matches;
      for (const auto& rec : a.table->records)
        if (!formula || formula->keeps(rec.id, rec.fields)) matches.push_back(&rec);
      if (!o.sort.empty()) {
        std::stable_sort(matches.begin(), matches.end(), [&](const Record* x, const Record* y) {
          for (const auto& [field, desc] : o.sort) {
            const json& vx = x->fields.contains(field) ? x->fields[field] : json(nullptr);
            const json& vy = y->fields.contains(field) ? y->fields[field] : json(nullptr);
            if (vx == vy) continue;
            return desc ? vy < vx : vx < vy;
          }
          return false;
        });
      }
      Iterator fresh{a.base->id, a.table->id, {}, 0, now};
      for (const auto* rec : matches) fresh.ids.push_back(rec->id);
      if (o.max_records && fresh.ids.size() > *o.max_records) fresh.ids.resize(*o.max_records);
      iterator_id = new_id("itr");
      it = &iterators_.emplace(iterator_id, std::move(fresh)).first->second;
    }

    json records = json::array();
    std::size_t taken = 0;
    while (it->next < it->ids.size() && taken < page_size) {
      const Record* rec = a.table->record(it->ids[it->next++]);
      if (!rec) continue;  // deleted since the first page
      records.push_back(render(*rec, o.has_fields ? &o.fields : nullptr));
      ++taken;
    }
    json out{{"records", records}};
    if (it->next < it->ids.size()) {
      it->last_used_ms = now;
      out["offset"] = iterator_id + "/" + it->ids[it->next];
    } else {
      iterators_.erase(iterator_id);  // the last page: no offset
    }
    return json_response(200, out);
  }

  Response get(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:read", false)) return std::move(*e);
    const Record* rec = a.table->record(r.params["record"]);
    if (!rec) return not_found_route();
    return json_response(200, render(*rec));
  }

  Response create(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:write", true)) return std::move(*e);
    auto body = parse_body(r);
    if (!body || !body->is_object()) return error(400, "INVALID_REQUEST_BODY", "Could not parse request body");
    const bool typecast = body->value("typecast", false);
    const bool single = !body->contains("records") && body->contains("fields");
    if (!single && !batch_ok(*body)) return invalid_request("records must be a non-empty array");
    const json items = single ? json::array({json{{"fields", (*body)["fields"]}}}) : (*body)["records"];
    if (items.size() > kMaxRecordsPerRequest) return too_many();
    Table staged = *a.table;  // all or nothing: one bad record rejects the whole batch
    json out = json::array();
    for (const auto& item : items) {
      if (!item.is_object() || !item.contains("fields")) return invalid_request("each record needs fields");
      Record rec;
      rec.id = new_id("rec");
      rec.created_ms = core_.clock().now_ms();
      if (auto e = write_fields(staged, rec, item["fields"], typecast, true)) return std::move(*e);
      staged.records.push_back(rec);
      out.push_back(render(rec));
    }
    if (auto e = check_cap(*a.base, staged, *a.table)) return std::move(*e);
    *a.table = std::move(staged);
    return json_response(200, single ? out[0] : json{{"records", out}});
  }

  Response update_many(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:write", true)) return std::move(*e);
    auto body = parse_body(r);
    if (!body || !body->is_object()) return error(400, "INVALID_REQUEST_BODY", "Could not parse request body");
    if (!batch_ok(*body)) return invalid_request("records must be a non-empty array");
    const json& items = (*body)["records"];
    if (items.size() > kMaxRecordsPerRequest) return too_many();
    const bool typecast = body->value("typecast", false);
    const bool replace = r.method == "PUT";

    std::vector<std::string> merge_on;
    const bool upsert = body->contains("performUpsert");
    if (upsert) {
      const json& pu = (*body)["performUpsert"];
      if (!pu.is_object() || !pu.contains("fieldsToMergeOn") || !pu["fieldsToMergeOn"].is_array() ||
          pu["fieldsToMergeOn"].empty() || pu["fieldsToMergeOn"].size() > 3)
        return invalid_request("performUpsert.fieldsToMergeOn must list 1 to 3 fields");
      for (const auto& f : pu["fieldsToMergeOn"]) {
        if (!f.is_string()) return invalid_request("fieldsToMergeOn");
        const FieldDef* def = a.table->field(f.get<std::string>());
        if (!def) return error(422, "UNKNOWN_FIELD_NAME", "Unknown field name: \"" + f.get<std::string>() + "\"");
        if (!mergeable_type(def->type))
          return invalid_request("field \"" + def->name + "\" of type " + def->type + " cannot be merged on");
        merge_on.push_back(def->name);
      }
    }

    Table staged = *a.table;
    json out = json::array();
    json created = json::array();
    json updated = json::array();
    std::set<std::string> keys_seen;
    for (const auto& item : items) {
      if (!item.is_object() || !item.contains("fields")) return invalid_request("each record needs fields");
      Record* target = nullptr;
      if (item.contains("id")) {
        target = staged.record(item["id"].is_string() ? item["id"].get<std::string>() : "");
        if (!target)
          return error(404, "NOT_FOUND", "Could not find record " + (item["id"].is_string() ? item["id"].get<std::string>() : item["id"].dump()));
      } else if (!upsert) {
        return invalid_request("each record needs an id");
      } else {
        // Match on the merge fields' values as they would be stored.
        Record probe;
        if (auto e = write_fields(staged, probe, item["fields"], typecast, true)) return std::move(*e);
        std::string key;
        for (const auto& name : merge_on) {
          if (!probe.fields.contains(name)) return invalid_request("record lacks merge field \"" + name + "\"");
          key += probe.fields[name].dump() + "\x1f";
        }
        if (!keys_seen.insert(key).second)
          return invalid_request("two records of the request have the same fieldsToMergeOn values");
        std::vector<Record*> matches;
        for (auto& rec : staged.records) {
          bool all = true;
          for (const auto& name : merge_on)
            all = all && rec.fields.contains(name) && rec.fields[name] == probe.fields[name];
          if (all) matches.push_back(&rec);
        }
        if (matches.size() > 1)
          return invalid_request(std::to_string(matches.size()) + " records match the fieldsToMergeOn values; an upsert needs at most one");
        if (matches.empty()) {
          Record rec;
          rec.id = new_id("rec");
          rec.created_ms = core_.clock().now_ms();
          rec.fields = probe.fields;
          staged.records.push_back(std::move(rec));
          created.push_back(staged.records.back().id);
          out.push_back(render(staged.records.back()));
          continue;
        }
        target = matches.front();
      }
      if (auto e = write_fields(staged, *target, item["fields"], typecast, replace)) return std::move(*e);
      updated.push_back(target->id);
      out.push_back(render(*target));
    }
    if (auto e = check_cap(*a.base, staged, *a.table)) return std::move(*e);
    *a.table = std::move(staged);
    json answer{{"records", out}};
    if (upsert) {
      answer["createdRecords"] = created;
      answer["updatedRecords"] = updated;
    }
    return json_response(200, answer);
  }

  Response update_one(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:write", true)) return std::move(*e);
    auto body = parse_body(r);
    if (!body || !body->is_object()) return error(400, "INVALID_REQUEST_BODY", "Could not parse request body");
    if (!body->contains("fields")) return invalid_request("fields");
    Table staged = *a.table;
    Record* rec = staged.record(r.params["record"]);
    if (!rec) return not_found_route();
    if (auto e = write_fields(staged, *rec, (*body)["fields"], body->value("typecast", false), r.method == "PUT")) return std::move(*e);
    json out = render(*rec);
    *a.table = std::move(staged);
    return json_response(200, out);
  }

  Response delete_many(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:write", true)) return std::move(*e);
    std::vector<std::string> ids;
    for (const auto& [key, value] : r.query_params())
      if (key == "records[]" || key == "records") ids.push_back(value);
    if (ids.empty()) return invalid_request("records[] is required");
    if (ids.size() > kMaxRecordsPerRequest) return too_many();
    for (const auto& id : ids)
      if (!a.table->record(id)) return error(404, "NOT_FOUND", "Could not find record " + id);
    json out = json::array();
    for (const auto& id : ids) {
      std::erase_if(a.table->records, [&](const Record& rec) { return rec.id == id; });
      out.push_back({{"id", id}, {"deleted", true}});
    }
    return json_response(200, {{"records", out}});
  }

  Response delete_one(Request& r) {
    Access a;
    if (auto e = check(r, a, "data.records:write", true)) return std::move(*e);
    const auto& id = r.params["record"];
    if (!a.table->record(id)) return not_found_route();
    std::erase_if(a.table->records, [&](const Record& rec) { return rec.id == id; });
    return json_response(200, {{"id", id}, {"deleted", true}});
  }

  Core& core_;
  Limits limits_;
  std::vector<Base> bases_;
  std::vector<Token> tokens_;
  std::map<std::string, Iterator> iterators_;
  std::uint64_t id_counter_ = 0;
};

}  // namespace

std::shared_ptr<void> install(Core& core) { return install_emulator<Emulator>(core); }

}  // namespace schedulo::sandbox::airtable
