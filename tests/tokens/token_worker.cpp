// token_worker: the real `schedulo run` (daemon/commands.cpp) with one test platform plugged in, the
// way a platform issue plugs its own: platform `x` publishes through tests/support/token_endpoint
// and renews its tokens there. fleet_test runs three of these against one Redis.
//
//   token_worker --config FILE --endpoint http://127.0.0.1:PORT [--margin-ms N]
#include <cstdlib>
#include <iostream>
#include <string>

#include "daemon/commands.hpp"
#include "tests/tokens/endpoint_platform.hpp"

int main(int argc, char** argv) {
  std::string config, endpoint;
  long margin_ms = 60000;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--config")
      config = argv[i + 1];
    else if (flag == "--endpoint")
      endpoint = argv[i + 1];
    else if (flag == "--margin-ms")
      margin_ms = std::strtol(argv[i + 1], nullptr, 10);
  }
  if (config.empty() || endpoint.empty()) {
    std::cerr << "usage: token_worker --config FILE --endpoint URL [--margin-ms N]\n";
    return 2;
  }
  using namespace schedulo;
  return daemon::command_run(config, [&](daemon::RunContext& run) {
    if (!run.tokens) return;  // command_run said why (no vault)
    auto policy = http::AddressPolicy::from_entries(run.config.security.allow_private_hosts);
    run.token_calls["x"] =
        test::make_endpoint_token_calls(endpoint, *policy.policy, std::chrono::milliseconds(margin_ms));
    run.adapters["x"] = test::make_endpoint_platform(run.config.workers.id, *run.tokens, endpoint, *policy.policy);
  });
}
