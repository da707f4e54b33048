#include "daemon/api_runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <stdexcept>

#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "daemon/api_server.hpp"
#include "daemon/callbacks.hpp"
#include "daemon/metrics.hpp"
#include "daemon/runtime.hpp"
#include "platforms/http/client.hpp"
#include "queue/outbox.hpp"

namespace schedulo::daemon {

struct ApiRuntime::Impl {
  const Config& config;
  net::Executor executor;
  queue::Store& store;
  Metrics metrics;
  std::unique_ptr<http::HttpClient> http;
  queue::Outbox outbox;
  std::unique_ptr<ApiServer> api;
  std::unique_ptr<CallbackSender> sender;
  std::function<net::awaitable<void>(Metrics&)> gather;
  OAuthRoutes* oauth = nullptr;  // issue 13

  Impl(const Config& c, const net::Executor& ex, queue::Store& s)
      : config(c), executor(ex), store(s), outbox(s.client(), s.keys(), s.settings()) {}
};

ApiRuntime::ApiRuntime(const Config& config, const net::Executor& executor, queue::Store& store)
    : impl_(std::make_unique<Impl>(config, executor, store)) {
  if (!config.http.listen.empty() && config.http.token.empty())
    throw std::runtime_error("http.listen is set but http.token is empty: the API would be open to anyone");
  http::ClientOptions client_options;
  if (auto policy = http::AddressPolicy::from_entries(config.security.allow_private_hosts); policy.policy)
    client_options.policy = std::move(*policy.policy);
  client_options.ca_file = config.tls.ca_file;
  impl_->http = std::make_unique<http::HttpClient>(client_options);

  CallbackOptions cb;
  cb.worker_id = config.workers.id;
  cb.api_token = config.bubble.api_token;
  cb.signing_secret = config.bubble.callback_signing_secret;
  cb.allowed_hosts = config.bubble.callback_hosts;
  cb.timeout = std::chrono::milliseconds(config.bubble.callback_timeout_ms);
  cb.max_attempts = config.bubble.callback_max_attempts;
  cb.retry_base = std::chrono::milliseconds(config.bubble.callback_retry_base_ms);
  cb.retry_cap = std::chrono::milliseconds(config.bubble.callback_retry_cap_ms);
  impl_->sender = std::make_unique<CallbackSender>(impl_->outbox, *impl_->http, cb, &impl_->metrics);
}

ApiRuntime::~ApiRuntime() = default;

void ApiRuntime::set_oauth(OAuthRoutes* routes) {
  impl_->oauth = routes;
}

Metrics& ApiRuntime::metrics() {
  return impl_->metrics;
}

void ApiRuntime::attach(jobs::DispatcherOptions& options) {
  Impl* impl = impl_.get();
  options.on_settle = [impl](const jobs::Job& job, const queue::Lease& lease, queue::Settle& settle,
                             std::chrono::steady_clock::duration elapsed) {
    // A retry with no attempts left ends the job dead (settle.lua decides it in the same step); the
    // metric says what happened to the job, as the callback does.
    const bool exhausted = settle.outcome == queue::Settlement::retry && lease.attempt >= lease.max_attempts;
    const auto outcome = exhausted ? queue::Settlement::dead : settle.outcome;
    impl->metrics.job_settled(std::string(jobs::to_string(job.type)), std::string(jobs::to_string(job.platform)),
                              std::string(queue::to_string(outcome)), elapsed);
    if (auto entry = callback_entry(job, lease, settle, now_epoch_ms())) add_outbox_entry(settle, *entry);
  };
}

void ApiRuntime::gather_with(std::function<net::awaitable<void>(Metrics&)> gather) {
  impl_->gather = std::move(gather);
}

bool ApiRuntime::start(std::function<bool()> consuming) {
  Impl& s = *impl_;
  boost::asio::co_spawn(s.executor, s.sender->run(), boost::asio::detached);
  if (s.config.http.listen.empty()) return true;
  ApiOptions o;
  o.token = s.config.http.token;
  o.public_metrics = s.config.http.public_metrics;
  o.max_batch = static_cast<std::size_t>(s.config.http.max_batch);
  o.health_max_lag = std::chrono::milliseconds(s.config.http.health_max_lag_ms);
  o.validate_media_timeout = std::chrono::milliseconds(s.config.http.validate_media_timeout_ms);
  o.accounts_required = s.config.workers.mode == "live";
  o.default_max_attempts = s.config.jobs.max_attempts;
  o.validation = validation_context(s.config);
  o.platforms = kPlatforms;
  o.server.body_limit = static_cast<std::size_t>(s.config.http.body_limit_bytes);
  o.server.read_timeout = std::chrono::milliseconds(s.config.http.read_timeout_ms);
  o.server.write_timeout = std::chrono::milliseconds(s.config.http.read_timeout_ms);
  o.server.handler_timeout = std::chrono::milliseconds(s.config.http.handler_timeout_ms);
  ApiDependencies deps{s.store, &s.outbox, s.http.get(), s.metrics, std::move(consuming), s.gather};
  deps.oauth = s.oauth;
  s.api = std::make_unique<ApiServer>(s.executor, std::move(deps), std::move(o));
  const std::string& listen = s.config.http.listen;
  const auto colon = listen.rfind(':');
  std::string host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
  const auto port = static_cast<std::uint16_t>(std::stoi(listen.substr(colon + 1)));
  if (auto ec = s.api->listen(host, port)) {
    log::error("http.listen {}: {}", listen, ec.message());
    return false;
  }
  s.api->start();
  log::info("HTTP API listening on {}:{}", host, s.api->port());
  return true;
}

void ApiRuntime::stop() {
  if (impl_->api) impl_->api->stop();
  impl_->sender->stop();
}

}  // namespace schedulo::daemon
