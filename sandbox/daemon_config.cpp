#include "sandbox/daemon_config.hpp"

#include "sandbox/airtable/airtable.hpp"
#include "sandbox/bubble/bubble.hpp"

namespace schedulo::sandbox {

// Where each platform's emulator lives on the sandbox's one port (the platform issues fill them in):
// Graph under /graph/v25.0 (Instagram and Facebook), video uploads under /graph-video/v25.0, binary
// uploads under /rupload, TikTok under /tiktok (uploads /tiktok-upload), X under /x.
nlohmann::json daemon_config(const std::string& base_url, const std::string& ca_file) {
  auto platform = [&](const std::string& api, const std::string& auth, const std::string& upload, const char* id) {
    return json{{"base_url", base_url + api},
                {"auth_url", base_url + auth},
                {"upload_url", base_url + upload},
                {"client_id", std::string("sbx-") + id + "-client-id"},
                {"client_secret", std::string("sbx-") + id + "-client-secret"}};
  };
  json config{
      {"airtable", {{"base_url", base_url}, {"base_id", airtable::kBaseId}, {"token", airtable::kToken}}},
      {"platforms",
       {{"instagram", platform("/graph/v25.0", "/facebook/v25.0/dialog/oauth", "/rupload", "meta")},
        {"facebook", platform("/graph/v25.0", "/facebook/v25.0/dialog/oauth", "/graph-video/v25.0", "meta")},
        {"tiktok", platform("/tiktok", "/tiktok/v2/auth/authorize/", "/tiktok-upload", "tiktok")},
        {"x", platform("/x", "/x/i/oauth2/authorize", "/x", "x")}}},
      {"bubble", {{"api_token", bubble::kApiToken}, {"callback_hosts", {"127.0.0.1", "localhost"}}}},
      {"security", {{"allow_private_hosts", {"127.0.0.0/8", "::1/128", "localhost"}}}}};
  // Instagram Login's host (issue 9).
  config["platforms"]["instagram"]["login_base_url"] = base_url + "/graph-instagram/v25.0";
  // Instagram Login's connect flow (issue 13): www.instagram.com's consent page, api.instagram.com.
  config["platforms"]["instagram"]["login_auth_url"] = base_url + "/instagram/oauth/authorize";
  config["platforms"]["instagram"]["login_token_url"] = base_url + "/instagram-api/oauth/access_token";
  if (!ca_file.empty()) config["tls"] = {{"ca_file", ca_file}};
  return config;
}

}  // namespace schedulo::sandbox
