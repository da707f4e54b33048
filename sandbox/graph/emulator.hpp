#pragma once
// The Graph emulator: one state and one dispatcher for the Meta hosts the daemon talks to, with the
// shared plumbing here (sandbox/graph/: paths and versions, tokens and both logins, usage headers and
// throttles, uploads, test controls) and each product's behaviour beside it (sandbox/instagram/,
// sandbox/facebook/). Private to the sandbox: only graph.hpp's install() is public.
//
// Hosts, on the sandbox's one port:
//   /graph/v{N}.0/...            graph.facebook.com (Instagram with Facebook Login, Pages, tokens)
//   /graph-video/v{N}.0/...      graph-video.facebook.com (Page video uploads; the rest as /graph)
//   /graph-instagram[/v{N}.0]/...  graph.instagram.com (Instagram Login)
//   /instagram-api/oauth/access_token  api.instagram.com (Instagram Login code exchange)
//   /instagram/oauth/authorize   www.instagram.com (consent dialog, answered at once)
//   /facebook/v{N}.0/dialog/oauth  www.facebook.com (consent dialog, answered at once)
//   /rupload/ig-api-upload/v{N}.0/{container-id}, /rupload/video-upload/v{N}.0/{video-id}
//                                rupload.facebook.com
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sandbox/core/core.hpp"
#include "sandbox/core/fetch.hpp"
#include "sandbox/graph/errors.hpp"
#include "sandbox/graph/model.hpp"
#include "sandbox/graph/params.hpp"
#include "sandbox/graph/usage.hpp"

namespace schedulo::sandbox::graph {

// The app the sandbox's printed daemon config names (platforms.{instagram,facebook}.client_id/secret).
inline constexpr const char* kAppId = "sbx-meta-client-id";
inline constexpr const char* kAppSecret = "sbx-meta-client-secret";
inline constexpr const char* kAppName = "Schedulo Sandbox";
// The Graph version an unversioned call is answered with (the app's "dashboard version").
inline constexpr int kDefaultVersion = 25;
inline constexpr int kLatestVersion = 26;

enum class Host { graph, graph_video, instagram_graph, instagram_api, instagram_www, facebook_www, rupload };

// One request on its way through the emulator.
struct Call {
  Request* request = nullptr;
  Host host = Host::graph;
  int version = 0;  // asked for (0: unversioned)
  int served = 0;   // answered with (facebook-api-version); 0: a version that does not exist (yet)
  std::string version_text;
  std::vector<std::string> segments;  // the path after the host prefix and the version
  Params params;
  std::string trace_id;
  // Set by authenticate(); valid until the handler's next co_await (other requests run meanwhile).
  Token* token = nullptr;
  // Usage this call fed, for the response headers.
  std::string buc_key;
  std::string buc_type;    // pages | instagram
  std::string page_usage;  // a Page called with a user token (X-Page-Usage)
};

// A Graph list answer: `ids` in order, `render` filling each item, paged by `limit` (default
// `default_limit`) and the `after` cursor, with paging.cursors and paging.next.
using RenderItem = std::function<std::optional<GraphError>(const std::string& id, json& out)>;

class Emulator {
 public:
  explicit Emulator(Core& core);
  void install();

 private:
  using SyncFn = Response (Emulator::*)(Call&);
  using AsyncFn = net::awaitable<Response> (Emulator::*)(Call&);

  // ---- graph/graph.cpp: dispatch, decoration, tokens, auth, usage ------------------------------------
  void reset();
  void seed_demo();
  Dispatch dispatch(Request& request, Host host);
  Dispatch route_node(const std::shared_ptr<Call>& call);
  Dispatch to(const std::shared_ptr<Call>& call, std::string api, std::string name, SyncFn fn);
  Dispatch to_async(const std::shared_ptr<Call>& call, std::string api, std::string name, AsyncFn fn);
  void decorate(Call& c, Response& response);
  Response fail(Call& c, const GraphError& error);
  Response ok(Call& c, const json& body);
  std::string node_kind(const std::string& id, Host host) const;
  std::int64_t now() const { return core_.clock().now_ms(); }

  std::string new_id(std::uint64_t base);
  std::string new_token(const std::string& prefix);
  Token& issue_token(Token token);
  std::string call_token(const Call& c) const;
  std::optional<GraphError> token_problem(const Token& token) const;
  std::vector<std::string> effective_scopes(const Token& token) const;
  bool has_scope(const Token& token, const std::string& scope) const;
  // Resolves and checks the call's token (104, 190 with its subcode, appsecret_proof).
  std::optional<GraphError> authenticate(Call& c);
  // Usage: checks the counters the call feeds (throttle at 100 %), then counts the call in them.
  std::optional<GraphError> meter_app(Call& c);
  std::optional<GraphError> meter_user_call(Call& c, const std::string& user_id, const std::string& page_id);
  std::optional<GraphError> meter_buc(Call& c, const std::string& type, const std::string& object_id);
  UsagePercent usage_of(const std::string& key);
  std::int64_t usage_limit(const std::string& key) const;
  std::int64_t usage_window(const std::string& key) const;
  // Access to an Instagram account / a Page with the call's token (authenticates, checks scopes, meters).
  std::optional<GraphError> access_ig(Call& c, const IgUser& ig, const std::string& fb_scope,
                                      const std::string& ig_scope);
  enum class PageNeed { read, publish, insights };
  std::optional<GraphError> access_page(Call& c, const Page& page, PageNeed need);
  std::string public_base(const Call& c) const;  // scheme://host of the sandbox as the client reached it
  // The answer of a list edge (see RenderItem), or the error of the first item that failed.
  Response paginate(Call& c, const std::vector<std::string>& ids, const RenderItem& render, std::int64_t default_limit);
  // The call's `fields` parsed, or the error (with `fallback` when the call names none).
  std::optional<GraphError> fields_of(const Call& c, const std::string& fallback, std::vector<FieldSel>& out) const;
  FetchOptions fetch_options() const;

  // Graph endpoints shared by both products.
  Response oauth_access_token(Call& c);
  Response debug_token(Call& c);
  Response me(Call& c);
  Response fb_user(Call& c);
  Response me_accounts(Call& c);
  Response permissions(Call& c);
  Response permissions_revoke(Call& c);
  Response dialog(Call& c);
  Response unknown_node(Call& c);
  Response unknown_edge(Call& c);
  std::string resolve_me(const Call& c, const std::string& id) const;
  // The Page token a user token gets for a Page (me/accounts, GET /{page-id}?fields=access_token): one
  // per user, Page and kind of user token, reused while valid.
  std::string page_token_for(const Token& user_token, const std::string& page_id);

  // ---- graph/uploads.cpp: rupload (Instagram containers, reels) and the Resumable Upload API ---------
  net::awaitable<Response> rupload(Call& c);
  Response rupload_status(Call& c);
  Response upload_start(Call& c);
  Response upload_transfer(Call& c);
  Response upload_status(Call& c);
  // Takes `body` at `offset` into `upload` (bytes before the upload's offset are skipped). Returns ""
  // or why not (offset ahead of what was received, or file_size changed).
  std::string receive(Upload& upload, std::int64_t offset, std::int64_t file_size, const std::string& body);
  static json facts_of(const std::string& bytes, std::int64_t total);
  // The upload of a container or a reel has its last byte: judge the media.
  void upload_complete(const std::string& target_id);

  // ---- graph/control.cpp: /_sandbox/graph/... ------------------------------------------------------
  void install_controls();
  json summary() const;
  json save() const;
  void load(const json& j);

  // ---- instagram/instagram.cpp ------------------------------------------------------------------------
  Response ig_user(Call& c);
  net::awaitable<Response> ig_media_create(Call& c);
  Response ig_media_list(Call& c);
  Response ig_stories(Call& c);
  Response ig_container(Call& c);
  Response ig_media_publish(Call& c);
  Response ig_publishing_limit(Call& c);
  Response ig_media(Call& c);
  Response ig_media_children(Call& c);
  void ig_settle(Container& container, bool settle_children = true);
  void ig_poll(Container& container);
  void ig_media_arrived(Container& container, const json& facts, const std::string& fetch_error);
  json ig_container_json(const Container& container, const std::vector<FieldSel>& fields);
  std::optional<GraphError> ig_media_fields(const Media& media, const std::vector<FieldSel>& fields, json& out) const;
  std::string ig_permalink(const Media& media) const;
  std::int64_t ig_quota_usage(const IgUser& ig, std::int64_t since_ms) const;
  std::int64_t ig_quota_total(const IgUser& ig) const;
  // ---- instagram/insights.cpp
  Response ig_media_insights(Call& c);
  Response ig_user_insights(Call& c);
  std::int64_t ig_metric(const Media& media, const std::string& metric) const;
  // ---- instagram/login.cpp: Instagram Login
  Response ig_authorize(Call& c);
  Response ig_login_token(Call& c);
  Response ig_exchange_token(Call& c);
  Response ig_refresh_token(Call& c);
  Response ig_me(Call& c);

  // ---- facebook/facebook.cpp ------------------------------------------------------------------------
  Response fb_page(Call& c);
  Response fb_feed_create(Call& c);
  Response fb_posts(Call& c);
  Response fb_post(Call& c);
  Response fb_post_delete(Call& c);
  net::awaitable<Response> fb_photo_create(Call& c);
  Response fb_photo(Call& c);
  net::awaitable<Response> fb_video_create(Call& c);
  Response fb_video_start(Call& c);
  Response fb_video_transfer(Call& c);
  Response fb_video_finish(Call& c);
  Response fb_video(Call& c);
  Response fb_reel_start(Call& c);
  Response fb_reel_finish(Call& c);
  Response fb_reels(Call& c);
  void fb_advance(Video& video, bool counts_as_poll);
  void fb_settle_page(const std::string& page_id);
  void fb_start_processing(Video& video);
  Post& fb_new_post(const std::string& page_id, const std::string& kind);
  // The duplicate-status check (a Page's same status text within a day), through an index of status
  // posts by Page and text instead of a scan of every post per create.
  bool fb_duplicate_status(const std::string& page_id, const std::string& message);
  void fb_index_status(const Post& post);
  std::optional<GraphError> fb_post_fields(const Post& post, const std::vector<FieldSel>& fields, json& out);
  std::string fb_permalink(const Post& post) const;
  json fb_video_status(const Video& video) const;
  std::int64_t fb_reels_last_day(const Page& page) const;
  // ---- facebook/insights.cpp
  Response fb_page_insights(Call& c);
  Response fb_post_insights(Call& c);
  std::int64_t fb_metric(const std::string& id, const std::string& metric, const json& overrides) const;

  Core& core_;
  Limits limits_;
  std::map<std::string, Token> tokens_;
  std::map<std::string, FbUser> users_;
  std::map<std::string, Page> pages_;
  std::map<std::string, IgUser> ig_users_;
  std::map<std::string, Container> containers_;
  std::map<std::string, Media> media_;
  std::map<std::string, Photo> photos_;
  std::map<std::string, Video> videos_;
  std::map<std::string, Post> posts_;
  std::map<std::string, std::vector<std::string>> status_index_;  // page id + '\n' + text -> post ids
  std::size_t status_index_posts_ = 0;  // posts_.size() when the index was last complete; else rebuilt
  std::map<std::string, UploadSession> sessions_;
  std::map<std::string, AuthCode> codes_;
  UsageCounters usage_;
  json consent_ = json::object();  // how the next dialogs answer (POST /_sandbox/graph/consent)
  std::uint64_t next_id_ = 0;
  std::uint64_t next_trace_ = 0;
};

// Graph's time format: "2026-09-11T10:00:00+0000".
std::string graph_time(std::int64_t ms);
// A stable pseudo-random number from a text (metric defaults, shortcodes).
std::uint64_t stable_hash(const std::string& text);
std::string url_encode(std::string_view text);
bool contains(const std::vector<std::string>& list, const std::string& item);
// The same for the constant tables (metric names, field names).
bool listed(std::span<const std::string_view> list, std::string_view item);

}  // namespace schedulo::sandbox::graph
