// The TikTok adapter: publish steps per attempt (publish.cpp), the refresh_token and revoke_token jobs
// through the token core, and analytics from the Display API (section 2.8).
#include "common/rfc3339.hpp"
#include "jobs/token_use.hpp"
#include "platforms/tiktok/api.hpp"
#include "platforms/tiktok/publish.hpp"

namespace schedulo::tiktok {
namespace {

using jobs::Outcome;

constexpr std::size_t kIdsPerQuery = 20;  // video/query takes at most 20 ids
constexpr const char* kVideoFields = "id,create_time,share_url,view_count,like_count,comment_count,share_count";
constexpr const char* kUserFields = "open_id,display_name,follower_count,following_count,likes_count,video_count";

// A video object as an Analytics row's metrics; the id stays the exact decimal text TikTok sent.
json metrics_of(const json& video) {
  json out{{"post_id", video.contains("id")
                           ? (video["id"].is_string() ? video["id"].get<std::string>() : video["id"].dump())
                           : std::string()}};
  for (const char* k : {"view_count", "like_count", "comment_count", "share_count", "create_time"})
    if (video.contains(k) && video[k].is_number()) out[k] = video[k];
  if (video.contains("share_url") && video["share_url"].is_string()) out["url"] = video["share_url"];
  return out;
}

class TikTokAdapter final : public jobs::PlatformAdapter {
 public:
  TikTokAdapter(Settings settings, queue::LimitTable limits, errors::CallGuard& guard, tokens::TokenProvider& provider,
                platforms::TokenCalls& calls)
      : settings_(std::move(settings)),
        limits_(std::move(limits)),
        api_(settings_, limits_, guard),
        provider_(provider),
        calls_(calls) {}

  std::string_view name() const override { return "tiktok"; }

  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return make_publish_steps(api_, provider_); }

  net::awaitable<Outcome> refresh_token(jobs::JobContext& job) override {
    co_return co_await jobs::refresh_account_token(provider_, job);
  }

  net::awaitable<Outcome> fetch_analytics(jobs::JobContext& job) override {
    json user;
    json posts = json::array();
    const jobs::TokenCall call = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
      auto u =
          co_await api_.get(std::string("/v2/user/info/?fields=") + kUserFields, token, job.job(), "user_info", "app");
      if (!u.ok()) co_return token_use(u, failure_of(u));
      user = data_of(*u.response()).value("user", json::object());
      const auto& ids = job.job().target_post_ids;
      if (ids.empty()) {
        // No targets: the account's recent videos (one page of video/list).
        const json body{{"max_count", kIdsPerQuery}};
        auto l = co_await api_.post(std::string("/v2/video/list/?fields=") + kVideoFields, body, token, job.job(),
                                    "video_list", "app", errors::Safety::idempotent);
        if (!l.ok()) co_return token_use(l, failure_of(l));
        for (const auto& v : data_of(*l.response()).value("videos", json::array())) posts.push_back(metrics_of(v));
        co_return jobs::TokenUse::done();
      }
      for (std::size_t at = 0; at < ids.size(); at += kIdsPerQuery) {
        json batch = json::array();
        for (std::size_t i = at; i < ids.size() && i < at + kIdsPerQuery; ++i) batch.push_back(ids[i]);
        const json body{{"filters", {{"video_ids", batch}}}};
        auto q = co_await api_.post(std::string("/v2/video/query/?fields=") + kVideoFields, body, token, job.job(),
                                    "video_query", "app", errors::Safety::idempotent);
        if (!q.ok()) co_return token_use(q, failure_of(q));
        for (const auto& v : data_of(*q.response()).value("videos", json::array())) posts.push_back(metrics_of(v));
      }
      co_return jobs::TokenUse::done();
    };
    auto stop = co_await jobs::with_token(provider_, job, call);
    if (stop) co_return std::move(*stop);
    json account{{"account", job.job().account}, {"platform", "tiktok"}};
    for (const char* k : {"follower_count", "following_count", "likes_count", "video_count"})
      if (user.contains(k)) account[k] = user[k];
    co_return Outcome::success({{"account", std::move(account)}, {"posts", std::move(posts)}});
  }

  // Disconnects the account: TikTok's revoke (every token of the grant dies), then the stored tokens
  // are wiped and the account marked revoked.
  net::awaitable<Outcome> revoke_token(jobs::JobContext& job) override {
    const auto ref = jobs::account_of(job.job());
    auto& store = provider_.store();
    auto loaded = co_await store.load(ref);
    if (!loaded) co_return Outcome::defer("the token store could not be read", "token_store", std::chrono::seconds(1));
    if (!*loaded) co_return Outcome::fail("The TikTok account " + ref.account + " is not connected.", "not_connected");
    const auto& account = **loaded;
    if (account.status != tokens::AccountStatus::revoked) {
      std::string error;
      auto set = store.open(account, error);
      if (set && !set->access_token.empty()) {
        auto result = co_await calls_.revoke(*set);
        if (result.status != platforms::TokenCallStatus::ok)
          co_return Outcome::retry("TikTok did not revoke the token: " + result.message,
                                   result.code.empty() ? "revoke" : result.code);
      }
      auto marked = co_await store.set_status(ref, std::nullopt, tokens::AccountStatus::revoked,
                                              "disconnected by a revoke_token job", now_epoch_ms(), true);
      if (!marked)
        co_return Outcome::defer("the token store could not be written", "token_store", std::chrono::seconds(1));
    }
    co_return Outcome::success({{"account", ref.account}, {"platform", "tiktok"}, {"revoked", true}});
  }

 private:
  Settings settings_;
  queue::LimitTable limits_;
  Api api_;
  tokens::TokenProvider& provider_;
  platforms::TokenCalls& calls_;
};

}  // namespace

std::unique_ptr<jobs::PlatformAdapter> make_adapter(const Settings& settings, queue::LimitTable limits,
                                                    errors::CallGuard& guard, tokens::TokenProvider& provider,
                                                    platforms::TokenCalls& calls) {
  return std::make_unique<TikTokAdapter>(settings, std::move(limits), guard, provider, calls);
}

}  // namespace schedulo::tiktok
