// The Airtable write-back benchmark (issue 7), run by `scripts/bench airtable`: N publish outcomes
// drained from one outbox by D daemons (`schedulo run`, workers.mode noop) into the sandbox's Airtable
// emulator at its real limits (5 requests/s per base, 429 and a 30 s block past them).
//
//   airtable_bench --url REDIS_URL --daemon BIN --sandbox BIN --dir D [--outcomes 10000]
//                  [--daemons 2] [--rps 3]
//
// N no-op publish jobs are enqueued first (without their intake rows: the figure is the outcomes'),
// then the daemons start; each job's success appends its Posts row to the outbox. The bench polls
// the emulator until the Posts table holds N rows, then reads its request log. Prints:
//   BENCH airtable drain outcomes=N daemons=D rps=R records_per_s=.. target_records_per_s=R*10
//         ratio=.. calls=.. calls_target=.. rows_per_write=.. rate_limited=.. wall_s=..
// records_per_s runs from the first write's answer to the last one's (the emulator's clock); calls
// counts every request the base received (writes, the account sweep and cache misses); rate_limited
// counts 429 answers (target 0).
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "bench/bench_support.hpp"

#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace {

using json = nlohmann::json;
using Clock = std::chrono::steady_clock;

struct Options : schedulo::bench::RunPaths {
  long outcomes = 10000;
  int daemons = 2;
  double rps = 3;
};

[[noreturn]] void die(const std::string& why) {
  schedulo::bench::die("airtable_bench", why);
}

using schedulo::bench::http_json;
using schedulo::bench::spawn;
using schedulo::bench::stop;

}  // namespace

int main(int argc, char** argv) {
  Options o;
  schedulo::bench::parse_options("airtable_bench", argc, argv, o, [&](const std::string& k, const std::string& v) {
    if (k == "--outcomes")
      o.outcomes = std::stol(v);
    else if (k == "--daemons")
      o.daemons = std::stoi(v);
    else if (k == "--rps")
      o.rps = std::stod(v);
    else
      return false;
    return true;
  });
  const std::string prefix = "atbench" + std::to_string(::getpid());

  // The sandbox on a port it picks, its clock the wall clock, Airtable's real limits.
  const auto started = schedulo::bench::start_sandbox(o.sandbox, o.dir + "/sandbox.log");
  const pid_t sandbox = started.pid;
  const auto port = started.port;
  http_json(port, "POST", "/_sandbox/airtable/limits", {{"base_rps", 5}, {"token_rps", 50}});

  std::string printed;
  {
    FILE* p = ::popen((o.sandbox + " --listen 127.0.0.1:" + std::to_string(port) + " --print-config").c_str(), "r");
    char buf[4096];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) printed.append(buf, n);
    ::pclose(p);
  }
  json config = json::parse(printed, nullptr, false);
  if (!config.is_object()) die("no config from --print-config");
  config["redis"] = {{"url", o.url}, {"prefix", prefix}};
  config["airtable"]["requests_per_second"] = o.rps;
  config["airtable"]["account_sweep_interval_s"] = 3600;
  config["airtable"]["analytics_followups"] = json::array();  // the outcomes only
  config["airtable"]["writeback"] = false;                    // enqueue without intake rows
  const std::string enqueue_config = o.dir + "/enqueue.json";
  std::ofstream(enqueue_config) << config.dump(2);
  config["airtable"]["writeback"] = true;
  config["workers"] = {{"mode", "noop"}};

  // The jobs, through the CLI in one call (validated, enqueued in one script).
  {
    std::string jobs;
    for (long i = 0; i < o.outcomes; ++i)
      jobs += R"({"id":"ab-)" + std::to_string(i) +
              R"(","type":"publish","platform":"x","account":"demo-x","post":{"text":"bench )" + std::to_string(i) +
              "\"}}\n";
    const std::string jobs_file = o.dir + "/jobs.ndjson";
    std::ofstream(jobs_file) << jobs;
    const std::string cmd =
        "'" + o.daemon + "' enqueue --config '" + enqueue_config + "' - < '" + jobs_file + "' > /dev/null";
    if (std::system(cmd.c_str()) != 0) die("enqueue failed");
  }

  std::vector<pid_t> daemons;
  const auto start = Clock::now();
  for (int d = 0; d < o.daemons; ++d) {
    config["workers"]["id"] = prefix + "-d" + std::to_string(d);
    const std::string path = o.dir + "/daemon" + std::to_string(d) + ".json";
    std::ofstream(path) << config.dump(2);
    daemons.push_back(spawn({o.daemon, "run", "--config", path}, o.dir + "/daemon" + std::to_string(d) + ".log"));
  }
  // Twice the time the configured rate needs, plus a minute: a slower run is a failure, not a wait.
  const auto limit = std::chrono::seconds(static_cast<long>(static_cast<double>(o.outcomes) / (o.rps * 10) * 2) + 60);
  long rows = 0;
  while (Clock::now() - start < limit) {
    const auto summary = http_json(port, "GET", "/_sandbox/airtable");
    rows = summary["bases"][0]["tables"].value("Posts", 0L);
    if (rows >= o.outcomes) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  const double wall_s = std::chrono::duration<double>(Clock::now() - start).count();
  for (const auto pid : daemons) stop(pid);
  if (rows < o.outcomes) std::cerr << "airtable_bench: only " << rows << " of " << o.outcomes << " rows in time\n";

  const auto log = http_json(port, "GET", "/_sandbox/log?api=airtable&limit=1000000")["entries"];
  long calls = 0, writes = 0, rate_limited = 0, written = 0;
  std::int64_t first = 0, last = 0;
  for (const auto& e : log) {
    ++calls;
    if (e.value("status", 0) == 429) ++rate_limited;
    if (e.value("route", "") == "airtable.update" && e.value("status", 0) == 200) {
      ++writes;
      written += static_cast<long>(e["body"].value("records", json::array()).size());
      const auto at = e.value("at_ms", std::int64_t{0});
      if (first == 0) first = at;
      last = at;
    }
  }
  stop(sandbox);
  // The first write's records count from its own arrival: (N - first batch) over the span.
  const double span_s = static_cast<double>(last - first) / 1000.0;
  const double first_batch = writes > 0 ? static_cast<double>(written) / static_cast<double>(writes) : 0;
  const double per_s = span_s > 0 ? (static_cast<double>(written) - first_batch) / span_s : 0;
  const double target = o.rps * 10;
  char line_out[512];
  std::snprintf(
      line_out, sizeof line_out,
      "BENCH airtable drain outcomes=%ld daemons=%d rps=%g records_per_s=%.2f target_records_per_s=%.0f "
      "ratio=%.3f calls=%ld calls_target=%ld writes=%ld rows_per_write=%.2f rate_limited=%ld rows=%ld wall_s=%.1f",
      o.outcomes, o.daemons, o.rps, per_s, target, per_s / target, calls, o.outcomes / 10 + 10, writes,
      writes > 0 ? static_cast<double>(written) / static_cast<double>(writes) : 0.0, rate_limited, rows, wall_s);
  std::cout << line_out << std::endl;
  return rows >= o.outcomes ? 0 : 1;
}
