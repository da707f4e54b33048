#pragma once
// `schedulo airtable check` and `schedulo airtable init`: the base's tables and fields (meta API)
// against docs/airtable.md (platforms/airtable/schema.hpp). Check lists what is missing or of another
// type; init creates missing tables (with every field) and missing fields, and leaves fields of
// another type for a person (changing a field's type could lose the data in it).
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "common/net.hpp"
#include "platforms/airtable/client.hpp"
#include "platforms/airtable/schema.hpp"

namespace schedulo::outbox {

struct SchemaProblem {
  enum class Kind { missing_table, missing_field, wrong_type };
  Kind kind = Kind::missing_field;
  std::string table, field, expected_type, actual_type;
  std::string describe() const;
};

struct InitReport {
  std::vector<std::string> created_tables;
  std::vector<std::string> created_fields;  // "Table.Field"
  std::vector<SchemaProblem> left;          // what init does not change (wrong types)
};

using TableNames = std::map<airtable::Table, std::string>;

net::awaitable<airtable::Result<std::vector<SchemaProblem>>> check_schema(airtable::Client& client,
                                                                          const TableNames& names);
net::awaitable<airtable::Result<InitReport>> init_schema(airtable::Client& client, const TableNames& names);

// The meta API's create-field body for a field of the schema (with the options its type requires).
nlohmann::json field_create_body(const airtable::FieldSpec& field);

}  // namespace schedulo::outbox
