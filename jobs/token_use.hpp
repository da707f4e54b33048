#pragma once
// How drivers and platform steps use an account's token (architecture rules 10, 12, 15): through
// with_token(), which asks the token provider for a valid token (refreshed just before use when
// inside the platform's margin, never starting a refresh the job's lease does not cover), runs the
// platform call with it, and when the platform answers that the token expired, refreshes once and
// runs the call once more. While another daemon refreshes the account the attempt ends `deferred`
// (no attempt used, no worker held); an account that must be connected again fails the job with a
// message saying so.
#include <functional>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "jobs/job_context.hpp"
#include "jobs/outcome.hpp"
#include "jobs/platform.hpp"
#include "tokens/provider.hpp"

namespace schedulo::jobs {

// What a platform call made with a token says about the token (the platform's error mapping decides:
// auth-expired or auth-revoked in the error taxonomy).
enum class TokenVerdict { accepted, expired, revoked };

struct TokenUse {
  TokenVerdict verdict = TokenVerdict::accepted;
  StepResult result;   // accepted: the step's result (nullopt: done, go on)
  std::string reason;  // expired, revoked: what the platform said, for people (no secret)

  static TokenUse done(StepResult result = std::nullopt) { return {TokenVerdict::accepted, std::move(result), {}}; }
  static TokenUse expired(std::string reason) { return {TokenVerdict::expired, std::nullopt, std::move(reason)}; }
  static TokenUse revoked(std::string reason) { return {TokenVerdict::revoked, std::nullopt, std::move(reason)}; }
};

using TokenCall = std::function<net::awaitable<TokenUse>(const tokens::AccessToken&)>;

tokens::AccountRef account_of(const Job& job);

// Runs `call` with a valid token of the job's account; see the top of this file.
net::awaitable<StepResult> with_token(tokens::TokenProvider& provider, JobContext& job, const TokenCall& call);

// Makes sure the job's account has a valid token now (renewing it if due), so the irreversible call
// that follows does not start with a renewal: for PublishSteps::before_publish. nullopt when ready.
net::awaitable<StepResult> prepare_token(tokens::TokenProvider& provider, JobContext& job);

// For PublishSteps::find_existing: the token to ask the platform with, or what to answer without one
// (not_now while another daemon renews it; unknown when the account cannot be used).
struct TokenForCheck {
  std::optional<tokens::AccessToken> token;
  Existence otherwise = Existence::unknown;
};
net::awaitable<TokenForCheck> token_for_check(tokens::TokenProvider& provider, JobContext& job);

// A token answer other than `ready` as the end of an attempt: busy defers, a store or lease problem
// defers (an outage uses no attempt), needs_reauth and the like fail with their message, the rest retry.
Outcome token_outcome(const tokens::TokenAnswer& answer);

// The refresh_token job type: renews the account's token now (one refresh in the fleet).
net::awaitable<Outcome> refresh_account_token(tokens::TokenProvider& provider, JobContext& job);

}  // namespace schedulo::jobs
