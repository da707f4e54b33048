#pragma once
// The connectors of each platform and what they share (internal to platforms/oauth).
#include <memory>
#include <string>

#include "platforms/oauth/call.hpp"
#include "platforms/oauth/connector.hpp"

namespace schedulo::platforms::oauth {

std::unique_ptr<Connector> make_x_connector(http::HttpClient& http, ConnectSettings settings);
std::unique_ptr<Connector> make_tiktok_connector(http::HttpClient& http, ConnectSettings settings);
std::unique_ptr<Connector> make_instagram_login_connector(http::HttpClient& http, ConnectSettings settings);
std::unique_ptr<Connector> make_meta_connector(std::string platform, http::HttpClient& http, ConnectSettings settings);

// `url` with `query` appended after '?' or '&'.
std::string with_query(const std::string& url, const std::string& query);
std::string base64(std::string_view bytes);  // standard alphabet, padded (Basic credentials)

// An RFC 6749 token answer (X, TikTok): tokens, lifetimes and scopes, or the flat error shape
// {"error","error_description"} that TikTok may send with HTTP 200 (2.1). `who` names the platform
// in messages.
Exchange token_exchange(const CallAnswer& answer, const std::string& who);

}  // namespace schedulo::platforms::oauth
