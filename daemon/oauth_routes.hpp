#pragma once
// The OAuth connect flow's HTTP routes (issue 13; interface.md "HTTP API"). {platform} is x, tiktok,
// facebook, instagram (Facebook Login, through a Page) or instagram-login (Instagram Login, no Page:
// the account is stored as `instagram`, with its 60-day token the sweep renews):
//   GET  /v1/oauth/{platform}/start?account=…&return_to=…   public: 302 to the platform's consent page
//   GET  /v1/oauth/{platform}/callback?code=…&state=…       public: the platform's redirect back
//   GET  /v1/oauth/{platform}/pending/{id}                  Bearer: a Meta login's choices
//   POST /v1/oauth/{platform}/pending/{id}  {"id":"…"}      Bearer: records the user's choice
// The public routes are protected by their signed single-use state (tokens/connect_store.hpp);
// return_to must match oauth.return_to_allow, and every outcome goes back to it as query
// parameters: status=connected (with id=<the account's id> and username=… when the platform names it)
// | choose (with pending=<id>) | error (with error=<code>, message=…,
// and missing=<scopes> for a missing scope). A start with a return_to outside the allow-list, or a
// callback whose state is forged, replayed or expired, is answered here (400, JSON), never
// redirected: there is no return_to to trust.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/http_server.hpp"
#include "common/net.hpp"
#include "platforms/oauth/connector.hpp"
#include "queue/notifier.hpp"
#include "tokens/connect_store.hpp"
#include "tokens/token_store.hpp"

namespace schedulo::daemon {

struct OAuthOptions {
  std::string public_url;                    // http.public_url: redirect URIs are built from it
  std::vector<std::string> return_to_allow;  // oauth.return_to_allow
  std::function<std::int64_t()> now_ms;      // wall clock; tests inject the sandbox's
  // The callback's own handler deadline: it waits on the platform (up to four calls for Meta, each
  // within oauth.exchange_timeout_ms), beyond the API's http.handler_timeout_ms.
  std::chrono::milliseconds callback_timeout{45000};
};

// Whether `url` is one of `allow`'s entries or below one: same scheme, host and port, and a path that
// continues the entry's at a '/' boundary (an entry ending in '/' is a folder). Query and fragment of
// `url` are free.
bool return_to_allowed(std::string_view url, const std::vector<std::string>& allow);

class OAuthRoutes {
 public:
  OAuthRoutes(std::map<std::string, std::unique_ptr<platforms::oauth::Connector>> connectors,
              tokens::ConnectStore& states, tokens::TokenStore& tokens, queue::Notifier* notifier,
              OAuthOptions options);

  net::awaitable<server::Response> start(server::Request& request);
  net::awaitable<server::Response> callback(server::Request& request);
  net::awaitable<server::Response> pending(server::Request& request);
  net::awaitable<server::Response> choose(server::Request& request);

  std::string redirect_uri(std::string_view platform) const;
  std::chrono::milliseconds callback_timeout() const { return options_.callback_timeout; }

 private:
  net::awaitable<std::optional<std::string>> store(const tokens::AccountRef& ref, platforms::TokenSet tokens);
  std::int64_t now() const;

  std::map<std::string, std::unique_ptr<platforms::oauth::Connector>> connectors_;
  tokens::ConnectStore& states_;
  tokens::TokenStore& tokens_;
  queue::Notifier* notifier_;
  OAuthOptions options_;
};

}  // namespace schedulo::daemon
