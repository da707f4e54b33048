#include "sandbox/bubble/bubble.hpp"

#include <regex>

namespace schedulo::sandbox::bubble {
namespace {

// Bubble's error bodies are not documented (UNCONFIRMED in platform-apis.md): this is the shape its
// servers are commonly seen to send. Clients must classify by HTTP status.
Response bubble_error(int status, const std::string& code, const std::string& message) {
  return json_response(status, {{"statusCode", status}, {"body", {{"status", code}, {"message", message}}}});
}

class Emulator {
 public:
  explicit Emulator(Core& core) : core_(core) {}

  void install() {
    core_.add_api({"bubble",
                   [](int status) { return bubble_error(status, status >= 500 ? "ERROR" : "BAD_REQUEST", "injected fault"); },
                   [] {
                     auto r = bubble_error(429, "TOO_MANY_REQUESTS", "Rate limit exceeded");
                     r.set_header("Retry-After", "60");
                     return r;
                   },
                   {}, {}});
    for (const char* root : {"/api/1.1/wf", "/version-test/api/1.1/wf"}) {
      const bool test = std::string_view(root).starts_with("/version-test");
      for (const char* method : {"POST", "GET"}) {
        core_.route("bubble", "bubble.workflow", method, std::string(root) + "/{name}",
                    [this, test](Request& r) { return workflow(r, test, false); });
        core_.route("bubble", "bubble.workflow", method, std::string(root) + "/{name}/initialize",
                    [this, test](Request& r) { return workflow(r, test, true); });
      }
    }
    core_.admin_route("GET", "/bubble/calls", [this](Request&) { return json_response(200, {{"calls", calls_}}); });
    core_.admin_route("DELETE", "/bubble/calls", [this](Request&) {
      calls_ = json::array();
      return json_response(200, {{"calls", calls_}});
    });
  }

 private:
  Response workflow(Request& r, bool test_version, bool initialize) {
    static const std::regex kName("[a-z0-9_-]{1,100}");
    const auto& name = r.params["name"];
    if (bearer_token(r) != kApiToken)
      return bubble_error(401, "UNAUTHORIZED", "Missing or invalid API token for workflow " + name);
    if (!std::regex_match(name, kName))
      return bubble_error(404, "NOT_FOUND", "Workflow not found " + name);
    json params = json::object();
    if (r.method == "POST" && !r.body.empty()) {
      auto body = parse_body(r);
      if (!body || !body->is_object()) return bubble_error(400, "INVALID_DATA", "The request body is not a JSON object");
      params = *body;
    } else {
      for (const auto& [k, v] : r.query_params()) params[k] = v;
    }
    calls_.push_back({{"workflow", name},
                      {"version", test_version ? "test" : "live"},
                      {"initialize", initialize},
                      {"method", r.method},
                      {"params", params},
                      {"at", format_rfc3339_ms(core_.clock().now_ms())}});
    return json_response(200, {{"status", "success"}, {"response", json::object()}});
  }

  Core& core_;
  json calls_ = json::array();
};

}  // namespace

std::shared_ptr<void> install(Core& core) { return install_emulator<Emulator>(core); }

}  // namespace schedulo::sandbox::bubble
