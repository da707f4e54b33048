#pragma once
// Test support: a rotating-token OAuth endpoint and a small platform API behind it, on 127.0.0.1
// port 0, with its own thread. It behaves like X's and TikTok's token endpoints (platform-apis.md
// 2.1, 3.1): every refresh returns a new access token and a new refresh token, and the refresh token
// used stops working at once (single use); a reused or unknown one gets 400 invalid_grant. Access
// tokens work until their expiry. The API answers 401 to a token that does not work.
//
// Routes:  POST /oauth/token   (form: grant_type=refresh_token, refresh_token, client_id)
//          POST /oauth/revoke  (form: token)
//          GET  /api/me        (Bearer): 200 or 401; the introspection probe
//          POST /api/post      (Bearer, JSON {"job": id}): records one post per job; 200 {"data":{"id"}}
//          GET  /api/post?job= (Bearer): 200 with the post's id, or 404
//
// Controllable points, so crash tests need no sleeps: the next refresh can be held before or after
// it consumes the refresh token (the answer never leaves until release), and API calls made with a
// token obtained by a refresh can be stalled (the refresh answered, the next step not), which places a
// SIGKILL "after the refresh answer arrived". Every request is counted; waiters block on a condition
// variable with an overall limit.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace schedulo::test {

class TokenEndpoint {
 public:
  enum class Hold { before_consuming, after_consuming };

  TokenEndpoint();
  ~TokenEndpoint();
  TokenEndpoint(const TokenEndpoint&) = delete;
  TokenEndpoint& operator=(const TokenEndpoint&) = delete;

  std::string url(std::string_view path = "") const;  // http://127.0.0.1:<port><path>

  // A token of the endpoint's shape: characters that change under URL encoding (+ / =) included, so
  // a search for its encoded form differs from one for the plain form.
  static std::string make_token(std::string_view kind);

  // The grant of one account: `access` works until `access_expires_at_ms` (0: never; in the past:
  // expired), `refresh` is the one refresh token that works.
  void seed(const std::string& access, std::int64_t access_expires_at_ms, const std::string& refresh);
  void set_access_lifetime(std::chrono::seconds lifetime);  // expires_in of tokens a refresh issues
  void revoke_all_access_tokens();                          // the API refuses every token issued so far

  void hold_next_refresh(Hold hold);   // one refresh request, the next to arrive
  void fail_next_refresh(int status);  // the next refresh answers `status` without consuming anything
  void release_held();                 // the held refreshes answer (whoever still listens)
  void stall_calls_with_refreshed_tokens(bool on);

  int refresh_requests() const;  // POST /oauth/token with grant_type=refresh_token
  int refresh_granted() const;
  int refresh_refused() const;
  int held_refreshes() const;  // requests that reached the hold
  int api_calls() const;       // /api/* requests
  int api_refused() const;     // answered 401
  int stalled_calls() const;   // API calls that reached the stall
  int posts() const;           // distinct posts created
  int posts_for(const std::string& job) const;
  std::string current_refresh_token() const;  // of a single seeded account
  bool refresh_token_works(const std::string& token) const;
  bool access_token_works(const std::string& token) const;
  // Every token this endpoint ever knew (seeded or issued): none may appear anywhere in plaintext.
  std::vector<std::string> all_tokens() const;

  // Waits until `condition` (evaluated under the endpoint's lock) holds; false after `limit`.
  bool wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit);

  struct State;

 private:
  std::unique_ptr<State> state_;
};

}  // namespace schedulo::test
