#include "daemon/runtime.hpp"

#include "common/log.hpp"

namespace schedulo::daemon {

void init_logging(const Config& config) {
  log::Format format = log::Format::text;
  spdlog::level::level_enum level = spdlog::level::info;
  log::parse_format(config.log.format, format);
  log::parse_level(config.log.level, level);
  log::init(format, level);
  for (const std::string* secret : {&config.http.token, &config.airtable.token, &config.bubble.api_token,
                                    &config.redis.parsed.password, &config.redis.parsed.sentinel_password})
    log::register_secret(*secret);
  for (const auto& [name, p] : config.platforms) log::register_secret(p.client_secret);
}

redis::ClientOptions redis_options(const Config& config) {
  redis::ClientOptions o;
  o.url = config.redis.parsed;
  o.connect_timeout = std::chrono::milliseconds(config.redis.connect_timeout_ms);
  o.command_timeout = std::chrono::milliseconds(config.redis.command_timeout_ms);
  o.tls_ca_file = config.tls.ca_file;
  return o;
}

jobs::ValidationContext validation_context(const Config& config) {
  jobs::ValidationContext context;
  if (auto policy = http::AddressPolicy::from_entries(config.security.allow_private_hosts); policy.policy)
    context.private_hosts = std::move(*policy.policy);
  context.callback_hosts = config.bubble.callback_hosts;
  context.max_job_bytes = static_cast<std::size_t>(config.jobs.max_job_bytes);
  return context;
}

int run_with_redis(const Config& config,
                   const std::function<net::awaitable<int>(redis::Client&, const queue::Keys&)>& body) {
  boost::asio::io_context io(1);
  redis::Client client(io.get_executor(), redis_options(config));
  const queue::Keys keys(config.redis.prefix);
  client.start();
  int status = 1;
  boost::asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        status = co_await body(client, keys);
        client.stop();
      },
      [&](const std::exception_ptr& e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log::error("{}", ex.what());
          }
          status = 1;
          client.stop();
        }
      });
  io.run();
  return status;
}

}  // namespace schedulo::daemon
