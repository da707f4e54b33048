#pragma once
// HTTP header fields in order, names compared without regard to case (RFC 9110 5.1). Small and
// Beast-free so that request and response types stay light to include.
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace schedulo::http {

bool iequals(std::string_view a, std::string_view b);

class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  // Replaces every field of that name with one.
  void set(std::string_view name, std::string_view value);
  // Appends a field, keeping others of the same name (Set-Cookie, ...).
  void add(std::string_view name, std::string_view value);
  void remove(std::string_view name);
  // The first field of that name.
  std::optional<std::string_view> get(std::string_view name) const;
  bool contains(std::string_view name) const { return get(name).has_value(); }

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }

 private:
  std::vector<Field> fields_;
};

}  // namespace schedulo::http
