#pragma once
// The Instagram adapter's shared plumbing (platforms/instagram): the account's login (Facebook Login
// on graph.facebook.com, or Instagram Login on graph.instagram.com), its Instagram user id, and one
// Graph call with the account's token through the token core (jobs/token_use.hpp), classified by the
// Graph client. The publish steps, analytics and token calls are built on it.
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "jobs/call_outcome.hpp"
#include "jobs/platform.hpp"
#include "jobs/token_use.hpp"
#include "platforms/graph/client.hpp"
#include "platforms/instagram/options.hpp"
#include "tokens/provider.hpp"

namespace schedulo::instagram {

enum class Login { facebook, instagram };
std::string_view to_string(Login login);

// Which login a token belongs to: Instagram Login scopes (instagram_business_*) or, without scopes, an
// Instagram Login token's "IG" prefix; Facebook Login otherwise.
Login login_of(const std::string& scopes, const Secret& token);

// Whether Meta can fetch this media URL itself (a public host): IP literals outside public ranges,
// localhost and .local/.internal names are not.
bool public_media_url(const std::string& url);

// The result of one Graph call made with the account's token.
struct Called {
  std::optional<graph::GraphAnswer> answer;  // set when the call was made (or deferred)
  jobs::StepResult stop;                     // the attempt ends (token trouble): this outcome
  bool ok() const { return answer && answer->ok(); }
};

class Instagram {
 public:
  Instagram(errors::CallGuard& guard, tokens::TokenProvider* tokens, http::HttpClient& http, InstagramOptions options);

  const InstagramOptions& options() const { return options_; }
  http::HttpClient& http() { return http_; }
  tokens::TokenProvider* tokens() { return tokens_; }
  errors::CallGuard& guard() { return guard_; }

  // One Graph call with the job's account token; `ids` gets "login" and "ig_user_id" (resolved once
  // per account and remembered). `call.path` may hold "{ig-user-id}", replaced here. An expired
  // token is refreshed once and the call made again; a revoked one fails the job.
  net::awaitable<Called> call(jobs::JobContext& job, nlohmann::json& ids, graph::GraphCall call);
  // The same with a token already in hand (reconciliation): no refresh, the answer as it is.
  net::awaitable<graph::GraphAnswer> call_with(jobs::JobContext& job, nlohmann::json& ids,
                                               const tokens::AccessToken& token, graph::GraphCall call);
  // Makes sure `ids` has the account's login and Instagram user id (a token is obtained for it).
  net::awaitable<jobs::StepResult> prepare(jobs::JobContext& job, nlohmann::json& ids);
  // The rupload URL of a resumable container (Facebook Login): the `uri` the create answer gave, else
  // built from platforms.instagram.upload_url and the Graph version.
  std::string rupload_url(const std::string& container, const std::string& uri) const;

  // The attempt's outcome for a failed call (deferral or classification).
  static jobs::Outcome failure(const graph::GraphAnswer& answer, bool can_reconcile = true);

 private:
  graph::GraphClient& client_for(Login login) { return login == Login::instagram ? login_client_ : fb_client_; }
  net::awaitable<std::optional<graph::GraphAnswer>> resolve_user(jobs::JobContext& job, nlohmann::json& ids,
                                                                 Login login, const tokens::AccessToken& token);

  errors::CallGuard& guard_;
  tokens::TokenProvider* tokens_;
  http::HttpClient& http_;
  InstagramOptions options_;
  graph::GraphClient fb_client_;
  graph::GraphClient login_client_;
  std::map<std::string, std::string> user_ids_;  // account -> Instagram user id (one io thread)
};

}  // namespace schedulo::instagram
