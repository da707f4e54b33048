#include "daemon/live_platforms.hpp"

#include <cstdlib>

#include "daemon/runtime.hpp"
#include "jobs/token_revoke.hpp"
#include "platforms/facebook/facebook.hpp"
#include "platforms/instagram/adapter.hpp"
#include "platforms/instagram/token_calls.hpp"
#include "platforms/tiktok/tiktok.hpp"
#include "platforms/x/x.hpp"

namespace schedulo::daemon {
namespace {

// revoke_token jobs of every platform go through the token core (jobs/token_revoke.hpp): the
// platform's own revoke call (its TokenCalls), the tokens wiped, the account marked revoked, and its
// jobs that have not started failed with a sentence saying why. The rest is the platform's adapter.
class RevokeThroughTokenCore final : public jobs::PlatformAdapter {
 public:
  RevokeThroughTokenCore(std::unique_ptr<jobs::PlatformAdapter> inner, tokens::TokenProvider& provider,
                         queue::Store& store)
      : inner_(std::move(inner)), provider_(provider), store_(store) {}
  std::string_view name() const override { return inner_->name(); }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return inner_->publish_steps(); }
  net::awaitable<jobs::Outcome> refresh_token(jobs::JobContext& job) override { return inner_->refresh_token(job); }
  net::awaitable<jobs::Outcome> fetch_analytics(jobs::JobContext& job) override {
    return inner_->fetch_analytics(job);
  }
  net::awaitable<jobs::Outcome> revoke_token(jobs::JobContext& job) override {
    return jobs::revoke_account_token(provider_, store_, job);
  }

 private:
  std::unique_ptr<jobs::PlatformAdapter> inner_;
  tokens::TokenProvider& provider_;
  queue::Store& store_;
};

// Each platform's options from the configuration: one place, used by the adapters and by the token
// calls alone (`schedulo sweep`).
instagram::InstagramOptions instagram_options(const Config& config) {
  const auto& p = config.platforms.at("instagram");
  const auto& c = config.instagram;
  instagram::InstagramOptions o;
  o.graph.platform = "instagram";
  o.graph.base_url = p.base_url;
  o.graph.app_secret = Secret(p.client_secret);
  o.graph.limits = limit_table(config);
  o.graph.classify.throttle_wait = std::chrono::milliseconds(config.limits.graph_throttle_wait_ms);
  o.login_base_url = c.login_base_url;
  o.upload_url = p.upload_url;
  o.app_id = p.client_id;
  o.video_upload = c.video_upload == "url"       ? instagram::VideoUpload::url
                   : c.video_upload == "rupload" ? instagram::VideoUpload::rupload
                                                 : instagram::VideoUpload::automatic;
  o.poll_interval = std::chrono::milliseconds(c.poll_interval_ms);
  o.container_timeout = std::chrono::milliseconds(c.container_timeout_ms);
  o.quota_recheck = std::chrono::milliseconds(c.quota_recheck_ms);
  o.refresh_margin = std::chrono::milliseconds(c.refresh_margin_ms);
  o.reconnect_warning = std::chrono::milliseconds(c.reconnect_warning_ms);
  o.rupload_chunk_bytes = static_cast<std::uint64_t>(c.rupload_chunk_bytes);
  return o;
}

facebook::FacebookOptions facebook_options(const Config& config) {
  const auto& p = config.platforms.at("facebook");
  facebook::FacebookOptions fb;
  fb.base_url = p.base_url;
  fb.video_url = p.upload_url;
  fb.app_id = p.client_id;
  fb.app_secret = Secret(p.client_secret);
  fb.limits = limit_table(config);
  fb.throttle_wait = std::chrono::milliseconds(config.limits.graph_throttle_wait_ms);
  const auto& transfer = config.facebook.video_transfer;
  fb.video_transfer = transfer == "upload"     ? facebook::VideoTransfer::upload
                      : transfer == "file_url" ? facebook::VideoTransfer::file_url
                                               : facebook::VideoTransfer::automatic;
  fb.status_poll = std::chrono::milliseconds(config.facebook.status_poll_ms);
  fb.reconnect_ahead = std::chrono::hours(24 * config.facebook.reconnect_ahead_days);
  return fb;
}

tiktok::Settings tiktok_settings(const Config& config) {
  tiktok::Settings tt;
  const auto& pc = config.platforms.at("tiktok");
  tt.base_url = pc.base_url;
  tt.client_key = pc.client_id;
  tt.client_secret = pc.client_secret;
  tt.verified_prefixes = config.tiktok.verified_prefixes;
  tt.chunk_bytes = static_cast<std::uint64_t>(config.tiktok.chunk_bytes);
  tt.status_poll = std::chrono::milliseconds(config.tiktok.status_poll_ms);
  tt.public_id_wait = std::chrono::milliseconds(config.tiktok.public_id_wait_ms);
  if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) tt.staging_dir = tmp;  // as for X
  return tt;
}

x::XSettings x_settings(const Config& config) {
  const auto& p = config.platforms.at("x");
  x::XSettings xs;
  xs.base_url = p.base_url;
  xs.upload_url = p.upload_url;
  xs.client_id = p.client_id;
  xs.client_secret = p.client_secret;
  xs.chunk_bytes = static_cast<std::uint64_t>(config.x.upload_chunk_bytes);
  xs.inline_wait = std::chrono::milliseconds(config.x.inline_wait_ms);
  xs.reconcile_posts = config.x.reconcile_posts;
  xs.text_limit = static_cast<std::size_t>(config.x.text_limit);
  if (const char* tmp = std::getenv("TMPDIR"); tmp && *tmp) xs.staging_dir = tmp;
  return xs;
}

}  // namespace

std::map<std::string, std::unique_ptr<platforms::TokenCalls>> live_token_calls(const Config& config,
                                                                               http::HttpClient& http) {
  std::map<std::string, std::unique_ptr<platforms::TokenCalls>> calls;
  calls["instagram"] = instagram::make_token_calls(http, instagram_options(config));
  calls["facebook"] = facebook::make_facebook_token_calls(http, facebook_options(config));
  calls["tiktok"] = tiktok::make_token_calls(tiktok_settings(config), http);
  calls["x"] = x::make_token_calls(x_settings(config), http);
  return calls;
}

void add_live_platforms(const LivePlatformDeps& deps,
                        std::map<std::string, std::unique_ptr<jobs::PlatformAdapter>>& adapters,
                        std::map<std::string, std::unique_ptr<platforms::TokenCalls>>& token_calls) {
  // One block per platform, each added by its own issue; a platform without a block has no adapter,
  // and its jobs fail with platform_unavailable (jobs/dispatcher.cpp).
  // -- instagram (issue 9) --
  {
    auto o = instagram_options(deps.config);
    token_calls["instagram"] = instagram::make_token_calls(deps.http, o);
    adapters["instagram"] = instagram::make_adapter(deps.guard, deps.http, deps.tokens, std::move(o));
  }
  // -- facebook (issue 10) --
  if (deps.tokens) {
    const auto fb = facebook_options(deps.config);
    token_calls["facebook"] = facebook::make_facebook_token_calls(deps.http, fb);
    adapters["facebook"] = facebook::make_facebook_platform(deps.guard, deps.http, *deps.tokens, fb);
  }
  // -- tiktok (issue 11) --
  if (deps.tokens) {
    const auto tt = tiktok_settings(deps.config);
    auto calls = tiktok::make_token_calls(tt, deps.http);
    adapters["tiktok"] = tiktok::make_adapter(tt, limit_table(deps.config), deps.guard, *deps.tokens, *calls);
    token_calls["tiktok"] = std::move(calls);
  }
  // -- x (issue 12) --
  {
    const auto xs = x_settings(deps.config);
    token_calls["x"] = x::make_token_calls(xs, deps.http);
    if (deps.tokens)
      adapters["x"] = x::make_platform(xs, deps.http, deps.guard, *deps.tokens, limit_table(deps.config));
  }

  if (deps.tokens)
    for (auto& [name, adapter] : adapters)
      adapter = std::make_unique<RevokeThroughTokenCore>(std::move(adapter), *deps.tokens, deps.store);
}

}  // namespace schedulo::daemon
