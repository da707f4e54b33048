#include "daemon/oauth_routes.hpp"

#include <nlohmann/json.hpp>
#include <regex>

#include "common/log.hpp"
#include "common/text.hpp"
#include "platforms/http/url.hpp"
#include "tokens/notices.hpp"

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;
using platforms::oauth::form_encode;
using server::Request;
using server::Response;

Response error_response(int status, std::string_view code, std::string_view message) {
  return Response::json(status, json{{"error", {{"code", code}, {"message", message}}}}.dump());
}

Response redirect(const std::string& location) {
  Response r = Response::text(302, "");
  r.set_header("Location", location);
  r.set_header("Cache-Control", "no-store");
  r.set_header("Referrer-Policy", "no-referrer");
  return r;
}

// `url` with the outcome's parameters added to its query (before any fragment).
std::string with_outcome(const std::string& url, const std::vector<std::pair<std::string, std::string>>& params) {
  const auto hash = url.find('#');
  std::string base = url.substr(0, hash);
  const std::string fragment = hash == std::string::npos ? std::string() : url.substr(hash);
  base += base.find('?') == std::string::npos ? '?' : '&';
  return base + form_encode(params) + fragment;
}

bool valid_account(const std::string& account) {
  static const std::regex kAccount("[A-Za-z0-9_.:-]{1,128}");
  return std::regex_match(account, kAccount);
}

std::string join(const std::vector<std::string>& items, const char* sep) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : sep) + i;
  return out;
}

std::string path_of(const std::string& target) {
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace

bool return_to_allowed(std::string_view url, const std::vector<std::string>& allow) {
  const auto parsed = http::parse_url(url);
  if (!parsed.url) return false;
  const auto& u = *parsed.url;
  const std::string path = path_of(u.target);
  if (path.find("/../") != std::string::npos || path.ends_with("/..") || path.find("/./") != std::string::npos)
    return false;
  for (const auto& entry : allow) {
    const auto allowed = http::parse_url(entry);
    if (!allowed.url) continue;
    const auto& a = *allowed.url;
    if (a.scheme != u.scheme || a.host != u.host || a.port != u.port) continue;
    const std::string prefix = path_of(a.target);
    if (prefix == "/" || path == prefix) return true;
    if (path.starts_with(prefix) && (prefix.ends_with("/") || path[prefix.size()] == '/')) return true;
  }
  return false;
}

OAuthRoutes::OAuthRoutes(std::map<std::string, std::unique_ptr<platforms::oauth::Connector>> connectors,
                         tokens::ConnectStore& states, tokens::TokenStore& tokens, queue::Notifier* notifier,
                         OAuthOptions options)
    : connectors_(std::move(connectors)),
      states_(states),
      tokens_(tokens),
      notifier_(notifier),
      options_(std::move(options)) {}

std::int64_t OAuthRoutes::now() const {
  if (options_.now_ms) return options_.now_ms();
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string OAuthRoutes::redirect_uri(std::string_view platform) const {
  std::string base = options_.public_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  return base + "/v1/oauth/" + std::string(platform) + "/callback";
}

net::awaitable<Response> OAuthRoutes::start(Request& request) {
  const std::string platform = request.params["platform"];
  const auto it = connectors_.find(platform);
  if (it == connectors_.end()) co_return error_response(404, "unknown_platform", "no such platform: " + platform);
  auto& connector = *it->second;
  const std::string account = request.query_param("account").value_or("");
  const std::string return_to = request.query_param("return_to").value_or("");
  if (!valid_account(account))
    co_return error_response(400, "invalid_account", "account must be 1 to 128 of A-Z a-z 0-9 _ . : -");
  if (return_to.empty()) co_return error_response(400, "required", "return_to is required");
  if (!return_to_allowed(return_to, options_.return_to_allow))
    co_return error_response(400, "return_to_not_allowed",
                             "return_to is not in oauth.return_to_allow; add the app's page there");
  if (options_.public_url.empty())
    co_return error_response(503, "not_configured", "http.public_url is not set: no redirect URI can be built");
  tokens::ConnectState state{platform, account, return_to, ""};
  std::string challenge;
  if (connector.uses_pkce()) {
    state.verifier = platforms::oauth::random_token(48);  // 64 characters of [A-Za-z0-9-_]
    challenge = platforms::oauth::pkce_challenge(state.verifier);
  }
  auto text = co_await states_.create_state(state);
  if (!text) co_return error_response(503, "unavailable", "the connect flow cannot be started now; try again");
  platforms::oauth::AuthorizeRequest authorize{redirect_uri(platform), *text, challenge};
  co_return redirect(connector.authorize_url(authorize));
}

net::awaitable<Response> OAuthRoutes::callback(Request& request) {
  const std::string platform = request.params["platform"];
  const auto it = connectors_.find(platform);
  if (it == connectors_.end()) co_return error_response(404, "unknown_platform", "no such platform: " + platform);
  auto& connector = *it->second;
  const auto taken = co_await states_.take_state(platform, request.query_param("state").value_or(""));
  switch (taken.check) {
    case tokens::StateCheck::ok:
      break;
    case tokens::StateCheck::forged:
      co_return error_response(400, "invalid_state", "the state of this request is not one this server issued");
    case tokens::StateCheck::unknown:
      co_return error_response(400, "state_used_or_expired",
                               "this connect link was used already or has expired; start connecting again");
    case tokens::StateCheck::mismatch:
      co_return error_response(400, "invalid_state", "the state belongs to another platform's connect flow");
    case tokens::StateCheck::error:
      co_return error_response(503, "unavailable", "the connect flow cannot be finished now; try again");
  }
  const auto& state = taken.state;
  // Instagram Login's route connects an `instagram` account.
  const tokens::AccountRef ref{std::string(connector.account_platform()), state.account};
  auto back = [&](std::vector<std::pair<std::string, std::string>> params) {
    params.insert(params.begin(), {{"platform", platform}, {"account", state.account}});
    return redirect(with_outcome(state.return_to, params));
  };
  auto failed = [&](const std::string& code, const std::string& message) {
    log::info("oauth: connecting {} ended: {} ({})", ref.member(), code, message);
    return back({{"status", "error"}, {"error", code}, {"message", message}});
  };
  // The allow-list may have changed since the start; a return_to no longer allowed gets nothing.
  if (!return_to_allowed(state.return_to, options_.return_to_allow))
    co_return error_response(400, "return_to_not_allowed", "return_to is no longer in oauth.return_to_allow");
  if (const auto error = request.query_param("error"); error && !error->empty()) {
    const std::string description = request.query_param("error_description").value_or("");
    const std::string code = *error == "access_denied" ? "access_denied" : "authorization_failed";
    const std::string message = *error == "access_denied"
                                    ? std::string("the user did not allow access")
                                    : "the platform answered " + excerpt(*error, 40) +
                                          (description.empty() ? "" : ": " + excerpt(description, 120));
    co_return failed(code, message);
  }
  const std::string code = request.query_param("code").value_or("");
  if (code.empty()) co_return failed("missing_code", "the platform sent no authorization code");
  auto exchange = co_await connector.exchange(code, redirect_uri(platform), state.verifier);
  if (exchange.status == platforms::oauth::ExchangeStatus::transient)
    co_return failed("platform_unavailable", exchange.message);
  if (exchange.status == platforms::oauth::ExchangeStatus::refused)
    co_return failed("exchange_refused", exchange.message);
  const auto missing = platforms::oauth::missing_scopes(connector.scopes(), exchange.granted);
  if (!missing.empty()) {
    co_return back(
        {{"status", "error"},
         {"error", "missing_scope"},
         {"missing", join(missing, ",")},
         {"message", "the account was not connected: these permissions were not granted: " + join(missing, ", ")}});
  }
  if (platform == "facebook" || platform == "instagram") {
    if (exchange.candidates.empty())
      co_return failed("no_accounts", platform == "instagram"
                                          ? "the login reaches no Facebook Page with an Instagram business account"
                                          : "the login reaches no Facebook Page");
    if (exchange.candidates.size() > 1) {
      json choices = json::array();
      for (const auto& c : exchange.candidates)
        choices.push_back({{"id", c.id},
                           {"name", c.name},
                           {"page_id", c.page_id},
                           {"token", c.tokens.access_token.reveal()},
                           {"scopes", c.tokens.scopes}});
      const json pending{{"platform", platform}, {"account", state.account}, {"choices", choices}};
      auto id = co_await states_.put_pending(pending);
      if (!id) co_return failed("unavailable", "the choice of account could not be kept; connect again");
      co_return back({{"status", "choose"}, {"pending", *id}, {"choices", std::to_string(exchange.candidates.size())}});
    }
    auto stored = co_await store(ref, exchange.candidates.front().tokens);
    if (stored) co_return failed("unavailable", *stored);
    co_return back({{"status", "connected"}, {"id", exchange.candidates.front().id}});
  }
  platforms::TokenSet tokens = std::move(exchange.tokens);
  const auto t = now();
  if (exchange.expires_in_s > 0) tokens.access_expires_at_ms = t + exchange.expires_in_s * 1000;
  if (exchange.refresh_expires_in_s > 0) tokens.refresh_expires_at_ms = t + exchange.refresh_expires_in_s * 1000;
  auto stored = co_await store(ref, std::move(tokens));
  if (stored) co_return failed("unavailable", *stored);
  std::vector<std::pair<std::string, std::string>> connected{{"status", "connected"}};
  if (!exchange.account_id.empty()) connected.emplace_back("id", exchange.account_id);
  if (!exchange.account_name.empty()) connected.emplace_back("username", exchange.account_name);
  co_return back(std::move(connected));
}

// nullopt when stored; else why not.
net::awaitable<std::optional<std::string>> OAuthRoutes::store(const tokens::AccountRef& ref,
                                                              platforms::TokenSet tokens) {
  auto before = co_await tokens_.load(ref);
  const bool had = before && *before;
  auto put = co_await tokens_.put(ref, tokens, 0, tokens::AccountStatus::active, "", now());
  if (!put || !put->written) {
    log::warn("oauth: the tokens of {} could not be stored", ref.member());
    co_return std::optional<std::string>("the tokens could not be stored now; connect again");
  }
  log::info("oauth: {} connected (version {})", ref.member(), put->version);
  if (had && notifier_) co_await tokens::notify_reconnected(*notifier_, tokens_.client(), tokens_.keys(), ref);
  co_return std::nullopt;
}

net::awaitable<Response> OAuthRoutes::pending(Request& request) {
  const std::string platform = request.params["platform"];
  auto got = co_await states_.get_pending(request.params["id"], false);
  if (!got) co_return error_response(503, "unavailable", "Redis cannot be read now");
  if (!*got || (**got).value("platform", std::string()) != platform)
    co_return error_response(404, "not_found", "no such pending choice (it lasts oauth.pending_ttl_s)");
  const json& p = **got;
  json choices = json::array();
  for (const auto& c : p.at("choices"))
    choices.push_back({{"id", c.at("id")}, {"name", c.at("name")}, {"page_id", c.at("page_id")}});
  co_return Response::json(200,
                           json{{"platform", platform}, {"account", p.at("account")}, {"choices", choices}}.dump());
}

net::awaitable<Response> OAuthRoutes::choose(Request& request) {
  const std::string platform = request.params["platform"];
  const std::string id = request.params["id"];
  const auto body = json::parse(request.body, nullptr, false);
  if (!body.is_object() || !body.contains("id") || !body["id"].is_string())
    co_return error_response(400, "required", "the body must be {\"id\": \"<the chosen account's id>\"}");
  const std::string chosen = body["id"].get<std::string>();
  auto got = co_await states_.get_pending(id, false);
  if (!got) co_return error_response(503, "unavailable", "Redis cannot be read now");
  if (!*got || (**got).value("platform", std::string()) != platform)
    co_return error_response(404, "not_found", "no such pending choice (it lasts oauth.pending_ttl_s)");
  const json* pick = nullptr;
  for (const auto& c : (**got).at("choices"))
    if (c.value("id", std::string()) == chosen) pick = &c;
  if (!pick) co_return error_response(400, "unknown_choice", "that id is not one of the choices");
  // Single use: whoever takes it first records the choice.
  auto taken = co_await states_.get_pending(id, true);
  if (!taken) co_return error_response(503, "unavailable", "Redis cannot be written now");
  if (!*taken) co_return error_response(404, "not_found", "the choice was recorded already");
  const tokens::AccountRef ref{platform, (**got).value("account", std::string())};
  platforms::TokenSet tokens;
  tokens.access_token = Secret(pick->at("token").get<std::string>());
  tokens.scopes = pick->value("scopes", std::string());
  auto stored = co_await store(ref, std::move(tokens));
  if (stored) co_return error_response(503, "unavailable", *stored);
  co_return Response::json(
      200, json{{"connected", true}, {"platform", platform}, {"account", ref.account}, {"id", chosen}}.dump());
}

}  // namespace schedulo::daemon
