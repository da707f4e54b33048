#pragma once
// The answer of an OAuth 2.0 token endpoint to a refresh (RFC 6749 5.1), read the same way for every
// platform whose token calls speak plain OAuth (TikTok, X): the tokens it carries, or the parsed
// document for the platform's own reading of a refusal. Token strings never outlive the reading.
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "platforms/token_calls.hpp"

namespace schedulo::platforms::oauth {

struct TokenAnswer {
  // A successful call (status ok) when the answer holds a non-empty access token: it, the refresh
  // token when one came (a rotation), the lifetimes given as positive whole seconds, the scope.
  std::optional<TokenCallResult> tokens;
  nlohmann::json doc;  // the parsed answer, its token strings wiped (discarded when not JSON)
};

// Parses `body` and wipes it.
TokenAnswer read_token_answer(std::string& body);

// Overwrites `s` before it is freed (a body or form that held a token).
void wipe(std::string& s);

}  // namespace schedulo::platforms::oauth
