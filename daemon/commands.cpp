#include "daemon/commands.hpp"

#include <boost/asio/signal_set.hpp>

#include <iostream>
#include <limits>
#include <memory>
#include <optional>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "daemon/airtable_account_source.hpp"
#include "daemon/api_runtime.hpp"
#include "daemon/lifecycle_runtime.hpp"
#include "daemon/live_platforms.hpp"
#include "daemon/metrics_gather.hpp"
#include "daemon/progress.hpp"
#include "daemon/runtime.hpp"
#include "daemon/systemd_notify.hpp"
#include "jobs/dispatcher.hpp"
#include "jobs/intake.hpp"
#include "jobs/noop_platform.hpp"
#include "outbox/resync.hpp"
#include "queue/durability.hpp"
#include "queue/notifier.hpp"
#include "queue/outbox.hpp"

namespace schedulo::daemon {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;
constexpr std::chrono::seconds kOutboxFlush{10};

using json = nlohmann::json;

std::optional<Config> load_or_report(const std::string& path) {
  auto loaded = load_config_file(path, ConfigSources::from_process());
  if (!loaded.config) {
    std::cerr << "schedulo: bad configuration in " << path << ":\n" << format_errors(loaded.errors);
    return std::nullopt;
  }
  return std::move(loaded.config);
}

// Waits for Redis (a daemon started before Redis keeps trying), then checks rule 17.
net::awaitable<bool> redis_ready(redis::Client& client, const Config& config, const bool& stopping) {
  while (!stopping) {
    auto pong = co_await client.exec("PING");
    if (pong && !pong->is_error()) break;
    if (pong.has_error() && pong.error() == redis::Errc::stopped) co_return false;
    log::warn("waiting for Redis at {}: {}", config.redis.parsed.redacted(), redis::reply_error_text(pong));
  }
  if (stopping) co_return false;
  const auto problems = co_await queue::check_durability(client);
  if (problems.empty()) co_return true;
  for (const auto& p : problems) log::error("redis is not durable: {}", p);
  if (!config.redis.require_durability) {
    log::warn("redis.require_durability is false: running anyway");
    co_return true;
  }
  co_return false;
}

// The outbox's depth and the month's Airtable calls (stats; issue 14's metrics read the same).
net::awaitable<json> outbox_json(queue::Store& store, const Config& config) {
  queue::Outbox outbox(store.client(), store.keys(), store.settings());
  const auto now = now_epoch_ms();
  json out = json::object();
  auto st = co_await outbox.stats(now);
  if (st) {
    out["pending"] = st->pending;
    out["due"] = st->due;
    out["claimed"] = st->claimed;
    out["dead"] = st->dead;
    out["oldest_due_ms"] = st->oldest_due_age_ms;
  }
  if (!config.airtable.base_id.empty()) {
    queue::RateLimiter limiter(store.client(), store.keys(), limiter_options(config));
    outbox::AirtablePacer pacer(store.client(), store.keys(), limiter, pacing_options(config));
    auto b = co_await pacer.budget(now);
    if (b)
      out["airtable"] = {{"month", b->month},
                         {"calls", b->calls},
                         {"monthly_call_budget", b->budget},
                         {"budget_used_percent", b->used_percent}};
  }
  co_return out;
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

int command_run(const std::string& config_path, const RunPlugin& plugin) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  // A configuration mistake, so exit 2 (the unit's RestartPreventExitStatus): restarting cannot fix it.
  // Checked here and not by `config check`, since the token may come from a systemd credential.
  if (!config->http.listen.empty() && config->http.token.empty()) {
    log::error("http.listen is set but http.token is empty: the API would be open to anyone");
    return kExitUsage;
  }
  log::info("schedulo starting: worker {} redis {} prefix {} mode {}", config->workers.id,
            config->redis.parsed.redacted(), config->redis.prefix, config->workers.mode);
  boost::asio::io_context io(1);
  redis::Client client(io.get_executor(), redis_options(*config));
  redis::Client blocking(io.get_executor(), redis_options(*config));
  queue::Store store(client, queue::Keys(config->redis.prefix), queue_settings(*config));
  // The fleet's rate limits, circuit breakers and notifications (issue 5). Platform adapters make
  // every external call through `guard`, with buckets from limit_table(config).
  queue::RateLimiter limiter(client, store.keys(), limiter_options(*config));
  queue::CircuitBreaker breaker(client, store.keys(), breaker_options(*config));
  queue::Notifier notifier(client, store.keys());
  ApiRuntime api(*config, io.get_executor(), store);  // HTTP API, metrics, callbacks (issue 14)
  std::unique_ptr<http::HttpClient> http_client;
  std::unique_ptr<errors::CallGuard> guard;
  if (config->workers.mode == "live") {
    // The platforms' calls: a connection per worker to one platform host (runtime.cpp http_options).
    http_client = std::make_unique<http::HttpClient>(http_options(*config));
    auto go = guard_options(*config);
    go.on_wait = [&api](std::string_view platform, std::string_view kind, std::chrono::milliseconds wait) {
      api.metrics().rate_limit_wait(platform, kind, wait);
    };
    guard = std::make_unique<errors::CallGuard>(*http_client, limiter, breaker, notifier, std::move(go));
  }

  auto options = dispatcher_options(*config);
  api.attach(options);
  // Airtable (issue 7): the outbox writer, the account cache and its sweep, when configured.
  std::optional<http::HttpClient> http;
  std::optional<queue::Outbox> outbox_store;
  std::optional<outbox::AirtablePacer> pacer;
  std::optional<airtable::Client> accounts_client;
  std::optional<outbox::AccountCache> accounts;
  std::optional<outbox::AirtableWriter> writer;
  if (airtable_enabled(*config)) {
    http.emplace(http_options(*config));
    outbox_store.emplace(client, store.keys(), queue_settings(*config));
    pacer.emplace(client, store.keys(), limiter, pacing_options(*config));
    accounts_client.emplace(*http, airtable_config(*config), pacer->before_call(outbox::CallClass::essential));
    accounts.emplace(client, store.keys(), *accounts_client, account_cache_options(*config));
    writer.emplace(*outbox_store, *http, airtable_config(*config), *pacer, writer_options(*config));
    options.preflight = outbox::account_preflight(*accounts);
  } else {
    log::info(
        "airtable: not configured (airtable.base_id, airtable.token) or airtable.writeback off: "
        "outcomes are not written to Airtable");
  }

  std::map<std::string, std::unique_ptr<jobs::PlatformAdapter>> adapters;
  if (config->workers.mode == "noop") {
    jobs::NoopCall call;
    if (!config->workers.noop_call_url.empty()) {  // issue 16: each job makes one real HTTP call
      auto ho = http_options(*config);
      ho.max_connections_per_origin = static_cast<std::size_t>(config->workers.concurrency);
      http_client = std::make_unique<http::HttpClient>(std::move(ho));
      call = {http_client.get(), config->workers.noop_call_url};
    }
    for (const auto& p : kPlatforms)
      adapters[p] = jobs::make_noop_platform(p, std::chrono::milliseconds(config->workers.noop_delay_ms), call);
  }

  // The token core (tokens/): without a vault no token can be stored or read, which only noop mode
  // can live with.
  std::string vault_error;
  auto vault = load_vault(*config, vault_error);
  if (!vault && !config->vault.key_file.empty()) {
    log::error("{}", vault_error);
    return kExitUsage;
  }
  if (!vault && config->workers.mode == "live") log::warn("{}", vault_error);
  std::map<std::string, std::unique_ptr<platforms::TokenCalls>> token_calls;
  std::optional<tokens::TokenStore> token_store;
  std::optional<tokens::TokenProvider> token_provider;
  if (vault) {
    token_store.emplace(client, queue::Keys(config->redis.prefix), *vault);
    auto token_options = provider_options(*config);
    token_options.on_needs_reauth = needs_reauth_notice(notifier);  // issue 13: the notification
    token_provider.emplace(
        *token_store,
        [&](std::string_view platform) -> platforms::TokenCalls* {
          const auto it = token_calls.find(std::string(platform));
          return it == token_calls.end() ? nullptr : it->second.get();
        },
        std::move(token_options));
  }
  // Token lifecycle (issue 13): the OAuth connect routes and the fleet's token sweep.
  std::unique_ptr<LifecycleRuntime> lifecycle;
  if (token_store) {
    lifecycle = std::make_unique<LifecycleRuntime>(*config, store, *token_store,
                                                   token_provider ? &*token_provider : nullptr, notifier);
    api.set_oauth(&lifecycle->oauth());
  }
  api.gather_with(metrics_gatherer(
      {breaker, pacer ? &*pacer : nullptr, token_store ? &*token_store : nullptr, client, store.keys()}));
  // An account Redis lost is read back from its Accounts row (the tokens' durable home).
  std::optional<AirtableAccountSource> account_source;
  if (token_store && accounts) {
    account_source.emplace(*accounts);
    token_store->set_source(&*account_source);
  }
  if (config->workers.mode == "live")
    add_live_platforms({*config, *http_client, *guard, token_provider ? &*token_provider : nullptr, store}, adapters,
                       token_calls);
  if (plugin) {
    RunContext context{*config, token_provider ? &*token_provider : nullptr, adapters, token_calls};
    plugin(context);
  }
  options.platform_blocked = [&breaker](std::string_view platform) { return breaker.blocked_for(platform); };
  jobs::Dispatcher dispatcher(
      store, blocking,
      [&](std::string_view platform) -> jobs::PlatformAdapter* {
        const auto it = adapters.find(std::string(platform));
        return it == adapters.end() ? nullptr : it->second.get();
      },
      std::move(options));

  int status = kExitOk;
  bool stopping = false;
  const SystemdNotifier systemd;
  net::Timer watchdog(io);
  boost::asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const net::error_code& ec, int signal) {
    if (ec) return;
    log::info("signal {}: shutting down", signal);
    systemd.notify("STOPPING=1");
    stopping = true;
    dispatcher.stop();
    api.stop();
    if (lifecycle) lifecycle->stop();  // issue 13
  });
  // Watchdog pings and STATUS from a timer on the event loop itself: they stop only when the loop
  // stops turning, never because Redis is away (architecture rule 16).
  if (systemd.enabled()) {
    const auto every = systemd.ping_every().value_or(std::chrono::seconds(5));
    boost::asio::co_spawn(io, [&, every]() -> net::awaitable<void> {
      while (!stopping) {
        const auto& c = dispatcher.counters();
        std::string state = "STATUS=" + std::string(dispatcher.consuming() ? "consuming" : "not consuming (Redis?)") +
                            "; in flight " + std::to_string(c.in_flight) + ", settled " + std::to_string(c.settled) +
                            ", lost " + std::to_string(c.lost);
        if (systemd.ping_every()) state += "\nWATCHDOG=1";
        systemd.notify(state);
        watchdog.expires_after(std::min<std::chrono::microseconds>(every, std::chrono::seconds(5)));
        co_await watchdog.async_wait();
      }
    }, boost::asio::detached);
  }
  client.start();
  blocking.start();
  if (!api.start([&dispatcher] { return dispatcher.consuming(); })) return kExitFailure;
  boost::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    if (!co_await redis_ready(client, *config, stopping)) {
      status = stopping ? kExitOk : kExitFailure;
    } else {
      auto window = co_await notifier.set_window(std::chrono::seconds(config->notifications.window_s));
      if (!window) log::warn("could not record notifications.window_s in Redis: {}", window.error().message());
      log::info("ready: consuming jobs");
      if (lifecycle) lifecycle->start(io.get_executor());  // issue 13: the sweep
      systemd.notify("READY=1");
      net::Event sweep_stop(io.get_executor());
      net::Countdown airtable_loops(io.get_executor(), writer ? 2 : 0);
      if (writer) {
        boost::asio::co_spawn(io, writer->run(), [&](const std::exception_ptr&) { airtable_loops.done(); });
        boost::asio::co_spawn(io, accounts->run_sweeper(sweep_stop),
                              [&](const std::exception_ptr&) { airtable_loops.done(); });
      }
      co_await dispatcher.run();
      if (writer) {
        // Rule 8: the outcomes of the jobs just settled go out before the daemon exits, if Airtable
        // takes them in time; whatever is left waits in the outbox for the next daemon.
        writer->stop(kOutboxFlush);
        sweep_stop.set();
        co_await airtable_loops.wait();
      }
    }
    stopping = true;
    api.stop();
    if (lifecycle) lifecycle->stop();
    watchdog.cancel();
    signals.cancel();
    client.stop();
    blocking.stop();
  }, [&](const std::exception_ptr& e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log::error("fatal: {}", ex.what());
    }
    status = kExitFailure;
    stopping = true;
    api.stop();
    if (lifecycle) lifecycle->stop();
    watchdog.cancel();
    signals.cancel();
    client.stop();
    blocking.stop();
  });
  io.run();
  log::info("stopped");
  return status;
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
  // Validate everything first: a batch with one bad job enqueues nothing.
  const auto context = validation_context(*config);
  std::vector<queue::NewJob> valid;
  bool any_invalid = false;
  for (std::size_t i = 0; i < inputs.size(); ++i) {
    auto parsed = jobs::parse_job(inputs[i], context);
    if (!parsed.job) {
      any_invalid = true;
      for (const auto& e : parsed.errors) std::cerr << "job " << (i + 1) << ": " << e.message << "\n";
      continue;
    }
    valid.push_back(jobs::to_new_job(std::move(*parsed.job), config->jobs.max_attempts, context));
  }
  if (any_invalid) return kExitUsage;
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    auto results = co_await store.enqueue(valid, now_epoch_ms());
    if (!results) {
      std::cerr << "schedulo enqueue: " << results.error().message() << "\n";
      co_return kExitFailure;
    }
    for (std::size_t i = 0; i < valid.size(); ++i) {
      std::cout << valid[i].id;
      if ((*results)[i] == queue::EnqueueResult::duplicate) std::cout << " (duplicate: already enqueued)";
      if ((*results)[i] == queue::EnqueueResult::cancelled) std::cout << " (cancelled: a cancel for it arrived first)";
      std::cout << "\n";
    }
    co_return kExitOk;
  });
}

int command_cancel(const std::string& config_path, const std::string& id) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    auto r = co_await store.cancel(id, now_epoch_ms());
    if (!r) {
      std::cerr << "schedulo cancel: " << r.error().message() << "\n";
      co_return kExitFailure;
    }
    const std::string& answer = *r;
    if (answer == "cancelled") {
      std::cout << id << ": cancelled\n";
      co_return kExitOk;
    }
    if (answer == "pending") {
      std::cout << id << ": no such job yet; it will be cancelled if it arrives within the idempotency window\n";
      co_return kExitOk;
    }
    if (answer.starts_with("started:")) {
      std::cout << id << ": already started (" << answer.substr(8) << "); not cancelled\n";
    } else {
      std::cout << id << ": already ended (" << answer.substr(answer.find(':') + 1) << "); not cancelled\n";
    }
    co_return kExitFailure;
  });
}

int command_status(const std::string& config_path, const std::string& id) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    auto r = co_await store.status(id);
    if (!r) {
      std::cerr << "schedulo status: " << id << ": " << r.error().message() << "\n";
      co_return kExitFailure;
    }
    std::cout << record_json(*r).dump(2) << "\n";
    co_return kExitOk;
  });
}

int command_jobs(const std::string& config_path, const std::string& platform, const std::string& account,
                 const std::string& state, int limit) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    std::vector<std::string> platforms;
    if (!account.empty()) platforms = platform.empty() ? kPlatforms : std::vector<std::string>{platform};
    else platforms.push_back("");
    for (const auto& p : platforms) {
      auto rows = co_await store.list(p, account, state, limit);
      if (!rows) {
        std::cerr << "schedulo jobs: " << rows.error().message() << "\n";
        co_return kExitFailure;
      }
      for (const auto& row : *rows)
        if (platform.empty() || row.count("platform") == 0 || row.at("platform") == platform)
          std::cout << json(row).dump() << "\n";
    }
    co_return kExitOk;
  });
}

int command_stats(const std::string& config_path) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    auto st = co_await store.stats(kPlatforms, now_epoch_ms());
    if (!st) {
      std::cerr << "schedulo stats: " << st.error().message() << "\n";
      co_return kExitFailure;
    }
    json out = {{"queued_by_platform", st->ready_by_platform}, {"scheduled", st->scheduled},
                {"running", st->running}, {"dead_or_needs_review", st->dead}, {"inbox", st->inbox},
                {"control", st->control}, {"finished_total", st->totals},
                {"oldest_due_not_started_ms", st->oldest_due_age_ms}};
    out["outbox"] = co_await outbox_json(store, *config);
    std::cout << out.dump(2) << "\n";
    co_return kExitOk;
  });
}

int command_dead(const std::string& config_path, const std::string& action, const std::string& id,
                 const std::string& before) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  std::int64_t cutoff = now_epoch_ms();
  if (!before.empty()) {
    auto parsed = parse_rfc3339_ms(before);
    if (!parsed) {
      std::cerr << "schedulo dead purge: --before must be an RFC 3339 time\n";
      return kExitUsage;
    }
    cutoff = *parsed;
  }
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    if (action == "list") {
      auto rows = co_await store.dead_list(1000);
      if (!rows) co_return kExitFailure;
      for (const auto& row : *rows) {
        json j = json::object();
        for (const auto& [k, v] : row)
          if (k != "payload" && k != "lease") j[k] = v;
        std::cout << j.dump() << "\n";
      }
      co_return kExitOk;
    }
    if (action == "retry") {
      auto r = co_await store.dead_retry(id, now_epoch_ms());
      if (!r || !*r) {
        std::cerr << "schedulo dead retry: " << id << " is not a dead job that can run again\n";
        co_return kExitFailure;
      }
      std::cout << id << ": queued again with fresh attempts\n";
      co_return kExitOk;
    }
    auto n = co_await store.dead_purge(cutoff, 100000);
    if (!n) co_return kExitFailure;
    std::cout << "purged " << *n << " job(s)\n";
    co_return kExitOk;
  });
}

int command_pause(const std::string& config_path, const std::string& target, bool pause) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  const std::string platform = target.substr(0, target.find(':'));
  if (std::find(kPlatforms.begin(), kPlatforms.end(), platform) == kPlatforms.end()) {
    std::cerr << "schedulo: " << (pause ? "pause" : "resume")
              << ": PLATFORM[:ACCOUNT] must start with instagram, facebook, tiktok or x\n";
    return kExitUsage;
  }
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    auto r = co_await store.set_paused(target, pause);
    if (!r) co_return kExitFailure;
    std::cout << target << (pause ? ": paused\n" : ": resumed\n");
    co_return kExitOk;
  });
}

// ---- dead retry of many jobs and dead purge, in batches with progress (issue 15) ----
namespace {

constexpr std::size_t kRetryBatch = 200;  // ids per script call: short scripts, few round trips
constexpr int kPurgeBatch = 500;          // jobs deleted per script call, so Redis never stalls long
constexpr std::size_t kListedProblems = 20;

std::optional<std::int64_t> cutoff_or_report(const std::string& command, const std::string& before) {
  if (before.empty()) return now_epoch_ms();
  auto parsed = parse_rfc3339_ms(before);
  if (!parsed)
    std::cerr << "schedulo " << command << ": --before must be an RFC 3339 time, e.g. 2026-12-01T00:00:00Z\n";
  return parsed;
}

}  // namespace

int command_dead_retry(const std::string& config_path, const std::vector<std::string>& given, bool all,
                       const std::string& platform, const std::string& before) {
  std::vector<std::string> ids;
  for (const auto& t : given) {
    if (t == "-") {
      for (std::string line; std::getline(std::cin, line);) {
        line.erase(line.find_last_not_of(" \t\r") + 1);
        line.erase(0, line.find_first_not_of(" \t"));
        if (!line.empty()) ids.push_back(line);
      }
    } else {
      ids.push_back(t);
    }
  }
  if (all == !given.empty()) {
    std::cerr << "schedulo dead retry: give job ids (or - to read them from stdin) or --all, not both\n";
    return kExitUsage;
  }
  if (!all && !before.empty()) {
    std::cerr << "schedulo dead retry: --before goes with --all\n";
    return kExitUsage;
  }
  if (!all && ids.empty()) {
    std::cerr << "schedulo dead retry: no job id given\n";
    return kExitUsage;
  }
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  const auto cutoff = cutoff_or_report("dead retry", before);
  if (!cutoff) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    if (all) {
      auto listed = co_await store.dead_ids(*cutoff, std::numeric_limits<long long>::max());
      if (!listed) {
        std::cerr << "schedulo dead retry: " << listed.error().message() << "\n";
        co_return kExitFailure;
      }
      ids = std::move(*listed);
      if (ids.empty()) {
        std::cout << "no dead or needs_review jobs to retry\n";
        co_return kExitOk;
      }
    }
    std::optional<Progress> progress;
    if (ids.size() > 1) progress.emplace("dead retry", ids.size());
    std::size_t queued = 0, other_platform = 0;
    std::vector<std::string> not_retryable;
    for (std::size_t start = 0; start < ids.size(); start += kRetryBatch) {
      const std::vector<std::string> batch(
          ids.begin() + static_cast<std::ptrdiff_t>(start),
          ids.begin() + static_cast<std::ptrdiff_t>(std::min(ids.size(), start + kRetryBatch)));
      auto r = co_await store.dead_retry(batch, now_epoch_ms(), platform);
      if (!r) {
        if (progress) progress->finish(", stopped: Redis failed");
        std::cerr << "schedulo dead retry: " << r.error().message() << " (" << queued
                  << " queued again before it; run the command again for the rest)\n";
        co_return kExitFailure;
      }
      for (std::size_t i = 0; i < batch.size(); ++i) {
        switch ((*r)[i]) {
          case queue::DeadRetry::queued:
            ++queued;
            if (!all) std::cout << batch[i] << ": queued again with fresh attempts\n";
            if (progress) progress->advance();
            break;
          case queue::DeadRetry::other_platform:
            ++other_platform;
            if (!all) std::cout << batch[i] << ": not a " << platform << " job; left alone\n";
            if (progress) progress->advance();
            break;
          case queue::DeadRetry::not_retryable:
            not_retryable.push_back(batch[i]);
            if (progress) progress->fail();
            break;
        }
      }
    }
    if (progress) progress->finish();
    for (std::size_t i = 0; i < not_retryable.size() && i < kListedProblems; ++i)
      std::cerr << "schedulo dead retry: " << not_retryable[i]
                << ": not a dead or needs_review job, or a refused inbox entry (nothing to run); not queued\n";
    if (not_retryable.size() > kListedProblems)
      std::cerr << "schedulo dead retry: ... and " << (not_retryable.size() - kListedProblems) << " more not queued\n";
    if (all) {
      std::cout << "queued again: " << queued;
      if (!platform.empty())
        std::cout << " (" << platform << " only; " << other_platform << " of other platforms left)";
      std::cout << "; not queued: " << not_retryable.size() << "\n";
    }
    co_return not_retryable.empty() ? kExitOk : kExitFailure;
  });
}

int command_dead_purge(const std::string& config_path, const std::string& before) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  const auto cutoff = cutoff_or_report("dead purge", before);
  if (!cutoff) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    auto total = co_await store.dead_count(*cutoff);
    if (!total) {
      std::cerr << "schedulo dead purge: " << total.error().message() << "\n";
      co_return kExitFailure;
    }
    std::optional<Progress> progress;
    if (*total > kPurgeBatch) progress.emplace("dead purge", static_cast<std::uint64_t>(*total));
    long long purged = 0;
    while (true) {
      auto n = co_await store.dead_purge(*cutoff, kPurgeBatch);
      if (!n) {
        if (progress) progress->finish(", stopped: Redis failed");
        std::cerr << "schedulo dead purge: " << n.error().message() << " (" << purged << " purged before it)\n";
        co_return kExitFailure;
      }
      purged += *n;
      if (progress) progress->advance(static_cast<std::uint64_t>(*n));
      if (*n < kPurgeBatch) break;
    }
    if (progress) progress->finish();
    std::cout << "purged " << purged << " job(s)\n";
    co_return kExitOk;
  });
}

}  // namespace schedulo::daemon

// ---- Airtable and the outbox (issue 7) ------------------------------------------------------------

namespace schedulo::daemon {

int command_resync(const std::string& config_path, bool dry_run) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_airtable(
      *config, [&](queue::Store& store, outbox::AirtablePacer&, airtable::Client& client) -> net::awaitable<int> {
        const auto context = validation_context(*config);
        auto report = co_await outbox::resync_from_posts(client, store, config->airtable.posts_table, context,
                                                         config->jobs.max_attempts, dry_run);
        if (!report) {
          std::cerr << "schedulo resync: " << report.error().describe() << "\n";
          co_return kExitFailure;
        }
        json out = {{"unfinished_rows", report->rows},
                    {dry_run ? "would_rebuild" : "rebuilt", report->rebuilt},
                    {"already_queued", report->present},
                    {"started_not_rebuilt", report->started},
                    {"invalid", report->invalid}};
        std::cout << out.dump(2) << "\n";
        if (!report->started.empty())
          std::cerr << "schedulo resync: " << report->started.size()
                    << " post(s) had started: their publish may have reached the platform; check them and enqueue "
                       "again by hand if they did not\n";
        co_return kExitOk;
      });
}

int command_airtable(const std::string& config_path, const std::string& action) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_airtable(
      *config, [&](queue::Store&, outbox::AirtablePacer&, airtable::Client& client) -> net::awaitable<int> {
        const auto names = table_names(*config);
        if (action == "init") {
          auto report = co_await outbox::init_schema(client, names);
          if (!report) {
            std::cerr << "schedulo airtable init: " << report.error().describe() << "\n";
            co_return kExitFailure;
          }
          for (const auto& t : report->created_tables) std::cout << "created table " << t << "\n";
          for (const auto& f : report->created_fields) std::cout << "created field " << f << "\n";
          for (const auto& p : report->left) std::cout << "left: " << p.describe() << "\n";
          if (report->created_tables.empty() && report->created_fields.empty() && report->left.empty())
            std::cout << "nothing to do: every table and field is there\n";
          co_return report->left.empty() ? kExitOk : kExitFailure;
        }
        auto user = co_await client.whoami();
        if (!user) {
          std::cerr << "schedulo airtable check: the token does not work: " << user.error().describe() << "\n";
          co_return kExitFailure;
        }
        auto problems = co_await outbox::check_schema(client, names);
        if (!problems) {
          std::cerr << "schedulo airtable check: " << problems.error().describe() << "\n";
          co_return kExitFailure;
        }
        std::cout << "token of user " << *user << ", base " << config->airtable.base_id << "\n";
        for (const auto& p : *problems) std::cout << p.describe() << "\n";
        if (problems->empty()) {
          std::cout << "OK: every table and field of docs/airtable.md is there\n";
          co_return kExitOk;
        }
        std::cout << problems->size() << " problem(s); `schedulo airtable init` creates what is missing\n";
        co_return kExitFailure;
      });
}

int command_outbox(const std::string& config_path, const std::string& action, const std::string& item) {
  auto config = load_or_report(config_path);
  if (!config) return kExitUsage;
  init_logging(*config);
  return run_with_store(*config, [&](queue::Store& store) -> net::awaitable<int> {
    queue::Outbox outbox(store.client(), store.keys(), store.settings());
    if (action == "stats") {
      std::cout << (co_await outbox_json(store, *config)).dump(2) << "\n";
      co_return kExitOk;
    }
    auto dead = co_await outbox.dead_list(100000);
    if (!dead) {
      std::cerr << "schedulo outbox: " << dead.error().message() << "\n";
      co_return kExitFailure;
    }
    if (action == "dead") {
      for (const auto& d : *dead) {
        json fields = json::object();
        for (const auto& [k, v] : d.hash)
          if (k.starts_with("f:")) fields[k.substr(2)] = json::parse(v, nullptr, false);
        std::cout << json{{"item", d.item},
                          {"reason", d.hash.count("reason") ? d.hash.at("reason") : ""},
                          {"dead_at", d.hash.count("dead_at") ? d.hash.at("dead_at") : ""},
                          {"fields", fields}}
                         .dump()
                  << "\n";
      }
      co_return kExitOk;
    }
    std::vector<std::string> items;
    for (const auto& d : *dead)
      if (item == "all" || d.item == item) items.push_back(d.item);
    auto moved = co_await outbox.dead_retry(items, now_epoch_ms());
    if (!moved || *moved == 0) {
      std::cerr << "schedulo outbox retry: no dead item " << item << "\n";
      co_return kExitFailure;
    }
    std::cout << "queued again: " << *moved << "\n";
    co_return kExitOk;
  });
}

}  // namespace schedulo::daemon
