#include "daemon/api_request.hpp"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;

std::string sha256_hex(std::string_view text) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned char b : digest) {
    out += kHex[b >> 4];
    out += kHex[b & 0xf];
  }
  return out;
}

json error_json(const jobs::ValidationError& e, std::optional<std::size_t> index) {
  json j = {{"code", e.code}, {"message", e.message}, {"field", e.field}};
  if (index) j["index"] = *index;
  return j;
}

}  // namespace

server::Response api_error(int status, std::string_view code, std::string_view message, std::string_view field) {
  json e = {{"code", code}, {"message", message}};
  if (!field.empty()) e["field"] = field;
  // Messages may quote the request (the 404 names its method and path): bytes that are not UTF-8 are
  // replaced, or dump() throws (found by tests/fuzz/api_request_fuzz.cpp: a 500 instead of the 404).
  return server::Response::json(status, json{{"error", e}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

bool token_matches(std::string_view presented, std::string_view expected) {
  unsigned char a[SHA256_DIGEST_LENGTH];
  unsigned char b[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(presented.data()), presented.size(), a);
  SHA256(reinterpret_cast<const unsigned char*>(expected.data()), expected.size(), b);
  return CRYPTO_memcmp(a, b, sizeof a) == 0 && !expected.empty();
}

bool bearer_authorised(const server::Request& request, std::string_view token) {
  const auto header = request.header("Authorization");
  if (!header) return false;
  std::string_view value = *header;
  constexpr std::string_view kScheme = "bearer ";
  if (value.size() <= kScheme.size()) return false;
  for (std::size_t i = 0; i < kScheme.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(value[i])) != kScheme[i]) return false;
  value.remove_prefix(kScheme.size());
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  return token_matches(value, token);
}

bool is_job_id(std::string_view s) {
  if (s.empty() || s.size() > 128) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == ':' || c == '-';
  });
}

// jobs::parse_job is the one parser of untrusted jobs, with its size, depth and duplicate-key checks:
// the array is only split here, never parsed as a document.
bool split_json_array(std::string_view text, std::vector<std::string_view>& out) {
  std::size_t i = 0;
  auto skip_space = [&] {
    while (i < text.size() && (text[i] == ' ' || text[i] == '\t' || text[i] == '\n' || text[i] == '\r')) ++i;
  };
  skip_space();
  if (i >= text.size() || text[i] != '[') return false;
  ++i;
  skip_space();
  if (i < text.size() && text[i] == ']') {
    ++i;
    skip_space();
    return i == text.size();
  }
  for (;;) {
    skip_space();
    const std::size_t start = i;
    std::size_t depth = 0;
    bool in_string = false;
    for (; i < text.size(); ++i) {
      const char c = text[i];
      if (in_string) {
        if (c == '\\')
          ++i;
        else if (c == '"')
          in_string = false;
        continue;
      }
      if (c == '"')
        in_string = true;
      else if (c == '{' || c == '[') {
        if (++depth > jobs::kMaxJsonDepth) return false;
      } else if (c == '}' || c == ']') {
        if (depth == 0) break;  // the array's own ']'
        --depth;
      } else if (c == ',' && depth == 0) {
        break;
      }
    }
    if (i >= text.size() || in_string) return false;
    std::size_t end = i;
    while (end > start &&
           (text[end - 1] == ' ' || text[end - 1] == '\t' || text[end - 1] == '\n' || text[end - 1] == '\r'))
      --end;
    if (end == start) return false;
    out.push_back(text.substr(start, end - start));
    if (text[i] == ',') {
      ++i;
      continue;
    }
    ++i;  // ']'
    skip_space();
    return i == text.size();
  }
}

ParsedJobs parse_jobs_body(const server::Request& request, std::size_t max_batch,
                           const jobs::ValidationContext& validation) {
  ParsedJobs out;
  const std::string_view body = request.body;
  const auto first = body.find_first_not_of(" \t\r\n");
  if (first == std::string_view::npos) {
    out.failure = api_error(400, "required", "the request body must be a job or an array of jobs");
    return out;
  }
  if (body[first] == '[') {
    out.is_array = true;
    std::vector<std::string_view> parts;
    if (!split_json_array(body, parts)) {
      out.failure = api_error(400, "malformed_json", "the body is not a well-formed JSON array of jobs");
      return out;
    }
    if (parts.empty()) {
      out.failure = api_error(400, "required", "the array holds no job");
      return out;
    }
    if (parts.size() > max_batch) {
      out.failure = api_error(400, "too_many", "at most " + std::to_string(max_batch) + " jobs per request");
      return out;
    }
    for (auto part : parts) out.jobs.push_back(jobs::parse_job(part, validation));
  } else {
    out.jobs.push_back(jobs::parse_job(body, validation));
  }
  // Idempotency-Key: the id of a job that has none, so a retried call is the same job.
  if (auto key = request.header("Idempotency-Key"); key && !key->empty()) {
    for (std::size_t i = 0; i < out.jobs.size(); ++i)
      if (out.jobs[i].job && out.jobs[i].job->id.empty())
        out.jobs[i].job->id = "k" + sha256_hex(std::string(*key) + "#" + std::to_string(i)).substr(0, 40);
  }
  return out;
}

std::optional<server::Response> validation_failure(const ParsedJobs& parsed) {
  json errors = json::array();
  for (std::size_t i = 0; i < parsed.jobs.size(); ++i)
    for (const auto& e : parsed.jobs[i].errors)
      errors.push_back(error_json(e, parsed.is_array ? std::optional<std::size_t>(i) : std::nullopt));
  if (errors.empty()) return std::nullopt;
  // A batch with one bad job enqueues nothing (as the CLI): fix and send it again, same ids.
  json first = errors.front();
  std::string field = first["field"].get<std::string>();
  if (parsed.is_array)
    field = "[" + std::to_string(first["index"].get<std::size_t>()) + "]" + (field.empty() ? "" : "." + field);
  json e = {{"code", first["code"]}, {"message", first["message"]}, {"field", field}};
  return server::Response::json(
      400, json{{"error", e}, {"errors", errors}}.dump(-1, ' ', false, json::error_handler_t::replace));
}

}  // namespace schedulo::daemon
