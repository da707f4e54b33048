#pragma once
// Test support: the token calls and a publishing platform against tests/support/token_endpoint.hpp,
// built the way a platform issue builds its own (platforms/token_calls.hpp, jobs/platform.hpp,
// jobs/token_use.hpp), so the token tests run the real provider, store, vault, lock, dispatcher and
// daemon, in one process (provider_test) or three (token_worker under fleet_test).
#include <chrono>
#include <memory>
#include <string>

#include "jobs/platform.hpp"
#include "platforms/http/address_policy.hpp"
#include "platforms/token_calls.hpp"
#include "tokens/provider.hpp"

namespace schedulo::test {

std::unique_ptr<platforms::TokenCalls> make_endpoint_token_calls(std::string base_url, http::AddressPolicy policy,
                                                                 std::chrono::milliseconds margin);

// Platform `x`, publishing by POST /api/post {"job": id} with the account's token and finding an
// earlier post by GET /api/post?job=id; refresh_token jobs renew through the provider. A published
// job's result names `worker`, the daemon that published it.
std::unique_ptr<jobs::PlatformAdapter> make_endpoint_platform(std::string worker, tokens::TokenProvider& provider,
                                                              std::string base_url, http::AddressPolicy policy);

}  // namespace schedulo::test
