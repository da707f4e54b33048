#include "sandbox/graph/errors.hpp"

#include "common/rfc3339.hpp"

namespace schedulo::sandbox::graph {

server::Response error_response(const GraphError& e, const std::string& trace_id) {
  nlohmann::json body{{"message", e.message}, {"type", e.type}, {"code", e.code}};
  if (e.subcode != 0) body["error_subcode"] = e.subcode;
  body["is_transient"] = e.transient;
  if (!e.user_title.empty()) body["error_user_title"] = e.user_title;
  if (!e.user_msg.empty()) body["error_user_msg"] = e.user_msg;
  if (!e.error_data.is_null()) body["error_data"] = e.error_data;
  body["fbtrace_id"] = trace_id;
  auto response = server::Response::json(e.http_status, nlohmann::json{{"error", body}}.dump());
  response.set_header("x-fb-trace-id", trace_id);
  if (e.code == 190 || e.code == 102 || e.code == 104)
    response.set_header("WWW-Authenticate", "OAuth \"Facebook Platform\" \"invalid_token\" \"" + e.message + "\"");
  return response;
}

std::string make_trace_id(std::uint64_t seed) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  std::uint64_t x = seed + 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  x ^= x >> 31;
  std::string id;
  for (int i = 0; i < 11; ++i, x >>= 6) id += kAlphabet[x & 63];
  return id;
}

namespace errors {

GraphError missing_parameter(const std::string& name) {
  return {400, 100, 0, "(#100) The parameter " + name + " is required", "OAuthException", "", "", false, nullptr};
}

GraphError invalid_parameter(const std::string& message) {
  return {400, 100, 0, "(#100) " + message, "OAuthException", "", "", false, nullptr};
}

GraphError unknown_object(const std::string& id, const std::string& method) {
  std::string verb = method == "POST" ? "post" : method == "DELETE" ? "delete" : "get";
  return {400,
          100,
          33,
          "Unsupported " + verb + " request. Object with ID '" + id +
              "' does not exist, cannot be loaded due to missing permissions, or does not support this operation. "
              "Please read the Graph API documentation at https://developers.facebook.com/docs/graph-api",
          "GraphMethodException",
          "",
          "",
          false,
          nullptr};
}

GraphError unknown_path(const std::string& path) {
  return {400, 2500, 0, "Unknown path components: " + path, "OAuthException", "", "", false, nullptr};
}

GraphError unknown_field(const std::string& field, const std::string& node_type) {
  return {400,
          100,
          0,
          "(#100) Tried accessing nonexisting field (" + field + ") on node type (" + node_type + ")",
          "OAuthException",
          "",
          "",
          false,
          nullptr};
}

GraphError token_required() {
  return {400, 104,   0,      "An access token is required to request this resource.", "OAuthException", "",
          "",  false, nullptr};
}

GraphError token_unparsable() {
  return {400, 190,   0,      "Invalid OAuth access token - Cannot parse access token", "OAuthException", "",
          "",  false, nullptr};
}

GraphError token_invalid(int subcode, const std::string& app_id, std::int64_t expired_at_ms, std::int64_t now_ms) {
  std::string why;
  switch (subcode) {
    case 458:
      why = "The user has not authorized application " + app_id + ".";
      break;
    case 459:
      why = "You cannot access the app till you log in to www.facebook.com and follow the instructions given.";
      break;
    case 460:
      why =
          "The session has been invalidated because the user changed their password or Facebook has changed the "
          "session for security reasons.";
      break;
    case 463:
      why = "Session has expired on " + format_rfc3339_ms(expired_at_ms) + ". The current time is " +
            format_rfc3339_ms(now_ms) + ".";
      break;
    case 464:
      why = "Sessions for the user are not allowed because the user is not a confirmed user.";
      break;
    case 467:
      why = "The session is invalid because the user logged out or revoked the application's access.";
      break;
    case 492:
      why = "The session is invalid because the user no longer has a role on the Page.";
      break;
    default:
      why = "The access token is invalid.";
      break;
  }
  return {400, 190, subcode, "Error validating access token: " + why, "OAuthException", "", "", false, nullptr};
}

GraphError permission_missing(const std::string& permission) {
  return {400,
          10,
          0,
          "(#10) Application does not have permission for this action (needs " + permission + ")",
          "OAuthException",
          "",
          "",
          false,
          nullptr};
}

GraphError page_publish_permission() {
  return {403,
          200,
          0,
          "(#200) If posting to a page, requires both pages_read_engagement and pages_manage_posts as an admin with "
          "sufficient administrative permission",
          "OAuthException",
          "",
          "",
          false,
          nullptr};
}

GraphError bad_appsecret_proof() {
  return {400, 100,   0,      "Invalid appsecret_proof provided in the API argument", "GraphMethodException", "",
          "",  false, nullptr};
}

GraphError appsecret_proof_required() {
  return {
      400, 100,   0,      "API calls from the server require an appsecret_proof argument", "GraphMethodException", "",
      "",  false, nullptr};
}

GraphError bad_client_id() {
  return {400, 101,   0,      "Error validating application. Invalid application ID.", "OAuthException", "",
          "",  false, nullptr};
}

GraphError bad_client_secret() {
  return {400, 1, 0, "Error validating client secret.", "OAuthException", "", "", false, nullptr};
}

GraphError throttled(int code, int http_status) {
  std::string message;
  switch (code) {
    case 4:
      message = "(#4) Application request limit reached";
      break;
    case 17:
      message = "(#17) User request limit reached";
      break;
    case 32:
      message = "(#32) Page request limit reached";
      break;
    case 80001:
      message =
          "(#80001) There have been too many calls to this Page account. Wait a bit and try again. For more info, "
          "please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.";
      break;
    default:
      message =
          "(#80002) There have been too many calls to this Instagram account. Wait a bit and try again. For more "
          "info, please refer to https://developers.facebook.com/docs/graph-api/overview/rate-limiting.";
      break;
  }
  return {http_status, code, 0, message, "OAuthException", "", "", true, nullptr};
}

GraphError server_error(int http_status) {
  if (http_status == 503 || http_status == 502 || http_status == 504)
    return {http_status,      2,  0,  "An unexpected error has occurred. Please retry your request later.",
            "OAuthException", "", "", true,
            nullptr};
  if (http_status >= 500)
    return {http_status, 1, 0, "An unknown error has occurred.", "OAuthException", "", "", true, nullptr};
  if (http_status == 429) return throttled(4, 429);
  return {http_status, 100, 0, "(#100) Invalid parameter", "OAuthException", "", "", false, nullptr};
}

}  // namespace errors
}  // namespace schedulo::sandbox::graph
