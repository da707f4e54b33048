#include "daemon/lifecycle_runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>

#include "common/log.hpp"
#include "daemon/live_platforms.hpp"
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
  // Instagram Login (no Facebook Page): its own consent page, code exchange and app credentials.
  if (const auto ig = config.platforms.find("instagram"); ig != config.platforms.end()) {
    const auto& i = config.instagram;
    platforms::oauth::ConnectSettings settings{
        i.login_auth_url,
        i.login_base_url,
        i.login_client_id.empty() ? ig->second.client_id : i.login_client_id,
        i.login_client_secret.empty() ? ig->second.client_secret : i.login_client_secret,
        std::chrono::milliseconds(config.oauth.exchange_timeout_ms),
        i.login_token_url};
    if (!settings.client_id.empty())
      connectors.emplace("instagram-login",
                         platforms::oauth::make_connector("instagram-login", *impl_->http, std::move(settings)));
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
  // The same work as a daemon's sweep: with live platforms (workers.mode live, as the daemons have
  // them) Page tokens due for their check are introspected here too.
  const bool live = config.workers.mode == "live";
  return run_with_store(config, [&](queue::Store& store) -> net::awaitable<int> {
    // Made and ended on the command's event loop (pooled connections close while it runs).
    std::optional<http::HttpClient> http_client;
    std::map<std::string, std::unique_ptr<platforms::TokenCalls>> token_calls;
    if (live) {
      http_client.emplace(http_options(config));
      token_calls = live_token_calls(config, *http_client);
    }
    tokens::TokenStore tokens(store.client(), store.keys(), *vault);
    queue::Notifier notifier(store.client(), store.keys());
    tokens::TokenCallsLookup calls;
    if (live)
      calls = [&token_calls](std::string_view platform) -> platforms::TokenCalls* {
        const auto it = token_calls.find(std::string(platform));
        return it == token_calls.end() ? nullptr : it->second.get();
      };
    auto provider_opts = provider_options(config);
    provider_opts.owner = "cli:" + config.workers.id;
    provider_opts.on_needs_reauth = needs_reauth_notice(notifier);
    std::optional<tokens::TokenProvider> provider;
    if (live) provider.emplace(tokens, calls, std::move(provider_opts));
    auto options = sweep_options(config);
    options.owner = "cli:" + config.workers.id;
    jobs::TokenSweep sweep(store, tokens, notifier, calls, provider ? &*provider : nullptr, options);
    const auto report = co_await sweep.sweep_once();
    const nlohmann::json out{{"refresh_jobs", report.refresh_jobs},
                             {"already_pending", report.duplicates},
                             {"expiring_notices", report.expiring},
                             {"discovered_pages", report.discovered},
                             {"introspected", report.introspected},
                             {"needs_reauth", report.needs_reauth},
                             {"page_tokens", live ? "checked" : "left to the daemons (workers.mode is not live)"},
                             {"complete", !report.failed}};
    std::cout << out.dump() << "\n";
    co_return report.failed ? 1 : 0;
  });
}

}  // namespace schedulo::daemon
