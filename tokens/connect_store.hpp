#pragma once
// What the OAuth connect flow keeps in Redis between its steps (issue 13), sealed by the vault:
// - the `state` of each consent redirect: "<nonce>.<signature>", the signature an HMAC of the nonce
//   and the platform keyed with oauth.state_secret, so a forged state is refused before Redis is
//   asked; the flow's data (account, return_to, PKCE verifier) under oauth_state(nonce) with a TTL,
//   taken once with GETDEL, so a replayed state finds nothing;
// - a Meta login that reaches several Pages / Instagram accounts, waiting for the user's choice under
//   oauth_pending(id) with a TTL (their Page tokens sealed, never in the clear).
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/net.hpp"
#include "queue/keys.hpp"
#include "queue/redis/client.hpp"
#include "tokens/vault.hpp"

namespace schedulo::tokens {

struct ConnectState {
  std::string platform;
  std::string account;
  std::string return_to;
  std::string verifier;  // PKCE code verifier ("" without PKCE)
};

enum class StateCheck {
  ok,        // `state` below is the flow's
  forged,    // the signature does not match (or the text is not a state at all)
  unknown,   // signed by us, but expired or already used
  mismatch,  // a state of another platform's flow
  error,     // Redis could not be asked: try again
};

struct TakenState {
  StateCheck check = StateCheck::error;
  ConnectState state;
};

class ConnectStore {
 public:
  ConnectStore(redis::Client& client, queue::Keys keys, const Vault& vault, std::string signing_key,
               std::chrono::seconds state_ttl, std::chrono::seconds pending_ttl);

  // A new state for `state`'s flow: the text to send in the consent URL; nullopt when Redis failed.
  net::awaitable<std::optional<std::string>> create_state(const ConnectState& state);
  // Takes the state once: the flow's data when it is ours, unused, unexpired and of `platform`.
  net::awaitable<TakenState> take_state(std::string_view platform, const std::string& text);

  // Keeps `pending` (JSON; sealed here) for the user's choice; its id, or nullopt when Redis failed.
  net::awaitable<std::optional<std::string>> put_pending(const nlohmann::json& pending);
  // The pending choice (nullopt: unknown or expired; an error: Redis failed). `take` removes it.
  net::awaitable<boost::system::result<std::optional<nlohmann::json>>> get_pending(const std::string& id, bool take);

  const queue::Keys& keys() const { return keys_; }

 private:
  std::string sign(std::string_view nonce, std::string_view platform) const;

  redis::Client& client_;
  queue::Keys keys_;
  const Vault& vault_;
  std::string signing_key_;
  std::chrono::seconds state_ttl_;
  std::chrono::seconds pending_ttl_;
};

}  // namespace schedulo::tokens
