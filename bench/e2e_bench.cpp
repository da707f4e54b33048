// End-to-end publishes through the sandbox (issue 16), run by `scripts/bench e2e`: N release daemons
// (`schedulo run`, workers.mode live) with K jobs in flight between them publish J text posts to one
// platform's emulator, every platform call held `latency` ms by a sandbox latency fault.
//
//   e2e_bench --url REDIS_URL --daemon BIN --sandbox BIN --dir D --platform x|facebook
//             [--jobs 0] [--seconds 10] [--daemons 2] [--in-flight 100] [--accounts 0] [--latency-ms 50]
//             [--log-level info]
//
// The ceiling is what the latency allows: K / (calls per publish x latency). Calls per publish are
// counted in the sandbox's request log (every request to the platform's API during the run, over J).
// The platform's rate limits are lifted on both sides (the emulator's and the daemon's limits.rules):
// the figure is the daemon's pipeline, not a quota. The jobs are spread over A accounts (default K, so
// workers.per_account never binds). J = 0 picks enough for about --seconds at the ceiling.
// jobs_per_s is J over the span from the first call's arrival to the last call's answer. Prints:
//   BENCH e2e <platform>-text daemons=N in_flight=K latency_ms=L jobs=J jobs_per_s=.. calls_per_publish=..
//         ceiling_jobs_per_s=.. ratio=.. target_ratio=0.85 succeeded=.. posts=.. peer=none ..
// No peer (BullMQ, Sidekiq) publishes to these platforms, so there is no peer figure.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/bench_support.hpp"

namespace {

using schedulo::bench::json;
namespace b = schedulo::bench;
using Clock = std::chrono::steady_clock;

constexpr const char* kProgram = "e2e_bench";

struct Options : b::RunPaths {
  std::string platform = "x";
  long jobs = 0;
  double seconds = 10;
  int daemons = 2;
  int in_flight = 100;
  int accounts = 0;
  int latency_ms = 50;
  std::string log_level = "info";
};

[[noreturn]] void die(const std::string& why) {
  b::die(kProgram, why);
}

// utime + stime of a process, in seconds.
double cpu_s(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');
  if (close == std::string::npos) return 0;
  std::istringstream rest(text.substr(close + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; rest >> field; ++i) {
    if (i == 14 || i == 15) ticks += std::stod(field);
    if (i == 15) break;
  }
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// How long a process's threads were ready to run but waited for a CPU (/proc/PID/task/*/schedstat),
// in seconds: on a shared machine, the time other work took from each hop of a job.
double run_delay_s(pid_t pid) {
  double total_ns = 0;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream f(task.path() / "schedstat");
    double on_cpu = 0;
    double waited = 0;
    if (f >> on_cpu >> waited) total_ns += waited;
  }
  return total_ns / 1e9;
}

// What a platform needs: its keys in the daemon's config (written to `config_file`), its limits
// lifted, `accounts` accounts with tokens; returns the route that creates its posts.
std::string setup_platform(const Options& o, const b::Sandbox& s, const std::string& config_file, json& config,
                           int accounts) {
  json platform;
  std::vector<std::string> limit_rules;
  std::string create_route;
  if (o.platform == "x") {
    create_route = "x.tweets.create";
    platform = {{"base_url", s.base + "/x"},
                {"auth_url", s.base + "/x/i/oauth2/authorize"},
                {"upload_url", s.base + "/x"},
                {"client_id", "sbx-x-client-id"},
                {"client_secret", "sbx-x-client-secret"}};
    limit_rules = {"x:account:tweets_create=1000000/1s+1000000", "x:app:tweets_create=1000000/1s+1000000"};
    b::http_json(s.port, "POST", "/_sandbox/x/limits",
                 {{"route", "x.tweets.create"}, {"user_15min", 0}, {"app_15min", 0}, {"user_24h", 0}, {"app_24h", 0}});
  } else if (o.platform == "facebook") {
    create_route = "facebook.feed_create";
    platform = {{"base_url", s.base + "/graph/v25.0"},
                {"auth_url", s.base + "/facebook/v25.0/dialog/oauth"},
                {"upload_url", s.base + "/graph-video/v25.0"},
                {"client_id", "sbx-meta-client-id"},
                {"client_secret", "sbx-meta-client-secret"}};
    // Graph's usage headers would slow the daemon from 75 % of 20,000 calls an hour on.
    b::http_json(s.port, "POST", "/_sandbox/graph/limits",
                 {{"app_calls_per_hour", 1000000000},
                  {"user_calls_per_hour", 1000000000},
                  {"page_user_calls_per_hour", 1000000000},
                  {"pages_buc_calls_per_day", 1000000000}});
  } else {
    die("unknown platform " + o.platform + " (x or facebook)");
  }
  config["platforms"] = {{o.platform, platform}};
  config["limits"] = {{"rules", limit_rules}};
  std::ofstream(config_file, std::ios::trunc) << config.dump(2);
  for (int i = 0; i < accounts; ++i) {
    const std::string name = "e2e" + std::to_string(i);
    json tokens;
    if (o.platform == "x") {
      tokens = b::http_json(s.port, "POST", "/_sandbox/x/users", {{"username", name}})["tokens"];
    } else {
      const auto user = b::http_json(s.port, "POST", "/_sandbox/graph/facebook/users",
                                     {{"name", name}, {"pages", json::array({{{"name", name + " page"}}})}});
      tokens = {{"access_token", user["pages"][0]["access_token"]}, {"scope", "pages_manage_posts,read_insights"}};
    }
    if (!tokens.is_object() || !tokens.contains("access_token")) die("no tokens for account " + name);
    b::add_account(o.daemon, config_file, o.platform + ":" + name, tokens);
  }
  return create_route;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  b::parse_options(kProgram, argc, argv, o, [&](const std::string& k, const std::string& v) {
    if (k == "--platform")
      o.platform = v;
    else if (k == "--jobs")
      o.jobs = std::stol(v);
    else if (k == "--seconds")
      o.seconds = std::stod(v);
    else if (k == "--daemons")
      o.daemons = std::stoi(v);
    else if (k == "--in-flight")
      o.in_flight = std::stoi(v);
    else if (k == "--accounts")
      o.accounts = std::stoi(v);
    else if (k == "--latency-ms")
      o.latency_ms = std::stoi(v);
    else if (k == "--log-level")
      o.log_level = v;
    else
      return false;
    return true;
  });
  if (o.daemons < 1 || o.in_flight < o.daemons) die("--in-flight must be at least --daemons");
  const int accounts = o.accounts > 0 ? o.accounts : o.in_flight;
  const double latency_s = o.latency_ms / 1000.0;
  if (o.jobs <= 0) o.jobs = std::lround(o.in_flight / latency_s * o.seconds);
  const std::string prefix = "e2e" + o.platform + std::to_string(::getpid());

  const auto sandbox = b::start_sandbox(o.sandbox, o.dir + "/sandbox.log");
  const std::string key_file = o.dir + "/vault.keys";
  b::write_vault_key(o.daemon, key_file);
  // K in flight between N daemons: the first ones take the remainder.
  json config = {{"redis", {{"url", o.url}, {"prefix", prefix}}},
                 {"workers", {{"mode", "live"}}},
                 {"vault", {{"key_file", key_file}}},
                 {"security", {{"allow_private_hosts", {"127.0.0.0/8", "localhost"}}}},
                 {"log", {{"level", o.log_level}}}};
  const std::string config_file = o.dir + "/config.json";
  const auto create_route = setup_platform(o, sandbox, config_file, config, accounts);

  {
    std::ofstream jobs(o.dir + "/jobs.ndjson");
    for (long i = 0; i < o.jobs; ++i) {
      const json job = {{"id", "e2e-" + std::to_string(i)},
                        {"type", "publish"},
                        {"platform", o.platform},
                        {"account", "e2e" + std::to_string(i % accounts)},
                        {"post", {{"text", "end-to-end post " + std::to_string(i)}}}};
      jobs << job.dump() << "\n";
    }
  }
  int rc = 0;
  b::run("'" + o.daemon + "' enqueue --config '" + config_file + "' - < '" + o.dir + "/jobs.ndjson' > /dev/null", &rc);
  if (rc != 0) die("enqueue failed");

  b::http_json(sandbox.port, "DELETE", "/_sandbox/log");
  // Every request the sandbox serves from here on is a platform call (no Airtable, no media).
  b::http_json(sandbox.port, "POST", "/_sandbox/faults", {{"kind", "latency"}, {"ms", o.latency_ms}});
  std::vector<pid_t> daemons;
  for (int d = 0; d < o.daemons; ++d) {
    config["workers"]["id"] = prefix + "-d" + std::to_string(d);
    const int slots = o.in_flight / o.daemons + (d < o.in_flight % o.daemons ? 1 : 0);
    config["workers"]["concurrency"] = slots;
    config["workers"]["per_platform"] = slots;  // one platform here: all of them (default 32)
    const std::string path = o.dir + "/daemon" + std::to_string(d) + ".json";
    std::ofstream(path) << config.dump(2);
    daemons.push_back(b::spawn({o.daemon, "run", "--config", path}, o.dir + "/daemon" + std::to_string(d) + ".log"));
  }
  const double sandbox_cpu0 = cpu_s(sandbox.pid);
  const double sandbox_wait0 = run_delay_s(sandbox.pid);

  // The request log keeps the last 10,000 entries: read it as it grows.
  std::map<std::string, long> calls_by_route;
  long calls = 0;
  std::int64_t first_at = 0;
  std::int64_t last_at = 0;
  std::uint64_t since = 0;
  auto drain_log = [&] {
    const auto entries =
        b::http_json(sandbox.port, "GET", "/_sandbox/log?since=" + std::to_string(since) + "&limit=1000000")["entries"];
    for (const auto& e : entries) {
      since = std::max<std::uint64_t>(since, e.value("seq", std::uint64_t{0}));
      const auto at = e.value("at_ms", std::int64_t{0});
      if (first_at == 0 || at < first_at) first_at = at;
      last_at = std::max(last_at, at);
      ++calls;
      ++calls_by_route[e.value("route", "?")];
    }
  };
  const auto start = Clock::now();
  const auto limit = std::chrono::duration<double>(o.seconds * 10 + 120);
  long succeeded = 0;
  long failed = 0;
  while (Clock::now() - start < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
    for (std::size_t d = 0; d < daemons.size(); ++d)
      if (b::exited(daemons[d])) {
        for (const auto pid : daemons) b::stop(pid);
        b::stop(sandbox.pid);
        die("daemon " + std::to_string(d) + " ended early; see " + o.dir + "/daemon" + std::to_string(d) + ".log");
      }
    drain_log();
    const auto stats =
        json::parse(b::run("'" + o.daemon + "' stats --config '" + config_file + "' 2>/dev/null"), nullptr, false);
    if (!stats.is_object()) continue;
    const auto& done = stats["finished_total"];
    succeeded = done.value("succeeded", 0L);
    failed = done.value("failed", 0L) + done.value("dead", 0L) + done.value("needs_review", 0L);
    if (succeeded + failed >= o.jobs) break;
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  const std::string load = b::machine_load();
  double daemon_cpu = 0;
  double daemon_wait = 0;
  for (const auto pid : daemons) {
    daemon_cpu += cpu_s(pid);
    daemon_wait += run_delay_s(pid);
  }
  const double sandbox_cpu = cpu_s(sandbox.pid) - sandbox_cpu0;
  const double sandbox_wait = run_delay_s(sandbox.pid) - sandbox_wait0;
  for (const auto pid : daemons) b::stop(pid);
  drain_log();
  const long posts = calls_by_route.count(create_route) ? calls_by_route[create_route] : 0;
  b::stop(sandbox.pid);

  const double span_s = static_cast<double>(last_at - first_at) / 1000.0 + latency_s;
  const double jobs_per_s = succeeded > 0 && span_s > 0 ? static_cast<double>(succeeded) / span_s : 0;
  const double calls_per_publish = succeeded > 0 ? static_cast<double>(calls) / static_cast<double>(succeeded) : 0;
  const double ceiling = calls_per_publish > 0 ? o.in_flight / (calls_per_publish * latency_s) : 0;
  std::string routes;
  for (const auto& [route, n] : calls_by_route) routes += (routes.empty() ? "" : ",") + route + ":" + std::to_string(n);
  char line[1280];
  std::snprintf(line, sizeof line,
                "BENCH e2e %s-text daemons=%d in_flight=%d accounts=%d latency_ms=%d jobs=%ld jobs_per_s=%.0f "
                "calls_per_publish=%.3f ceiling_jobs_per_s=%.0f ratio=%.3f target_ratio=0.85 succeeded=%ld "
                "failed=%ld posts_created=%ld calls=%s daemon_cpu_us_per_job=%.0f sandbox_cpu_us_per_job=%.0f "
                "daemon_cpu_wait_us_per_job=%.0f sandbox_cpu_wait_us_per_job=%.0f "
                "wall_s=%.1f %s peer=none",
                o.platform.c_str(), o.daemons, o.in_flight, accounts, o.latency_ms, o.jobs, jobs_per_s,
                calls_per_publish, ceiling, ceiling > 0 ? jobs_per_s / ceiling : 0, succeeded, failed, posts,
                routes.c_str(), succeeded > 0 ? daemon_cpu * 1e6 / static_cast<double>(succeeded) : 0,
                succeeded > 0 ? sandbox_cpu * 1e6 / static_cast<double>(succeeded) : 0,
                succeeded > 0 ? daemon_wait * 1e6 / static_cast<double>(succeeded) : 0,
                succeeded > 0 ? sandbox_wait * 1e6 / static_cast<double>(succeeded) : 0, wall_s, load.c_str());
  std::cout << line << std::endl;
  return succeeded == o.jobs ? 0 : 1;
}
