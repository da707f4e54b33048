#pragma once
// Helpers for the Graph emulator tests: a client that speaks to the sandbox the way the daemon's Graph
// client will (query and form parameters, multipart bodies, rupload headers), written here from
// platform-apis.md and not shared with the sandbox.
#include <gtest/gtest.h>

#include <cctype>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {

using json = nlohmann::json;
using Headers = std::vector<std::pair<std::string, std::string>>;
using Form = std::vector<std::pair<std::string, std::string>>;

inline std::string form_encode(const Form& form) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const auto& [k, v] : form) {
    if (!out.empty()) out += '&';
    for (const auto* part : {&k, &v}) {
      for (unsigned char c : *part) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
          out += static_cast<char>(c);
        } else {
          out += '%';
          out += kHex[c >> 4];
          out += kHex[c & 15];
        }
      }
      if (part == &k) out += '=';
    }
  }
  return out;
}

struct MultipartFile {
  std::string name;
  std::string filename;
  std::string content_type;
  std::string data;
};

inline std::string multipart_body(const Form& fields, const std::vector<MultipartFile>& files,
                                  const std::string& boundary) {
  std::string out;
  for (const auto& [k, v] : fields)
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + k + "\"\r\n\r\n" + v + "\r\n";
  for (const auto& f : files)
    out += "--" + boundary + "\r\nContent-Disposition: form-data; name=\"" + f.name + "\"; filename=\"" + f.filename +
           "\"\r\nContent-Type: " + f.content_type + "\r\n\r\n" + f.data + "\r\n";
  out += "--" + boundary + "--\r\n";
  return out;
}

// The demo accounts the sandbox seeds (core accounts demo-instagram and demo-facebook).
inline constexpr const char* kIgUser = "17841400000000001";
inline constexpr const char* kIgPage = "100000000000001";
inline constexpr const char* kIgPageToken = "sbx-ig-access-demo-instagram-0001";
inline constexpr const char* kFbPage = "100000000000002";
inline constexpr const char* kFbPageToken = "sbx-fb-page-access-demo-facebook-0001";
inline constexpr const char* kDemoUser = "100000000000099";
inline constexpr const char* kDemoUserToken = "sbx-meta-user-demo-0001";
inline constexpr const char* kIgLoginUser = "17841400000000002";
inline constexpr const char* kIgLoginToken = "IGAAsbx-ig-login-demo-0001";
inline constexpr const char* kAppId = "sbx-meta-client-id";
inline constexpr const char* kAppSecret = "sbx-meta-client-secret";
inline constexpr std::int64_t kHourMs = 3600 * 1000;
inline constexpr std::int64_t kDayMs = 24 * kHourMs;

class GraphTest : public ::testing::Test {
 protected:
  std::uint16_t port() const { return sandbox_.port(); }
  std::string base() const { return "http://127.0.0.1:" + std::to_string(port()); }
  // A CDN URL the emulator fetches for real: kind jpeg|png|gif|webp|mp4, options as a query string.
  std::string cdn(const std::string& kind, const std::string& query = "") const {
    return base() + "/cdn/" + kind + (query.empty() ? "" : "?" + query);
  }

  HttpReply get(const std::string& path, const Form& query = {}, const Headers& headers = {}) {
    return http(port(), "GET", path + (query.empty() ? "" : "?" + form_encode(query)), "", headers);
  }
  HttpReply post(const std::string& path, const Form& form, const Headers& headers = {}) {
    Headers h = headers;
    h.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    return http(port(), "POST", path, form_encode(form), h);
  }
  HttpReply post_multipart(const std::string& path, const Form& fields, const std::vector<MultipartFile>& files) {
    const std::string boundary = "----schedulo-test-boundary-7MA4YWxkTrZu0gW";
    return http(port(), "POST", path, multipart_body(fields, files, boundary),
                {{"Content-Type", "multipart/form-data; boundary=" + boundary}});
  }
  HttpReply del(const std::string& path, const Form& query = {}) {
    return http(port(), "DELETE", path + (query.empty() ? "" : "?" + form_encode(query)));
  }

  // Admin controls.
  json admin(const std::string& method, const std::string& path, const json& body = nullptr) {
    return http_json(port(), method, "/_sandbox" + path, body);
  }
  void advance(std::int64_t ms) { admin("POST", "/clock", {{"advance_ms", ms}}); }
  std::int64_t clock_ms() { return admin("GET", "/clock")["now_ms"].get<std::int64_t>(); }
  void fault(const json& spec) {
    const auto answer = admin("POST", "/faults", spec);
    ASSERT_TRUE(answer.contains("ids")) << answer.dump();
  }
  void limits(const json& changes) {
    const auto answer = admin("POST", "/graph/limits", changes);
    ASSERT_FALSE(answer.contains("error")) << answer.dump();
  }

  // The whole body of a CDN file (to upload it ourselves).
  std::string cdn_bytes(const std::string& kind, const std::string& query = "") {
    const auto reply = http(port(), "GET", "/cdn/" + kind + (query.empty() ? "" : "?" + query));
    EXPECT_EQ(reply.status, 200);
    return reply.body;
  }

  // The Graph error of a reply, checked for the envelope's fields.
  static json graph_error(const HttpReply& reply) {
    const auto body = reply.json();
    EXPECT_TRUE(body.contains("error")) << reply.status << " " << reply.body;
    if (!body.contains("error")) return json::object();
    const auto& e = body["error"];
    EXPECT_TRUE(e.contains("message") && e["message"].is_string()) << reply.body;
    EXPECT_TRUE(e.contains("type") && e["type"].is_string()) << reply.body;
    EXPECT_TRUE(e.contains("code") && e["code"].is_number_integer()) << reply.body;
    EXPECT_TRUE(e.contains("fbtrace_id") && e["fbtrace_id"].is_string()) << reply.body;
    EXPECT_EQ(reply.header("x-fb-trace-id"), e.value("fbtrace_id", "")) << "the trace id is also a header";
    return e;
  }
  static void expect_error(const HttpReply& reply, int code, int subcode = 0) {
    const auto e = graph_error(reply);
    EXPECT_EQ(e.value("code", 0), code) << reply.body;
    if (subcode != 0) {
      EXPECT_EQ(e.value("error_subcode", 0), subcode) << reply.body;
    } else {
      EXPECT_FALSE(e.contains("error_subcode")) << reply.body;
    }
  }

  SandboxProcess sandbox_;
};

}  // namespace schedulo::test
