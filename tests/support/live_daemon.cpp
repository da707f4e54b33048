#include "tests/support/live_daemon.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "common/rfc3339.hpp"
#include "jobs/intake.hpp"
#include "jobs/job_validation.hpp"
#include "platforms/http/address_policy.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "queue/store.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/redis_process.hpp"
#include "tests/support/run.hpp"
#include "tokens/token_store.hpp"
#include "tokens/vault.hpp"

namespace schedulo::test {
namespace {

using json = nlohmann::json;

constexpr const char* kReady = "ready: consuming jobs";
constexpr std::size_t kLogTail = 20000;  // what a failed test prints of the daemon's log

std::size_t count_of(const std::string& text, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) ++n;
  return n;
}

std::string tail(const std::string& text, std::size_t n) {
  return text.size() > n ? text.substr(text.size() - n) : text;
}

// redis.prefix allows 64 characters: the platform's name, a hash of the test's name, the process.
std::string default_prefix(const std::string& name) {
  return name + ":" + std::to_string(std::hash<std::string>{}(unique_prefix()) % 1000000007ULL) + ":" +
         std::to_string(::getpid());
}

}  // namespace

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (!condition()) {
    if (std::chrono::steady_clock::now() >= end) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

LiveDaemon::LiveDaemon(std::string binary, const std::string& name, std::string prefix)
    : binary_(std::move(binary)), prefix_(std::move(prefix)), worker_(name + "-test") {
  std::string tmpl = "/tmp/schedulo-" + name + ".XXXXXX";
  if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  dir_ = tmpl;
  if (prefix_.empty()) prefix_ = default_prefix(name);
  config_path_ = dir_ + "/config.json";
  key_file_ = dir_ + "/vault.keys";
  std::ofstream(key_file_, std::ios::trunc) << tokens::Vault::generate_key_line("k1") << "\n";
  ::chmod(key_file_.c_str(), 0600);
  std::string error;
  auto vault = tokens::Vault::load_file(key_file_, error);
  if (!vault) throw std::runtime_error("the test's vault key: " + error);
  vault_ = std::make_unique<tokens::Vault>(std::move(*vault));
  keys_ = std::make_unique<queue::Keys>(prefix_);
  redis::ClientOptions options;
  auto url = redis::parse_redis_url(shared_redis_url(), error);
  if (!url) throw std::runtime_error("the test Redis URL: " + error);
  options.url = *url;
  client_ = std::make_unique<redis::Client>(io_.get_executor(), options);
  client_->start();
  store_ = std::make_unique<queue::Store>(*client_, *keys_, queue::QueueSettings{});
  token_store_ = std::make_unique<tokens::TokenStore>(*client_, *keys_, *vault_);
}

LiveDaemon::~LiveDaemon() {
  stop();
  const bool failed = ::testing::Test::HasFailure();
  if (failed && daemon_) std::cout << "DAEMON LOG (tail):\n" << tail(daemon_->log(), kLogTail) << "\n";
  daemon_.reset();
  // The test's keys go (a shared Redis serves the whole run).
  try {
    run_for(io_, [this]() -> net::awaitable<int> {
      auto all = co_await client_->exec("KEYS", keys_->prefix() + ":*");
      if (all)
        for (const auto& k : all->elements) co_await client_->exec("DEL", k.str);
      co_return 0;
    }());
  } catch (const std::exception& e) {
    std::cout << "the test's Redis keys stay: " << e.what() << "\n";
  }
  token_store_.reset();
  store_.reset();
  client_->stop();
  if (failed) {
    std::cout << "test files kept in " << dir_ << "\n";
  } else {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
}

json LiveDaemon::config(const std::string& platform, const json& settings) const {
  return {{"redis", {{"url", shared_redis_url()}, {"prefix", prefix_}, {"require_durability", false}}},
          {"workers",
           {{"id", worker_},
            {"mode", "live"},
            {"concurrency", 4},
            {"lease_ms", 10000},
            {"reaper_grace_ms", 0},
            {"idle_wait_ms", 50},
            {"shutdown_grace_ms", 2000}}},
          {"vault", {{"key_file", key_file_}}},
          {"platforms", {{platform, settings}}},
          {"security", {{"allow_private_hosts", {"127.0.0.0/8"}}}},
          {"jobs", {{"retry_base_ms", 100}, {"retry_cap_ms", 300}}},
          {"log", {{"level", "debug"}}}};
}

void LiveDaemon::write_config(const json& config) {
  std::ofstream(config_path_, std::ios::trunc) << config.dump(2);
}

::testing::AssertionResult LiveDaemon::start(const json& config, std::chrono::milliseconds limit) {
  write_config(config);
  if (running()) return ::testing::AssertionFailure() << "the daemon is already running";
  if (!daemon_)
    daemon_ = std::make_unique<Child>(std::vector<std::string>{binary_, "run", "--config", config_path_},
                                      dir_ + "/daemon.log");
  return restart(limit);
}

::testing::AssertionResult LiveDaemon::restart(std::chrono::milliseconds limit) {
  if (!daemon_) return ::testing::AssertionFailure() << "restart before start";
  daemon_->kill9();
  const auto before = count_of(daemon_->log(), kReady);
  daemon_->start();
  const bool ready =
      wait_until([&] { return !daemon_->running() || count_of(daemon_->log(), kReady) > before; }, limit);
  if (!ready || !daemon_->running())
    return ::testing::AssertionFailure() << "the daemon did not start consuming jobs:\n"
                                         << tail(daemon_->log(), kLogTail);
  return ::testing::AssertionSuccess();
}

void LiveDaemon::stop(std::chrono::milliseconds grace) {
  if (!daemon_ || !daemon_->running()) return;
  daemon_->terminate();
  if (!daemon_->wait_exit(grace)) daemon_->kill9();
}

void LiveDaemon::kill9() {
  if (daemon_) daemon_->kill9();
}

bool LiveDaemon::running() {
  return daemon_ && daemon_->running();
}

std::string LiveDaemon::log() const {
  return daemon_ ? daemon_->log() : std::string();
}

std::vector<std::string> LiveDaemon::saved_progress(const std::string& job_id) const {
  const std::string job = "job=" + job_id + " ";
  const std::string mark = "progress saved: done=";
  std::vector<std::string> out;
  std::istringstream lines(log());
  for (std::string line; std::getline(lines, line);) {
    const auto at = line.find(job);
    if (at == std::string::npos) continue;
    const auto saved = line.find(mark, at);
    if (saved != std::string::npos) out.push_back(line.substr(saved + mark.size()));
  }
  return out;
}

::testing::AssertionResult LiveDaemon::put_tokens(const std::string& platform, const std::string& account,
                                                  const platforms::TokenSet& tokens) {
  auto put = run_for(io_, token_store_->put(tokens::AccountRef{platform, account}, tokens, 0,
                                            tokens::AccountStatus::active, "", now_epoch_ms()));
  if (!put) return ::testing::AssertionFailure() << "the token store: " << put.error().message();
  if (!put->written) return ::testing::AssertionFailure() << "the token store kept a newer version";
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult LiveDaemon::import_account(const std::string& platform, const std::string& account,
                                                      const json& input) {
  const auto added =
      run_command({binary_, "account", "add", "--config", config_path_, platform + ":" + account}, input.dump());
  if (added.status != 0) return ::testing::AssertionFailure() << "schedulo account add: " << added.err;
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult LiveDaemon::enqueue(const json& doc, int max_attempts,
                                               const std::vector<std::string>& private_hosts) {
  jobs::ValidationContext context;
  auto policy = http::AddressPolicy::from_entries(private_hosts);
  if (!policy.policy) return ::testing::AssertionFailure() << "private hosts not accepted";
  context.private_hosts = *policy.policy;
  auto parsed = jobs::validate_job(doc, context);
  if (!parsed.job)
    return ::testing::AssertionFailure() << (parsed.errors.empty() ? "invalid" : parsed.errors.front().message);
  std::vector<queue::NewJob> batch{jobs::to_new_job(std::move(*parsed.job), max_attempts)};
  auto r = run_for(io_, store_->enqueue(batch, now_epoch_ms()));
  if (!r) return ::testing::AssertionFailure() << "enqueue: " << r.error().message();
  return ::testing::AssertionSuccess();
}

JobFields LiveDaemon::job(const std::string& id) {
  auto r = run_for(io_, store_->status(id));
  return r ? r->fields : JobFields{};
}

std::vector<json> LiveDaemon::attempts(const std::string& id) {
  std::vector<json> out;
  if (auto r = run_for(io_, store_->status(id)))
    for (const auto& line : r->attempt_log) out.push_back(json::parse(line, nullptr, false));
  return out;
}

JobFields LiveDaemon::wait_for_state(const std::string& id, const std::set<std::string>& states,
                                     std::chrono::milliseconds limit) {
  JobFields fields;
  const bool reached = wait_until(
      [&] {
        fields = job(id);
        return states.count(fields["state"]) > 0;
      },
      limit);
  EXPECT_TRUE(reached) << "job " << id << " stayed " << fields["state"] << " (" << fields["error_code"] << ": "
                       << fields["error"] << ")";
  return fields;
}

const std::set<std::string>& LiveDaemon::final_states() {
  static const std::set<std::string> states{"succeeded", "failed", "dead", "needs_review"};
  return states;
}

json LiveDaemon::result(const JobFields& fields) {
  const auto it = fields.find("result");
  return it == fields.end() ? json() : json::parse(it->second, nullptr, false);
}

}  // namespace schedulo::test
