#include "jobs/token_revoke.hpp"

#include <nlohmann/json.hpp>

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "jobs/records_rewrite.hpp"
#include "jobs/token_use.hpp"
#include "queue/scripts.hpp"

namespace schedulo::jobs {
namespace {

std::int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

constexpr const char* kRevokedCode = "account_revoked";

}  // namespace

net::awaitable<boost::system::result<std::vector<std::string>>> fail_pending_jobs(queue::Store& jobs,
                                                                                  const tokens::AccountRef& ref,
                                                                                  const std::string& error,
                                                                                  const std::string& except) {
  using R = boost::system::result<std::vector<std::string>>;
  const auto& settings = jobs.settings();
  const auto now = wall_ms();
  redis::Args args{jobs.keys().prefix(),
                   std::to_string(now),
                   std::to_string(settings.retention.count()),
                   std::to_string(settings.idempotency_window.count()),
                   ref.platform,
                   ref.account,
                   error,
                   kRevokedCode,
                   except,
                   failure_rewrite(error, kRevokedCode, now)};
  auto reply = co_await jobs.client().eval(queue::script("account_fail_pending"), {}, std::move(args));
  if (!reply) co_return R(boost::system::in_place_error, reply.error());
  if (reply->is_error()) {
    log::error("account_fail_pending failed: {}", reply->str);
    co_return R(boost::system::in_place_error, boost::system::errc::make_error_code(boost::system::errc::io_error));
  }
  std::vector<std::string> ids;
  for (const auto& v : reply->elements) ids.push_back(v.str);
  co_return R(std::move(ids));
}

net::awaitable<Outcome> revoke_account_token(tokens::TokenProvider& provider, queue::Store& jobs, JobContext& job) {
  const auto ref = account_of(job.job());
  auto& store = provider.store();
  auto loaded = co_await store.load(ref);
  if (!loaded) co_return Outcome::defer("the token store cannot be read now", "token_store", std::chrono::seconds(5));
  bool platform_revoked = false;
  if (*loaded && (*loaded)->status != tokens::AccountStatus::revoked) {
    const tokens::StoredAccount account = **loaded;
    std::string error;
    auto set = store.open(account, error);
    platforms::TokenCalls* calls = provider.calls_for(ref.platform);
    if (set && !set->access_token.empty() && calls) {
      auto answer = co_await net::with_timeout(calls->revoke(*set), provider.options().refresh_timeout);
      if (!answer)
        co_return Outcome::retry("The " + ref.platform + " revoke call did not answer in time.", "revoke_timeout");
      if (answer->status == platforms::TokenCallStatus::transient ||
          answer->status == platforms::TokenCallStatus::unknown)
        co_return Outcome::retry("Revoking the " + ref.platform + " access failed: " +
                                     tokens::scrub_secrets(answer->message, {&set->access_token, &set->refresh_token}),
                                 "revoke_failed", answer->retry_after);
      platform_revoked = true;  // ok, or the grant was gone already (rejected, revoked)
    }
    const std::string reason = "disconnected in the app";
    const std::vector<tokens::AccountEvent> events{
        {"revoked", "The " + ref.platform + " account " + ref.account + " was disconnected; its tokens were deleted."}};
    auto marked =
        co_await store.set_status(ref, std::nullopt, tokens::AccountStatus::revoked, reason, wall_ms(), true, events);
    if (!marked)
      co_return Outcome::defer("the token store cannot be written now", "token_store", std::chrono::seconds(5));
  }
  const std::string message = "The " + ref.platform + " account " + ref.account +
                              " was disconnected (revoke_token), so this job cannot run. Connect the account again "
                              "and schedule it anew.";
  auto failed = co_await fail_pending_jobs(jobs, ref, message, job.job().id);
  if (!failed)
    co_return Outcome::retry("the account's pending jobs could not be failed now: " + failed.error().message(),
                             "redis");
  nlohmann::json result = {{"account", ref.account},
                           {"platform", ref.platform},
                           {"revoked", true},
                           {"platform_revoked", platform_revoked},
                           {"failed_jobs", *failed}};
  co_return Outcome::success(std::move(result));
}

}  // namespace schedulo::jobs
