#pragma once
// `schedulo sweep` (issue 13), declared apart so main.cpp does not include the sweep's headers.
#include <string>

namespace schedulo::daemon {

// One sweep pass now; prints what it did as JSON. 0; 1 on a Redis failure; 2 on a bad config.
int command_sweep(const std::string& config_path);

}  // namespace schedulo::daemon
