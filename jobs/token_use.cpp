#include "jobs/token_use.hpp"

#include <any>

#include "common/rfc3339.hpp"

namespace schedulo::jobs {
namespace {

tokens::BeforeRefresh lease_guard(JobContext& job) {
  return [&job](std::chrono::milliseconds step) -> net::awaitable<bool> {
    const bool covered = co_await job.ensure_lease_covers(step);
    co_return covered;
  };
}

}  // namespace

tokens::AccountRef account_of(const Job& job) {
  return {std::string(to_string(job.platform)), job.account};
}

Outcome token_outcome(const tokens::TokenAnswer& answer) {
  using tokens::TokenState;
  switch (answer.state) {
    case TokenState::ready:
      return Outcome::retry("internal error: a ready token treated as a failure", "internal");
    case TokenState::busy:
      return Outcome::defer(answer.message, answer.code, answer.retry_after);
    case TokenState::needs_reauth:
    case TokenState::revoked:
    case TokenState::not_connected:
      return Outcome::fail(answer.message, answer.code);
    case TokenState::unavailable:
      if (answer.code == "lease" || answer.code == "token_store")
        return Outcome::defer(answer.message, answer.code, answer.retry_after);
      return Outcome::retry(answer.message, answer.code, answer.retry_after);
  }
  return Outcome::retry(answer.message, answer.code, answer.retry_after);
}

net::awaitable<StepResult> with_token(tokens::TokenProvider& provider, JobContext& job, const TokenCall& call) {
  const auto ref = account_of(job.job());
  const auto before = lease_guard(job);
  tokens::TokenAnswer first;
  if (auto* kept = std::any_cast<tokens::AccessToken>(&job.attempt_memo())) {
    // Read by prepare_token a moment ago, for this call: one read and decryption, not two. A token
    // renewed meanwhile elsewhere is answered "expired" by the platform and renewed below.
    first.state = tokens::TokenState::ready;
    first.token = std::move(*kept);
    job.attempt_memo().reset();
  } else {
    first = co_await provider.get(ref, before);
  }
  if (first.state != tokens::TokenState::ready) co_return token_outcome(first);
  if (first.refreshed) job.log().info("token of {} renewed before use", ref.member());
  TokenUse use = co_await call(first.token);
  if (use.verdict == TokenVerdict::accepted) co_return std::move(use.result);
  if (use.verdict == TokenVerdict::revoked) {
    co_await provider.report_revoked(ref, first.token.version, use.reason);
    co_return Outcome::fail("The " + ref.platform + " account " + ref.account +
                                " must be connected again: the platform says access was revoked (" + use.reason + ")",
                            "needs_reauth");
  }
  // The platform says the token expired: one refresh, one retry.
  job.log().info("the platform refused the token of {} as expired; renewing it once", ref.member());
  auto second = co_await provider.refresh_rejected(ref, first.token.version, before);
  if (second.state != tokens::TokenState::ready) co_return token_outcome(second);
  TokenUse again = co_await call(second.token);
  if (again.verdict == TokenVerdict::accepted) co_return std::move(again.result);
  if (again.verdict == TokenVerdict::revoked) {
    co_await provider.report_revoked(ref, second.token.version, again.reason);
    co_return Outcome::fail("The " + ref.platform + " account " + ref.account +
                                " must be connected again: the platform says access was revoked (" + again.reason + ")",
                            "needs_reauth");
  }
  co_return Outcome::retry("the platform refused a freshly renewed token (" + again.reason + ")", "auth_expired");
}

net::awaitable<StepResult> prepare_token(tokens::TokenProvider& provider, JobContext& job) {
  const auto ref = account_of(job.job());
  auto answer = co_await provider.get(ref, lease_guard(job));
  if (answer.state != tokens::TokenState::ready) co_return token_outcome(answer);
  if (answer.refreshed) job.log().info("token of {} renewed before publishing", ref.member());
  job.attempt_memo() = std::move(answer.token);
  co_return std::nullopt;
}

net::awaitable<TokenForCheck> token_for_check(tokens::TokenProvider& provider, JobContext& job) {
  auto answer = co_await provider.get(account_of(job.job()), lease_guard(job));
  TokenForCheck out;
  switch (answer.state) {
    case tokens::TokenState::ready:
      out.token = std::move(answer.token);
      break;
    case tokens::TokenState::busy:
    case tokens::TokenState::unavailable:
      out.otherwise = Existence::not_now;
      break;
    default:
      out.otherwise = Existence::unknown;
      break;
  }
  co_return out;
}

net::awaitable<Outcome> refresh_account_token(tokens::TokenProvider& provider, JobContext& job) {
  const auto ref = account_of(job.job());
  auto answer = co_await provider.refresh_now(ref, lease_guard(job));
  if (answer.state != tokens::TokenState::ready) co_return token_outcome(answer);
  nlohmann::json result = {{"account", ref.account},
                           {"platform", ref.platform},
                           {"version", answer.token.version},
                           {"refreshed", answer.refreshed}};
  if (answer.token.expires_at_ms > 0) result["access_expires_at"] = format_rfc3339_ms(answer.token.expires_at_ms);
  co_return Outcome::success(std::move(result));
}

}  // namespace schedulo::jobs
