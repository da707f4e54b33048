#pragma once
// A useful subset of Airtable's formula language, for filterByFormula: field references {Name},
// 'text' and "text" literals, numbers, = != < > <= >=, & (concatenation), + - * /, parentheses, and
// the functions AND, OR, NOT, IF, RECORD_ID, TRUE, FALSE, BLANK, LEN, LOWER, UPPER, TRIM, FIND.
// Written for the sandbox from Airtable's documented semantics, not shared with our client.
#include <nlohmann/json.hpp>

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::sandbox::airtable {

struct FormulaNode;

class Formula {
 public:
  // Parses `text`; nullopt with `error` set when it is not a formula of the subset. `known_fields`
  // lists the table's field names: a reference to another is an error, as on Airtable.
  static std::optional<Formula> parse(std::string_view text, const std::vector<std::string>& known_fields,
                                      std::string& error);
  // Airtable's filter rule: a record is kept unless the result is 0, false, "", NaN, [] or an error.
  bool keeps(const std::string& record_id, const nlohmann::json& fields) const;

 private:
  std::shared_ptr<const FormulaNode> root_;
};

}  // namespace schedulo::sandbox::airtable
