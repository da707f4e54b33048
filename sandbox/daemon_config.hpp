#pragma once
// The daemon configuration that points every external API at this sandbox (--print-config): only
// keys the daemon's schema knows, so `schedulo config check` accepts it.
#include <nlohmann/json.hpp>

#include <string>

namespace schedulo::sandbox {

// `base_url`: how the daemon reaches the sandbox ("http://127.0.0.1:8700"); `ca_file`: the CA to
// trust with --tls (empty without).
nlohmann::json daemon_config(const std::string& base_url, const std::string& ca_file);

}  // namespace schedulo::sandbox
