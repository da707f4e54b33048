#include "daemon/runtime.hpp"

#include "daemon/callbacks.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <filesystem>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "daemon/callbacks.hpp"
#include "platforms/errors/default_limits.hpp"

namespace schedulo::daemon {

void init_logging(const Config& config) {
  log::Format format = log::Format::text;
  spdlog::level::level_enum level = spdlog::level::info;
  log::parse_format(config.log.format, format);
  log::parse_level(config.log.level, level);
  log::init(format, level);
  for (const std::string* secret :
       {&config.http.token, &config.airtable.token, &config.bubble.api_token, &config.bubble.callback_signing_secret,
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
  // A publish job's Posts row, with its job JSON for resync; the callback announcing a cancellation.
  context.record_intake = [airtable = airtable_enabled(config)](const jobs::Job& job) {
    std::vector<queue::OutboxEntry> entries;
    if (airtable) entries = outbox::intake_entries(job, now_epoch_ms());
    if (auto cancelled = cancel_callback_entry(job)) entries.push_back(std::move(*cancelled));
    return queue::encode_outbox(entries);
  };
  return context;
}

queue::QueueSettings queue_settings(const Config& config) {
  queue::QueueSettings q;
  q.retention = std::chrono::seconds(config.jobs.retention_s);
  q.idempotency_window = std::chrono::seconds(config.jobs.idempotency_window_s);
  q.lease = std::chrono::milliseconds(config.workers.lease_ms);
  q.per_account_limit = config.workers.per_account;
  return q;
}

jobs::DispatcherOptions dispatcher_options(const Config& config) {
  jobs::DispatcherOptions o;
  o.worker_id = config.workers.id;
  o.concurrency = config.workers.concurrency;
  o.per_platform = config.workers.per_platform;
  o.idle_wait = std::chrono::milliseconds(config.workers.idle_wait_ms);
  o.shutdown_grace = std::chrono::milliseconds(config.workers.shutdown_grace_ms);
  o.reaper_grace = std::chrono::milliseconds(config.workers.reaper_grace_ms);
  o.reaper_interval = std::chrono::milliseconds(std::clamp(config.workers.lease_ms / 4, 100, 5000));
  o.default_max_attempts = config.jobs.max_attempts;
  o.retry.base = std::chrono::milliseconds(config.jobs.retry_base_ms);
  o.retry.cap = std::chrono::milliseconds(config.jobs.retry_cap_ms);
  o.validation = validation_context(config);
  o.platforms = kPlatforms;
  if (airtable_enabled(config)) {
    o.record_outcome = [records = record_options(config)](const jobs::Job& job, const jobs::Outcome& outcome,
                                                          queue::Settlement settlement, int attempt) {
      auto r = outbox::outcome_records(job, outcome, settlement, attempt, now_epoch_ms(), records);
      return queue::encode_outbox(r.entries, r.jobs);
    };
  }
  return o;
}

bool airtable_enabled(const Config& config) {
  return config.airtable.writeback && !config.airtable.base_id.empty() && !config.airtable.token.empty();
}

http::ClientOptions http_options(const Config& config) {
  http::ClientOptions o;
  if (auto policy = http::AddressPolicy::from_entries(config.security.allow_private_hosts); policy.policy)
    o.policy = std::move(*policy.policy);
  o.ca_file = config.tls.ca_file;
  // Every running job may hold a connection to the same platform host (one origin per platform API),
  // beside the Airtable writers, token refreshes and analytics: a cap below workers.concurrency would
  // queue platform calls behind each other (16 held 32 workers to 16 calls in flight).
  o.max_connections_per_origin =
      std::max<std::size_t>(o.max_connections_per_origin, static_cast<std::size_t>(config.workers.concurrency) + 8);
  return o;
}

airtable::ClientConfig airtable_config(const Config& config) {
  airtable::ClientConfig c;
  c.base_url = config.airtable.base_url;
  while (c.base_url.ends_with('/')) c.base_url.pop_back();
  c.base_id = config.airtable.base_id;
  c.token = config.airtable.token;
  return c;
}

outbox::PacingOptions pacing_options(const Config& config) {
  outbox::PacingOptions o;
  o.base_id = config.airtable.base_id;
  std::tie(o.base_bucket, o.token_bucket) =
      outbox::airtable_buckets(limit_table(config), config.airtable.base_id, config.airtable.token);
  o.monthly_budget = config.airtable.monthly_call_budget;
  o.reserve_percent = config.airtable.budget_reserve_percent;
  o.warn_percent = config.airtable.budget_warn_percent;
  return o;
}

outbox::TableNames table_names(const Config& config) {
  return {{airtable::Table::accounts, config.airtable.accounts_table},
          {airtable::Table::posts, config.airtable.posts_table},
          {airtable::Table::analytics, config.airtable.analytics_table},
          {airtable::Table::events, config.airtable.events_table}};
}

outbox::WriterOptions writer_options(const Config& config) {
  outbox::WriterOptions o;
  o.worker_id = config.workers.id;
  for (const auto& [table, name] : table_names(config)) o.tables[std::string(airtable::spec(table).dest)] = name;
  o.lanes = config.airtable.writers;
  o.linger = std::chrono::milliseconds(config.airtable.batch_linger_ms);
  o.unreachable_after = std::chrono::milliseconds(config.notifications.airtable_unreachable_after_ms);
  o.webhook_url = config.notifications.webhook_url;  // issue 13
  return o;
}

outbox::RecordOptions record_options(const Config& config) {
  outbox::RecordOptions o;
  o.analytics_followups.clear();
  for (const auto& text : config.airtable.analytics_followups)
    if (auto offset = outbox::parse_offset(text)) o.analytics_followups.push_back(*offset);
  o.analytics_history = config.airtable.analytics_history;
  return o;
}

outbox::AccountCacheOptions account_cache_options(const Config& config) {
  outbox::AccountCacheOptions o;
  o.table = config.airtable.accounts_table;
  o.ttl = std::chrono::seconds(config.airtable.account_cache_ttl_s);
  o.sweep_every = std::chrono::seconds(config.airtable.account_sweep_interval_s);
  return o;
}

int run_with_airtable(
    const Config& config,
    const std::function<net::awaitable<int>(queue::Store&, outbox::AirtablePacer&, airtable::Client&)>& body) {
  if (config.airtable.base_id.empty() || config.airtable.token.empty()) {
    log::error("airtable.base_id and airtable.token must be set");
    return 2;
  }
  boost::asio::io_context io(1);
  redis::Client redis(io.get_executor(), redis_options(config));
  // After the io_context, so it goes first: its pooled connections hold the context's sockets.
  http::HttpClient http(http_options(config));
  queue::Store store(redis, queue::Keys(config.redis.prefix), queue_settings(config));
  queue::RateLimiter limiter(redis, store.keys(), limiter_options(config));
  outbox::AirtablePacer pacer(redis, store.keys(), limiter, pacing_options(config));
  airtable::Client client(http, airtable_config(config), pacer.before_call(outbox::CallClass::essential));
  redis.start();
  int status = 1;
  boost::asio::co_spawn(
      io, [&]() -> net::awaitable<void> { status = co_await body(store, pacer, client); },
      [&](const std::exception_ptr& e) {
        if (e) {
          try {
            std::rethrow_exception(e);
          } catch (const std::exception& ex) {
            log::error("{}", ex.what());
          }
          status = 1;
        }
        redis.stop();
      });
  io.run();
  return status;
}

queue::LimiterOptions limiter_options(const Config& config) {
  queue::LimiterOptions o;
  o.margin = std::chrono::milliseconds(config.limits.margin_ms);
  o.usage_slow_from = config.limits.usage_slow_from_percent;
  o.usage_spacing = std::chrono::milliseconds(config.limits.usage_spacing_ms);
  o.usage_stop = std::chrono::milliseconds(config.limits.usage_stop_ms);
  return o;
}

queue::LimitTable limit_table(const Config& config) {
  auto table = errors::default_limits();
  // The fleet's share of the base's 5 requests/s as a whole number per the shortest whole number of
  // seconds (2.5/s is 5 per 2 s), so the margin still applies to a short window.
  const double rps = config.airtable.requests_per_second;
  long long seconds = 1;
  while (seconds < 1000 &&
         std::abs(rps * static_cast<double>(seconds) - std::round(rps * static_cast<double>(seconds))) > 1e-6)
    ++seconds;
  table.set("airtable:app:base",
            queue::BucketLimit{std::llround(rps * static_cast<double>(seconds)), std::chrono::seconds(seconds), 0});
  for (const auto& rule : config.limits.rules) {
    std::string error;
    table.add_rule(rule, error);  // checked when the configuration was loaded
  }
  return table;
}

queue::BreakerOptions breaker_options(const Config& config) {
  queue::BreakerOptions o;
  o.failure_threshold = config.breaker.failure_threshold;
  o.window = std::chrono::milliseconds(config.breaker.window_ms);
  o.min_calls = config.breaker.min_calls;
  o.failure_rate_percent = config.breaker.failure_rate_percent;
  o.open_for = std::chrono::milliseconds(config.breaker.open_ms);
  o.max_open = std::chrono::milliseconds(config.breaker.max_open_ms);
  o.probe_timeout = std::chrono::milliseconds(config.breaker.probe_timeout_ms);
  // Issue 16: a healthy platform's successes go to Redis together, within the local view's own
  // staleness (cache, 1 s), not one script call per platform call.
  o.success_batch = std::chrono::milliseconds(200);
  return o;
}

errors::GuardOptions guard_options(const Config& config) {
  errors::GuardOptions o;
  o.max_wait = std::chrono::milliseconds(config.limits.max_wait_ms);
  return o;
}

std::optional<tokens::Vault> load_vault(const Config& config, std::string& error) {
  std::string path = config.vault.key_file;
  if (path.empty()) {
    const char* credentials = std::getenv("CREDENTIALS_DIRECTORY");
    std::error_code ec;
    if (credentials && std::filesystem::is_regular_file(std::string(credentials) + "/vault.key_file", ec))
      path = std::string(credentials) + "/vault.key_file";
  }
  if (path.empty()) {
    error = "vault.key_file: not set (nor a systemd credential of that name); tokens cannot be stored or read";
    return std::nullopt;
  }
  auto vault = tokens::Vault::load_file(path, error);
  if (!vault) error = "vault.key_file: " + error;
  return vault;
}

tokens::ProviderOptions provider_options(const Config& config) {
  tokens::ProviderOptions o;
  o.owner = config.workers.id;
  o.refresh_timeout = std::chrono::milliseconds(config.tokens.refresh_timeout_ms);
  o.lock_ttl = std::chrono::milliseconds(config.tokens.lock_ms);
  o.busy_wait = std::chrono::milliseconds(config.tokens.defer_ms);
  return o;
}

int run_with_store(const Config& config, const std::function<net::awaitable<int>(queue::Store&)>& body) {
  return run_with_redis(config, [&](redis::Client& client, const queue::Keys& keys) -> net::awaitable<int> {
    queue::Store store(client, keys, queue_settings(config));
    co_return co_await body(store);
  });
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

namespace {

bool is_integer(std::string_view v) {
  if (!v.empty() && v.front() == '-') v.remove_prefix(1);
  return !v.empty() && v.size() <= 18 && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
}

bool is_counter_or_time(std::string_view k) {
  return k == "attempts" || k == "max_attempts" || k == "priority" || k.ends_with("_at") || k.ends_with("_ms");
}

}  // namespace

nlohmann::json job_fields_json(const std::map<std::string, std::string>& fields) {
  using json = nlohmann::json;
  json out = json::object();
  for (const auto& [k, v] : fields) {
    if (k == "lease") continue;  // the fencing token is internal
    if (k == "payload" || k == "result" || k == "checkpoint") {
      auto parsed = json::parse(v, nullptr, false);
      out[k] = parsed.is_discarded() ? json(v) : parsed;
    } else if (is_counter_or_time(k) && is_integer(v)) {
      out[k] = std::stoll(v);
    } else {
      out[k] = v;
    }
  }
  return out;
}

nlohmann::json record_json(const queue::JobRecord& record) {
  using json = nlohmann::json;
  json out = job_fields_json(record.fields);
  json attempts = json::array();
  for (const auto& line : record.attempt_log) {
    auto parsed = json::parse(line, nullptr, false);
    attempts.push_back(parsed.is_discarded() ? json(line) : parsed);
  }
  out["attempt_log"] = attempts;
  return out;
}

}  // namespace schedulo::daemon
