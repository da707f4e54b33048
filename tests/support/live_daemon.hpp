#pragma once
// Test support: the real `schedulo run` in live mode (workers.mode: live) against the sandbox, for the
// platform daemon tests (and any test that drives a live daemon). One LiveDaemon is one test's daemon:
// a directory of its own, a vault key, a Redis key prefix of its own on the test run's Redis (with a
// queue store and a token store over it, on io()), the config the platform tests share, and the
// daemon's process (start, stop, SIGKILL, restart; its output in one log file kept across restarts).
//
// Every wait polls a condition with an overall limit that fails the test. When the test failed, the
// destructor prints the log's tail and keeps the directory.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "platforms/token_calls.hpp"

namespace schedulo::queue {
class Keys;
class Store;
}  // namespace schedulo::queue
namespace schedulo::redis {
class Client;
}
namespace schedulo::tokens {
class TokenStore;
class Vault;
}  // namespace schedulo::tokens

namespace schedulo::test {

class Child;

// Polls `condition` every 20 ms until it holds (true) or `limit` passes (false).
bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds limit);

// A job's record as the queue store holds it (state, error, result, ...).
using JobFields = std::map<std::string, std::string>;

class LiveDaemon {
 public:
  // `binary`: the schedulo binary; `name` names the directory (/tmp/schedulo-NAME.XXXXXX) and the
  // worker; `prefix`: the Redis key prefix (64 characters at most), by default one made from `name`,
  // the test's name and the process id.
  LiveDaemon(std::string binary, const std::string& name, std::string prefix = {});
  ~LiveDaemon();
  LiveDaemon(const LiveDaemon&) = delete;
  LiveDaemon& operator=(const LiveDaemon&) = delete;

  const std::string& dir() const { return dir_; }
  const std::string& prefix() const { return prefix_; }
  const std::string& key_file() const { return key_file_; }
  const std::string& config_path() const { return config_path_; }
  const std::string& binary() const { return binary_; }
  boost::asio::io_context& io() { return io_; }
  const queue::Keys& keys() const { return *keys_; }
  redis::Client& redis() { return *client_; }
  queue::Store& store() { return *store_; }
  tokens::TokenStore& token_store() { return *token_store_; }

  // The config the platform tests share: live workers on this prefix, the vault key, the sandbox's
  // loopback hosts allowed, short retries, a debug log; platforms.<platform> is `settings`. Tests
  // change it with json::update(changes, true) before start().
  nlohmann::json config(const std::string& platform, const nlohmann::json& settings) const;
  // Writes `config` to config_path() (for start() and the `schedulo` commands that take --config).
  void write_config(const nlohmann::json& config);

  // Writes `config`, starts the daemon and waits (within `limit`) until it consumes jobs.
  ::testing::AssertionResult start(const nlohmann::json& config,
                                   std::chrono::milliseconds limit = std::chrono::seconds(60));
  // SIGKILL, then a new daemon on the same config (and log), waiting as start() does.
  ::testing::AssertionResult restart(std::chrono::milliseconds limit = std::chrono::seconds(60));
  // SIGTERM, and SIGKILL when it has not ended within `grace`.
  void stop(std::chrono::milliseconds grace = std::chrono::seconds(20));
  void kill9();
  bool running();
  std::string log() const;
  // The progress a job's attempts saved, in order, from the daemon's debug lines (needs "log":
  // {"level": "debug"}, the default of config()): "stage", "upload publish_sent", "publish published".
  std::vector<std::string> saved_progress(const std::string& job_id) const;

  // An account's tokens put in the daemon's token store (sealed with the vault key), as connecting
  // it would.
  ::testing::AssertionResult put_tokens(const std::string& platform, const std::string& account,
                                        const platforms::TokenSet& tokens);
  // An account imported with `schedulo account add --config config_path() PLATFORM:ACCOUNT`, `input`
  // (access_token, refresh_token, scopes, ...) on its stdin. Needs write_config() or start() first.
  ::testing::AssertionResult import_account(const std::string& platform, const std::string& account,
                                            const nlohmann::json& input);

  // Validates `doc` as the API would (the loopback hosts allowed) and puts it in the queue.
  ::testing::AssertionResult enqueue(const nlohmann::json& doc, int max_attempts = 5,
                                     const std::vector<std::string>& private_hosts = {"127.0.0.0/8"});
  // The job's record; empty when there is none.
  JobFields job(const std::string& id);
  // The job's attempt log, one JSON object an attempt.
  std::vector<nlohmann::json> attempts(const std::string& id);
  // Waits for the job's state to be one of `states` and returns its record; fails the test (with the
  // record's state and error) when it is not within `limit`.
  JobFields wait_for_state(const std::string& id, const std::set<std::string>& states,
                           std::chrono::milliseconds limit = std::chrono::seconds(60));
  // succeeded, failed, dead, needs_review.
  static const std::set<std::string>& final_states();
  // The record's result, parsed (null when there is none).
  static nlohmann::json result(const JobFields& fields);

 private:
  std::string binary_, dir_, prefix_, key_file_, config_path_;
  boost::asio::io_context io_{1};
  std::unique_ptr<queue::Keys> keys_;
  std::unique_ptr<tokens::Vault> vault_;
  std::unique_ptr<redis::Client> client_;
  std::unique_ptr<queue::Store> store_;
  std::unique_ptr<tokens::TokenStore> token_store_;
  std::unique_ptr<Child> daemon_;
  std::string worker_;
};

}  // namespace schedulo::test
