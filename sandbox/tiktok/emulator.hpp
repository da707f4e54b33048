#pragma once
// The TikTok emulator's one object: its state (model.hpp) and its routes, defined by purpose in
// emulator.cpp (answers, the model, persistence), oauth.cpp, posting.cpp (creator_info and the inits),
// transfer.cpp (the chunked PUT, pulls, the status machine, status and cancel), display.cpp (user/info,
// video/query, video/list) and admin.cpp (the test controls under /_sandbox/tiktok).
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sandbox/core/core.hpp"
#include "sandbox/tiktok/model.hpp"
#include "sandbox/tiktok/tiktok.hpp"

namespace schedulo::sandbox::tiktok {

class Emulator {
 public:
  Emulator(Core& core, net::Executor executor, std::function<std::string()> self_url);
  // Registers the APIs ("tiktok", "tiktok_oauth"), their routes and the test controls on the core.
  void install();

 private:
  // ---- answers (emulator.cpp) ---------------------------------------------------------------------------------------
  std::string next_log_id();
  Response envelope(int status, const json& data, const std::string& code = "ok", const std::string& message = "");
  Response ok(const json& data);
  Response api_error(int status, const std::string& code, const std::string& message);
  Response invalid(const std::string& message);
  Response token_invalid();
  Response shaped(int status);
  Response oauth_error(int status, const std::string& error, const std::string& description);
  // OAuth refusals come with HTTP 200 by default (limits.oauth_error_status): clients must read the body.
  Response oauth_refusal(const std::string& error, const std::string& description);
  Response shaped_oauth(int status);
  Response unknown(Request&);

  // ---- the model (emulator.cpp) -------------------------------------------------------------------------------------
  void reset();
  Token& add_token(const std::string& value, const std::string& kind, const std::string& client_key,
                   const std::string& open_id, const std::vector<std::string>& scopes, std::int64_t expires_ms);
  std::string new_secret(const char* prefix);
  // A fresh access + refresh pair; mirrored into the core's account record (tests and the token issue
  // read it there).
  json issue_pair(const App& app, const std::string& open_id, const std::vector<std::string>& scopes);
  void mirror_account(const std::string& open_id, const Token& access, const Token& refresh);
  // The caller of an access-token API: its token, user and app.
  struct Caller {
    Token* token = nullptr;
    User* user = nullptr;
  };
  // 401 unless the Bearer token is a live access token holding one of `scopes` (none: any token).
  std::optional<Response> authenticate(const Request& r, Caller& caller, const std::vector<std::string>& scopes);
  static bool has_scope(const Token& t, const std::string& scope);
  // Sliding one-minute window per key; false (and nothing counted) when `limit` is reached.
  bool admit(const std::string& key, std::int64_t limit);
  Response throttled();
  std::string base_url(const Request& r) const;
  // "{self}" stands for the sandbox as this request reached it and as it listens (localhost or 127.0.0.1).
  bool verified(const App& app, const Request& r, const std::string& url) const;
  std::vector<std::string> privacy_options(const User& u) const;

  // ---- OAuth (oauth.cpp) --------------------------------------------------------------------------------------------
  // Approves at once as the app's default user (or ?sandbox_open_id=) and redirects with a code.
  Response authorize_page(Request& r);
  bool redirect_allowed(const App& app, const std::string& uri) const;
  // The form body, or nullopt when it is not application/x-www-form-urlencoded.
  static std::optional<std::map<std::string, std::string>> form(const Request& r);
  App* client(const std::map<std::string, std::string>& f);
  Response oauth_token(Request& r);
  // Revoking the access token disconnects the app from the user: every token of theirs dies, and
  // publishes still in progress fail with auth_removed. An unknown token is answered {} (RFC 7009).
  Response oauth_revoke(Request& r);

  // ---- creator_info (posting.cpp) -----------------------------------------------------------------------------------
  Response creator_info(Request& r);
  static std::string posting_error_message(const std::string& code);

  // ---- init (posting.cpp) -------------------------------------------------------------------------------------------
  // The checks every init shares after authentication: limits, posting refusals, caps.
  std::optional<Response> may_post(const Caller& c, const std::string& bucket, const std::string& mode);
  // post_info of a Direct Post: privacy level among the creator's options, title length.
  std::optional<Response> check_post_info(const User& u, const json& info, std::size_t max_title);
  // source_info of a video: FILE_UPLOAD with the exact chunk arithmetic, or PULL_FROM_URL from a
  // verified prefix. Fills the publish's transfer fields.
  std::optional<Response> check_video_source(const Request& r, const App& app, const json& source, Publish& p);
  std::string new_publish_id(const char* prefix);
  Publish& start_publish(Publish p);
  std::string upload_url(const Request& r, const Publish& p) const;
  Response video_init(Request& r);
  Response inbox_init(Request& r);
  Response video_init_common(Request& r, const std::string& mode);
  Response photo_init(Request& r);

  // ---- transfer and processing (transfer.cpp) -----------------------------------------------------------------------
  static bool terminal(const Publish& p);
  void fail(Publish& p, const std::string& reason);
  // The bytes are all there: processing starts, for the user's number of status polls.
  void transfer_done(Publish& p);
  void finish_processing(Publish& p);
  void complete(Publish& p);
  void make_public(Publish& p);
  // One status fetch has been answered: processing moves on.
  void step_after_poll(Publish& p);
  // Pulls the publish's URLs one after another for real; a failure fails the publish.
  void pull_next(const std::string& publish_id, std::size_t index);
  Publish* live(const std::string& publish_id, std::uint64_t generation);
  // PUT {upload_url}: one chunk, in order, with the exact size the init announced.
  Response upload_chunk(Request& r);
  // Every upload answer says how far the upload got: "bytes 0-{LAST}/{TOTAL}" (nothing yet: "bytes */TOTAL").
  static Response with_range(Response response, const Publish& p);

  // ---- status, cancel (transfer.cpp) --------------------------------------------------------------------------------
  // The publish named by the body, owned by the caller; or the answer refusing it.
  std::optional<Response> owned_publish(const Request& r, const Caller& c, Publish*& p);
  Response status_fetch(Request& r);
  Response cancel(Request& r);

  // ---- Display API (display.cpp) ------------------------------------------------------------------------------------
  Response user_info(Request& r);
  std::optional<Response> video_fields(const Request& r, std::vector<std::string>& fields);
  json video_object(const Publish& p, const std::vector<std::string>& fields) const;
  Response video_query(Request& r);
  Response video_list(Request& r);

  // ---- test controls under /_sandbox/tiktok (admin.cpp) -------------------------------------------------------------
  json publish_json(const Publish& p) const;
  json summary() const;
  static Response bad(const std::string& message);
  std::optional<json> object_body(const Request& r);
  void install_admin();

  // ---- persistence (emulator.cpp) -----------------------------------------------------------------------------------
  json save() const;
  void load(const json& j);

  // ---- state --------------------------------------------------------------------------------------------------------
  Core& core_;
  net::Executor executor_;
  std::function<std::string()> self_url_;
  Limits limits_;
  std::map<std::string, App> apps_;
  std::map<std::string, User> users_;
  std::map<std::string, Token> tokens_;
  std::map<std::string, Code> codes_;
  std::map<std::string, Publish> publishes_;
  std::map<std::string, std::deque<std::int64_t>> windows_;
  std::uint64_t id_counter_ = 0;
  std::uint64_t publish_counter_ = 0;
  std::uint64_t post_counter_ = 0;
  std::uint64_t log_counter_ = 0;
  std::uint64_t generation_ = 0;  // bumped by reset/load: pulls of an older generation are ignored
};

}  // namespace schedulo::sandbox::tiktok
