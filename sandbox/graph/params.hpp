#pragma once
// A Graph request's parameters, wherever the client put them: the query string, a form-urlencoded
// body, a multipart/form-data body (files included: photo `source`, `video_file_chunk`) or a JSON
// body (non-string values kept as their JSON text, the way Graph reads `attached_media=[...]`).
// Body values win over query values of the same name. And the `fields=` syntax:
// `id,status_code,children{id,media_type},reactions.summary(total_count).limit(0)`.
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/http_server.hpp"

namespace schedulo::sandbox::graph {

struct FilePart {
  std::string filename;
  std::string content_type;
  std::string data;
};

struct Params {
  std::map<std::string, std::string> values;
  std::map<std::string, FilePart> files;
  std::string body_error;  // why the body could not be read ("" when it could)

  bool has(const std::string& name) const { return values.count(name) > 0; }
  std::string str(const std::string& name, const std::string& fallback = "") const;
  // "true"/"1" and "false"/"0" (any case); nullopt when absent or anything else.
  std::optional<bool> boolean(const std::string& name) const;
  // A whole decimal number; nullopt when absent or not one.
  std::optional<std::int64_t> integer(const std::string& name) const;
};

Params parse_params(const server::Request& request);

// One item of `fields=`: its name, its modifiers (`.summary(total_count)` → {"summary": "total_count"})
// and its subfields (`{...}`).
struct FieldSel {
  std::string name;
  std::map<std::string, std::string> modifiers;
  std::vector<FieldSel> subfields;
};

// Parses `fields`; false with `error` set on unbalanced brackets or an empty name.
bool parse_fields(const std::string& text, std::vector<FieldSel>& out, std::string& error);

// Splits "a,b, c" into trimmed non-empty items (Graph's comma lists: metric=, children=, scope=).
std::vector<std::string> split_list(const std::string& text);

}  // namespace schedulo::sandbox::graph
