// libFuzzer target: the daemon's HTTP API request path without sockets or Redis. An input is a raw
// request: "METHOD TARGET" (anything after a second space ignored), header lines, a blank line, the
// body. It goes through the real router with the API's route table (daemon/api_server.cpp), the real
// Bearer check, and for POST /v1/jobs and PUT /v1/jobs/{id} the real body handling
// (daemon/api_request.hpp: one job or an array, Idempotency-Key, the 400 with every problem).
// Invariants: nothing throws or crashes; token_matches is plain equality (for a non-empty expected
// token); a route's captured id is decoded from the path; every error answer is JSON with a string
// error.code and a 4xx status; a valid job has no errors and an Idempotency-Key gives an id to each
// job without one; no answer depends on the Bearer token presented (so none quotes it): the same
// request with another token of the same length gets the same answer. (A substring check flagged a
// "token" that is part of the answer's own wording, such as "missing or wrong Bearer ".)
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/net.hpp"
#include "daemon/api_request.hpp"

using namespace schedulo;

namespace {

[[noreturn]] void fail() {
  __builtin_trap();
}
void check(bool ok) {
  if (!ok) fail();
}

constexpr std::string_view kToken = "fuzz-api-token-0123456789";

std::string_view take_line(std::string_view& in) {
  const auto nl = in.find('\n');
  std::string_view line = in.substr(0, nl);
  in.remove_prefix(nl == std::string_view::npos ? in.size() : nl + 1);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  return line;
}

server::Request request_from(const std::uint8_t* data, std::size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  server::Request r;
  std::string_view first = take_line(in);
  const auto sp = first.find(' ');
  r.method = std::string(first.substr(0, sp));
  if (sp != std::string_view::npos) {
    std::string_view target = first.substr(sp + 1);
    target = target.substr(0, target.find(' '));
    r.target = std::string(target);
  }
  const auto q = r.target.find('?');
  r.path = r.target.substr(0, q);
  r.query = q == std::string::npos ? std::string() : r.target.substr(q + 1);
  while (!in.empty()) {
    const std::string_view line = take_line(in);
    if (line.empty()) {
      r.body = std::string(in);
      break;
    }
    const auto colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) continue;
    std::string_view value = line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    r.headers.push_back({std::string(line.substr(0, colon)), std::string(value)});
  }
  return r;
}

// Never started: the router only has to say which route took the request.
net::awaitable<server::Response> not_run() {
  co_return server::Response{};
}

enum Route { none, post_jobs, list_jobs, get_job, delete_job, put_job, stats, health, metrics, other };

// The API's route table (daemon/api_server.cpp, without the OAuth routes that need a Redis store).
server::Router api_router(Route& matched) {
  server::Router router;
  auto tag = [&matched](Route id) {
    return [&matched, id](server::Request&) {
      matched = id;
      return not_run();
    };
  };
  router.add("POST", "/v1/jobs", tag(post_jobs));
  router.add("GET", "/v1/jobs", tag(list_jobs));
  router.add("GET", "/v1/jobs/{id}", tag(get_job));
  router.add("DELETE", "/v1/jobs/{id}", tag(delete_job));
  router.add("PUT", "/v1/jobs/{id}", tag(put_job));
  router.add("GET", "/v1/stats", tag(stats));
  router.add("GET", "/healthz", tag(health));
  router.add("GET", "/metrics", tag(metrics));
  router.set_fallback(tag(other));
  return router;
}

void check_error_answer(const server::Response& response) {
  check(response.status >= 400 && response.status < 500);
  const auto doc = nlohmann::json::parse(response.body, nullptr, false);
  check(doc.is_object() && doc.contains("error") && doc["error"].is_object());
  check(doc["error"].contains("code") && doc["error"]["code"].is_string());
}

// The request with every Authorization header's value replaced by text of the same length.
server::Request with_other_token(const server::Request& request) {
  server::Request other = request;
  for (auto& h : other.headers) {
    std::string name = h.name;
    for (auto& c : name) c = static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c);
    if (name == "authorization")
      h.value = std::string(h.value.size(), h.value == std::string(h.value.size(), 'Z') ? 'Y' : 'Z');
  }
  return other;
}

void check_same_answer(const server::Response& a, const server::Response& b) {
  check(a.status == b.status && a.body == b.body);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  server::Request request = request_from(data, size);

  // The Bearer check.
  std::string presented;
  if (const auto h = request.header("Authorization"); h && h->size() > 7) presented = std::string(h->substr(7));
  const bool authorised = daemon::bearer_authorised(request, kToken);
  check(daemon::token_matches(presented, kToken) == (presented == kToken));
  check(!daemon::token_matches(presented, ""));
  if (authorised) check(presented.find(kToken) != std::string::npos);

  // Routing.
  Route matched = none;
  const auto router = api_router(matched);
  const auto& handler = router.match(request);
  auto unused = handler(request);
  check(matched != none);
  if (matched == get_job || matched == delete_job || matched == put_job) {
    check(request.params.count("id") == 1);
    (void)daemon::is_job_id(request.params["id"]);
  }
  (void)request.query_params();
  (void)request.query_param("validate");
  // The 401 and 404 answers are made of fixed wording, the method and the path (api_server.cpp): they
  // cannot depend on the token.
  if (!authorised && matched != health && matched != metrics) {
    check_error_answer(daemon::api_error(401, "unauthorized", "missing or wrong Bearer token"));
    return 0;
  }
  if (matched == other)
    check_error_answer(
        daemon::api_error(404, "not_found", "no route " + request.method + " " + request.path.substr(0, 64)));

  // The body of POST /v1/jobs and PUT /v1/jobs/{id}.
  if (matched != post_jobs && matched != put_job) return 0;
  jobs::ValidationContext validation;
  const auto parsed = daemon::parse_jobs_body(request, 500, validation);
  const auto other_token = daemon::parse_jobs_body(with_other_token(request), 500, validation);
  check(parsed.failure.has_value() == other_token.failure.has_value());
  if (parsed.failure) {
    check(parsed.jobs.empty());
    check_error_answer(*parsed.failure);
    check_same_answer(*parsed.failure, *other_token.failure);
    return 0;
  }
  check(!parsed.jobs.empty() && parsed.jobs.size() <= 500);
  const bool keyed = request.header("Idempotency-Key") && !request.header("Idempotency-Key")->empty();
  bool any_error = false;
  for (const auto& j : parsed.jobs) {
    check(j.job.has_value() == j.errors.empty());
    any_error = any_error || !j.errors.empty();
    if (j.job && keyed) check(!j.job->id.empty());
  }
  const auto failure = daemon::validation_failure(parsed);
  check(failure.has_value() == any_error);
  if (failure) {
    check(failure->status == 400);
    check_error_answer(*failure);
    const auto other_failure = daemon::validation_failure(other_token);
    check(other_failure.has_value());
    check_same_answer(*failure, *other_failure);
  }
  return 0;
}
