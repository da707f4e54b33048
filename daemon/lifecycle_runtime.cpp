#include "daemon/lifecycle_runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/log.hpp"
#include "daemon/oauth_routes.hpp"
#include "daemon/runtime.hpp"
#include "platforms/http/client.hpp"
#include "platforms/oauth/connector.hpp"
#include "tokens/connect_store.hpp"
#include "tokens/notices.hpp"

namespace schedulo::daemon {

jobs::SweepOptions sweep_options(const Config& config) {
  jobs::SweepOptions o;
  o.owner = config.workers.id;
  o.interval = std::chrono::seconds(config.sweep.interval_s);
  o.refresh_ahead = std::chrono::seconds(config.sweep.refresh_ahead_s);
  o.short_lived = std::chrono::seconds(config.sweep.short_lived_s);
  o.refresh_token_ahead = std::chrono::seconds(config.sweep.refresh_token_ahead_s);
  o.expiring_notice = std::chrono::seconds(config.sweep.expiring_notice_s);
  o.posts_ahead = std::chrono::seconds(config.sweep.posts_ahead_s);
  o.post_margin = std::chrono::seconds(config.sweep.post_margin_s);
  o.check_every = std::chrono::seconds(config.sweep.check_every_s);
  o.introspect_timeout = std::chrono::milliseconds(config.tokens.refresh_timeout_ms);
  o.batch = config.sweep.batch;
  return o;
}

std::function<net::awaitable<void>(const tokens::AccountRef&, const std::string&)> needs_reauth_notice(
    queue::Notifier& notifier) {
  return [&notifier](const tokens::AccountRef& ref, const std::string& reason) -> net::awaitable<void> {
    co_await tokens::notify_needs_reauth(notifier, ref, reason);
  };
}

struct LifecycleRuntime::Impl {
  std::unique_ptr<http::HttpClient> http;
  std::unique_ptr<tokens::ConnectStore> states;
  std::unique_ptr<OAuthRoutes> oauth;
  std::unique_ptr<jobs::TokenSweep> sweep;
};

LifecycleRuntime::LifecycleRuntime(const Config& config, queue::Store& store, tokens::TokenStore& tokens,
                                   tokens::TokenProvider* provider, queue::Notifier& notifier)
    : impl_(std::make_unique<Impl>()) {
  http::ClientOptions client_options;
  if (auto policy = http::AddressPolicy::from_entries(config.security.allow_private_hosts); policy.policy)
    client_options.policy = std::move(*policy.policy);
  client_options.ca_file = config.tls.ca_file;
  impl_->http = std::make_unique<http::HttpClient>(client_options);
  const std::string secret = config.oauth.state_secret.empty() ? config.http.token : config.oauth.state_secret;
  impl_->states = std::make_unique<tokens::ConnectStore>(store.client(), store.keys(), tokens.vault(), secret,
                                                         std::chrono::seconds(config.oauth.state_ttl_s),
                                                         std::chrono::seconds(config.oauth.pending_ttl_s));
  std::map<std::string, std::unique_ptr<platforms::oauth::Connector>> connectors;
  for (const auto& [name, p] : config.platforms) {
    if (p.client_id.empty()) continue;  // not set up: its connect routes answer 404
    platforms::oauth::ConnectSettings settings{p.auth_url, p.base_url, p.client_id, p.client_secret,
                                               std::chrono::milliseconds(config.oauth.exchange_timeout_ms)};
    if (auto c = platforms::oauth::make_connector(name, *impl_->http, std::move(settings)))
      connectors.emplace(name, std::move(c));
  }
  OAuthOptions options{config.http.public_url, config.oauth.return_to_allow, {}};
  options.callback_timeout = std::chrono::milliseconds(4 * config.oauth.exchange_timeout_ms + 5000);
  impl_->oauth =
      std::make_unique<OAuthRoutes>(std::move(connectors), *impl_->states, tokens, &notifier, std::move(options));
  tokens::TokenCallsLookup calls;
  if (provider) calls = [provider](std::string_view platform) { return provider->calls_for(platform); };
  impl_->sweep =
      std::make_unique<jobs::TokenSweep>(store, tokens, notifier, std::move(calls), provider, sweep_options(config));
}

LifecycleRuntime::~LifecycleRuntime() = default;

OAuthRoutes& LifecycleRuntime::oauth() {
  return *impl_->oauth;
}

jobs::TokenSweep& LifecycleRuntime::sweep() {
  return *impl_->sweep;
}

void LifecycleRuntime::start(const net::Executor& executor) {
  boost::asio::co_spawn(executor, impl_->sweep->run(executor), boost::asio::detached);
}

void LifecycleRuntime::stop() {
  impl_->sweep->stop();
}

int command_sweep(const std::string& config_path) {
  auto loaded = load_config_file(config_path, ConfigSources::from_process());
  if (!loaded.config) {
    std::cerr << "schedulo: bad configuration in " << config_path << ":\n" << format_errors(loaded.errors);
    return 2;
  }
  const Config& config = *loaded.config;
  init_logging(config);
  std::string vault_error;
  auto vault = load_vault(config, vault_error);
  if (!vault) {
    std::cerr << "schedulo sweep: " << vault_error << "\n";
    return 2;
  }
  return run_with_store(config, [&](queue::Store& store) -> net::awaitable<int> {
    tokens::TokenStore tokens(store.client(), store.keys(), *vault);
    queue::Notifier notifier(store.client(), store.keys());
    auto options = sweep_options(config);
    options.owner = "cli:" + config.workers.id;
    // No token calls here: Page tokens are introspected by the running daemons' sweep.
    jobs::TokenSweep sweep(store, tokens, notifier, {}, nullptr, options);
    const auto report = co_await sweep.sweep_once();
    const nlohmann::json out{{"refresh_jobs", report.refresh_jobs}, {"already_pending", report.duplicates},
                             {"expiring_notices", report.expiring}, {"discovered_pages", report.discovered},
                             {"introspected", report.introspected}, {"needs_reauth", report.needs_reauth},
                             {"complete", !report.failed}};
    std::cout << out.dump() << "\n";
    co_return report.failed ? 1 : 0;
  });
}

}  // namespace schedulo::daemon
