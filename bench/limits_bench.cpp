// The fleet's rate limiter under load (scripts/bench limits): several daemon processes
// (schedulo-limiter-client, each with `callers` coroutines asking for more than the budget) share one
// bucket and call a local HTTP server (tests/support's, in this process), which timestamps every
// request it receives. Printed as BENCH lines:
//   budget_share  mean requests per complete period window (aligned to the first request) over the
//                 limit: how much of the budget the fleet used (target >= 0.95)
//   sliding_max   the most requests inside any window of one period, aligned to nothing
//   over          requests that arrived while the trailing period already held limit + burst
//                 (target 0)
//
//   limits_bench --redis URL --client PATH [--daemons 3] [--callers 10] [--seconds 60] [--limit 50]
//                [--period-ms 1000] [--burst 0] [--margin-ms 20]
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/rfc3339.hpp"
#include "tests/support/http_server.hpp"

extern char** environ;

using namespace schedulo;
using Clock = std::chrono::steady_clock;

namespace {

pid_t spawn(const std::vector<std::string>& args, const std::string& out_file) {
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, out_file.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  pid_t pid = -1;
  if (posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), environ) != 0) pid = -1;
  posix_spawn_file_actions_destroy(&actions);
  return pid;
}

long figure(const std::string& text, const std::string& key) {
  const auto p = text.find(" " + key + "=");
  return p == std::string::npos ? -1 : std::atol(text.c_str() + p + key.size() + 2);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"the fleet's rate limiter: several daemons sharing one bucket"};
  std::string redis_url, client_bin;
  int daemons = 3, callers = 10;
  long long seconds = 60, limit = 50, period_ms = 1000, burst = 0, margin_ms = 20;
  app.add_option("--redis", redis_url)->required();
  app.add_option("--client", client_bin)->required();
  app.add_option("--daemons", daemons);
  app.add_option("--callers", callers);
  app.add_option("--seconds", seconds);
  app.add_option("--limit", limit);
  app.add_option("--period-ms", period_ms);
  app.add_option("--burst", burst);
  app.add_option("--margin-ms", margin_ms);
  CLI11_PARSE(app, argc, argv);

  std::mutex mutex;
  std::vector<double> arrivals;  // ms since origin, as the server saw them
  const auto origin = Clock::now();
  test::HttpTestServer server([&](const test::ServerRequest&) {
    const double at = std::chrono::duration<double, std::milli>(Clock::now() - origin).count();
    {
      std::lock_guard lock(mutex);
      arrivals.push_back(at);
    }
    test::ServerReply reply;
    reply.body = "ok";
    return reply;
  });
  test::TempDir dir;
  const std::string prefix = "limits-bench-" + std::to_string(::getpid());
  const auto start_at = now_epoch_ms() + 1000;
  std::vector<pid_t> pids;
  std::vector<std::string> outs;
  for (int i = 0; i < daemons; ++i) {
    outs.push_back(dir.file("daemon" + std::to_string(i) + ".out"));
    pids.push_back(spawn({client_bin,
                          "--redis",
                          redis_url,
                          "--prefix",
                          prefix,
                          "--url",
                          server.url("/call"),
                          "--limit",
                          std::to_string(limit),
                          "--period-ms",
                          std::to_string(period_ms),
                          "--burst",
                          std::to_string(burst),
                          "--margin-ms",
                          std::to_string(margin_ms),
                          "--callers",
                          std::to_string(callers),
                          "--duration-ms",
                          std::to_string(seconds * 1000),
                          "--max-wait-ms",
                          "2000",
                          "--start-at-ms",
                          std::to_string(start_at)},
                         outs.back()));
    if (pids.back() <= 0) {
      std::fprintf(stderr, "could not start %s\n", client_bin.c_str());
      return 1;
    }
  }
  std::string per_daemon;
  long failed = 0;
  for (int i = 0; i < daemons; ++i) {
    int status = 0;
    ::waitpid(pids[static_cast<std::size_t>(i)], &status, 0);
    std::ifstream in(outs[static_cast<std::size_t>(i)]);
    std::stringstream text;
    text << in.rdbuf();
    per_daemon += (per_daemon.empty() ? "" : ",") + std::to_string(figure(text.str(), "ok"));
    failed += std::max(0L, figure(text.str(), "failed")) + std::max(0L, figure(text.str(), "redis_errors"));
  }

  std::lock_guard lock(mutex);
  std::sort(arrivals.begin(), arrivals.end());
  if (arrivals.size() < 2) {
    std::fprintf(stderr, "no requests arrived\n");
    return 1;
  }
  const double period = static_cast<double>(period_ms);
  const auto allowed = static_cast<std::size_t>(limit + burst);
  std::size_t sliding = 0, over = 0;
  for (std::size_t i = 0, j = 0; i < arrivals.size(); ++i) {
    while (arrivals[i] - arrivals[j] >= period) ++j;
    const std::size_t in_window = i - j + 1;
    sliding = std::max(sliding, in_window);
    if (in_window > allowed) ++over;
  }
  // Mean per complete window aligned to the first request (the last, partial one left out), as the
  // peers' limiter benchmark computes it.
  const double t0 = arrivals.front();
  const auto windows = static_cast<std::size_t>((arrivals.back() - t0) / period);
  std::vector<std::size_t> per_window(windows + 1, 0);
  for (double t : arrivals) ++per_window[static_cast<std::size_t>((t - t0) / period)];
  double full = 0;
  for (std::size_t w = 0; w < windows; ++w) full += static_cast<double>(per_window[w]);
  const double rate = windows > 0 ? full / static_cast<double>(windows) : 0;
  const std::size_t grid_max =
      windows > 0 ? *std::max_element(per_window.begin(), per_window.begin() + static_cast<long>(windows)) : 0;
  std::printf(
      "BENCH limits shared-bucket daemons=%d callers=%d limit=%lld/%lldms burst=%lld margin_ms=%lld seconds=%lld "
      "requests=%zu budget_share=%.4f rate_per_period=%.2f sliding_max=%zu over=%zu grid_max=%zu failed=%ld "
      "per_daemon=%s\n",
      daemons, callers, limit, period_ms, burst, margin_ms, seconds, arrivals.size(), rate / static_cast<double>(limit),
      rate, sliding, over, grid_max, failed, per_daemon.c_str());
  return 0;
}
