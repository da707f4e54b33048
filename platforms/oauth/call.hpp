#pragma once
// One JSON call of a connector, within the connect flow's deadline (internal to platforms/oauth).
#include <nlohmann/json.hpp>
#include <string>

#include "common/net.hpp"
#include "platforms/http/client.hpp"

namespace schedulo::platforms::oauth {

struct CallAnswer {
  bool reached = false;  // an HTTP answer came back
  int status = 0;
  nlohmann::json body;  // discarded (is_discarded()) when the body is not JSON
  std::string error;    // not reached: why (no URL with a token in it)
};

net::awaitable<CallAnswer> call_json(http::HttpClient& client, http::Request request,
                                     std::chrono::milliseconds timeout);

// `base` + `path` without a doubled or missing '/'.
std::string join_url(const std::string& base, std::string_view path);

}  // namespace schedulo::platforms::oauth
