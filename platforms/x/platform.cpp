// The X adapter: publish steps (publish.cpp), analytics, the refresh_token and revoke_token jobs.
#include "common/rfc3339.hpp"
#include "platforms/http/url.hpp"
#include "platforms/x/api.hpp"
#include "platforms/x/publish.hpp"
#include "platforms/x/x.hpp"

namespace schedulo::x {
namespace {

using json = nlohmann::json;
using jobs::Outcome;

constexpr std::size_t kIdsPerLookup = 100;  // GET /2/tweets takes 1-100 ids (3.3)

std::string join(const std::vector<std::string>& ids, std::size_t from, std::size_t to) {
  std::string out;
  for (std::size_t i = from; i < to; ++i) {
    if (!out.empty()) out += ',';
    out += url_encode(ids[i]);
  }
  return out;
}

class XPlatform final : public jobs::PlatformAdapter {
 public:
  XPlatform(XSettings settings, http::HttpClient& http, errors::CallGuard& guard, tokens::TokenProvider& tokens,
            queue::LimitTable limits)
      : settings_(std::move(settings)),
        limits_(std::move(limits)),
        http_(http),
        api_(settings_, guard, tokens, limits_),
        calls_(make_token_calls(settings_, http)) {}

  std::string_view name() const override { return "x"; }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return std::make_unique<XPublishSteps>(api_, http_); }
  net::awaitable<Outcome> refresh_token(jobs::JobContext& job) override {
    co_return co_await jobs::refresh_account_token(api_.tokens(), job);
  }
  net::awaitable<Outcome> fetch_analytics(jobs::JobContext& job) override;
  net::awaitable<Outcome> revoke_token(jobs::JobContext& job) override;

 private:
  // The account's recent post ids (a fetch_analytics job without targets).
  net::awaitable<std::optional<Outcome>> recent_ids(jobs::JobContext& job, std::vector<std::string>& out);

  XSettings settings_;
  queue::LimitTable limits_;
  http::HttpClient& http_;
  XApi api_;
  std::unique_ptr<platforms::TokenCalls> calls_;
};

net::awaitable<std::optional<Outcome>> XPlatform::recent_ids(jobs::JobContext& job, std::vector<std::string>& out) {
  http::Request me;
  me.url = api_.api("/2/users/me");
  me.timeouts = api_timeouts();
  auto who = co_await api_.call(job, Endpoint::users_me, std::move(me));
  if (!who.ok()) co_return failure(who);
  const json who_doc = who.json();
  const std::string uid = user_id_of(who_doc);
  http::Request list;
  list.url = api_.api("/2/users/" + url_encode(uid) + "/tweets?max_results=100");
  list.timeouts = api_timeouts();
  auto posts = co_await api_.call(job, Endpoint::user_tweets, std::move(list));
  if (!posts.ok()) co_return failure(posts);
  const json doc = posts.json();
  if (doc.is_object() && doc.contains("data") && doc["data"].is_array())
    for (const auto& p : doc["data"])
      if (p.is_object() && p.contains("id") && p["id"].is_string()) out.push_back(p["id"].get<std::string>());
  co_return std::nullopt;
}

// Public metrics for every post; non-public and organic ones where X lets the token's owner read them
// (their own posts of the last 30 days: X leaves them out with a field-authorization error otherwise,
// and a request it refuses whole is asked again for public metrics only). 100 ids per call; the
// batches done are kept in the checkpoint, so a deferral (rate limit) resumes where it stopped.
net::awaitable<Outcome> XPlatform::fetch_analytics(jobs::JobContext& job) {
  const json& saved = job.checkpoint();
  json metrics = saved.is_object() ? saved.value("metrics", json::object()) : json::object();
  json missing = saved.is_object() ? saved.value("missing", json::array()) : json::array();
  std::size_t done = saved.is_object() ? saved.value("ids_done", std::size_t{0}) : 0;
  int calls = saved.is_object() ? saved.value("calls", 0) : 0;

  std::vector<std::string> ids = job.job().target_post_ids;
  if (ids.empty()) {
    if (saved.is_object() && saved.contains("ids") && saved["ids"].is_array())
      ids = saved["ids"].get<std::vector<std::string>>();
    else {
      auto stop = co_await recent_ids(job, ids);
      if (stop) co_return std::move(*stop);
    }
  }
  auto progress = [&] {
    json c = {{"metrics", metrics}, {"missing", missing}, {"ids_done", done}, {"calls", calls}};
    if (job.job().target_post_ids.empty()) c["ids"] = ids;
    return c;
  };
  const std::string fields = "&tweet.fields=created_at,public_metrics";
  const std::string private_fields_list = ",non_public_metrics,organic_metrics";
  while (done < ids.size()) {
    // Up to 100 ids, and fewer when the URL would pass the HTTP client's 2048 characters (100 ids of
    // 19 digits come close to it on their own).
    const std::size_t fixed = api_.api("/2/tweets?ids=").size() + fields.size() + private_fields_list.size();
    std::size_t end = done;
    std::size_t length = fixed;
    while (end < ids.size() && end - done < kIdsPerLookup) {
      const std::size_t more = url_encode(ids[end]).size() + (end > done ? 1 : 0);
      if (end > done && length + more > http::kMaxUrlLength) break;
      length += more;
      ++end;
    }
    bool private_fields = true;
    XCall answer;
    for (;;) {
      http::Request lookup;
      lookup.url =
          api_.api("/2/tweets?ids=" + join(ids, done, end) + fields + (private_fields ? private_fields_list : ""));
      lookup.timeouts = api_timeouts();
      answer = co_await api_.call(job, Endpoint::tweets_lookup, std::move(lookup));
      ++calls;
      if (!answer.ok() && !answer.stop && private_fields && answer.call.classified.status >= 400 &&
          answer.call.classified.kind == errors::ErrorClass::permanent) {
        private_fields = false;  // refused for the private fields: public metrics for this batch
        continue;
      }
      break;
    }
    if (!answer.ok()) {
      Outcome out = failure(answer, false);
      out.checkpoint = progress();
      co_return out;
    }
    read_metrics_page(answer.json(), metrics, missing);
    done = end;
  }
  co_return Outcome::success({{"metrics", metrics},
                              {"missing", missing},
                              {"posts", metrics.size()},
                              {"calls", calls},
                              {"fetched_at", format_rfc3339_ms(now_epoch_ms())}});
}

// Ends the account's grant at X, then marks it revoked here with its tokens wiped.
net::awaitable<Outcome> XPlatform::revoke_token(jobs::JobContext& job) {
  const auto ref = jobs::account_of(job.job());
  auto& store = api_.tokens().store();
  auto loaded = co_await store.load(ref);
  if (!loaded) co_return Outcome::defer("the token store could not be read", "token_store", std::chrono::seconds(1));
  if (!*loaded) co_return Outcome::fail("The X account " + ref.account + " is not connected.", "not_connected");
  const tokens::StoredAccount& account = **loaded;
  if (account.status == tokens::AccountStatus::revoked)
    co_return Outcome::success({{"account", ref.account}, {"platform", "x"}, {"revoked", true}, {"already", true}});
  std::string error;
  auto set = store.open(account, error);
  if (!set) co_return Outcome::fail("The X account's tokens could not be opened: " + error, "vault");
  auto answer = co_await calls_->revoke(*set);
  if (answer.status == platforms::TokenCallStatus::transient || answer.status == platforms::TokenCallStatus::unknown)
    co_return Outcome::retry(answer.message, answer.code.empty() ? "revoke_failed" : answer.code, answer.retry_after);
  // ok, or X refusing a token that no longer works: either way the account is disconnected here.
  const std::string reason = answer.status == platforms::TokenCallStatus::ok
                                 ? "revoked by a revoke_token job"
                                 : "revoked by a revoke_token job (X: " + answer.message + ")";
  auto marked =
      co_await store.set_status(ref, account.version, tokens::AccountStatus::revoked, reason, now_epoch_ms(), true);
  if (!marked) co_return Outcome::defer("the token store could not be updated", "token_store", std::chrono::seconds(1));
  co_return Outcome::success({{"account", ref.account}, {"platform", "x"}, {"revoked", true}});
}

}  // namespace

std::unique_ptr<jobs::PlatformAdapter> make_platform(XSettings settings, http::HttpClient& http,
                                                     errors::CallGuard& guard, tokens::TokenProvider& tokens,
                                                     queue::LimitTable limits) {
  return std::make_unique<XPlatform>(std::move(settings), http, guard, tokens, std::move(limits));
}

}  // namespace schedulo::x
