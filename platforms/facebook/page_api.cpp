#include "platforms/facebook/page_api.hpp"

namespace schedulo::facebook {

graph::GraphOptions graph_options(const FacebookOptions& options) {
  graph::GraphOptions g;
  g.platform = kPlatform;
  g.base_url = options.base_url;
  g.app_secret = options.app_secret;
  g.limits = options.limits;
  g.classify.throttle_wait = options.throttle_wait;
  return g;
}

PageApi::PageApi(errors::CallGuard& guard, http::HttpClient& http, tokens::TokenProvider& provider,
                 FacebookOptions options)
    : graph_(guard, graph_options(options)), http_(http), provider_(provider), options_(std::move(options)) {}

net::awaitable<jobs::StepResult> PageApi::call(jobs::JobContext& job, const MakeCall& make, graph::GraphAnswer& out) {
  const jobs::TokenCall attempt = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
    graph::GraphCall c = make();
    c.token = &token.value;
    c.job_id = job.job().id;
    c.account = job.job().account;
    out = co_await graph_.call(c);
    if (out.deferred()) co_return jobs::TokenUse::done(jobs::outcome_of(out.call, kPlatform));
    const auto& classified = out.classified();
    const std::string reason = classified.error_code() + (classified.detail.empty() ? "" : ": " + classified.detail);
    if (classified.kind == errors::ErrorClass::auth_expired) co_return jobs::TokenUse::expired(reason);
    if (classified.kind == errors::ErrorClass::auth_revoked) co_return jobs::TokenUse::revoked(reason);
    co_return jobs::TokenUse::done();
  };
  co_return co_await jobs::with_token(provider_, job, attempt);
}

net::awaitable<std::optional<std::string>> PageApi::page_id(jobs::JobContext& job, nlohmann::json& ids,
                                                            jobs::StepResult& stop) {
  const auto recorded = ids.value("page_id", std::string());
  if (!recorded.empty()) co_return recorded;
  const auto cached = pages_.find(job.job().account);
  if (cached != pages_.end()) {
    ids["page_id"] = cached->second;
    co_return cached->second;
  }
  graph::GraphAnswer answer;
  const MakeCall me = [] {
    graph::GraphCall c;
    c.path = "/me";
    c.params = {{"fields", "id,name"}};
    c.endpoint = "GET /me";
    return c;
  };
  stop = co_await call(job, me, answer);
  if (stop) co_return std::nullopt;
  if (!answer.ok()) {
    stop = outcome(answer);
    co_return std::nullopt;
  }
  const auto id = answer.text("id");
  if (id.empty()) {
    stop = jobs::Outcome::retry("Facebook did not say which Page this account's token belongs to", "bad_answer");
    co_return std::nullopt;
  }
  pages_[job.job().account] = id;
  ids["page_id"] = id;
  co_return id;
}

jobs::Outcome PageApi::outcome(const graph::GraphAnswer& answer, bool can_reconcile) {
  jobs::OutcomeRules rules;
  rules.can_reconcile = can_reconcile;
  return jobs::outcome_of(answer.call, kPlatform, rules);
}

}  // namespace schedulo::facebook
