#include "outbox/schema_check.hpp"

namespace schedulo::outbox {
namespace {

using json = nlohmann::json;

const std::string& name_of(const TableNames& names, const airtable::TableSpec& spec, std::string& fallback) {
  const auto it = names.find(spec.table);
  if (it != names.end() && !it->second.empty()) return it->second;
  fallback = std::string(spec.logical);
  fallback[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(fallback[0])));
  return fallback;
}

const json* find_by_name(const json& array, const std::string& name) {
  for (const auto& item : array)
    if (item.is_object() && item.value("name", "") == name) return &item;
  return nullptr;
}

// Types that hold the same values for our purposes (a long text where we expect a short one, ...).
bool compatible(std::string_view expected, std::string_view actual) {
  if (expected == actual) return true;
  auto texty = [](std::string_view t) { return t == "singleLineText" || t == "multilineText" || t == "richText"; };
  if (texty(expected) && texty(actual)) return true;
  if (expected == "singleLineText" && (actual == "email" || actual == "phoneNumber" || actual == "url")) return true;
  if (expected == "url" && texty(actual)) return true;
  if (expected == "singleSelect" && texty(actual)) return true;  // typecast writes the text
  return false;
}

std::vector<SchemaProblem> compare(const json& tables, const TableNames& names) {
  std::vector<SchemaProblem> out;
  for (const auto& spec : airtable::schema()) {
    std::string fallback;
    const std::string& table = name_of(names, spec, fallback);
    const json* t = find_by_name(tables, table);
    if (!t) {
      out.push_back({SchemaProblem::Kind::missing_table, table, "", "", ""});
      continue;
    }
    const json fields = t->value("fields", json::array());
    for (const auto& f : spec.fields) {
      const json* have = find_by_name(fields, std::string(f.name));
      if (!have) {
        out.push_back({SchemaProblem::Kind::missing_field, table, std::string(f.name), std::string(f.type), ""});
      } else if (!compatible(f.type, have->value("type", ""))) {
        out.push_back({SchemaProblem::Kind::wrong_type, table, std::string(f.name), std::string(f.type),
                       have->value("type", "")});
      }
    }
  }
  return out;
}

}  // namespace

std::string SchemaProblem::describe() const {
  switch (kind) {
    case Kind::missing_table:
      return "table \"" + table + "\" is missing";
    case Kind::missing_field:
      return "table \"" + table + "\": field \"" + field + "\" (" + expected_type + ") is missing";
    case Kind::wrong_type:
      return "table \"" + table + "\": field \"" + field + "\" is " + actual_type + ", expected " + expected_type +
             " (change it in Airtable; init leaves it)";
  }
  return "?";
}

json field_create_body(const airtable::FieldSpec& field) {
  json body{{"name", field.name}, {"type", field.type}};
  if (field.type == "number") body["options"] = {{"precision", 0}};
  if (field.type == "dateTime")
    body["options"] = {{"timeZone", "utc"}, {"dateFormat", {{"name", "iso"}}}, {"timeFormat", {{"name", "24hour"}}}};
  if (field.type == "singleSelect") {
    json choices = json::array();
    for (const auto& c : field.choices) choices.push_back({{"name", c}});
    body["options"] = {{"choices", choices}};
  }
  return body;
}

net::awaitable<airtable::Result<std::vector<SchemaProblem>>> check_schema(airtable::Client& client,
                                                                          const TableNames& names) {
  auto tables = co_await client.tables();
  if (!tables) co_return tables.error();
  co_return compare(*tables, names);
}

net::awaitable<airtable::Result<InitReport>> init_schema(airtable::Client& client, const TableNames& names) {
  auto tables = co_await client.tables();
  if (!tables) co_return tables.error();
  InitReport report;
  for (const auto& spec : airtable::schema()) {
    std::string fallback;
    const std::string& table = name_of(names, spec, fallback);
    const json* t = find_by_name(*tables, table);
    if (!t) {
      json body{{"name", table}, {"description", "Schedulo: see docs/airtable.md"}, {"fields", json::array()}};
      for (const auto& f : spec.fields) body["fields"].push_back(field_create_body(f));  // the key field first: primary
      auto created = co_await client.create_table(body);
      if (!created) co_return created.error();
      report.created_tables.push_back(table);
      continue;
    }
    const json fields = t->value("fields", json::array());
    const std::string table_id = t->value("id", table);
    for (const auto& f : spec.fields) {
      if (find_by_name(fields, std::string(f.name))) continue;
      const json body = field_create_body(f);
      auto created = co_await client.create_field(table_id, body);
      if (!created) co_return created.error();
      report.created_fields.push_back(table + "." + std::string(f.name));
    }
  }
  auto after = co_await client.tables();
  if (!after) co_return after.error();
  report.left = compare(*after, names);
  co_return report;
}

}  // namespace schedulo::outbox
