#include "jobs/json_guard.hpp"

#include "common/text.hpp"

#include <functional>
#include <set>
#include <vector>

namespace schedulo::jobs {
namespace {

using nlohmann::json;

// Follows the parser's events to find the first key that appears twice in one object, with its path.
// Duplicates are refused: two readers of the same document (us and a bridge, or two versions of us)
// could otherwise keep different values.
class DuplicateKeyFinder {
 public:
  bool operator()(int /*depth*/, json::parse_event_t event, json& parsed) {
    switch (event) {
      case json::parse_event_t::object_start:
        stack_.push_back({false, 0, {}, {}});
        break;
      case json::parse_event_t::array_start:
        stack_.push_back({true, 0, {}, {}});
        break;
      case json::parse_event_t::key: {
        Frame& frame = stack_.back();
        frame.key = parsed.get<std::string>();
        if (!frame.keys.insert(frame.key).second && !duplicate_) duplicate_ = path();
        break;
      }
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!stack_.empty()) stack_.pop_back();
        next_value();
        break;
      case json::parse_event_t::value:
        next_value();
        break;
    }
    return true;
  }

  const std::optional<std::string>& duplicate() const { return duplicate_; }

 private:
  struct Frame {
    bool is_array;
    std::size_t index;
    std::string key;
    std::set<std::string> keys;
  };

  void next_value() {
    if (!stack_.empty() && stack_.back().is_array) ++stack_.back().index;
  }

  std::string path() const {
    std::string out;
    for (const Frame& frame : stack_) {
      if (frame.is_array) {
        out += "[" + std::to_string(frame.index) + "]";
      } else {
        if (!out.empty()) out += ".";
        out += excerpt(frame.key);
      }
    }
    return out;
  }

  std::vector<Frame> stack_;
  std::optional<std::string> duplicate_;
};

}  // namespace

bool nested_deeper_than(std::string_view raw, std::size_t limit) {
  std::size_t depth = 0;
  bool in_string = false;
  bool escaped = false;
  for (const char c : raw) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      if (++depth > limit) return true;
    } else if ((c == '}' || c == ']') && depth > 0) {
      --depth;
    }
  }
  return false;
}

StrictParse parse_strict_json(std::string_view raw) {
  StrictParse out;
  DuplicateKeyFinder duplicates;
  try {
    out.document = json::parse(raw.begin(), raw.end(), std::ref(duplicates));
  } catch (const json::parse_error& e) {
    // e.what() quotes the last token read; only the position is reported, not the input.
    out.code = "malformed_json";
    out.message = "the job is not valid JSON: syntax error at byte " + std::to_string(e.byte);
    return out;
  } catch (const json::out_of_range&) {
    out.code = "malformed_json";
    out.message = "the job is not valid JSON: a number is too large";
    return out;
  } catch (const json::exception&) {
    out.code = "malformed_json";
    out.message = "the job is not valid JSON";
    return out;
  }
  if (duplicates.duplicate()) {
    out.code = "duplicate_key";
    out.field = *duplicates.duplicate();
    out.message = out.field + " appears more than once; a key may appear only once";
  }
  return out;
}

}  // namespace schedulo::jobs
