#include "sandbox/airtable/formula.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <functional>
#include <sstream>
#include <variant>

namespace schedulo::sandbox::airtable {

using json = nlohmann::json;

// A formula value: blank, number, text or boolean (checkboxes and comparisons).
struct Value {
  enum class Kind { blank, number, text, boolean } kind = Kind::blank;
  double number = 0;
  std::string text;
  bool boolean = false;

  static Value of_number(double n) { return {Kind::number, n, {}, false}; }
  static Value of_text(std::string s) { return {Kind::text, 0, std::move(s), false}; }
  static Value of_bool(bool b) { return {Kind::boolean, 0, {}, b}; }

  bool truthy() const {
    switch (kind) {
      case Kind::blank: return false;
      case Kind::number: return number != 0 && !std::isnan(number);
      case Kind::text: return !text.empty();
      case Kind::boolean: return boolean;
    }
    return false;
  }
  std::string as_text() const {
    switch (kind) {
      case Kind::blank: return "";
      case Kind::text: return text;
      case Kind::boolean: return boolean ? "1" : "0";
      case Kind::number: {
        if (std::floor(number) == number && std::abs(number) < 1e15) return std::to_string(static_cast<long long>(number));
        std::ostringstream out;
        out << number;
        return out.str();
      }
    }
    return "";
  }
  std::optional<double> as_number() const {
    switch (kind) {
      case Kind::blank: return 0.0;
      case Kind::number: return number;
      case Kind::boolean: return boolean ? 1.0 : 0.0;
      case Kind::text: {
        char* end = nullptr;
        const double d = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0') return std::nullopt;
        return d;
      }
    }
    return std::nullopt;
  }
};

struct Context {
  const std::string& record_id;
  const json& fields;
};

struct FormulaNode {
  std::function<Value(const Context&)> eval;
};

namespace {

using NodePtr = std::shared_ptr<const FormulaNode>;

NodePtr make(std::function<Value(const Context&)> f) { return std::make_shared<FormulaNode>(FormulaNode{std::move(f)}); }

Value from_cell(const json& v) {
  if (v.is_null()) return {};
  if (v.is_boolean()) return Value::of_bool(v.get<bool>());
  if (v.is_number()) return Value::of_number(v.get<double>());
  if (v.is_string()) return Value::of_text(v.get<std::string>());
  if (v.is_array()) {  // multiple selects, links: Airtable joins them with ", "
    std::string joined;
    for (const auto& item : v) {
      if (!joined.empty()) joined += ", ";
      joined += item.is_string() ? item.get<std::string>() : item.dump();
    }
    return joined.empty() ? Value{} : Value::of_text(joined);
  }
  return Value::of_text(v.dump());
}

int compare(const Value& a, const Value& b, bool& comparable) {
  comparable = true;
  const bool numeric = (a.kind != Value::Kind::text || b.kind != Value::Kind::text) &&
                       !(a.kind == Value::Kind::blank && b.kind == Value::Kind::text) &&
                       !(a.kind == Value::Kind::text && b.kind == Value::Kind::blank);
  if (numeric) {
    auto x = a.as_number();
    auto y = b.as_number();
    if (x && y) return *x < *y ? -1 : (*x > *y ? 1 : 0);
  }
  const auto s = a.as_text();
  const auto t = b.as_text();
  return s < t ? -1 : (s > t ? 1 : 0);
}

class Parser {
 public:
  Parser(std::string_view text, const std::vector<std::string>& fields) : text_(text), fields_(fields) {}

  NodePtr parse_all(std::string& error) {
    auto node = comparison();
    skip();
    if (error_.empty() && pos_ < text_.size()) fail("unexpected '" + std::string(1, text_[pos_]) + "'");
    if (!error_.empty()) {
      error = error_;
      return nullptr;
    }
    return node;
  }

 private:
  void skip() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(std::string_view token) {
    skip();
    if (text_.substr(pos_, token.size()) == token) {
      pos_ += token.size();
      return true;
    }
    return false;
  }
  NodePtr fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return make([](const Context&) { return Value{}; });
  }

  NodePtr comparison() {
    auto left = concat();
    for (;;) {
      std::string op;
      for (const char* candidate : {"!=", "<=", ">=", "=", "<", ">"}) {
        if (eat(candidate)) {
          op = candidate;
          break;
        }
      }
      if (op.empty() || !error_.empty()) return left;
      auto right = concat();
      left = make([left, right, op](const Context& c) {
        bool comparable = true;
        const int r = compare(left->eval(c), right->eval(c), comparable);
        bool result = false;
        if (op == "=") result = r == 0;
        else if (op == "!=") result = r != 0;
        else if (op == "<") result = r < 0;
        else if (op == ">") result = r > 0;
        else if (op == "<=") result = r <= 0;
        else result = r >= 0;
        return Value::of_bool(result);
      });
    }
  }

  NodePtr concat() {
    auto left = additive();
    while (error_.empty() && eat("&")) {
      auto right = additive();
      left = make([left, right](const Context& c) { return Value::of_text(left->eval(c).as_text() + right->eval(c).as_text()); });
    }
    return left;
  }

  // + and - over * and /, both left-associative; anything not a number makes NaN.
  NodePtr additive() { return arithmetic("+-", [this] { return arithmetic("*/", [this] { return unary(); }); }); }

  NodePtr arithmetic(const char* ops, const std::function<NodePtr()>& operand) {
    auto left = operand();
    for (;;) {
      char op = 0;
      for (const char* o = ops; *o && !op; ++o)
        if (eat(std::string_view(o, 1))) op = *o;
      if (!op || !error_.empty()) return left;
      auto right = operand();
      left = make([left, right, op](const Context& c) {
        auto x = left->eval(c).as_number();
        auto y = right->eval(c).as_number();
        if (!x || !y || (op == '/' && *y == 0)) return Value::of_number(std::nan(""));
        switch (op) {
          case '+': return Value::of_number(*x + *y);
          case '-': return Value::of_number(*x - *y);
          case '*': return Value::of_number(*x * *y);
          default: return Value::of_number(*x / *y);
        }
      });
    }
  }

  NodePtr unary() {
    if (eat("-")) {
      auto inner = unary();
      return make([inner](const Context& c) {
        auto x = inner->eval(c).as_number();
        return Value::of_number(x ? -*x : std::nan(""));
      });
    }
    return primary();
  }

  NodePtr string_literal(char quote) {
    std::string out;
    while (pos_ < text_.size() && text_[pos_] != quote) {
      if (text_[pos_] == '\\' && pos_ + 1 < text_.size()) ++pos_;
      out += text_[pos_++];
    }
    if (pos_ >= text_.size()) return fail("unterminated text");
    ++pos_;
    return make([out](const Context&) { return Value::of_text(out); });
  }

  NodePtr primary() {
    skip();
    if (pos_ >= text_.size()) return fail("unexpected end of formula");
    const char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      auto inner = comparison();
      if (!eat(")")) return fail("missing ')'");
      return inner;
    }
    if (c == '\'' || c == '"') {
      ++pos_;
      return string_literal(c);
    }
    if (c == '{') {
      const auto close = text_.find('}', pos_);
      if (close == std::string_view::npos) return fail("unterminated field reference");
      std::string name(text_.substr(pos_ + 1, close - pos_ - 1));
      pos_ = close + 1;
      if (std::find(fields_.begin(), fields_.end(), name) == fields_.end()) return fail("Unknown field names: " + name);
      return make([name](const Context& ctx) {
        auto it = ctx.fields.find(name);
        return it == ctx.fields.end() ? Value{} : from_cell(*it);
      });
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      const std::string rest(text_.substr(pos_));
      char* end = nullptr;
      const double n = std::strtod(rest.c_str(), &end);
      if (end == rest.c_str()) return fail("bad number");
      pos_ += static_cast<std::size_t>(end - rest.c_str());
      return make([n](const Context&) { return Value::of_number(n); });
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      std::string name;
      while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
        name += static_cast<char>(std::toupper(static_cast<unsigned char>(text_[pos_++])));
      if (!eat("(")) return fail("unknown name " + name);
      std::vector<NodePtr> args;
      if (!eat(")")) {
        do {
          args.push_back(comparison());
          if (!error_.empty()) return fail(error_);
        } while (eat(","));
        if (!eat(")")) return fail("missing ')' after the arguments of " + name);
      }
      return function(name, std::move(args));
    }
    return fail("unexpected '" + std::string(1, c) + "'");
  }

  NodePtr function(const std::string& name, std::vector<NodePtr> args) {
    auto arity = [&](std::size_t lo, std::size_t hi) {
      return args.size() >= lo && args.size() <= hi;
    };
    if (name == "AND" || name == "OR") {
      if (args.empty()) return fail(name + " needs arguments");
      const bool is_and = name == "AND";
      return make([args, is_and](const Context& c) {
        for (const auto& a : args) {
          const bool t = a->eval(c).truthy();
          if (is_and && !t) return Value::of_bool(false);
          if (!is_and && t) return Value::of_bool(true);
        }
        return Value::of_bool(is_and);
      });
    }
    if (name == "NOT" && arity(1, 1))
      return make([a = args[0]](const Context& c) { return Value::of_bool(!a->eval(c).truthy()); });
    if (name == "IF" && arity(2, 3)) {
      return make([args](const Context& c) {
        if (args[0]->eval(c).truthy()) return args[1]->eval(c);
        return args.size() == 3 ? args[2]->eval(c) : Value{};
      });
    }
    if (name == "RECORD_ID" && arity(0, 0))
      return make([](const Context& c) { return Value::of_text(c.record_id); });
    if (name == "TRUE" && arity(0, 0)) return make([](const Context&) { return Value::of_bool(true); });
    if (name == "FALSE" && arity(0, 0)) return make([](const Context&) { return Value::of_bool(false); });
    if (name == "BLANK" && arity(0, 0)) return make([](const Context&) { return Value{}; });
    if (name == "LEN" && arity(1, 1))
      return make([a = args[0]](const Context& c) {
        return Value::of_number(static_cast<double>(a->eval(c).as_text().size()));
      });
    if ((name == "LOWER" || name == "UPPER") && arity(1, 1)) {
      const bool upper = name == "UPPER";
      return make([a = args[0], upper](const Context& c) {
        auto s = a->eval(c).as_text();
        for (auto& ch : s)
          ch = static_cast<char>(upper ? std::toupper(static_cast<unsigned char>(ch))
                                       : std::tolower(static_cast<unsigned char>(ch)));
        return Value::of_text(s);
      });
    }
    if (name == "TRIM" && arity(1, 1))
      return make([a = args[0]](const Context& c) {
        auto s = a->eval(c).as_text();
        s.erase(0, s.find_first_not_of(' '));
        s.erase(s.find_last_not_of(' ') + 1);
        return Value::of_text(s);
      });
    if (name == "FIND" && arity(2, 3))  // 1-based position of the needle, 0 when absent
      return make([args](const Context& c) {
        const auto needle = args[0]->eval(c).as_text();
        const auto hay = args[1]->eval(c).as_text();
        std::size_t start = 0;
        if (args.size() == 3) start = static_cast<std::size_t>(std::max(1.0, args[2]->eval(c).as_number().value_or(1))) - 1;
        const auto at = hay.find(needle, start);
        return Value::of_number(at == std::string::npos ? 0 : static_cast<double>(at + 1));
      });
    return fail("unknown function " + name + " (or wrong number of arguments)");
  }

  std::string_view text_;
  const std::vector<std::string>& fields_;
  std::size_t pos_ = 0;
  std::string error_;
};

}  // namespace

std::optional<Formula> Formula::parse(std::string_view text, const std::vector<std::string>& known_fields,
                                      std::string& error) {
  Parser parser(text, known_fields);
  auto root = parser.parse_all(error);
  if (!root) return std::nullopt;
  Formula f;
  f.root_ = std::move(root);
  return f;
}

bool Formula::keeps(const std::string& record_id, const json& fields) const {
  const Context context{record_id, fields};
  return root_->eval(context).truthy();
}

}  // namespace schedulo::sandbox::airtable
