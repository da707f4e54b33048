#pragma once
// Small TokenCalls for the lifecycle tests that call the sandbox emulators' real endpoints (not
// mocks): X's revoke and users/me (3.1), Graph's debug_token (1.0). The platform issues' own
// TokenCalls replace them once merged.
#include <memory>
#include <string>

#include "platforms/http/client.hpp"
#include "platforms/token_calls.hpp"

namespace schedulo::test {

std::unique_ptr<platforms::TokenCalls> make_x_sandbox_calls(http::HttpClient& http, std::string sandbox_base);
std::unique_ptr<platforms::TokenCalls> make_meta_sandbox_calls(http::HttpClient& http, std::string sandbox_base);

}  // namespace schedulo::test
