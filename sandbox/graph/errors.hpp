#pragma once
// Graph's error envelope (platform-apis.md 1.0) and the errors the emulator answers, in one place:
//   {"error":{"message","type","code","error_subcode","error_user_title","error_user_msg",
//             "is_transient","error_data","fbtrace_id"}}
// The HTTP status is not the classifier (Meta answers 400 for most of these); the code and subcode
// are. Where the reference gives no code for a case, the choice made here is marked EMU-CHOICE.
#include <nlohmann/json.hpp>

#include <string>

#include "common/http_server.hpp"

namespace schedulo::sandbox::graph {

struct GraphError {
  GraphError() = default;
  GraphError(int http_status_, int code_, int subcode_, std::string message_, std::string type_ = "OAuthException",
             std::string user_title_ = "", std::string user_msg_ = "", bool transient_ = false,
             nlohmann::json error_data_ = nullptr)
      : http_status(http_status_),
        code(code_),
        subcode(subcode_),
        message(std::move(message_)),
        type(std::move(type_)),
        user_title(std::move(user_title_)),
        user_msg(std::move(user_msg_)),
        transient(transient_),
        error_data(std::move(error_data_)) {}

  int http_status = 400;
  int code = 100;
  int subcode = 0;  // 0: no error_subcode field
  std::string message;
  std::string type = "OAuthException";
  std::string user_title;
  std::string user_msg;
  bool transient = false;
  nlohmann::json error_data;  // null: absent
};

// The envelope as a response, with a fresh fbtrace_id (also in the x-fb-trace-id header).
server::Response error_response(const GraphError& error, const std::string& trace_id);

// A short id of the kind Meta puts in fbtrace_id: 11 letters, digits, '_' or '-'.
std::string make_trace_id(std::uint64_t seed);

namespace errors {

// Requests, parameters, objects.
GraphError missing_parameter(const std::string& name);
GraphError invalid_parameter(const std::string& message);                     // "(#100) " + message
GraphError unknown_object(const std::string& id, const std::string& method);  // 100/33
GraphError unknown_path(const std::string& path);                             // 2500
GraphError unknown_field(const std::string& field, const std::string& node_type);

// Tokens.
GraphError token_required();    // 104
GraphError token_unparsable();  // 190, no subcode
GraphError token_invalid(int subcode, const std::string& app_id, std::int64_t expired_at_ms, std::int64_t now_ms);
GraphError permission_missing(const std::string& permission);  // 10
GraphError page_publish_permission();                          // 200 (user token on a Page publish)
GraphError bad_appsecret_proof();
GraphError appsecret_proof_required();
GraphError bad_client_id();      // 101
GraphError bad_client_secret();  // 1

// Throttles (1.0): 4 app, 17 user, 32 Page with a user token, 80001 Pages BUC, 80002 Instagram BUC.
GraphError throttled(int code, int http_status);

// Injected outages (the core's error faults): 1 unknown / 2 service, transient.
GraphError server_error(int http_status);

}  // namespace errors
}  // namespace schedulo::sandbox::graph
