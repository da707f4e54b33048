// Crash tests of the queue engine (label `crash`), against the real `schedulo run` binary
// (SCHEDULO_BIN) in noop mode and private redis-server processes: the daemon SIGSTOPped, read and
// SIGKILLed, then restarted; Redis SIGKILLed under load; two daemons on one queue; SIGTERM with jobs
// in flight. Every assertion is about what Redis records (states, attempts, attempt logs, sets and
// counts), never about timings; every wait polls a condition read from Redis and fails the test at
// an overall limit instead of hanging. Timings worth knowing are printed ("CRASH ..." lines) and
// recorded as test properties.
#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "jobs/job_validation.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "queue/store.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"

#ifndef SCHEDULO_BIN
#error "SCHEDULO_BIN (the path of the schedulo binary) must be defined"
#endif

extern char** environ;

namespace schedulo::crash {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using json = nlohmann::json;

long long ms_since(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - t).count();
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The environment of a child: ours without SCHEDULO_* variables, so a configuration override set
// for the test run (SCHEDULO_REDIS__URL, ...) cannot point a test daemon elsewhere.
std::vector<std::string> child_environment() {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e)
    if (std::string_view(*e).substr(0, 9) != "SCHEDULO_") env.emplace_back(*e);
  return env;
}

// Spawns argv with stdin from `in` and stdout+stderr appended to `out`.
pid_t spawn(const std::vector<std::string>& args, const std::string& in, const std::string& out) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_adddup2(&actions, 1, 2);
  std::vector<std::string> arg_copy = args, env = child_environment();
  std::vector<char*> argv, envp;
  for (auto& a : arg_copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  for (auto& e : env) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t pid = -1;
  const int rc = posix_spawn(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw std::runtime_error("cannot spawn " + args[0] + ": " + std::strerror(rc));
  return pid;
}

int exit_code(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

// Polls for the end of a child until `limit`: its exit status, or nullopt when it still runs.
std::optional<int> wait_child(pid_t pid, Clock::duration limit) {
  const auto end = Clock::now() + limit;
  for (;;) {
    int status = 0;
    if (::waitpid(pid, &status, WNOHANG) == pid) return exit_code(status);
    if (Clock::now() >= end) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
}

// `schedulo run --config FILE` as a child process; its log (stderr) appends to one file across
// restarts.
class Daemon {
 public:
  Daemon(std::string name, std::string config, std::string log)
      : name_(std::move(name)), config_(std::move(config)), log_(std::move(log)) {}
  ~Daemon() { kill9(); }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;

  const std::string& name() const { return name_; }
  void set_config(std::string config) { config_ = std::move(config); }

  void start() {
    if (pid_ > 0) throw std::logic_error(name_ + " is already running");
    std::ofstream(log_, std::ios::app) << "---- test: start " << name_ << " with " << config_ << "\n";
    pid_ = spawn({SCHEDULO_BIN, "run", "--config", config_}, "/dev/null", log_);
    exit_.reset();
  }
  // SIGSTOP; returns once the process is stopped (it answers nothing and writes nothing after).
  void freeze() {
    ::kill(pid_, SIGSTOP);
    int status = 0;
    if (::waitpid(pid_, &status, WUNTRACED) != pid_ || !WIFSTOPPED(status)) {
      exit_ = exit_code(status);
      pid_ = -1;
      throw std::runtime_error(name_ + " exited instead of stopping");
    }
  }
  void thaw() { ::kill(pid_, SIGCONT); }
  void kill9() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    exit_ = exit_code(status);
    pid_ = -1;
  }
  void terminate() { ::kill(pid_, SIGTERM); }
  // False once the process ended (its exit status is then in exit_status()).
  bool running() {
    if (pid_ <= 0) return false;
    int status = 0;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      exit_ = exit_code(status);
      pid_ = -1;
      return false;
    }
    return true;
  }
  // True once, when a started process ended by itself (not through kill9()).
  bool died() { return pid_ > 0 && !running(); }
  // Polls for the end of the process until `limit`; its exit status (128 + signal when a signal
  // ended it), or nullopt when it still runs.
  std::optional<int> wait_exit(Clock::duration limit) {
    const auto end = Clock::now() + limit;
    while (running()) {
      if (Clock::now() >= end) return std::nullopt;
      std::this_thread::sleep_for(10ms);
    }
    return exit_;
  }
  std::optional<int> exit_status() const { return exit_; }
  std::string log() const { return read_file(log_); }
  std::string log_tail(std::size_t bytes = 6000) const {
    auto text = log();
    return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
  }

 private:
  std::string name_, config_, log_;
  pid_t pid_ = -1;
  std::optional<int> exit_;
};

// The jobs of the tests: the four types over the four platforms, 500 accounts (the fleet-wide limit
// of 3 running jobs per account applies), publish jobs with text only (x and facebook allow that).
std::string job_json(const std::string& id, int i) {
  json j{{"id", id}, {"account", "acct" + std::to_string(i % 500)}};
  switch (i % 4) {
    case 0:
      j.update({{"type", "publish"}, {"platform", "x"}, {"post", {{"text", "post " + id}}}});
      break;
    case 1:
      j.update({{"type", "fetch_analytics"}, {"platform", "instagram"}});
      break;
    case 2:
      j.update({{"type", "publish"}, {"platform", "facebook"}, {"post", {{"text", "post " + id}}}});
      break;
    default:
      j.update({{"type", "refresh_token"}, {"platform", "tiktok"}});
      break;
  }
  return j.dump();
}

// job_json() makes publish jobs of the even indexes; ids are a letter and the index.
bool is_publish(const std::string& id) {
  return std::stoi(id.substr(1)) % 2 == 0;
}

std::vector<std::string> make_ids(const std::string& tag, int n) {
  std::vector<std::string> ids;
  ids.reserve(static_cast<std::size_t>(n));
  char buf[32];
  for (int i = 0; i < n; ++i) {
    std::snprintf(buf, sizeof buf, "%06d", i);
    ids.push_back(tag + buf);
  }
  return ids;
}

// What a test reads of one job.
struct JobView {
  std::string state, attempts, reclaimed, checkpoint, lease_owner;
  std::vector<json> log;  // the attempt log, oldest first
  int attempt_count() const { return attempts.empty() ? -1 : std::stoi(attempts); }
  bool logged(const std::string& outcome) const {
    for (const auto& e : log)
      if (e.value("outcome", "") == outcome) return true;
    return false;
  }
};

class CrashTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/schedulo-crash.XXXXXX";
    ASSERT_NE(::mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    // A prefix of this test's own (the config allows 64 characters).
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    prefix_ = "crash:" + std::string(info->name()).substr(0, 40) + ":" + std::to_string(::getpid());
    keys_ = queue::Keys(prefix_);
  }

  void TearDown() override {
    daemons_.clear();  // SIGKILL whatever still runs
    store_.reset();
    if (client_) client_->stop();
    client_.reset();
    std::error_code ec;
    if (HasFailure())
      std::cout << "CRASH logs kept in " << dir_ << "\n";
    else
      std::filesystem::remove_all(dir_, ec);
  }

  // A private redis-server (appendonly yes, its own port and dir) and the test's client to it.
  void start_redis(std::vector<std::string> extra = {}) {
    redis_ = std::make_unique<test::RedisProcess>(std::move(extra));
    redis_->start();
    std::string error;
    auto url = redis::parse_redis_url(redis_->url(), error);
    ASSERT_TRUE(url) << error;
    redis::ClientOptions o;
    o.url = *url;
    o.command_timeout = 20s;
    o.connect_timeout = 1s;
    o.reconnect_max = 100ms;
    o.client_name = "crash-test";
    client_ = std::make_unique<redis::Client>(io_.get_executor(), o);
    client_->start();
    store_ = std::make_unique<queue::Store>(*client_, keys_, queue::QueueSettings{});
  }

  // A daemon config: noop mode, this test's Redis and prefix, `workers` keys merged in.
  std::string write_config(const std::string& name, const json& workers) {
    json config{{"redis", {{"url", redis_->url()}, {"prefix", prefix_}, {"command_timeout_ms", 5000}}},
                {"workers", {{"mode", "noop"}, {"lease_ms", 2000}}},
                {"log", {{"level", "info"}}}};
    config["workers"].update(workers);
    const std::string path = dir_ + "/" + name + ".json";
    std::ofstream(path) << config.dump(2);
    return path;
  }

  Daemon& add_daemon(const std::string& name, const std::string& config) {
    daemons_.push_back(std::make_unique<Daemon>(name, config, dir_ + "/" + name + ".log"));
    return *daemons_.back();
  }

  // ---- Redis, through the test's own client ----
  redis::Value cmd(const redis::Args& args) {
    auto r = test::run_for(io_, client_->exec_args(args), 60s);
    if (!r) throw std::runtime_error(args[0] + ": " + r.error().message());
    if (r->is_error()) throw std::runtime_error(args[0] + ": " + r->str);
    return std::move(*r);
  }
  std::vector<redis::Value> pipeline(const std::vector<redis::Args>& commands) {
    if (commands.empty()) return {};
    auto r = test::run_for(io_, client_->pipeline(commands), 60s);
    if (!r) throw std::runtime_error("pipeline: " + r.error().message());
    return std::move(*r);
  }
  long long succeeded_total() { return cmd({"GET", keys_.total("succeeded")}).as_integer().value_or(0); }
  std::vector<std::string> lease_set() {
    std::vector<std::string> ids;
    for (auto& e : cmd({"ZRANGE", keys_.leases(), "0", "-1"}).elements) ids.push_back(std::move(e.str));
    return ids;
  }
  std::vector<std::string> fields(const std::vector<std::string>& ids, const std::string& field) {
    std::vector<redis::Args> gets;
    for (const auto& id : ids) gets.push_back({"HGET", keys_.job(id), field});
    std::vector<std::string> out;
    for (auto& v : pipeline(gets)) out.push_back(v.is_nil() ? std::string() : std::move(v.str));
    return out;
  }
  bool all_have(const std::vector<std::string>& ids, const std::string& field, const std::string& value) {
    for (const auto& v : fields(ids, field))
      if (v != value) return false;
    return true;
  }
  std::map<std::string, JobView> read_jobs(const std::vector<std::string>& ids) {
    std::vector<redis::Args> commands;
    for (const auto& id : ids) {
      commands.push_back({"HMGET", keys_.job(id), "state", "attempts", "reclaimed", "checkpoint", "lease_owner"});
      commands.push_back({"LRANGE", keys_.attempt_log(id), "0", "-1"});
    }
    auto replies = pipeline(commands);
    std::map<std::string, JobView> out;
    for (std::size_t i = 0; i < ids.size(); ++i) {
      const auto& f = replies[2 * i].elements;
      JobView v;
      std::string* slots[] = {&v.state, &v.attempts, &v.reclaimed, &v.checkpoint, &v.lease_owner};
      for (std::size_t k = 0; k < f.size() && k < 5; ++k)
        if (!f[k].is_nil()) *slots[k] = f[k].str;
      for (const auto& line : replies[2 * i + 1].elements) v.log.push_back(json::parse(line.str, nullptr, false));
      out.emplace(ids[i], std::move(v));
    }
    return out;
  }

  // ---- enqueueing ----
  std::vector<queue::NewJob> new_jobs(const std::vector<std::string>& ids, std::size_t from, std::size_t to) {
    std::vector<queue::NewJob> out;
    for (std::size_t i = from; i < to; ++i) {
      auto parsed = jobs::parse_job(job_json(ids[i], static_cast<int>(i)), jobs::ValidationContext{});
      if (!parsed.job) throw std::runtime_error("test job " + ids[i] + " is not valid: " + parsed.errors.at(0).message);
      out.push_back(jobs::to_new_job(std::move(*parsed.job), 5));
    }
    return out;
  }
  // Through queue::Store::enqueue, 500 a call; every job must be new.
  void enqueue(const std::vector<std::string>& ids, std::size_t from, std::size_t to) {
    for (std::size_t at = from; at < to; at += 500) {
      const auto batch = new_jobs(ids, at, std::min(to, at + 500));
      auto r = test::run_for(io_, store_->enqueue(batch, now_epoch_ms()), 60s);
      ASSERT_TRUE(r) << r.error().message();
      for (std::size_t i = 0; i < r->size(); ++i) ASSERT_EQ((*r)[i], queue::EnqueueResult::created) << batch[i].id;
    }
  }
  // LPUSH of raw job JSON to <prefix>:inbox (what a Bubble bridge does), 500 a command.
  void push_inbox(const std::vector<std::string>& ids, std::size_t from, std::size_t to) {
    for (std::size_t at = from; at < to; at += 500) {
      redis::Args lpush{"LPUSH", keys_.inbox()};
      for (std::size_t i = at; i < std::min(to, at + 500); ++i) lpush.push_back(job_json(ids[i], static_cast<int>(i)));
      cmd(lpush);
    }
  }

  // Polls `done` (a reading of Redis) every 10 ms until it holds. Fails the test, with the daemons'
  // logs, when `limit` passes first or a daemon exited; the time it took otherwise.
  template <typename F>
  std::optional<long long> wait_until(const std::string& what, Clock::duration limit, F done) {
    const auto start = Clock::now();
    for (;;) {
      if (done()) return ms_since(start);
      for (auto& d : daemons_) {
        if (!d->died()) continue;
        ADD_FAILURE() << "waiting for " << what << ": daemon " << d->name() << " exited ("
                      << d->exit_status().value_or(-1) << ")\n"
                      << d->log_tail();
        return std::nullopt;
      }
      if (Clock::now() - start > limit) {
        ADD_FAILURE() << "waiting for " << what << ": not reached within "
                      << std::chrono::duration_cast<std::chrono::seconds>(limit).count() << " s";
        for (auto& d : daemons_) std::cout << "---- log of " << d->name() << ":\n" << d->log_tail() << "\n";
        return std::nullopt;
      }
      std::this_thread::sleep_for(10ms);
    }
  }

  // Stops every daemon with SIGTERM and expects each to exit 0.
  void stop_daemons() {
    for (auto& d : daemons_) d->terminate();
    for (auto& d : daemons_) {
      const auto status = d->wait_exit(60s);
      EXPECT_EQ(status, std::optional<int>(0)) << d->name() << " did not exit 0 after SIGTERM\n" << d->log_tail();
    }
  }

  // The checks every test ends with: nothing leased, no account slot held, nothing left to run.
  void expect_queue_at_rest() {
    EXPECT_EQ(cmd({"ZCARD", keys_.leases()}).integer, 0) << "leases left";
    EXPECT_EQ(cmd({"HLEN", keys_.running_accounts()}).integer, 0) << "account slots left taken";
    EXPECT_EQ(cmd({"ZCARD", keys_.scheduled()}).integer, 0);
    EXPECT_EQ(cmd({"ZCARD", keys_.dead()}).integer, 0) << "dead or needs_review jobs";
    EXPECT_EQ(cmd({"LLEN", keys_.inbox()}).integer, 0);
    for (const char* p : {"instagram", "facebook", "tiktok", "x"})
      EXPECT_EQ(cmd({"LLEN", keys_.ready(p)}).integer, 0) << p;
  }

  boost::asio::io_context io_{1};
  std::string dir_, prefix_;
  queue::Keys keys_{""};
  std::unique_ptr<test::RedisProcess> redis_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<queue::Store> store_;
  std::vector<std::unique_ptr<Daemon>> daemons_;
};

std::string first_of(const std::vector<std::string>& ids, std::size_t n = 10) {
  std::string s;
  for (std::size_t i = 0; i < ids.size() && i < n; ++i) s += (i ? " " : "") + ids[i];
  if (ids.size() > n) s += " ... (" + std::to_string(ids.size()) + ")";
  return s;
}

// 20 000 jobs (12 000 through Store::enqueue before the start, 8 000 pushed to the inbox in chunks
// after each start), one daemon with 200 slots, six cycles of: SIGSTOP, read the lease set, SIGKILL,
// restart with the same workers.id. The reaper is kept out (reaper_grace 1 h) so that only the
// restart's reclaim by workers.id can take a job back.
TEST_F(CrashTest, DaemonKilledSixTimesLosesNoJobAndRerunsOnlyJobsWhoseLeaseItHeld) {
  start_redis();
  constexpr int kJobs = 20000, kDirect = 12000, kCycles = 6;
  const auto ids = make_ids("k", kJobs);
  const auto test_start = Clock::now();
  enqueue(ids, 0, kDirect);
  if (HasFatalFailure()) return;
  const long long enqueue_ms = ms_since(test_start);
  const auto inbox_chunk = [&](int start_no) {
    const std::size_t n = kJobs - kDirect, starts = kCycles + 1;
    push_inbox(ids, kDirect + n * static_cast<std::size_t>(start_no) / starts,
               kDirect + n * static_cast<std::size_t>(start_no + 1) / starts);
  };

  auto& daemon = add_daemon(
      "w1", write_config(
                "w1", {{"id", "crash-w1"}, {"concurrency", 200}, {"per_platform", 100}, {"reaper_grace_ms", 3600000}}));
  daemon.start();
  inbox_chunk(0);

  std::set<std::string> read_union;                  // every lease set read while the daemon was stopped
  std::vector<std::set<std::string>> held_at_death;  // the lease set after each SIGKILL
  for (int cycle = 0; cycle < kCycles; ++cycle) {
    const long long target = static_cast<long long>(cycle + 1) * kJobs / (kCycles + 2);
    ASSERT_TRUE(
        wait_until("succeeded >= " + std::to_string(target), 180s, [&] { return succeeded_total() >= target; }));

    // Stop it while it holds leases (with 200 slots it nearly always does).
    std::vector<std::string> read;
    for (int tries = 0; read.empty(); ++tries) {
      ASSERT_LT(tries, 100) << "the daemon never held a lease when stopped";
      ASSERT_TRUE(wait_until("a lease held", 60s, [&] { return cmd({"ZCARD", keys_.leases()}).integer > 0; }));
      daemon.freeze();
      read = lease_set();
      if (read.empty()) daemon.thaw();
    }
    daemon.kill9();
    const auto after_kill = lease_set();
    read_union.insert(read.begin(), read.end());
    held_at_death.emplace_back(after_kill.begin(), after_kill.end());
    const std::set<std::string> read_set(read.begin(), read.end());
    std::vector<std::string> not_read;
    for (const auto& id : after_kill)
      if (!read_set.count(id)) not_read.push_back(id);
    EXPECT_TRUE(not_read.empty()) << "leases taken after the stop was observed: " << first_of(not_read);

    const auto restarted = Clock::now();
    daemon.start();
    // Taken back (reclaim by workers.id at start), then run to the end before the next cycle, so no
    // job is taken back twice. Timings from the restart are reported, not asserted.
    ASSERT_TRUE(wait_until("the killed jobs taken back", 60s, [&] {
      const auto reclaimed = fields(after_kill, "reclaimed");
      return std::all_of(reclaimed.begin(), reclaimed.end(), [](const std::string& v) { return v == "1"; });
    }));
    const long long back_ms = ms_since(restarted);
    ASSERT_TRUE(
        wait_until("the killed jobs succeeded", 60s, [&] { return all_have(after_kill, "state", "succeeded"); }));
    const long long finished_ms = ms_since(restarted);
    std::cout << "CRASH daemon cycle=" << cycle + 1 << " leases_read=" << read.size()
              << " held_at_death=" << after_kill.size() << " back_after_restart_ms=" << back_ms
              << " finished_after_restart_ms=" << finished_ms << "\n";
    RecordProperty("cycle" + std::to_string(cycle + 1) + "_back_after_restart_ms", std::to_string(back_ms));
    RecordProperty("cycle" + std::to_string(cycle + 1) + "_finished_after_restart_ms", std::to_string(finished_ms));
    inbox_chunk(cycle + 1);
  }

  ASSERT_TRUE(wait_until("all jobs succeeded", 300s, [&] { return succeeded_total() >= kJobs; }));
  const long long drained_ms = ms_since(test_start);
  stop_daemons();

  const auto jobs = read_jobs(ids);
  std::vector<std::string> not_succeeded, never_ran, ran_twice_unread, held_not_reclaimed, ran_thrice;
  std::size_t ran_twice = 0;
  for (const auto& [id, v] : jobs) {
    if (v.state != "succeeded") not_succeeded.push_back(id + "=" + v.state);
    if (v.attempt_count() < 1) never_ran.push_back(id);
    if (v.attempt_count() > 2) ran_thrice.push_back(id);
    if (v.attempt_count() > 1 || v.logged("reclaimed")) {
      ++ran_twice;
      if (!read_union.count(id)) ran_twice_unread.push_back(id);
    }
  }
  for (const auto& held : held_at_death)
    for (const auto& id : held)
      if (!jobs.at(id).logged("reclaimed") || jobs.at(id).attempt_count() != 2) held_not_reclaimed.push_back(id);
  EXPECT_TRUE(not_succeeded.empty()) << "jobs not succeeded: " << first_of(not_succeeded);
  EXPECT_TRUE(never_ran.empty()) << "jobs that never ran: " << first_of(never_ran);
  EXPECT_TRUE(ran_twice_unread.empty()) << "jobs that ran twice but were in no lease set read: "
                                        << first_of(ran_twice_unread);
  EXPECT_TRUE(held_not_reclaimed.empty())
      << "jobs held at a kill without one reclaim and one more attempt: " << first_of(held_not_reclaimed);
  EXPECT_TRUE(ran_thrice.empty()) << "jobs that ran three times or more: " << first_of(ran_thrice);
  EXPECT_GT(ran_twice, 0u) << "no kill caught a job in flight";
  EXPECT_EQ(succeeded_total(), kJobs) << "a job counted as succeeded twice";
  EXPECT_EQ(cmd({"ZCARD", keys_.jobs()}).integer, kJobs);
  expect_queue_at_rest();
  std::cout << "CRASH daemon jobs=" << kJobs << " cycles=" << kCycles << " ran_twice=" << ran_twice
            << " leases_read=" << read_union.size() << " enqueue_ms=" << enqueue_ms << " drained_ms=" << drained_ms
            << " total_ms=" << ms_since(test_start) << "\n";
}

// 10 000 jobs through `schedulo enqueue -`; while one daemon drains them, Redis (appendfsync always)
// is SIGKILLed twice and restarted on the same port and dir. The ids read as succeeded just before a
// kill (acknowledged writes) are still succeeded after it, and in the end every job succeeded once.
TEST_F(CrashTest, RedisKilledUnderLoadKeepsEveryAcknowledgedOutcomeAndLosesNoJob) {
  start_redis({"--appendfsync", "always"});
  constexpr int kJobs = 10000, kKills = 2;
  const auto ids = make_ids("r", kJobs);
  {
    std::ofstream jobs_file(dir_ + "/jobs.txt");
    for (int i = 0; i < kJobs; ++i) jobs_file << job_json(ids[static_cast<std::size_t>(i)], i) << "\n";
  }
  const std::string config = write_config("r1", {{"id", "crash-r1"}, {"concurrency", 100}, {"reaper_grace_ms", 4000}});
  const pid_t enqueue =
      spawn({SCHEDULO_BIN, "enqueue", "--config", config, "-"}, dir_ + "/jobs.txt", dir_ + "/enqueue.out");
  const auto enqueued = wait_child(enqueue, 120s);
  if (!enqueued) {
    ::kill(enqueue, SIGKILL);
    wait_child(enqueue, 10s);
  }
  ASSERT_EQ(enqueued, std::optional<int>(0)) << read_file(dir_ + "/enqueue.out");
  ASSERT_EQ(cmd({"ZCARD", keys_.jobs()}).integer, kJobs);

  auto& daemon = add_daemon("r1", config);
  daemon.start();
  std::set<std::string> acknowledged;
  for (int round = 0; round < kKills; ++round) {
    const long long target = static_cast<long long>(round + 1) * kJobs / (kKills + 1);
    ASSERT_TRUE(
        wait_until("succeeded >= " + std::to_string(target), 180s, [&] { return succeeded_total() >= target; }));
    const auto states = fields(ids, "state");
    std::vector<std::string> seen;
    for (std::size_t i = 0; i < ids.size(); ++i)
      if (states[i] == "succeeded") seen.push_back(ids[i]);
    redis_->kill9();
    redis_->start();  // same port and dir: the AOF is read back
    acknowledged.insert(seen.begin(), seen.end());
    const auto after = fields(seen, "state");
    std::vector<std::string> lost;
    for (std::size_t i = 0; i < seen.size(); ++i)
      if (after[i] != "succeeded") lost.push_back(seen[i] + "=" + after[i]);
    EXPECT_TRUE(lost.empty()) << "acknowledged outcomes lost by the kill: " << first_of(lost);
    std::cout << "CRASH redis kill=" << round + 1 << " acknowledged_before=" << seen.size() << "\n";
  }
  ASSERT_TRUE(wait_until("all jobs succeeded", 300s, [&] { return succeeded_total() >= kJobs; }));
  EXPECT_TRUE(daemon.running()) << "the daemon should have ridden out the Redis restarts\n" << daemon.log_tail();
  stop_daemons();

  const auto jobs = read_jobs(ids);
  std::vector<std::string> not_succeeded, lost, never_ran;
  for (const auto& [id, v] : jobs) {
    if (v.state != "succeeded") not_succeeded.push_back(id + "=" + v.state);
    if (v.attempt_count() < 1) never_ran.push_back(id);
  }
  for (const auto& id : acknowledged)
    if (jobs.at(id).state != "succeeded") lost.push_back(id);
  std::map<std::string, int> outcomes;  // what the attempt logs say happened besides success
  for (const auto& [id, v] : jobs)
    for (const auto& e : v.log) ++outcomes[e.value("outcome", "?") + "/" + e.value("error_code", "?")];
  std::cout << "CRASH redis jobs=" << kJobs << " acknowledged_before_kills=" << acknowledged.size();
  for (const auto& [what, n] : outcomes) std::cout << " " << what << "=" << n;
  std::cout << "\n";
  EXPECT_TRUE(lost.empty()) << "acknowledged outcomes lost: " << first_of(lost);
  EXPECT_TRUE(not_succeeded.empty()) << "jobs not succeeded: " << first_of(not_succeeded);
  EXPECT_TRUE(never_ran.empty()) << first_of(never_ran);
  EXPECT_EQ(succeeded_total(), kJobs);
  EXPECT_EQ(cmd({"ZCARD", keys_.jobs()}).integer, kJobs);
  expect_queue_at_rest();
}

// Two daemons (workers.id alpha and beta) drain 10 000 jobs from one Redis. Nothing is killed, so
// every job runs exactly once: one attempt, an empty attempt log (no lease lost or taken back), and
// the daemons' own counters add up to one lease and one settlement per job, none refused.
TEST_F(CrashTest, TwoDaemonsOnOneQueueRunEveryJobExactlyOnceAndShareTheWork) {
  start_redis();
  constexpr int kJobs = 10000;
  const auto ids = make_ids("d", kJobs);
  enqueue(ids, 0, kJobs);
  if (HasFatalFailure()) return;
  // A lease long enough that no pause of a loaded machine lets one daemon's reaper take the other's job.
  for (const char* name : {"alpha", "beta"})
    add_daemon(name, write_config(name, {{"id", std::string("crash-") + name},
                                         {"concurrency", 100},
                                         {"lease_ms", 20000},
                                         {"reaper_grace_ms", 2000}}));
  for (auto& d : daemons_) d->start();

  std::set<std::string> owners;  // the lease_owner of jobs seen running
  ASSERT_TRUE(wait_until("all jobs succeeded", 300s, [&] {
    for (auto& owner : fields(lease_set(), "lease_owner"))
      if (!owner.empty()) owners.insert(owner);
    return succeeded_total() >= kJobs;
  }));
  stop_daemons();

  const auto jobs = read_jobs(ids);
  std::vector<std::string> wrong;
  for (const auto& [id, v] : jobs)
    if (v.state != "succeeded" || v.attempts != "1" || !v.log.empty())
      wrong.push_back(id + "=" + v.state + "/" + v.attempts + (v.log.empty() ? "" : "/" + v.log.front().dump()));
  EXPECT_TRUE(wrong.empty()) << "jobs not succeeded at the first attempt with an empty attempt log: "
                             << first_of(wrong);
  EXPECT_EQ(succeeded_total(), kJobs);
  expect_queue_at_rest();
  EXPECT_EQ(owners, (std::set<std::string>{"crash-alpha", "crash-beta"})) << "owners seen holding leases";

  // "dispatcher stopped: L leased, S settled, X lost" (the daemon's last counters).
  const std::regex counters(R"(dispatcher stopped: (\d+) leased, (\d+) settled, (\d+) lost)");
  long long leased = 0, settled = 0, lost = 0;
  for (auto& d : daemons_) {
    const auto log = d->log();
    std::smatch m;
    ASSERT_TRUE(std::regex_search(log, m, counters)) << d->name() << " logged no final counters\n" << d->log_tail();
    EXPECT_GT(std::stoll(m[1]), 0) << d->name() << " ran no job";
    leased += std::stoll(m[1]);
    settled += std::stoll(m[2]);
    lost += std::stoll(m[3]);
    std::cout << "CRASH two_daemons " << d->name() << " leased=" << m[1] << " settled=" << m[2] << " lost=" << m[3]
              << "\n";
  }
  EXPECT_EQ(leased, kJobs) << "a job was leased twice";
  EXPECT_EQ(settled, kJobs);
  EXPECT_EQ(lost, 0) << "an outcome was refused by lease fencing";
}

// SIGTERM while 8 slow jobs (workers.noop_delay_ms: 60 s) are in flight and 32 wait: the daemon
// waits out its 1 s grace, hands the 8 back and exits 0; all 40 jobs are queued with no attempt
// counted (publish jobs keep the checkpoint of the steps done); a restart without the delay runs
// each of them once.
TEST_F(CrashTest, SigtermHandsBackJobsInFlightWithoutUsingAnAttemptAndTheyRunLater) {
  start_redis();
  constexpr int kJobs = 40, kSlots = 8;
  const auto ids = make_ids("s", kJobs);
  enqueue(ids, 0, kJobs);
  if (HasFatalFailure()) return;
  auto& daemon = add_daemon(
      "s1", write_config(
                "s1-slow",
                {{"id", "crash-s1"}, {"concurrency", kSlots}, {"noop_delay_ms", 60000}, {"shutdown_grace_ms", 1000}}));
  daemon.start();
  ASSERT_TRUE(wait_until("every slot busy", 60s, [&] { return cmd({"ZCARD", keys_.leases()}).integer == kSlots; }));
  const auto in_flight = lease_set();
  // The publish jobs among them sit in their upload step: validate, stage and create are recorded.
  ASSERT_TRUE(wait_until("publish jobs in their upload step", 60s, [&] {
    for (const auto& [id, v] : read_jobs(in_flight))
      if (is_publish(id) && v.checkpoint.find(R"("done":"create")") == std::string::npos) return false;
    return true;
  }));

  const auto term_sent = Clock::now();
  daemon.terminate();
  const auto status = daemon.wait_exit(60s);
  const auto exit_ms = ms_since(term_sent);
  ASSERT_EQ(status, std::optional<int>(0)) << daemon.log_tail();
  std::cout << "CRASH sigterm in_flight=" << in_flight.size() << " exit_after_ms=" << exit_ms << " (grace 1000)\n";
  RecordProperty("sigterm_exit_after_ms", std::to_string(exit_ms));
  EXPECT_NE(daemon.log().find("handing back " + std::to_string(kSlots) + " unfinished job(s)"), std::string::npos)
      << daemon.log_tail();

  auto jobs = read_jobs(ids);
  std::vector<std::string> wrong;
  for (const auto& [id, v] : jobs)
    if (v.state != "queued" || v.attempts != "0") wrong.push_back(id + "=" + v.state + "/" + v.attempts);
  EXPECT_TRUE(wrong.empty()) << "jobs not back in the queue with no attempt counted: " << first_of(wrong);
  for (const auto& id : in_flight) {
    const auto& v = jobs.at(id);
    ASSERT_FALSE(v.log.empty()) << id;
    EXPECT_EQ(v.log.back().value("outcome", ""), "release") << id << " " << v.log.back().dump();
    EXPECT_EQ(v.log.back().value("error_code", ""), "shutdown") << id;
    if (is_publish(id)) {
      EXPECT_NE(v.checkpoint.find(R"("done":"create")"), std::string::npos) << id << " " << v.checkpoint;
    }
  }
  long long ready = 0;
  for (const char* p : {"instagram", "facebook", "tiktok", "x"}) ready += cmd({"LLEN", keys_.ready(p)}).integer;
  EXPECT_EQ(ready, kJobs) << "every job is in its platform's ready list";
  EXPECT_EQ(cmd({"ZCARD", keys_.leases()}).integer, 0);
  EXPECT_EQ(cmd({"HLEN", keys_.running_accounts()}).integer, 0);

  // Later, without the delay: each runs once (the hand-back used no attempt).
  daemon.set_config(write_config("s1", {{"id", "crash-s1"}, {"concurrency", kSlots}}));
  daemon.start();
  ASSERT_TRUE(wait_until("all jobs succeeded", 120s, [&] { return succeeded_total() >= kJobs; }));
  stop_daemons();
  jobs = read_jobs(ids);
  wrong.clear();
  for (const auto& [id, v] : jobs)
    if (v.state != "succeeded" || v.attempts != "1") wrong.push_back(id + "=" + v.state + "/" + v.attempts);
  EXPECT_TRUE(wrong.empty()) << "jobs not succeeded at their first counted attempt: " << first_of(wrong);
  EXPECT_EQ(succeeded_total(), kJobs);
  expect_queue_at_rest();
}

// A killed daemon's job is taken back by its restart (reclaim by workers.id) and waits in its ready
// list (its platform is paused) when a cancel arrives: the cancel succeeds, so the job must never run
// again, even once the platform resumes.
TEST_F(CrashTest, JobTakenBackFromAKilledDaemonAndThenCancelledNeverRunsAgain) {
  start_redis();
  const auto ids = make_ids("c", 6);  // indexes 1 and 5: fetch_analytics jobs on instagram
  const std::string& job = ids[1];
  const std::string& later = ids[5];
  enqueue(ids, 1, 2);
  if (HasFatalFailure()) return;
  auto& daemon = add_daemon("c1", write_config("c1-slow", {{"id", "crash-c1"}, {"noop_delay_ms", 60000}}));
  daemon.start();
  ASSERT_TRUE(wait_until("the job in flight", 60s, [&] { return lease_set() == std::vector<std::string>{job}; }));
  daemon.kill9();

  cmd({"SADD", keys_.paused(), "instagram"});
  daemon.set_config(write_config("c1", {{"id", "crash-c1"}}));
  daemon.start();
  ASSERT_TRUE(wait_until("the job taken back", 60s, [&] { return fields({job}, "reclaimed")[0] == "1"; }));
  auto cancelled = test::run_for(io_, store_->cancel(job, now_epoch_ms()), 60s);
  ASSERT_TRUE(cancelled) << cancelled.error().message();
  ASSERT_EQ(*cancelled, "cancelled");

  // Resume, and let a later job of the same platform run: the daemon has then been past the
  // cancelled job's place in the ready list.
  cmd({"SREM", keys_.paused(), "instagram"});
  enqueue(ids, 5, 6);
  if (HasFatalFailure()) return;
  ASSERT_TRUE(wait_until("the later job succeeded", 60s, [&] { return fields({later}, "state")[0] == "succeeded"; }));
  stop_daemons();
  const auto jobs = read_jobs({job});
  EXPECT_EQ(jobs.at(job).state, "cancelled");
  EXPECT_EQ(jobs.at(job).attempts, "1") << "the cancelled job ran again";
  EXPECT_EQ(succeeded_total(), 1);
  expect_queue_at_rest();
}

}  // namespace
}  // namespace schedulo::crash
