#pragma once
// What the Facebook publish steps, analytics and token checks share (internal to platforms/facebook):
// the Graph client, the token provider, the options, and the Page of each account (cached; a Page
// token's `GET /me` is the Page).
#include <functional>
#include <map>
#include <string>

#include "jobs/call_outcome.hpp"
#include "jobs/token_use.hpp"
#include "platforms/facebook/answers.hpp"
#include "platforms/facebook/facebook.hpp"
#include "platforms/graph/client.hpp"

namespace schedulo::facebook {

inline constexpr const char* kPlatform = "facebook";

class PageApi {
 public:
  PageApi(errors::CallGuard& guard, http::HttpClient& http, tokens::TokenProvider& provider, FacebookOptions options);

  // Runs one Graph call with the job's Page token (jobs/token_use.hpp: one refresh and retry on an
  // expired token; a revoked one marks the account needs_reauth). The answer lands in `out`; a value
  // is returned only when the attempt must end for the token or a deferral (rate limit, open circuit).
  // Any other failure is left in `out` for the caller to read.
  using MakeCall = std::function<graph::GraphCall()>;
  net::awaitable<jobs::StepResult> call(jobs::JobContext& job, const MakeCall& make, graph::GraphAnswer& out);

  // The job's Page id: ids["page_id"] when recorded, else the cache, else GET /me. nullopt with
  // `stop` set when the attempt must end.
  net::awaitable<std::optional<std::string>> page_id(jobs::JobContext& job, nlohmann::json& ids,
                                                     jobs::StepResult& stop);
  // Whether page_id() would answer without a call (recorded in `ids` or cached for the account).
  bool knows_page_id(const std::string& account, const nlohmann::json& ids) const {
    return !ids.value("page_id", std::string()).empty() || pages_.contains(account);
  }

  // The attempt's end for a failed call (its class: retry, defer, fail; unknown -> retried and
  // settled by find_existing when `can_reconcile`).
  static jobs::Outcome outcome(const graph::GraphAnswer& answer, bool can_reconcile = true);

  graph::GraphClient& graph() { return graph_; }
  http::HttpClient& http() { return http_; }
  tokens::TokenProvider& provider() { return provider_; }
  const FacebookOptions& options() const { return options_; }
  // The absolute URL of a path on the video host (graph-video.facebook.com).
  std::string video_url(const std::string& path) const { return options_.video_url + path; }

 private:
  graph::GraphClient graph_;
  http::HttpClient& http_;
  tokens::TokenProvider& provider_;
  FacebookOptions options_;
  std::map<std::string, std::string> pages_;  // account -> Page id
};

graph::GraphOptions graph_options(const FacebookOptions& options);

// publish_steps.cpp: the publish driver's Facebook half.
std::unique_ptr<jobs::PublishSteps> make_publish_steps(PageApi& api);

}  // namespace schedulo::facebook
