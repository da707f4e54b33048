#include "platforms/instagram/instagram.hpp"

#include <boost/asio/ip/address.hpp>

#include "platforms/http/address_policy.hpp"
#include "platforms/http/url.hpp"

namespace schedulo::instagram {
namespace {

using json = nlohmann::json;

graph::GraphOptions login_graph(const InstagramOptions& o) {
  graph::GraphOptions g = o.graph;
  g.base_url = o.login_base_url;
  // Instagram Login tokens are Instagram's, not the Meta app's: no appsecret_proof on graph.instagram.com.
  g.app_secret = Secret();
  return g;
}

void replace_all(std::string& text, std::string_view from, const std::string& to) {
  for (auto at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
}

jobs::TokenUse verdict_of(const graph::GraphAnswer& answer) {
  const auto& c = answer.classified();
  if (answer.deferred()) return jobs::TokenUse::done();
  if (c.kind == errors::ErrorClass::auth_expired) return jobs::TokenUse::expired("Graph error " + c.error_code());
  if (c.kind == errors::ErrorClass::auth_revoked) return jobs::TokenUse::revoked("Graph error " + c.error_code());
  return jobs::TokenUse::done();
}

}  // namespace

std::string_view to_string(Login login) {
  return login == Login::instagram ? "instagram" : "facebook";
}

Login login_of(const std::string& scopes, const Secret& token) {
  if (scopes.find("instagram_business_") != std::string::npos) return Login::instagram;
  if (scopes.find("instagram_basic") != std::string::npos || scopes.find("pages_") != std::string::npos)
    return Login::facebook;
  return token.reveal().starts_with("IG") ? Login::instagram : Login::facebook;
}

bool public_media_url(const std::string& url) {
  const auto parsed = http::parse_url(url);
  if (!parsed.url) return false;
  const auto& host = parsed.url->host;
  if (parsed.url->host_is_ip) {
    boost::system::error_code ec;
    const auto address = boost::asio::ip::make_address(host, ec);
    return !ec && !http::AddressPolicy::non_public_range(address);
  }
  if (host == "localhost" || host.ends_with(".localhost") || host.ends_with(".local") || host.ends_with(".internal"))
    return false;
  return host.find('.') != std::string::npos;  // a bare name is an intranet host
}

Instagram::Instagram(errors::CallGuard& guard, tokens::TokenProvider* tokens, http::HttpClient& http,
                     InstagramOptions options)
    : guard_(guard),
      tokens_(tokens),
      http_(http),
      options_(std::move(options)),
      fb_client_(guard, options_.graph),
      login_client_(guard, login_graph(options_)) {}

jobs::Outcome Instagram::failure(const graph::GraphAnswer& answer, bool can_reconcile) {
  jobs::OutcomeRules rules;
  rules.can_reconcile = can_reconcile;
  return jobs::outcome_of(answer.call, "instagram", rules);
}

net::awaitable<std::optional<graph::GraphAnswer>> Instagram::resolve_user(jobs::JobContext& job, json& ids, Login login,
                                                                          const tokens::AccessToken& token) {
  const std::string& account = job.job().account;
  if (const auto it = user_ids_.find(account); it != user_ids_.end()) {
    ids["ig_user_id"] = it->second;
    co_return std::nullopt;
  }
  graph::GraphCall me;
  me.path = "/me";
  me.params = {{"fields", login == Login::instagram ? "user_id,username" : "id,instagram_business_account"}};
  me.token = &token.value;
  me.endpoint = "GET /me";
  me.job_id = job.job().id;
  me.account = account;
  auto answer = co_await client_for(login).call(me);
  if (!answer.ok()) co_return answer;
  std::string user;
  if (login == Login::instagram) {
    user = answer.text("user_id");
    if (user.empty()) user = answer.text("id");
  } else if (answer.body.contains("instagram_business_account") &&
             answer.body["instagram_business_account"].is_object()) {
    const auto& b = answer.body["instagram_business_account"];
    if (b.contains("id") && b["id"].is_string()) user = b["id"].get<std::string>();
  }
  if (user.empty()) {
    answer.call.classified.kind = errors::ErrorClass::permanent;
    answer.call.classified.code = "no_instagram_account";
    answer.call.classified.user_message = "No Instagram professional account is linked to this connection.";
    answer.call.classified.action =
        "Link the Instagram account to its Facebook Page (or connect it with Instagram "
        "Login), then reconnect it.";
    co_return answer;
  }
  user_ids_[account] = user;
  ids["ig_user_id"] = user;
  co_return std::nullopt;
}

net::awaitable<graph::GraphAnswer> Instagram::call_with(jobs::JobContext& job, json& ids,
                                                        const tokens::AccessToken& token, graph::GraphCall c) {
  const Login login = login_of(token.scopes, token.value);
  ids["login"] = std::string(to_string(login));
  if (!ids.contains("ig_user_id") || !ids["ig_user_id"].is_string()) {
    auto failed = co_await resolve_user(job, ids, login, token);
    if (failed) co_return std::move(*failed);
  }
  const std::string user = ids["ig_user_id"].get<std::string>();
  replace_all(c.path, "{ig-user-id}", user);
  c.token = &token.value;
  c.job_id = job.job().id;
  c.account = job.job().account;
  c.object_id = user;
  auto answer = co_await client_for(login).call(c);
  co_return answer;
}

net::awaitable<Called> Instagram::call(jobs::JobContext& job, json& ids, graph::GraphCall c) {
  Called out;
  if (!tokens_) {
    out.stop = jobs::Outcome::fail("Instagram needs the token vault (vault.key_file) to publish.", "no_vault");
    co_return out;
  }
  const jobs::TokenCall use = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
    auto answer = co_await call_with(job, ids, token, c);
    const auto verdict = verdict_of(answer);
    out.answer = std::move(answer);
    co_return verdict;
  };
  out.stop = co_await jobs::with_token(*tokens_, job, use);
  co_return out;
}

net::awaitable<jobs::StepResult> Instagram::prepare(jobs::JobContext& job, json& ids) {
  if (!tokens_)
    co_return jobs::Outcome::fail("Instagram needs the token vault (vault.key_file) to publish.", "no_vault");
  std::optional<graph::GraphAnswer> failed;
  const jobs::TokenCall use = [&](const tokens::AccessToken& token) -> net::awaitable<jobs::TokenUse> {
    const Login login = login_of(token.scopes, token.value);
    ids["login"] = std::string(to_string(login));
    if (ids.contains("ig_user_id") && ids["ig_user_id"].is_string()) co_return jobs::TokenUse::done();
    failed = co_await resolve_user(job, ids, login, token);
    if (!failed) co_return jobs::TokenUse::done();
    co_return verdict_of(*failed);
  };
  auto stop = co_await jobs::with_token(*tokens_, job, use);
  if (stop) co_return stop;
  if (failed && !failed->ok()) co_return failure(*failed);
  co_return std::nullopt;
}

std::string Instagram::rupload_url(const std::string& container, const std::string& uri) const {
  if (!uri.empty()) return uri;
  // The version is the base URL's last segment ("…/v25.0").
  std::string version = "v25.0";
  const auto& base = options_.graph.base_url;
  if (const auto slash = base.find_last_of('/');
      slash != std::string::npos && slash + 1 < base.size() && base[slash + 1] == 'v')
    version = base.substr(slash + 1);
  std::string root = options_.upload_url;
  while (!root.empty() && root.back() == '/') root.pop_back();
  return root + "/ig-api-upload/" + version + "/" + container;
}

}  // namespace schedulo::instagram
