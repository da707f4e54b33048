#include "daemon/commands.hpp"

#include <boost/asio/signal_set.hpp>

#include <iostream>

#include "common/log.hpp"
#include "daemon/runtime.hpp"
#include "queue/durability.hpp"

namespace schedulo::daemon {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

std::optional<Config> load_or_report(const std::string& path) {
  auto loaded = load_config_file(path, ConfigSources::from_process());
  if (!loaded.config) {
    std::cerr << "schedulo: bad configuration in " << path << ":\n" << format_errors(loaded.errors);
    return std::nullopt;
  }
  return std::move(loaded.config);
}

// Waits for Redis (a daemon started before Redis keeps trying), then checks rule 17.
net::awaitable<bool> redis_ready(redis::Client& client, const Config& config) {
  for (;;) {
    auto pong = co_await client.exec("PING");
    if (pong && !pong->is_error()) break;
    log::warn("waiting for Redis at {}: {}", config.redis.parsed.redacted(), redis::reply_error_text(pong));
    if (pong.has_error() && pong.error() == redis::Errc::stopped) co_return false;
  }
  const auto problems = co_await queue::check_durability(client);
  if (problems.empty()) co_return true;
  for (const auto& p : problems) log::error("redis is not durable: {}", p);
  if (!config.redis.require_durability) {
    log::warn("redis.require_durability is false: running anyway");
    co_return true;
  }
  co_return false;
}

}  // namespace

int command_config_check(const std::string& config_path) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  std::cout << "configuration OK: " << config_path << "\n";
  return kExitOk;
}

int command_config_example() {
  std::cout << example_config();
  return kExitOk;
}

int command_run(const std::string& config_path) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  log::info("schedulo starting: redis {} prefix {}", config->redis.parsed.redacted(), config->redis.prefix);
  return run_with_redis(*config, [&](redis::Client& client, const queue::Keys&) -> net::awaitable<int> {
    auto executor = co_await boost::asio::this_coro::executor;
    net::Timer idle(executor);
    boost::asio::signal_set signals(executor, SIGINT, SIGTERM);
    bool stopping = false;
    signals.async_wait([&](const net::error_code& ec, int signal) {
      if (ec) return;
      log::info("signal {}: shutting down", signal);
      stopping = true;
      idle.cancel();
      client.stop();  // cancels whatever waits on Redis; the loops below then end
    });
    if (!co_await redis_ready(client, *config)) {
      signals.cancel();
      co_return stopping ? kExitOk : kExitFailure;
    }
    log::info("ready: Redis is durable; the job engine arrives with the queue issue, so this daemon only "
              "holds its connection and waits for SIGTERM");
    while (!stopping) {
      idle.expires_after(std::chrono::seconds(5));
      co_await idle.async_wait();
      if (!stopping && !client.connected()) log::warn("redis connection down; reconnecting");
    }
    log::info("stopped");
    co_return kExitOk;
  });
}

int command_enqueue(const std::string& config_path, const std::vector<std::string>& texts) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  std::vector<std::string> inputs;
  for (const auto& t : texts) {
    if (t == "-") {
      for (std::string line; std::getline(std::cin, line);)
        if (line.find_first_not_of(" \t\r") != std::string::npos) inputs.push_back(line);
    } else {
      inputs.push_back(t);
    }
  }
  if (inputs.empty()) {
    std::cerr << "schedulo enqueue: no job given\n";
    return kExitUsage;
  }
  // Validate everything first: a batch with one bad job enqueues nothing, so a retry cannot double up.
  const auto context = validation_context(*config);
  std::vector<jobs::Job> valid;
  bool any_invalid = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto parsed = jobs::parse_job(inputs[i], context);
    if (!parsed.job) {
      any_invalid = true;
      for (const auto& e : parsed.errors)
        std::cerr << "job " << (i + 1) << ": " << e.message << "\n";  // messages name their field
      continue;
    }
    if (parsed.job->id.empty()) parsed.job->id = jobs::generate_job_id();
    valid.push_back(std::move(*parsed.job));
  }
  if (any_invalid) return kExitUsage;
  return run_with_redis(*config, [&](redis::Client& client, const queue::Keys& keys) -> net::awaitable<int> {
    std::vector<redis::Args> commands;
    commands.reserve(valid.size());
    for (const auto& job : valid) commands.push_back({"LPUSH", keys.inbox(), job.to_json().dump()});
    auto replies = co_await client.pipeline(commands);
    if (!replies) {
      std::cerr << "schedulo enqueue: " << replies.error().message() << "\n";
      co_return kExitFailure;
    }
    for (std::size_t i = 0; i < valid.size(); ++i) {
      if ((*replies)[i].is_error()) {
        std::cerr << "schedulo enqueue: job " << valid[i].id << ": " << (*replies)[i].str << "\n";
        co_return kExitFailure;
      }
      std::cout << valid[i].id << "\n";
    }
    co_return kExitOk;
  });
}

}  // namespace schedulo::daemon
