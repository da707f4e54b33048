#pragma once
// Raw job bytes -> JSON, refusing what the JSON parser would accept but we must not: nesting deep
// enough to exhaust the stack (checked before parsing) and keys that appear twice in one object.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace schedulo::jobs {

// True when brackets nest deeper than `limit` (strings skipped). Runs before the JSON parser, which
// recurses per level and would build the whole structure first.
bool nested_deeper_than(std::string_view raw, std::size_t limit);

struct StrictParse {
  nlohmann::json document;  // valid only when code is empty
  std::string code;         // malformed_json | duplicate_key
  std::string message;      // never quotes the input beyond a key path
  std::string field;        // duplicate_key: the path of the repeated key
};

// Parses `raw`; a key that appears twice in one object is refused with its path. Never throws.
StrictParse parse_strict_json(std::string_view raw);

}  // namespace schedulo::jobs
