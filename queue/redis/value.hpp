#pragma once
// A RESP reply as a value. A Redis error reply (-ERR ...) is a Value of type error, not a transport
// failure: transport failures are error codes (errors.hpp).
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::redis {

struct Value {
  enum class Type : std::uint8_t { nil, string, status, error, integer, array };

  Type type = Type::nil;
  std::string str;  // string, status and error replies
  long long integer = 0;
  std::vector<Value> elements;

  bool is_nil() const { return type == Type::nil; }
  bool is_error() const { return type == Type::error; }
  bool is_string() const { return type == Type::string || type == Type::status; }
  bool is_integer() const { return type == Type::integer; }
  bool is_array() const { return type == Type::array; }
  // The reply is an error whose first word is `prefix` (e.g. "NOSCRIPT", "READONLY").
  bool is_error_kind(std::string_view prefix) const {
    return is_error() && std::string_view(str).substr(0, prefix.size()) == prefix &&
           (str.size() == prefix.size() || str[prefix.size()] == ' ');
  }
  std::optional<long long> as_integer() const;  // integer replies and numeric strings

  static Value make_string(std::string s) {
    Value v;
    v.type = Type::string;
    v.str = std::move(s);
    return v;
  }
};

// "type:content" for messages and test failures; long strings are cut.
std::string describe(const Value& v);

}  // namespace schedulo::redis
