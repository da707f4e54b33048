// The queue engine's benchmarks (issue 3), run by `scripts/bench queue`. Each mode runs once, drives a
// real `schedulo run` (workers.mode noop) against the given Redis and prints one `RUN queue <case>
// key=value ...` line per figure; scripts/bench runs the modes several times beside BullMQ and
// prints the medians as BENCH lines. Every mode FLUSHALLs the server first: use a private one.
//
//   queue_bench drain   --url U --daemon BIN --dir D --jobs 100000 --concurrency 50
//                       [--type fetch_analytics|publish] [--profile] [--call-url URL]
//       Fills the ready queues with --jobs no-op jobs through queue::Store::enqueue (batches of 1000),
//       then starts the daemon and times its READY=1 (sent on a NOTIFY_SOCKET, as to systemd, once
//       it is connected and about to lease) -> the last job succeeded (the bench reads
//       <prefix>:total:succeeded every millisecond): the window BullMQ's drain-worker.js times, from
//       a ready worker's run() to the last completion. startup_ms is spawn -> READY=1, apart. Redis CPU from INFO cpu,
//       daemon peak RSS from /proc/PID/status VmHWM read just before SIGTERM, daemon CPU from wait4(). --profile
//       instead logs every command with SLOWLOG (threshold 0) and prints Redis time per script.
//       --call-url (issue 16, `scripts/bench calls`): each job makes one HTTP GET to URL through the
//       daemon's HTTP client (workers.noop_call_url, loopback allowed); the line is `RUN queue calls`.
//   queue_bench idle    --url U --daemon BIN --dir D [--jobs 2000 --interval-ms 5]
//                       [--sched-jobs 500 --sched-interval-ms 10 --ahead-ms 200-500]
//                       [--sparse-jobs 40 --sparse-interval-ms 300]
//       The daemon's RSS once idle; enqueue->start latency of jobs LPUSHed to the inbox one at a time;
//       lateness of jobs whose run_at is --ahead-ms in the future, pushed densely (every 10 ms) and
//       sparsely (every 300 ms, nothing else from the bench meanwhile). The start of a job is its lease:
//       the lease script's HINCRBY of `attempts`, seen by the bench as a keyspace notification (µs, the
//       bench's own clock), and also the job's `started_at` field (ms, the daemon's clock before the
//       lease call; whole ms, so it reads up to 1 ms early).
//   queue_bench crash   --url U --daemon BIN --dir D [--jobs 20000 --kills 5 --concurrency 50
//                       --delay-ms 5]
//       The peers' crash test (common/crash-controller.js) for our daemon: kill k fires when the
//       succeeded count reaches N * (0.05 + 0.85 * (k + U) / K); each kill is SIGSTOP, a read of the
//       lease set, SIGKILL, and a restart at once with the same workers.id. The figures come from the
//       job records: lost (not succeeded), run more than once (attempts > 1), re-runs outside the
//       lease sets read, and the time a killed job stayed stuck (kill -> started_at of its re-run).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "jobs/job.hpp"
#include "queue/lua_sources.hpp"
#include "queue/redis/client.hpp"
#include "queue/scripts.hpp"
#include "queue/store.hpp"

using namespace schedulo;
using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

constexpr std::array<std::string_view, 4> kPlatforms{"instagram", "facebook", "tiktok", "x"};

// ---- options --------------------------------------------------------------------------------------
struct Options {
  std::string mode;
  std::string url = "redis://127.0.0.1:6379/0";
  std::string prefix = "qbench";
  std::string daemon = "build/bin/schedulo";
  std::string dir = "/tmp";
  std::string type = "fetch_analytics";
  std::string worker_id = "queue-bench";
  int jobs = -1;
  int concurrency = 50;
  int accounts = 4000;
  int interval_ms = 5;
  int sched_jobs = 500;
  int sched_interval_ms = 10;
  int sparse_jobs = 40;
  int sparse_interval_ms = 300;
  int ahead_min_ms = 200, ahead_max_ms = 500;
  int kills = 5;
  int delay_ms = 5;
  bool profile = false;
  int max_wait_s = 300;
  std::string call_url;  // workers.noop_call_url
};

// Daemons this process started and has not reaped: die() kills them, so a failed run never leaves
// one consuming the next run's jobs.
std::set<pid_t> g_children;

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "queue_bench: %s\n", what.c_str());
  for (const pid_t pid : g_children) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
  std::exit(1);
}

double now_wall_us() {
  return static_cast<double>(
      std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch()).count());
}
double since_us(SteadyClock::time_point t0) {
  return std::chrono::duration<double, std::micro>(SteadyClock::now() - t0).count();
}

// The peer's percentile (bench/peers bullmq/lib.js pct): the ceil(p% * n)-th smallest value.
double pct(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  const auto n = static_cast<double>(sorted.size());
  auto i = static_cast<long>(std::ceil(p / 100.0 * n)) - 1;
  i = std::clamp<long>(i, 0, static_cast<long>(sorted.size()) - 1);
  return sorted[static_cast<std::size_t>(i)];
}

// ---- a plain synchronous Redis connection (hiredis) for the bench's own reads and writes ---------
using ReplyPtr = std::unique_ptr<redisReply, void (*)(void*)>;

class Sync {
 public:
  Sync(const redis::RedisUrl& url) {
    const auto& ep = url.endpoints.at(0);
    ctx_ = redisConnect(ep.host.c_str(), ep.port);
    if (!ctx_ || ctx_->err) die("cannot connect to Redis at " + ep.host + ":" + std::to_string(ep.port));
    if (url.db != 0) cmd({"SELECT", std::to_string(url.db)});
  }
  ~Sync() { redisFree(ctx_); }
  Sync(const Sync&) = delete;
  Sync& operator=(const Sync&) = delete;

  ReplyPtr cmd(const std::vector<std::string>& args) {
    append(args);
    return get();
  }
  void append(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lens;
    for (const auto& a : args) {
      argv.push_back(a.data());
      lens.push_back(a.size());
    }
    redisAppendCommandArgv(ctx_, static_cast<int>(args.size()), argv.data(), lens.data());
  }
  ReplyPtr get() {
    void* r = nullptr;
    if (redisGetReply(ctx_, &r) != REDIS_OK || !r) die(std::string("redis: ") + ctx_->errstr);
    return ReplyPtr(static_cast<redisReply*>(r), freeReplyObject);
  }
  long long integer(const std::vector<std::string>& args) {
    auto r = cmd(args);
    if (r->type == REDIS_REPLY_INTEGER) return r->integer;
    if (r->type == REDIS_REPLY_STRING) return std::atoll(r->str);
    return 0;
  }
  std::string text(const std::vector<std::string>& args) {
    auto r = cmd(args);
    if (r->type == REDIS_REPLY_STRING || r->type == REDIS_REPLY_STATUS)
      return std::string(r->str, r->len);
    if (r->type == REDIS_REPLY_ERROR) die(std::string("redis error: ") + r->str);
    return {};
  }

 private:
  redisContext* ctx_ = nullptr;
};

double redis_cpu_s(Sync& r) {
  const auto info = r.text({"INFO", "cpu"});
  auto field = [&](const std::string& k) {
    const auto at = info.find(k + ":");
    return at == std::string::npos ? 0.0 : std::atof(info.c_str() + at + k.size() + 1);
  };
  return field("used_cpu_user") + field("used_cpu_sys");
}

// cmdstat_<name>: calls and usec
std::map<std::string, std::pair<long long, long long>> command_stats(Sync& r) {
  std::map<std::string, std::pair<long long, long long>> out;
  std::istringstream in(r.text({"INFO", "commandstats"}));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("cmdstat_", 0) != 0) continue;
    const auto colon = line.find(':');
    const std::string name = line.substr(8, colon - 8);
    long long calls = 0, usec = 0;
    std::sscanf(line.c_str() + colon + 1, "calls=%lld,usec=%lld", &calls, &usec);
    out[name] = {calls, usec};
  }
  return out;
}

// An empty server for each run; the append-only file is rewritten (emptied) so that the run's own
// writes never trigger an automatic rewrite in the middle of a measurement.
void fresh_server(Sync& r) {
  // Anything else connected (a daemon left over from elsewhere) would take this run's jobs.
  for (int i = 0;; ++i) {
    const auto list = r.text({"CLIENT", "LIST"});
    if (std::count(list.begin(), list.end(), '\n') <= 1) break;
    if (i == 100) die("other clients are connected to this Redis (a daemon still running?):\n" + list);
    std::this_thread::sleep_for(milliseconds(50));
  }
  r.cmd({"FLUSHALL"});
  // No automatic rewrite in the middle of a measurement (a 100 000-job fill alone writes ~64 MB, the
  // default threshold); the file is rewritten (emptied) here instead, before each run.
  r.cmd({"CONFIG", "SET", "auto-aof-rewrite-percentage", "0"});
  r.cmd({"BGREWRITEAOF"});
  for (int i = 0; i < 600; ++i) {
    const auto info = r.text({"INFO", "persistence"});
    if (info.find("aof_rewrite_in_progress:0") != std::string::npos &&
        info.find("aof_rewrite_scheduled:0") != std::string::npos)
      break;
    std::this_thread::sleep_for(milliseconds(20));
  }
}

// ---- the daemon under test ------------------------------------------------------------------------
std::string write_config(const Options& o, const std::string& name, int concurrency, int delay_ms) {
  nlohmann::json workers = {{"mode", "noop"}, {"concurrency", concurrency}, {"per_platform", concurrency},
                            {"id", o.worker_id}};
  if (delay_ms > 0) workers["noop_delay_ms"] = delay_ms;
  nlohmann::json config = {{"redis", {{"url", o.url}, {"prefix", o.prefix}}},
                           {"workers", workers},
                           {"log", {{"level", "info"}}}};
  if (!o.call_url.empty()) {
    config["workers"]["noop_call_url"] = o.call_url;
    config["security"] = {{"allow_private_hosts", nlohmann::json::array({"127.0.0.1", "::1"})}};
  }
  std::string path = o.dir + "/" + name + ".json";
  std::ofstream(path) << config.dump(2) << "\n";
  return path;
}

class Daemon {
 public:
  Daemon(std::string bin, std::string config, std::string log) : bin_(std::move(bin)), config_(std::move(config)), log_(std::move(log)) {}
  ~Daemon() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
      g_children.erase(pid_);
    }
  }
  // With `notify_dir`, the daemon gets a NOTIFY_SOCKET there (as under systemd) and wait_ready()
  // can see its READY=1.
  void start(const std::string& notify_dir = "") {
    if (!notify_dir.empty()) listen_for_ready(notify_dir + "/notify.sock");
    pid_ = ::fork();
    if (pid_ < 0) die("fork failed");
    if (pid_ == 0) {
      if (!notify_path_.empty()) ::setenv("NOTIFY_SOCKET", notify_path_.c_str(), 1);
      const int fd = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      if (fd >= 0) {
        ::dup2(fd, 1);
        ::dup2(fd, 2);
      }
      ::execl(bin_.c_str(), bin_.c_str(), "run", "--config", config_.c_str(), static_cast<char*>(nullptr));
      std::_Exit(127);
    }
    g_children.insert(pid_);
  }
  pid_t pid() const { return pid_; }
  bool alive() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      std::fprintf(stderr, "queue_bench: the daemon exited (%s %d); its log: %s\n",
                   WIFSIGNALED(status) ? "signal" : "status", WIFSIGNALED(status) ? WTERMSIG(status) : WEXITSTATUS(status),
                   log_.c_str());
      g_children.erase(pid_);
      pid_ = -1;
      return false;
    }
    return true;
  }
  // /proc/PID/status field in KiB (VmRSS, VmHWM)
  long status_kib(const std::string& field) const {
    std::ifstream in("/proc/" + std::to_string(pid_) + "/status");
    for (std::string line; std::getline(in, line);)
      if (line.rfind(field + ":", 0) == 0) return std::atol(line.c_str() + field.size() + 1);
    return 0;
  }
  void signal(int sig) const { ::kill(pid_, sig); }
  // Sends sig, waits for the exit; returns the CPU seconds the process used.
  double stop(int sig) {
    if (pid_ <= 0) return 0;
    ::kill(pid_, sig);
    int status = 0;
    rusage ru{};
    ::wait4(pid_, &status, 0, &ru);
    g_children.erase(pid_);
    pid_ = -1;
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
  }
  // Blocks until the daemon sends READY=1 (it is connected and about to lease: the moment BullMQ's
  // drain-worker.js starts its clock, after waitUntilReady). False on timeout or when it died.
  bool wait_ready(std::chrono::seconds timeout) {
    const auto end = SteadyClock::now() + timeout;
    char buf[4096];
    while (SteadyClock::now() < end) {
      pollfd p{notify_fd_, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) {
        if (!alive()) return false;
        continue;
      }
      const auto got = ::recv(notify_fd_, buf, sizeof buf - 1, 0);
      if (got <= 0) continue;
      const std::string message(buf, static_cast<std::size_t>(got));
      for (std::size_t at = 0; at != std::string::npos;) {
        const auto nl = message.find('\n', at);
        if (message.substr(at, nl == std::string::npos ? nl : nl - at) == "READY=1") return true;
        at = nl == std::string::npos ? nl : nl + 1;
      }
    }
    return false;
  }

 private:
  void listen_for_ready(const std::string& path) {
    sockaddr_un addr{};
    if (path.size() >= sizeof addr.sun_path) die("notify socket path too long: " + path);
    ::unlink(path.c_str());
    notify_fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.data(), path.size());
    if (notify_fd_ < 0 || ::bind(notify_fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
      die("cannot listen on " + path);
    notify_path_ = path;
  }

  std::string bin_, config_, log_;
  pid_t pid_ = -1;
  int notify_fd_ = -1;
  std::string notify_path_;
};

// ---- filling the queue through the production enqueue script -------------------------------------
queue::NewJob make_job(const Options& o, const std::string& id, int i, const std::string& type) {
  jobs::Job job;
  job.id = id;
  job.platform = *jobs::platform_from_string(kPlatforms[static_cast<std::size_t>(i) % kPlatforms.size()]);
  job.account = "acct-" + std::to_string(i % o.accounts);
  job.type = *jobs::job_type_from_string(type);
  if (job.type == jobs::JobType::publish) {
    jobs::Post post;
    post.text = "queue bench";
    post.media.push_back({"https://cdn.example.com/bench.jpg", jobs::MediaKind::image, ""});
    job.post = post;
  }
  return jobs::to_new_job(std::move(job), 5);
}

// Returns the enqueue rate (jobs/s).
double fill(const Options& o, const redis::RedisUrl& url, int n, const std::string& id_prefix, const std::string& type) {
  boost::asio::io_context io(1);
  redis::ClientOptions options;
  options.url = url;
  options.command_timeout = std::chrono::seconds(60);
  redis::Client client(io.get_executor(), options);
  queue::Store store(client, queue::Keys(o.prefix), queue::QueueSettings{});
  client.start();
  double rate = 0;
  boost::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    constexpr int kBatch = 1000;
    const auto t0 = SteadyClock::now();
    for (int i = 0; i < n; i += kBatch) {
      std::vector<queue::NewJob> batch;
      for (int j = i; j < std::min(n, i + kBatch); ++j) batch.push_back(make_job(o, id_prefix + std::to_string(j), j, type));
      auto r = co_await store.enqueue(batch, now_epoch_ms());
      if (!r) die("enqueue failed: " + r.error().message());
    }
    rate = n / (since_us(t0) / 1e6);
    client.stop();
  }, boost::asio::detached);
  io.run();
  return rate;
}

std::string inbox_entry(const std::string& id, int i, std::int64_t run_at_ms) {
  nlohmann::json j = {{"id", id}, {"type", "fetch_analytics"}, {"platform", std::string(kPlatforms[static_cast<std::size_t>(i) % 4])},
                      {"account", "acct-" + std::to_string(i % 100)}};
  if (run_at_ms > 0) j["run_at"] = format_rfc3339_ms(run_at_ms);
  return j.dump();
}

// Waits until the counter reaches `target`; returns false on timeout or when the daemon died.
bool wait_succeeded(Sync& r, Daemon& d, const std::string& key, long long target, int timeout_s,
                    SteadyClock::time_point* first_seen = nullptr) {
  const auto end = SteadyClock::now() + std::chrono::seconds(timeout_s);
  bool first = false;
  while (SteadyClock::now() < end) {
    const long long v = r.integer({"GET", key});
    if (!first && v > 0 && first_seen) {
      *first_seen = SteadyClock::now();
      first = true;
    }
    if (v >= target) return true;
    if (!d.alive()) return false;
    std::this_thread::sleep_for(milliseconds(1));
  }
  return false;
}

// ---- drain --------------------------------------------------------------------------------------
std::map<std::string, std::string> sha_names() {
  std::map<std::string, std::string> m;
  for (const auto& s : queue::lua_sources()) m[queue::script(s.name).sha1()] = std::string(s.name);
  return m;
}

int mode_drain(const Options& o, const redis::RedisUrl& url) {
  const int n = o.jobs > 0 ? o.jobs : 100000;
  Sync r(url);
  fresh_server(r);
  const double enqueue_rate = fill(o, url, n, "d", o.type);
  const std::string succeeded = queue::Keys(o.prefix).total("succeeded");
  const auto config = write_config(o, "drain-c" + std::to_string(o.concurrency), o.concurrency, 0);
  Daemon d(o.daemon, config, o.dir + "/daemon-drain.log");

  if (o.profile) {
    r.cmd({"CONFIG", "SET", "slowlog-log-slower-than", "0"});
    r.cmd({"CONFIG", "SET", "slowlog-max-len", "1000000"});
    r.cmd({"SLOWLOG", "RESET"});
  }
  r.cmd({"CONFIG", "RESETSTAT"});
  const double cpu0 = redis_cpu_s(r);
  const auto spawned = SteadyClock::now();
  d.start(o.dir);
  if (!d.wait_ready(std::chrono::seconds(30)))
    die("drain: the daemon never said READY=1; see " + o.dir + "/daemon-drain.log");
  // The window opens when the daemon is ready, as BullMQ's does: start-up is its own figure.
  const auto t0 = SteadyClock::now();
  SteadyClock::time_point first = t0;
  const bool done = wait_succeeded(r, d, succeeded, n, o.max_wait_s, &first);
  const double secs = since_us(t0) / 1e6;
  const double redis_cpu = redis_cpu_s(r) - cpu0;
  const auto stats = command_stats(r);
  const long hwm_kib = d.status_kib("VmHWM");
  const double daemon_cpu = d.stop(SIGTERM);
  if (!done) die("drain: the daemon did not finish " + std::to_string(n) + " jobs; see " + o.dir + "/daemon-drain.log");

  // commandstats counts the commands a script runs as well, each with its own time: the script's
  // time minus theirs is the Lua interpreter's own share.
  long long script_calls = 0, script_usec = 0, inner_calls = 0, inner_usec = 0;
  const auto bench_command = [](const std::string& name) {
    return name == "get" || name == "info" || name.rfind("config", 0) == 0 || name == "slowlog" || name == "client|list" ||
           name == "ping" || name == "blmove";  // the bench's polls and the daemon's own start/idle commands
  };
  for (const auto& [name, cu] : stats) {
    if (name == "evalsha" || name == "eval") {
      script_calls += cu.first;
      script_usec += cu.second;
    } else if (!bench_command(name)) {
      inner_calls += cu.first;
      inner_usec += cu.second;
    }
  }
  const std::string label = !o.call_url.empty() ? "calls" : o.type == "publish" ? "drain-publish" : "drain";

  if (o.profile) {
    r.cmd({"CONFIG", "SET", "slowlog-log-slower-than", "10000"});
    auto log = r.cmd({"SLOWLOG", "GET", "-1"});
    r.cmd({"CONFIG", "SET", "slowlog-max-len", "128"});
    r.cmd({"SLOWLOG", "RESET"});
    const auto names = sha_names();
    struct Agg { long long calls = 0, usec = 0, argv = 0; };
    std::map<std::string, Agg> by;
    for (std::size_t i = 0; i < log->elements; ++i) {
      const redisReply* e = log->element[i];
      if (e->elements < 4) continue;
      const long long usec = e->element[2]->integer;
      const redisReply* args = e->element[3];
      if (args->elements == 0) continue;
      std::string cmd(args->element[0]->str, args->element[0]->len);
      std::transform(cmd.begin(), cmd.end(), cmd.begin(), ::tolower);
      long long argc = static_cast<long long>(args->elements);
      const redisReply* last = args->element[args->elements - 1];
      long long more = 0;
      if (std::sscanf(last->str, "... (%lld more arguments)", &more) == 1) argc = argc - 1 + more;
      std::string key = cmd;
      if (cmd == "evalsha" && args->elements > 1) {
        const std::string sha(args->element[1]->str, args->element[1]->len);
        key = names.count(sha) ? names.at(sha) : "evalsha:" + sha.substr(0, 8);
      } else if (cmd == "eval") {
        key = "eval(first load)";
      }
      auto& a = by[key];
      ++a.calls;
      a.usec += usec;
      a.argv += std::max(0LL, argc - 3);
    }
    std::set<std::string> script_names{"eval(first load)"};
    for (const auto& entry : names) script_names.insert(entry.second);
    for (const auto& [name, a] : by) {
      // Only the scripts: the commands inside them are reported from commandstats below (the slow
      // log logs them too, and its own bookkeeping inflates every figure a little).
      if (!script_names.count(name) && name.rfind("evalsha:", 0) != 0) continue;
      std::string per_call;
      // ARGV layout (queue/lua): settle = 5 + 9 per job, lease = 7 + 2 per platform (asks for ARGV[7] jobs)
      if (name == "settle") {
        char b[64];
        std::snprintf(b, sizeof b, " jobs_per_call=%.1f", static_cast<double>(a.argv - 5 * a.calls) / 9.0 / static_cast<double>(a.calls));
        per_call = b;
      }
      std::printf("RUN queue %s-profile c=%d script=%s calls=%lld calls_per_job=%.4f us_per_call=%.1f us_per_job=%.2f%s\n",
                  label.c_str(), o.concurrency, name.c_str(), a.calls, static_cast<double>(a.calls) / n,
                  static_cast<double>(a.usec) / static_cast<double>(a.calls), static_cast<double>(a.usec) / n,
                  per_call.c_str());
    }
  }

  if (o.profile) {
    for (const auto& [name, cu] : stats) {
      if (name == "evalsha" || name == "eval" || bench_command(name)) continue;
      std::printf("RUN queue %s-profile c=%d in_scripts=%s calls_per_job=%.3f us_per_call=%.2f us_per_job=%.2f\n",
                  label.c_str(), o.concurrency, name.c_str(), static_cast<double>(cu.first) / n,
                  static_cast<double>(cu.second) / static_cast<double>(std::max(1LL, cu.first)),
                  static_cast<double>(cu.second) / n);
    }
  }
  const double dn = n;
  std::printf(
      "RUN queue %s c=%d jobs=%d jobs_per_s=%.0f secs=%.3f startup_ms=%.1f first_success_ms=%.1f "
      "redis_cpu_us_per_job=%.2f "
      "daemon_peak_rss_mib=%.1f daemon_cpu_us_per_job=%.2f script_calls_per_job=%.4f script_us_per_job=%.2f "
      "script_commands_per_job=%.2f script_commands_us_per_job=%.2f lua_us_per_job=%.2f enqueue_jobs_per_s=%.0f%s\n",
      label.c_str(), o.concurrency, n, dn / secs, secs, std::chrono::duration<double, std::milli>(t0 - spawned).count(),
      std::chrono::duration<double, std::milli>(first - t0).count(), redis_cpu * 1e6 / dn,
      static_cast<double>(hwm_kib) / 1024.0, daemon_cpu * 1e6 / dn, static_cast<double>(script_calls) / dn,
      static_cast<double>(script_usec) / dn, static_cast<double>(inner_calls) / dn,
      static_cast<double>(inner_usec) / dn, static_cast<double>(script_usec - inner_usec) / dn, enqueue_rate,
      o.profile ? " profiled=1" : "");
  std::fflush(stdout);
  return 0;
}

// ---- idle: RSS, enqueue->start latency, lateness of scheduled jobs ----------------------------------
struct Seen {
  double mono_us = 0;  // since the bench's t0
  double wall_us = 0;
};

// Records the first HINCRBY of each job hash (the lease script's `attempts` + 1): the moment a job
// starts, in the bench's own clock.
class StartWatcher {
 public:
  StartWatcher(const redis::RedisUrl& url, const std::string& prefix, SteadyClock::time_point t0)
      : url_(url), prefix_(prefix), t0_(t0), r_(url) {
    pattern_ = "__keyspace@" + std::to_string(url.db) + "__:" + prefix + ":job:";
    auto reply = r_.cmd({"PSUBSCRIBE", pattern_ + "*"});
    thread_ = std::thread([this] { loop(); });
  }
  ~StartWatcher() { stop(); }
  void stop() {
    if (!thread_.joinable()) return;
    Sync pub(url_);
    pub.cmd({"PUBLISH", pattern_ + "__stop__", "stop"});
    thread_.join();
  }
  std::unordered_map<std::string, Seen> seen() {
    std::lock_guard lock(mutex_);
    return seen_;
  }

 private:
  void loop() {
    for (;;) {
      auto m = r_.get();
      const double mono = since_us(t0_), wall = now_wall_us();
      if (m->type != REDIS_REPLY_ARRAY || m->elements != 4) continue;
      const std::string channel(m->element[2]->str, m->element[2]->len);
      const std::string event(m->element[3]->str, m->element[3]->len);
      const std::string id = channel.substr(pattern_.size());
      if (id == "__stop__") return;
      if (event != "hincrby") continue;
      std::lock_guard lock(mutex_);
      seen_.try_emplace(id, Seen{mono, wall});
    }
  }
  redis::RedisUrl url_;
  std::string prefix_, pattern_;
  SteadyClock::time_point t0_;
  Sync r_;
  std::thread thread_;
  std::mutex mutex_;
  std::unordered_map<std::string, Seen> seen_;
};

void print_dist(const char* label, const std::string& params, std::vector<double> fine, std::vector<double> coarse,
                const std::string& extra) {
  std::sort(fine.begin(), fine.end());
  std::sort(coarse.begin(), coarse.end());
  std::printf("RUN queue %s %s p50_ms=%.3f p90_ms=%.3f p99_ms=%.3f max_ms=%.3f started_at_p50_ms=%.3f "
              "started_at_p99_ms=%.3f started_at_max_ms=%.3f%s\n",
              label, params.c_str(), pct(fine, 50), pct(fine, 90), pct(fine, 99), fine.empty() ? NAN : fine.back(),
              pct(coarse, 50), pct(coarse, 99), coarse.empty() ? NAN : coarse.back(), extra.c_str());
}

int mode_idle(const Options& o, const redis::RedisUrl& url) {
  const int n = o.jobs > 0 ? o.jobs : 2000;
  const int m = o.sched_jobs;
  Sync r(url);
  fresh_server(r);
  const queue::Keys keys(o.prefix);
  const auto config = write_config(o, "idle", o.concurrency, 0);
  Daemon d(o.daemon, config, o.dir + "/daemon-idle.log");
  d.start();
  // Idle = its blocking connection waits on the inbox.
  bool idle = false;
  for (int i = 0; i < 1000 && !idle; ++i) {
    idle = r.text({"CLIENT", "LIST"}).find("cmd=blmove") != std::string::npos;
    if (!idle) std::this_thread::sleep_for(milliseconds(10));
  }
  if (!idle || !d.alive()) die("idle: the daemon never went idle; see " + o.dir + "/daemon-idle.log");
  std::this_thread::sleep_for(milliseconds(1000));
  const long idle_rss = d.status_kib("VmRSS"), idle_hwm = d.status_kib("VmHWM");
  std::printf("RUN queue rss idle_mib=%.1f idle_peak_mib=%.1f\n", idle_rss / 1024.0, idle_hwm / 1024.0);

  r.cmd({"CONFIG", "SET", "notify-keyspace-events", "Kh"});
  const auto t0 = SteadyClock::now();
  StartWatcher watcher(url, o.prefix, t0);

  // Latency: one job every interval, like bench/peers bullmq/latency.js.
  std::vector<double> enq_mono(n), enq_wall(n), lpush_ms;
  const auto start = SteadyClock::now();
  for (int i = 0; i < n; ++i) {
    std::this_thread::sleep_until(start + milliseconds(static_cast<long>(i) * o.interval_ms));
    const std::string body = inbox_entry("lat-" + std::to_string(i), i, 0);
    enq_wall[i] = now_wall_us();
    enq_mono[i] = since_us(t0);
    r.cmd({"LPUSH", keys.inbox(), body});
    lpush_ms.push_back((since_us(t0) - enq_mono[i]) / 1000.0);
  }
  // A job that has not started 3 s after the last push is counted as not started (not waited for).
  wait_succeeded(r, d, keys.total("succeeded"), n, 3);
  if (!d.alive()) die("idle: the daemon exited; see " + o.dir + "/daemon-idle.log");
  const double latency_window_end = since_us(t0);

  // Lateness: run_at a few hundred ms ahead, one job every sched interval (dense: the pushes keep
  // Redis busy), then a few jobs far apart with no other traffic from the bench until they are due
  // (sparse: an idle Redis notices a blocked client's timeout only at its `hz` ticks).
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> ahead(o.ahead_min_ms, o.ahead_max_ms);
  const int ms = o.sparse_jobs;
  std::vector<std::int64_t> run_at(m + ms);
  const auto start2 = SteadyClock::now();
  for (int i = 0; i < m; ++i) {
    std::this_thread::sleep_until(start2 + milliseconds(static_cast<long>(i) * o.sched_interval_ms));
    run_at[i] = now_epoch_ms() + ahead(rng);
    r.cmd({"LPUSH", keys.inbox(), inbox_entry("late-" + std::to_string(i), i, run_at[i])});
  }
  wait_succeeded(r, d, keys.total("succeeded"), n + m, 3 + (o.ahead_max_ms + 999) / 1000);
  if (!d.alive()) die("idle: the daemon exited; see " + o.dir + "/daemon-idle.log");
  const auto start3 = SteadyClock::now();
  for (int i = m; i < m + ms; ++i) {
    std::this_thread::sleep_until(start3 + milliseconds(static_cast<long>(i - m) * o.sparse_interval_ms));
    run_at[i] = now_epoch_ms() + ahead(rng);
    r.cmd({"LPUSH", keys.inbox(), inbox_entry("late-" + std::to_string(i), i, run_at[i])});
  }
  std::this_thread::sleep_for(milliseconds(o.ahead_max_ms + 500));
  wait_succeeded(r, d, keys.total("succeeded"), n + m + ms, 3);
  if (!d.alive()) die("idle: the daemon exited; see " + o.dir + "/daemon-idle.log");
  watcher.stop();
  r.cmd({"CONFIG", "SET", "notify-keyspace-events", ""});
  const auto seen = watcher.seen();

  auto started_at = [&](const std::string& prefix, int count) {
    for (int i = 0; i < count; ++i) r.append({"HGET", keys.job(prefix + std::to_string(i)), "started_at"});
    std::vector<double> out;
    for (int i = 0; i < count; ++i) {
      auto v = r.get();
      out.push_back(v->type == REDIS_REPLY_STRING ? std::atof(v->str) : NAN);
    }
    return out;
  };
  const auto lat_started = started_at("lat-", n);
  const auto late_started = started_at("late-", m + ms);
  const long after_rss = d.status_kib("VmRSS");
  d.stop(SIGTERM);

  std::vector<double> fine, coarse;
  int missed = 0;
  for (int i = 0; i < n; ++i) {
    const auto it = seen.find("lat-" + std::to_string(i));
    if (it == seen.end() || it->second.mono_us > latency_window_end) ++missed;
    else fine.push_back((it->second.mono_us - enq_mono[i]) / 1000.0);
    if (!std::isnan(lat_started[i])) coarse.push_back(lat_started[i] - enq_wall[i] / 1000.0);
  }
  std::sort(lpush_ms.begin(), lpush_ms.end());
  char extra[160];
  std::snprintf(extra, sizeof extra, " lpush_p50_ms=%.3f not_started=%d", pct(lpush_ms, 50), missed);
  print_dist("latency", "jobs=" + std::to_string(n) + " interval_ms=" + std::to_string(o.interval_ms), fine, coarse, extra);

  auto lateness = [&](const char* label, int from, int to, int interval_ms) {
    std::vector<double> late_fine, late_coarse;
    int early = 0, not_started = 0;
    for (int i = from; i < to; ++i) {
      const auto it = seen.find("late-" + std::to_string(i));
      if (it == seen.end()) ++not_started;
      else late_fine.push_back(it->second.wall_us / 1000.0 - static_cast<double>(run_at[i]));
      if (!std::isnan(late_started[i])) {
        late_coarse.push_back(late_started[i] - static_cast<double>(run_at[i]));
        if (late_started[i] < static_cast<double>(run_at[i])) ++early;
      }
    }
    char more[80];
    std::snprintf(more, sizeof more, " early=%d not_started=%d", early, not_started);
    print_dist(label,
               "jobs=" + std::to_string(to - from) + " interval_ms=" + std::to_string(interval_ms) +
                   " ahead_ms=" + std::to_string(o.ahead_min_ms) + "-" + std::to_string(o.ahead_max_ms),
               late_fine, late_coarse, more);
  };
  lateness("lateness", 0, m, o.sched_interval_ms);
  if (ms > 0) lateness("lateness-sparse", m, m + ms, o.sparse_interval_ms);
  std::printf("RUN queue rss-after-idle-runs rss_mib=%.1f\n", after_rss / 1024.0);
  std::fflush(stdout);
  return 0;
}

// ---- crash ----------------------------------------------------------------------------------------
int mode_crash(const Options& o, const redis::RedisUrl& url) {
  const int n = o.jobs > 0 ? o.jobs : 20000;
  Sync r(url);
  fresh_server(r);
  const queue::Keys keys(o.prefix);
  fill(o, url, n, "c", "fetch_analytics");
  const auto config = write_config(o, "crash", o.concurrency, o.delay_ms);
  const std::string log = o.dir + "/daemon-crash.log";
  auto progress = [&] { return r.integer({"GET", keys.total("succeeded")}); };
  auto pending = [&] {
    long long p = r.integer({"ZCARD", keys.scheduled()}) + r.integer({"ZCARD", keys.leases()}) +
                  r.integer({"LLEN", keys.inbox()});
    for (const auto& pl : kPlatforms) p += r.integer({"LLEN", keys.ready(pl)});
    return p;
  };

  std::mt19937 rng(std::random_device{}());
  std::uniform_real_distribution<double> u(0.0, 1.0);
  struct Kill { double wall_ms, at_s; long long done; std::size_t leases; double gap_ms; };
  std::vector<Kill> kills;
  std::set<std::string> lease_sets;
  const auto t0 = SteadyClock::now();
  auto d = std::make_unique<Daemon>(o.daemon, config, log);
  d->start();
  long long at_spawn = 0;
  for (int k = 0; k < o.kills; ++k) {
    const auto threshold = static_cast<long long>(n * (0.05 + 0.85 * (k + u(rng)) / o.kills));
    for (;;) {
      const long long done = progress();
      if (done >= threshold && done > at_spawn) break;  // the kill hits a daemon that has started work
      if (!d->alive()) die("crash: the daemon exited by itself; see " + log);
      if (since_us(t0) > o.max_wait_s * 1e6) die("crash: no progress");
      std::this_thread::sleep_for(milliseconds(1));
    }
    d->signal(SIGSTOP);
    std::this_thread::sleep_for(milliseconds(5));  // commands it had already written reach Redis
    auto held = r.cmd({"ZRANGE", keys.leases(), "0", "-1"});
    for (std::size_t i = 0; i < held->elements; ++i) lease_sets.emplace(held->element[i]->str, held->element[i]->len);
    Kill kill{now_wall_us() / 1000.0, since_us(t0) / 1e6, 0, held->elements, 0};
    const auto killed_at = SteadyClock::now();
    d->stop(SIGKILL);
    kill.done = progress();
    d = std::make_unique<Daemon>(o.daemon, config, log);
    d->start();
    kill.gap_ms = since_us(killed_at) / 1000.0;
    at_spawn = progress();
    kills.push_back(kill);
  }
  // Let the last daemon finish: every job succeeded, or nothing pending and no progress for 3 s.
  std::string end = "all_succeeded";
  long long last = -1;
  auto last_change = SteadyClock::now();
  double last_done_s = 0;
  for (;;) {
    const long long done = progress();
    if (done != last) {
      last = done;
      last_change = SteadyClock::now();
      last_done_s = since_us(t0) / 1e6;
    }
    if (done >= n) break;
    if (SteadyClock::now() - last_change > std::chrono::seconds(3) && pending() == 0) {
      end = "queue_empty_no_progress";
      break;
    }
    if (since_us(t0) > o.max_wait_s * 1e6) {
      end = "max_wait";
      break;
    }
    if (!d->alive()) {
      end = "daemon_exited";
      break;
    }
    std::this_thread::sleep_for(milliseconds(1));
  }
  d->stop(SIGTERM);

  // The job records.
  for (int i = 0; i < n; ++i) r.append({"HMGET", keys.job("c" + std::to_string(i)), "state", "attempts", "started_at"});
  struct Rec { std::string state; int attempts = 0; double started_at = 0; };
  std::vector<Rec> recs(n);
  for (int i = 0; i < n; ++i) {
    auto v = r.get();
    if (v->type != REDIS_REPLY_ARRAY || v->elements != 3) continue;
    if (v->element[0]->type == REDIS_REPLY_STRING) recs[i].state = v->element[0]->str;
    if (v->element[1]->type == REDIS_REPLY_STRING) recs[i].attempts = std::atoi(v->element[1]->str);
    if (v->element[2]->type == REDIS_REPLY_STRING) recs[i].started_at = std::atof(v->element[2]->str);
  }
  int lost = 0, reruns = 0, outside = 0, at_restart = 0, by_reaper = 0, reclaimed_jobs = 0;
  std::map<std::string, int> not_succeeded;
  std::vector<double> stuck, reclaim_delay;
  for (int i = 0; i < n; ++i) {
    const std::string id = "c" + std::to_string(i);
    if (recs[i].state != "succeeded") {
      ++lost;
      ++not_succeeded[recs[i].state.empty() ? "missing" : recs[i].state];
    }
    if (recs[i].attempts > 1) {
      ++reruns;
      if (!lease_sets.count(id)) ++outside;
    }
    auto entries = r.cmd({"LRANGE", keys.attempt_log(id), "0", "-1"});
    double last_reclaim = -1;
    for (std::size_t e = 0; e < entries->elements; ++e) {
      const auto j = nlohmann::json::parse(std::string(entries->element[e]->str, entries->element[e]->len), nullptr, false);
      if (!j.is_object() || j.value("outcome", "") != "reclaimed") continue;
      const std::string why = j.value("error", "");
      if (why.find("restarted") != std::string::npos) ++at_restart;
      else ++by_reaper;
      last_reclaim = j.value("at", 0.0);
    }
    if (last_reclaim < 0) continue;
    ++reclaimed_jobs;
    // The kill that ended the attempt: the last one before the reclaim (+1: whole ms).
    const Kill* kill = nullptr;
    for (const auto& k : kills)
      if (k.wall_ms <= last_reclaim + 1) kill = &k;
    if (!kill) continue;
    reclaim_delay.push_back((last_reclaim - kill->wall_ms) / 1000.0);
    if (recs[i].started_at > 0) stuck.push_back((recs[i].started_at - kill->wall_ms) / 1000.0);
  }
  std::sort(stuck.begin(), stuck.end());
  std::sort(reclaim_delay.begin(), reclaim_delay.end());
  std::size_t in_flight = 0;
  double gaps = 0;
  std::string kill_at;
  for (const auto& k : kills) {
    in_flight += k.leases;
    gaps += k.gap_ms;
    char b[32];
    std::snprintf(b, sizeof b, "%s%.2f", kill_at.empty() ? "" : ",", k.at_s);
    kill_at += b;
  }
  std::string states;
  for (const auto& [s, c] : not_succeeded) states += " lost_" + s + "=" + std::to_string(c);
  std::printf(
      "RUN queue crash jobs=%d kills=%zu c=%d job_ms=%d lost=%d rerun_jobs=%d rerun_outside_lease_sets=%d "
      "in_flight_at_kills=%zu reclaimed_jobs=%d reclaimed_at_restart=%d reclaimed_by_reaper=%d stuck_max_s=%.3f "
      "stuck_median_s=%.3f reclaim_after_kill_max_s=%.3f restart_gap_ms=%.1f wall_s=%.3f kill_at_s=%s end=%s%s\n",
      n, kills.size(), o.concurrency, o.delay_ms, lost, reruns, outside, in_flight, reclaimed_jobs, at_restart, by_reaper,
      stuck.empty() ? 0.0 : stuck.back(), stuck.empty() ? 0.0 : stuck[(stuck.size() - 1) / 2],
      reclaim_delay.empty() ? 0.0 : reclaim_delay.back(), kills.empty() ? 0.0 : gaps / static_cast<double>(kills.size()),
      last_done_s, kill_at.c_str(), end.c_str(), states.c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (argc < 2) die("usage: queue_bench drain|idle|crash --url URL --daemon BIN --dir DIR [options]");
  o.mode = argv[1];
  for (int i = 2; i < argc; ++i) {
    const std::string k = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) die(k + " needs a value");
      return argv[++i];
    };
    if (k == "--url") o.url = next();
    else if (k == "--prefix") o.prefix = next();
    else if (k == "--daemon") o.daemon = next();
    else if (k == "--dir") o.dir = next();
    else if (k == "--type") o.type = next();
    else if (k == "--jobs") o.jobs = std::stoi(next());
    else if (k == "--concurrency") o.concurrency = std::stoi(next());
    else if (k == "--accounts") o.accounts = std::stoi(next());
    else if (k == "--interval-ms") o.interval_ms = std::stoi(next());
    else if (k == "--sched-jobs") o.sched_jobs = std::stoi(next());
    else if (k == "--sched-interval-ms") o.sched_interval_ms = std::stoi(next());
    else if (k == "--sparse-jobs") o.sparse_jobs = std::stoi(next());
    else if (k == "--sparse-interval-ms") o.sparse_interval_ms = std::stoi(next());
    else if (k == "--ahead-ms") {
      const auto v = next();
      o.ahead_min_ms = std::stoi(v);
      o.ahead_max_ms = v.find('-') == std::string::npos ? o.ahead_min_ms : std::stoi(v.substr(v.find('-') + 1));
    } else if (k == "--kills") o.kills = std::stoi(next());
    else if (k == "--delay-ms") o.delay_ms = std::stoi(next());
    else if (k == "--max-wait") o.max_wait_s = std::stoi(next());
    else if (k == "--profile") o.profile = true;
    else if (k == "--call-url") o.call_url = next();
    else die("unknown option " + k);
  }
  log::init(log::Format::text, spdlog::level::warn);
  std::string error;
  const auto url = redis::parse_redis_url(o.url, error);
  if (!url || url->mode != redis::RedisUrl::Mode::direct) die("--url: " + (error.empty() ? "redis:// only" : error));
  ::signal(SIGPIPE, SIG_IGN);
  if (o.mode == "drain") return mode_drain(o, *url);
  if (o.mode == "idle") return mode_idle(o, *url);
  if (o.mode == "crash") return mode_crash(o, *url);
  die("unknown mode " + o.mode);
}
