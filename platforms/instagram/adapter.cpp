#include "platforms/instagram/adapter.hpp"

#include "common/rfc3339.hpp"
#include "platforms/instagram/analytics.hpp"
#include "platforms/instagram/instagram.hpp"
#include "platforms/instagram/publish.hpp"
#include "platforms/instagram/token_calls.hpp"

namespace schedulo::instagram {
namespace {

using json = nlohmann::json;
using jobs::Outcome;

class InstagramPlatform final : public jobs::PlatformAdapter {
 public:
  InstagramPlatform(errors::CallGuard& guard, http::HttpClient& http, tokens::TokenProvider* tokens,
                    InstagramOptions options)
      : ig_(guard, tokens, http, options), calls_(make_token_calls(http, std::move(options))) {}

  std::string_view name() const override { return "instagram"; }
  std::unique_ptr<jobs::PublishSteps> publish_steps() override { return make_publish_steps(ig_); }

  // Instagram Login tokens are renewed (ig_refresh_token); Facebook Login Page tokens do not expire
  // and cannot be renewed: they are checked with debug_token, and the owner is asked to reconnect
  // before Meta's data access for the app runs out.
  net::awaitable<Outcome> refresh_token(jobs::JobContext& job) override {
    if (!ig_.tokens()) co_return Outcome::fail("Instagram needs the token vault (vault.key_file).", "no_vault");
    auto& store = ig_.tokens()->store();
    const auto ref = jobs::account_of(job.job());
    auto loaded = co_await store.load(ref);
    if (!loaded) co_return Outcome::defer("the token store cannot be read now", "token_store", std::chrono::seconds(1));
    if (!*loaded)
      co_return Outcome::fail("The instagram account " + ref.account + " is not connected.", "not_connected");
    std::string error;
    auto tokens = store.open(**loaded, error);
    if (!tokens) co_return Outcome::retry("the account's tokens cannot be opened", "token_unreadable");
    if (login_of(tokens->scopes, tokens->access_token) == Login::instagram) {
      auto out = co_await jobs::refresh_account_token(*ig_.tokens(), job);
      co_return out;
    }
    auto seen = co_await calls_->introspect(*tokens);
    if (seen.status != platforms::TokenCallStatus::ok)
      co_return Outcome::retry("Meta's debug_token did not answer: " + seen.message, "debug_token");
    json result = {{"account", ref.account}, {"platform", "instagram"}, {"login", "facebook"},
                   {"valid", seen.valid},    {"scopes", seen.scopes},   {"refreshed", false}};
    if (seen.expires_at_ms > 0) result["access_expires_at"] = format_rfc3339_ms(seen.expires_at_ms);
    if (seen.data_access_expires_at_ms > 0)
      result["data_access_expires_at"] = format_rfc3339_ms(seen.data_access_expires_at_ms);
    if (!seen.valid) {
      co_await ig_.tokens()->report_revoked(ref, (*loaded)->version,
                                            seen.message.empty() ? "debug_token: not valid" : seen.message);
      co_return Outcome::fail(
          "The instagram account " + ref.account + " must be connected again: Meta no longer accepts its token.",
          "needs_reauth");
    }
    const auto now = now_epoch_ms();
    const auto ends = seen.data_access_expires_at_ms;
    if (ends > 0 && ends - now <= ig_.options().reconnect_warning.count()) {
      queue::Notification n;
      n.kind = queue::notification_kind::needs_reconnect;
      n.subject = ref.account;
      n.platform = "instagram";
      n.account = ref.account;
      n.job_id = job.job().id;
      n.message =
          "Meta's data access for the instagram account " + ref.account + " ends on " + format_rfc3339_ms(ends) + ".";
      n.action = "Reconnect the account before then so posting goes on.";
      n.error_code = "data_access_expiring";
      auto noted = co_await ig_.guard().notifier().notify(n);
      if (!noted) job.log().warn("could not record the reconnect notification: {}", noted.error().message());
      result["reconnect_by"] = format_rfc3339_ms(ends);
    }
    co_return Outcome::success(std::move(result));
  }

  net::awaitable<Outcome> fetch_analytics(jobs::JobContext& job) override {
    auto out = co_await instagram::fetch_analytics(ig_, job);
    co_return out;
  }

  // Revocation per login type (token_calls.hpp), then the stored tokens are wiped.
  net::awaitable<Outcome> revoke_token(jobs::JobContext& job) override {
    if (!ig_.tokens()) co_return Outcome::fail("Instagram needs the token vault (vault.key_file).", "no_vault");
    auto& store = ig_.tokens()->store();
    const auto ref = jobs::account_of(job.job());
    auto loaded = co_await store.load(ref);
    if (!loaded) co_return Outcome::defer("the token store cannot be read now", "token_store", std::chrono::seconds(1));
    if (!*loaded)
      co_return Outcome::success({{"account", ref.account}, {"revoked", false}, {"reason", "not connected"}});
    std::string error;
    auto tokens = store.open(**loaded, error);
    std::string note;
    if (tokens && !tokens->access_token.empty()) {
      auto r = co_await calls_->revoke(*tokens);
      if (r.status == platforms::TokenCallStatus::transient)
        co_return Outcome::retry("Meta did not take the revocation now: " + r.message, "revoke_failed", r.retry_after);
      note = r.message;
    }
    auto set = co_await store.set_status(ref, std::nullopt, tokens::AccountStatus::revoked, "revoked on request",
                                         now_epoch_ms(), true);
    if (!set) co_return Outcome::defer("the token store cannot be written now", "token_store", std::chrono::seconds(1));
    json result = {{"account", ref.account}, {"platform", "instagram"}, {"revoked", true}};
    if (!note.empty()) result["note"] = note;
    co_return Outcome::success(std::move(result));
  }

 private:
  Instagram ig_;
  std::unique_ptr<platforms::TokenCalls> calls_;
};

}  // namespace

std::unique_ptr<jobs::PlatformAdapter> make_adapter(errors::CallGuard& guard, http::HttpClient& http,
                                                    tokens::TokenProvider* tokens, InstagramOptions options) {
  return std::make_unique<InstagramPlatform>(guard, http, tokens, std::move(options));
}

}  // namespace schedulo::instagram
