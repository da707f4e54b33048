// The Graph plumbing: hosts and versions, dispatch by node kind, the response decoration (version,
// trace id, usage headers), tokens and their validity, access checks, usage metering and throttles,
// and the endpoints both products share (token exchange, debug_token, me/accounts, permissions, the
// Facebook Login dialog).
#include "sandbox/graph/graph.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>

#include "common/rfc3339.hpp"
#include "sandbox/graph/emulator.hpp"

namespace schedulo::sandbox::graph {

std::string graph_time(std::int64_t ms) {
  return format_rfc3339_ms(ms).substr(0, 19) + "+0000";
}

std::uint64_t stable_hash(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a, then a finaliser so near texts spread
  for (unsigned char c : text) h = (h ^ c) * 1099511628211ULL;
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  return h;
}

std::string url_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

bool contains(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

bool listed(std::span<const std::string_view> list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

namespace {

// Versions the sandbox serves (platform-apis.md 1.0): released on, and available until (the later
// dates follow "each version lives at least two years after the next one ships").
struct VersionInfo {
  int major;
  const char* released;
  const char* available_until;  // "" = no end announced
};
constexpr VersionInfo kVersions[] = {{20, "2024-05-21T00:00:00Z", "2026-09-24T00:00:00Z"},
                                     {21, "2024-10-02T00:00:00Z", "2027-01-21T00:00:00Z"},
                                     {22, "2025-01-21T00:00:00Z", "2027-05-29T00:00:00Z"},
                                     {23, "2025-05-29T00:00:00Z", "2027-10-08T00:00:00Z"},
                                     {24, "2025-10-08T00:00:00Z", "2028-02-18T00:00:00Z"},
                                     {25, "2026-02-18T00:00:00Z", "2028-07-29T00:00:00Z"},
                                     {26, "2026-07-29T00:00:00Z", ""}};

// "v25.0" -> 25; anything else -> nullopt.
std::optional<int> parse_version(const std::string& segment) {
  if (segment.size() < 4 || segment[0] != 'v') return std::nullopt;
  const auto dot = segment.find('.');
  if (dot == std::string::npos || dot < 2) return std::nullopt;
  const auto major = segment.substr(1, dot - 1);
  const auto minor = segment.substr(dot + 1);
  if (major.size() > 3 || minor.empty() || major.find_first_not_of("0123456789") != std::string::npos ||
      minor.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return std::stoi(major) * (minor == "0" ? 1 : -1);  // vN.M with M != 0 never existed: negative = unknown
}

// The version that answers a call asking for `asked` at `now_ms`: an expired one is served by the
// oldest available (1.0); one not released yet, or unknown, is answered with nothing (0).
int served_version(int asked, std::int64_t now_ms) {
  if (asked <= 0) return 0;
  int oldest = 0;
  for (const auto& v : kVersions) {
    const auto released = parse_rfc3339_ms(v.released).value_or(0);
    const std::string until = v.available_until;
    if (released > now_ms) continue;
    if (!until.empty() && parse_rfc3339_ms(until).value_or(0) <= now_ms) continue;
    if (oldest == 0) oldest = v.major;
    if (v.major == asked) return asked;
  }
  if (asked < oldest) return oldest;
  return 0;
}

std::vector<std::string> split_path(const std::string& path) {
  std::vector<std::string> out;
  std::size_t at = 0;
  while (at < path.size()) {
    if (path[at] == '/') {
      ++at;
      continue;
    }
    auto slash = path.find('/', at);
    if (slash == std::string::npos) slash = path.size();
    out.push_back(server::percent_decode(path.substr(at, slash - at), false));
    at = slash;
  }
  return out;
}

std::string hmac_sha256_hex(const std::string& key, const std::string& message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
       message.size(), digest.data(), &length);
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (unsigned int i = 0; i < length; ++i) {
    out += kHex[digest[i] >> 4];
    out += kHex[digest[i] & 15];
  }
  return out;
}

std::string base64url(std::string_view text) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : text) {
    buffer = buffer << 8 | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out += kAlphabet[(buffer >> bits) & 63];
    }
  }
  if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
  return out;
}

std::string unbase64url(std::string_view text) {
  std::string out;
  std::uint32_t buffer = 0;
  int bits = 0;
  for (char c : text) {
    int v = -1;
    if (c >= 'A' && c <= 'Z') v = c - 'A';
    if (c >= 'a' && c <= 'z') v = c - 'a' + 26;
    if (c >= '0' && c <= '9') v = c - '0' + 52;
    if (c == '-') v = 62;
    if (c == '_') v = 63;
    if (v < 0) return {};
    buffer = buffer << 6 | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((buffer >> bits) & 0xFF);
    }
  }
  return out;
}

std::vector<std::string> demo_user_scopes() {
  return {"pages_show_list", "pages_read_engagement",     "pages_manage_posts",        "read_insights",
          "instagram_basic", "instagram_content_publish", "instagram_manage_insights", "business_management"};
}
std::vector<std::string> all_tasks() {
  return {"ANALYZE", "ADVERTISE", "MODERATE", "CREATE_CONTENT", "MANAGE"};
}

}  // namespace

// ---- setup ----------------------------------------------------------------------------------------

Emulator::Emulator(Core& core) : core_(core) {
  reset();
}

void Emulator::reset() {
  limits_ = Limits{};
  tokens_.clear();
  users_.clear();
  pages_.clear();
  ig_users_.clear();
  containers_.clear();
  media_.clear();
  photos_.clear();
  videos_.clear();
  posts_.clear();
  status_index_.clear();
  status_index_posts_ = static_cast<std::size_t>(-1);  // rebuilt at the next check
  sessions_.clear();
  codes_.clear();
  usage_.clear();
  consent_ = json::object();
  seed_demo();
}

// The demo accounts of the core (interface.md): demo-instagram publishes through Facebook Login with
// the Page token of its linked Page, demo-facebook with its Page's token. Both belong to one demo
// user. An Instagram Login account is there too, for the other login.
void Emulator::seed_demo() {
  Token app;
  app.token = std::string(kAppId) + "|" + kAppSecret;
  app.kind = "app";
  app.login = "facebook";
  issue_token(app);

  const auto t = now();
  FbUser user;
  user.id = "100000000000099";
  user.name = "Sandbox Demo User";
  user.scopes = demo_user_scopes();
  user.data_access_expires_ms = t + limits_.data_access_days * kDayMs;
  const auto& accounts = core_.accounts();
  auto account_field = [&](const char* key, const char* field, const std::string& fallback) {
    if (accounts.contains(key) && accounts[key].contains(field) && accounts[key][field].is_string())
      return accounts[key][field].get<std::string>();
    return fallback;
  };
  const auto ig_page = account_field("demo-instagram", "page_id", "100000000000001");
  const auto ig_id = account_field("demo-instagram", "platform_account_id", "17841400000000001");
  const auto fb_page = account_field("demo-facebook", "platform_account_id", "100000000000002");
  user.page_tasks[ig_page] = all_tasks();
  user.page_tasks[fb_page] = all_tasks();
  users_[user.id] = user;

  Page linked;
  linked.id = ig_page;
  linked.name = "Schedulo Demo (Instagram)";
  linked.ig_user_id = ig_id;
  pages_[linked.id] = linked;
  Page page;
  page.id = fb_page;
  page.name = account_field("demo-facebook", "username", "Schedulo Demo Page");
  pages_[page.id] = page;

  IgUser ig;
  ig.id = ig_id;
  ig.username = account_field("demo-instagram", "username", "schedulo.demo");
  ig.name = "Schedulo Demo";
  ig.login = "facebook";
  ig.page_id = ig_page;
  ig_users_[ig.id] = ig;

  Token user_token;
  user_token.token = "sbx-meta-user-demo-0001";
  user_token.kind = "user";
  user_token.login = "facebook";
  user_token.user_id = user.id;
  user_token.long_lived = true;
  user_token.expires_ms = t + limits_.long_token_s * kSecondMs;
  user_token.scopes = user.scopes;
  issue_token(user_token);
  for (const auto& [key, page_id] : {std::pair<const char*, std::string>{"demo-instagram", ig_page},
                                     std::pair<const char*, std::string>{"demo-facebook", fb_page}}) {
    Token page_token;
    page_token.token = account_field(key, "access_token", std::string("sbx-meta-page-") + page_id);
    page_token.kind = "page";
    page_token.login = "facebook";
    page_token.user_id = user.id;
    page_token.page_id = page_id;
    page_token.long_lived = true;
    page_token.scopes = user.scopes;
    issue_token(page_token);
  }

  IgUser login;
  login.id = "17841400000000002";
  login.username = "schedulo.iglogin";
  login.name = "Schedulo Demo (Instagram Login)";
  login.login = "instagram";
  ig_users_[login.id] = login;
  Token ig_token;
  ig_token.token = "IGAAsbx-ig-login-demo-0001";
  ig_token.kind = "ig_user";
  ig_token.login = "instagram";
  ig_token.user_id = login.id;
  ig_token.long_lived = true;
  ig_token.expires_ms = t + limits_.long_token_s * kSecondMs;
  ig_token.scopes = {"instagram_business_basic", "instagram_business_content_publish",
                     "instagram_business_manage_insights"};
  issue_token(ig_token);
}

void Emulator::install() {
  auto shape = [this](int status) {
    return error_response(errors::server_error(status), make_trace_id(++next_trace_));
  };
  auto throttle = [this](int code) {
    return [this, code] {
      auto r = error_response(errors::throttled(code, limits_.throttle_http_status), make_trace_id(++next_trace_));
      r.set_header("X-App-Usage", R"({"call_count":100,"total_time":100,"total_cputime":100})");
      return r;
    };
  };
  core_.add_api({"graph", shape, throttle(4), [this] { return save(); }, [this](const json& j) { load(j); }});
  core_.add_api({"instagram", shape, throttle(80002), {}, {}});
  core_.add_api({"facebook", shape, throttle(80001), {}, {}});
  const std::pair<const char*, Host> hosts[] = {{"/graph/*", Host::graph},
                                                {"/graph-video/*", Host::graph_video},
                                                {"/graph-instagram/*", Host::instagram_graph},
                                                {"/instagram-api/*", Host::instagram_api},
                                                {"/instagram/*", Host::instagram_www},
                                                {"/facebook/*", Host::facebook_www},
                                                {"/rupload/*", Host::rupload}};
  for (const auto& [pattern, host] : hosts)
    core_.route_dynamic("*", pattern, [this, h = host](Request& r) { return dispatch(r, h); });
  install_controls();
}

std::shared_ptr<void> install(Core& core) {
  return install_emulator<Emulator>(core);
}

// ---- dispatch -------------------------------------------------------------------------------------

Dispatch Emulator::to(const std::shared_ptr<Call>& call, std::string api, std::string name, SyncFn fn) {
  return {std::move(api), std::move(name), [this, call, fn](Request&) -> net::awaitable<Response> {
            Response response = (this->*fn)(*call);
            decorate(*call, response);
            co_return response;
          }};
}

Dispatch Emulator::to_async(const std::shared_ptr<Call>& call, std::string api, std::string name, AsyncFn fn) {
  return {std::move(api), std::move(name), [this, call, fn](Request&) -> net::awaitable<Response> {
            Response response = co_await (this->*fn)(*call);
            decorate(*call, response);
            co_return response;
          }};
}

Dispatch Emulator::dispatch(Request& request, Host host) {
  auto c = std::make_shared<Call>();
  c->request = &request;
  c->host = host;
  c->trace_id = make_trace_id(++next_trace_);
  c->segments = split_path(request.path);
  if (!c->segments.empty()) c->segments.erase(c->segments.begin());  // the host prefix
  const bool versioned_host =
      host == Host::graph || host == Host::graph_video || host == Host::instagram_graph || host == Host::facebook_www;
  bool bad_version = false;
  if (versioned_host && !c->segments.empty()) {
    if (auto v = parse_version(c->segments.front())) {
      c->version = *v;
      c->version_text = c->segments.front();
      c->segments.erase(c->segments.begin());
      c->served = served_version(*v, now());
      bad_version = c->served == 0;
    }
  }
  if (c->version == 0) c->served = kDefaultVersion;
  c->params = parse_params(request);
  const auto& s = c->segments;
  const auto& m = request.method;
  auto is = [&](std::initializer_list<const char*> want) {
    if (s.size() != want.size()) return false;
    std::size_t i = 0;
    for (const char* w : want)
      if (s[i++] != w) return false;
    return true;
  };
  if (bad_version) return to(c, "graph", "graph.unknown_version", &Emulator::unknown_edge);
  switch (host) {
    case Host::facebook_www:
      if (m == "GET" && is({"dialog", "oauth"})) return to(c, "graph", "graph.dialog", &Emulator::dialog);
      break;
    case Host::instagram_www:
      if (m == "GET" && is({"oauth", "authorize"}))
        return to(c, "instagram", "instagram.authorize", &Emulator::ig_authorize);
      break;
    case Host::instagram_api:
      if (m == "POST" && is({"oauth", "access_token"}))
        return to(c, "instagram", "instagram.login_token", &Emulator::ig_login_token);
      break;
    case Host::rupload:
      if (s.size() == 3 && s[0] == "ig-api-upload") {
        if (m == "POST") return to_async(c, "instagram", "instagram.rupload", &Emulator::rupload);
        if (m == "GET") return to(c, "instagram", "instagram.rupload_status", &Emulator::rupload_status);
      }
      if (s.size() == 3 && s[0] == "video-upload") {
        if (m == "POST") return to_async(c, "facebook", "facebook.reel_upload", &Emulator::rupload);
        if (m == "GET") return to(c, "facebook", "facebook.reel_upload_status", &Emulator::rupload_status);
      }
      break;
    default:
      return route_node(c);
  }
  return to(c, "graph", "graph.unknown_path", &Emulator::unknown_edge);
}

Dispatch Emulator::route_node(const std::shared_ptr<Call>& c) {
  auto& s = c->segments;
  const auto& m = c->request->method;
  const bool ig_host = c->host == Host::instagram_graph;
  if (s.empty()) return to(c, "graph", "graph.unknown_path", &Emulator::unknown_edge);
  if (ig_host && s.size() == 1 && m == "GET") {
    if (s[0] == "access_token") return to(c, "instagram", "instagram.exchange_token", &Emulator::ig_exchange_token);
    if (s[0] == "refresh_access_token")
      return to(c, "instagram", "instagram.refresh_token", &Emulator::ig_refresh_token);
    if (s[0] == "me") return to(c, "instagram", "instagram.me", &Emulator::ig_me);
  }
  if (!ig_host) {
    if (s.size() == 1 && s[0] == "debug_token" && m == "GET")
      return to(c, "graph", "graph.debug_token", &Emulator::debug_token);
    if (s.size() == 2 && s[0] == "oauth" && s[1] == "access_token" && (m == "GET" || m == "POST"))
      return to(c, "graph", "graph.oauth_access_token", &Emulator::oauth_access_token);
  }
  if (s[0] == "me") {
    const auto resolved = resolve_me(*c, "me");
    if (resolved == "me") return to(c, "graph", "graph.me", &Emulator::me);
    s[0] = resolved;
  }
  const auto kind = node_kind(s[0], c->host);
  if (kind.empty()) return to(c, "graph", "graph.node", &Emulator::unknown_node);
  if (s.size() == 1) {
    if (m == "GET") {
      if (kind == "ig_user") return to(c, "instagram", "instagram.user", &Emulator::ig_user);
      if (kind == "container") return to(c, "instagram", "instagram.container", &Emulator::ig_container);
      if (kind == "ig_media") return to(c, "instagram", "instagram.media", &Emulator::ig_media);
      if (kind == "page") return to(c, "facebook", "facebook.page", &Emulator::fb_page);
      if (kind == "post") return to(c, "facebook", "facebook.post", &Emulator::fb_post);
      if (kind == "photo") return to(c, "facebook", "facebook.photo", &Emulator::fb_photo);
      if (kind == "video") return to(c, "facebook", "facebook.video", &Emulator::fb_video);
      if (kind == "fb_user") return to(c, "graph", "graph.user", &Emulator::fb_user);
      if (kind == "upload_session") return to(c, "graph", "graph.upload_status", &Emulator::upload_status);
    }
    if (m == "POST" && kind == "upload_session")
      return to(c, "graph", "graph.upload_transfer", &Emulator::upload_transfer);
    if (m == "DELETE" && kind == "post") return to(c, "facebook", "facebook.post_delete", &Emulator::fb_post_delete);
    return to(c, "graph", "graph.node", &Emulator::unknown_node);
  }
  const auto& edge = s[1];
  if (s.size() == 2) {
    if (kind == "ig_user") {
      if (edge == "media" && m == "POST")
        return to_async(c, "instagram", "instagram.media_create", &Emulator::ig_media_create);
      if (edge == "media" && m == "GET") return to(c, "instagram", "instagram.media_list", &Emulator::ig_media_list);
      if (edge == "media_publish" && m == "POST")
        return to(c, "instagram", "instagram.media_publish", &Emulator::ig_media_publish);
      if (edge == "content_publishing_limit" && m == "GET")
        return to(c, "instagram", "instagram.publishing_limit", &Emulator::ig_publishing_limit);
      if (edge == "stories" && m == "GET") return to(c, "instagram", "instagram.stories", &Emulator::ig_stories);
      if (edge == "insights" && m == "GET")
        return to(c, "instagram", "instagram.user_insights", &Emulator::ig_user_insights);
    }
    if (kind == "ig_media") {
      if (edge == "insights" && m == "GET")
        return to(c, "instagram", "instagram.media_insights", &Emulator::ig_media_insights);
      if (edge == "children" && m == "GET")
        return to(c, "instagram", "instagram.media_children", &Emulator::ig_media_children);
    }
    if (kind == "page") {
      const auto phase = c->params.str("upload_phase");
      if (edge == "feed" && m == "POST") return to(c, "facebook", "facebook.feed_create", &Emulator::fb_feed_create);
      if ((edge == "feed" || edge == "posts" || edge == "published_posts") && m == "GET")
        return to(c, "facebook", "facebook.posts", &Emulator::fb_posts);
      if (edge == "photos" && m == "POST")
        return to_async(c, "facebook", "facebook.photo_create", &Emulator::fb_photo_create);
      if (edge == "videos" && m == "POST") {
        if (phase == "start") return to(c, "facebook", "facebook.video_start", &Emulator::fb_video_start);
        if (phase == "transfer") return to(c, "facebook", "facebook.video_transfer", &Emulator::fb_video_transfer);
        if (phase == "finish") return to(c, "facebook", "facebook.video_finish", &Emulator::fb_video_finish);
        return to_async(c, "facebook", "facebook.video_create", &Emulator::fb_video_create);
      }
      if (edge == "video_reels" && m == "POST") {
        if (phase == "finish") return to(c, "facebook", "facebook.reel_finish", &Emulator::fb_reel_finish);
        return to(c, "facebook", "facebook.reel_start", &Emulator::fb_reel_start);
      }
      if (edge == "video_reels" && m == "GET") return to(c, "facebook", "facebook.reels", &Emulator::fb_reels);
      if (edge == "insights" && m == "GET")
        return to(c, "facebook", "facebook.page_insights", &Emulator::fb_page_insights);
    }
    if (kind == "post" && edge == "insights" && m == "GET")
      return to(c, "facebook", "facebook.post_insights", &Emulator::fb_post_insights);
    if (kind == "fb_user") {
      if (edge == "accounts" && m == "GET") return to(c, "graph", "graph.me_accounts", &Emulator::me_accounts);
      if (edge == "permissions" && m == "GET") return to(c, "graph", "graph.permissions", &Emulator::permissions);
      if (edge == "permissions" && m == "DELETE")
        return to(c, "graph", "graph.permissions_revoke", &Emulator::permissions_revoke);
    }
    if (kind == "app" && edge == "uploads" && m == "POST")
      return to(c, "graph", "graph.upload_start", &Emulator::upload_start);
  }
  if (s.size() == 3 && kind == "fb_user" && edge == "permissions" && m == "DELETE")
    return to(c, "graph", "graph.permissions_revoke", &Emulator::permissions_revoke);
  return to(c, "graph", "graph.unknown_path", &Emulator::unknown_edge);
}

std::string Emulator::node_kind(const std::string& id, Host host) const {
  if (ig_users_.count(id)) return "ig_user";
  if (containers_.count(id)) return "container";
  if (media_.count(id)) return "ig_media";
  if (host == Host::instagram_graph) return {};
  if (pages_.count(id)) return "page";
  if (posts_.count(id)) return "post";
  if (photos_.count(id)) return "photo";
  if (videos_.count(id)) return "video";
  if (users_.count(id)) return "fb_user";
  if (sessions_.count(id)) return "upload_session";
  if (id == kAppId) return "app";
  return {};
}

std::string Emulator::resolve_me(const Call& c, const std::string& id) const {
  if (id != "me") return id;
  auto it = tokens_.find(call_token(c));
  if (it == tokens_.end()) return id;
  const auto& t = it->second;
  if (t.kind == "page") return t.page_id;
  if (t.kind == "user" || t.kind == "ig_user") return t.user_id;
  return id;
}

void Emulator::decorate(Call& c, Response& response) {
  if (c.host == Host::graph || c.host == Host::graph_video || c.host == Host::instagram_graph) {
    response.set_header("facebook-api-version", "v" + std::to_string(c.served) + ".0");
    auto app = usage_of("app");
    response.set_header(
        "X-App-Usage",
        json{{"call_count", app.call_count}, {"total_time", app.total_time}, {"total_cputime", app.total_cputime}}
            .dump());
    if (!c.buc_key.empty()) {
      auto p = usage_of(c.buc_type + ":" + c.buc_key);
      json entry{{"type", c.buc_type},
                 {"call_count", p.call_count},
                 {"total_cputime", p.total_cputime},
                 {"total_time", p.total_time},
                 {"estimated_time_to_regain_access", p.regain_minutes}};
      response.set_header("X-Business-Use-Case-Usage", json{{c.buc_key, json::array({entry})}}.dump());
    }
    if (!c.page_usage.empty()) {
      auto p = usage_of("page_user:" + c.page_usage);
      response.set_header("X-Page-Usage", json{{"call_count", p.call_count},
                                               {"total_time", p.total_time},
                                               {"total_cputime", p.total_cputime},
                                               {"estimated_time_to_regain_access", p.regain_minutes}}
                                              .dump());
    }
  }
  bool has_trace = false;
  for (const auto& h : response.headers) has_trace = has_trace || h.name == "x-fb-trace-id";
  if (!has_trace) response.set_header("x-fb-trace-id", c.trace_id);
}

Response Emulator::fail(Call& c, const GraphError& error) {
  return error_response(error, c.trace_id);
}

Response Emulator::ok(Call&, const json& body) {
  return json_response(200, body);
}

std::string Emulator::public_base(const Call& c) const {
  return core_.options().scheme + "://" + std::string(c.request->header("Host").value_or("127.0.0.1"));
}

FetchOptions Emulator::fetch_options() const {
  FetchOptions o;
  o.timeout = std::chrono::milliseconds(limits_.fetch_timeout_ms);
  o.ca_file = core_.options().ca_file;
  return o;
}

std::optional<GraphError> Emulator::fields_of(const Call& c, const std::string& fallback,
                                              std::vector<FieldSel>& out) const {
  std::string error;
  const auto text = c.params.has("fields") ? c.params.str("fields") : fallback;
  if (!parse_fields(text, out, error))
    return GraphError{400, 2500, 0, "Syntax error in fields \"" + text + "\": " + error, "OAuthException"};
  return std::nullopt;
}

Response Emulator::paginate(Call& c, const std::vector<std::string>& ids, const RenderItem& render,
                            std::int64_t default_limit) {
  std::int64_t limit = default_limit;
  if (c.params.has("limit")) {
    auto l = c.params.integer("limit");
    if (!l || *l < 0) return fail(c, errors::invalid_parameter("limit must be a non-negative integer"));
    limit = std::min<std::int64_t>(*l, 100);
  }
  std::size_t start = 0;
  if (c.params.has("after")) {
    const auto after = unbase64url(c.params.str("after"));
    auto it = std::find(ids.begin(), ids.end(), after);
    if (it == ids.end()) return fail(c, errors::invalid_parameter("Invalid after cursor"));
    start = static_cast<std::size_t>(it - ids.begin()) + 1;
  }
  json data = json::array();
  std::size_t i = start;
  for (; i < ids.size() && static_cast<std::int64_t>(data.size()) < limit; ++i) {
    json item = json::object();
    if (auto e = render(ids[i], item)) return fail(c, *e);
    data.push_back(std::move(item));
  }
  json out{{"data", data}};
  if (!data.empty()) {
    json paging{{"cursors", {{"before", base64url(ids[start])}, {"after", base64url(ids[i - 1])}}}};
    if (i < ids.size()) {
      std::string query;
      for (const auto& [k, v] : c.request->query_params()) {
        if (k == "after") continue;
        query += (query.empty() ? "" : "&") + url_encode(k) + "=" + url_encode(v);
      }
      query += (query.empty() ? "" : "&") + std::string("after=") + base64url(ids[i - 1]);
      paging["next"] = public_base(c) + c.request->path + "?" + query;
    }
    out["paging"] = paging;
  }
  return ok(c, out);
}

// ---- tokens -----------------------------------------------------------------------------------------

std::string Emulator::new_id(std::uint64_t base) {
  return std::to_string(base + ++next_id_);
}

std::string Emulator::new_token(const std::string& prefix) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  std::string out = prefix;
  std::uint64_t x = stable_hash(prefix + std::to_string(++next_id_));
  for (int i = 0; i < 48; ++i) {
    if (i % 10 == 0) x = stable_hash(std::to_string(x) + std::to_string(i));
    out += kAlphabet[x % 62];
    x /= 62;
  }
  return out;
}

Token& Emulator::issue_token(Token token) {
  token.issued_ms = now();
  token.serial = ++next_id_;
  auto& slot = tokens_[token.token];
  slot = std::move(token);
  return slot;
}

std::string Emulator::call_token(const Call& c) const {
  if (c.params.has("access_token")) return c.params.str("access_token");
  auto auth = c.request->header("Authorization");
  if (!auth) return {};
  std::string text(*auth);
  for (const char* scheme : {"Bearer ", "OAuth "}) {
    const std::string prefix(scheme);
    if (text.size() > prefix.size() && std::equal(prefix.begin(), prefix.end(), text.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      text = text.substr(prefix.size());
      while (!text.empty() && text.front() == ' ') text.erase(0, 1);
      while (!text.empty() && text.back() == ' ') text.pop_back();
      return text;
    }
  }
  return {};
}

std::optional<GraphError> Emulator::token_problem(const Token& t) const {
  const auto at = now();
  if (t.invalid_subcode != 0) return errors::token_invalid(t.invalid_subcode, kAppId, t.expires_ms, at);
  if (t.expires_ms > 0 && at >= t.expires_ms) return errors::token_invalid(463, kAppId, t.expires_ms, at);
  if (t.login == "facebook" && (t.kind == "user" || t.kind == "page")) {
    auto it = users_.find(t.user_id);
    if (it == users_.end()) return errors::token_invalid(467, kAppId, 0, at);
    const auto& user = it->second;
    if (user.invalid_subcode != 0 && t.serial < user.invalid_before_serial)
      return errors::token_invalid(user.invalid_subcode, kAppId, t.expires_ms, at);
    if (user.data_access_expires_ms > 0 && at >= user.data_access_expires_ms) {
      // EMU-CHOICE: the reference names no subcode for expired data access; 463 (expired) is the
      // class a client must act on (ask the user to log in again).
      auto e = errors::token_invalid(463, kAppId, user.data_access_expires_ms, at);
      e.message = "Error validating access token: Data access for this user expired on " +
                  format_rfc3339_ms(user.data_access_expires_ms) + ". The user must log in again.";
      return e;
    }
    if (t.kind == "page" && !user.page_tasks.count(t.page_id)) return errors::token_invalid(492, kAppId, 0, at);
  }
  if (t.login == "instagram") {
    auto it = ig_users_.find(t.user_id);
    if (it == ig_users_.end()) return errors::token_invalid(467, kAppId, 0, at);
    if (it->second.invalid_subcode != 0 && t.serial < it->second.invalid_before_serial)
      return errors::token_invalid(it->second.invalid_subcode, kAppId, t.expires_ms, at);
  }
  return std::nullopt;
}

std::vector<std::string> Emulator::effective_scopes(const Token& t) const {
  if (t.login != "facebook" || t.kind == "app") return t.scopes;
  auto it = users_.find(t.user_id);
  if (it == users_.end()) return {};
  std::vector<std::string> out;
  for (const auto& s : t.scopes)
    if (contains(it->second.scopes, s)) out.push_back(s);
  return out;
}

bool Emulator::has_scope(const Token& t, const std::string& scope) const {
  return contains(effective_scopes(t), scope);
}

std::optional<GraphError> Emulator::authenticate(Call& c) {
  c.token = nullptr;
  const auto text = call_token(c);
  if (text.empty()) return errors::token_required();
  auto it = tokens_.find(text);
  if (it == tokens_.end()) return errors::token_unparsable();
  Token& t = it->second;
  // A token of one login means nothing to the other login's host.
  if ((t.login == "instagram") != (c.host == Host::instagram_graph)) return errors::token_unparsable();
  if (auto problem = token_problem(t)) return problem;
  if (c.params.has("appsecret_proof")) {
    if (c.params.str("appsecret_proof") != hmac_sha256_hex(kAppSecret, t.token)) return errors::bad_appsecret_proof();
  } else if (limits_.require_appsecret_proof && t.kind != "app") {
    return errors::appsecret_proof_required();
  }
  c.token = &t;
  return std::nullopt;
}

// ---- usage ------------------------------------------------------------------------------------------

std::int64_t Emulator::usage_limit(const std::string& key) const {
  if (key == "app") return limits_.app_calls_per_hour;
  if (key.starts_with("user:")) return limits_.user_calls_per_hour;
  if (key.starts_with("page_user:")) return limits_.page_user_calls_per_hour;
  if (key.starts_with("pages:")) return limits_.pages_buc_calls_per_day;
  return limits_.instagram_buc_calls_per_day;
}

std::int64_t Emulator::usage_window(const std::string& key) const {
  // Platform limits roll over an hour; BUC limits over 24 hours (1.0).
  return key.starts_with("pages:") || key.starts_with("instagram:") ? kDayMs : kHourMs;
}

UsagePercent Emulator::usage_of(const std::string& key) {
  return usage_[key].percent(usage_limit(key), usage_window(key), now());
}

std::optional<GraphError> Emulator::meter_app(Call& c) {
  (void)c;
  if (usage_of("app").throttled()) return errors::throttled(4, limits_.throttle_http_status);
  usage_["app"].add({now(), 1, 1, 1});
  return std::nullopt;
}

std::optional<GraphError> Emulator::meter_user_call(Call& c, const std::string& user_id, const std::string& page_id) {
  if (!page_id.empty()) c.page_usage = page_id;
  if (usage_of("app").throttled()) return errors::throttled(4, limits_.throttle_http_status);
  if (usage_of("user:" + user_id).throttled()) return errors::throttled(17, limits_.throttle_http_status);
  if (!page_id.empty() && usage_of("page_user:" + page_id).throttled())
    return errors::throttled(32, limits_.throttle_http_status);
  const UsageEntry one{now(), 1, 1, 1};
  usage_["app"].add(one);
  usage_["user:" + user_id].add(one);
  if (!page_id.empty()) usage_["page_user:" + page_id].add(one);
  return std::nullopt;
}

std::optional<GraphError> Emulator::meter_buc(Call& c, const std::string& type, const std::string& object_id) {
  c.buc_type = type;
  c.buc_key = object_id;
  const auto key = type + ":" + object_id;
  if (usage_of(key).throttled())
    return errors::throttled(type == "pages" ? 80001 : 80002, limits_.throttle_http_status);
  usage_[key].add({now(), 1, 1, 1});
  return std::nullopt;
}

// ---- access -----------------------------------------------------------------------------------------

std::optional<GraphError> Emulator::access_ig(Call& c, const IgUser& ig, const std::string& fb_scope,
                                              const std::string& ig_scope) {
  if (auto e = authenticate(c)) return e;
  const Token& t = *c.token;
  bool allowed = false;
  if (t.kind == "ig_user") {
    allowed = t.user_id == ig.id;
  } else if (t.kind == "page") {
    allowed = ig.login == "facebook" && t.page_id == ig.page_id;
  } else if (t.kind == "user") {
    auto it = users_.find(t.user_id);
    allowed = ig.login == "facebook" && it != users_.end() && it->second.page_tasks.count(ig.page_id) > 0;
  }
  if (!allowed) return errors::unknown_object(ig.id, c.request->method);
  const auto& scope = t.kind == "ig_user" ? ig_scope : fb_scope;
  if (!scope.empty() && !has_scope(t, scope)) return errors::permission_missing(scope);
  return meter_buc(c, "instagram", ig.id);
}

std::optional<GraphError> Emulator::access_page(Call& c, const Page& page, PageNeed need) {
  if (auto e = authenticate(c)) return e;
  const Token& t = *c.token;
  auto user = users_.find(t.user_id);
  if (t.kind == "page" && t.page_id == page.id && user != users_.end()) {
    const auto& tasks = user->second.page_tasks[page.id];
    if (need == PageNeed::publish && (!has_scope(t, "pages_manage_posts") || !contains(tasks, "CREATE_CONTENT")))
      return errors::page_publish_permission();
    if (need == PageNeed::insights && (!has_scope(t, "read_insights") || !contains(tasks, "ANALYZE")))
      return errors::permission_missing("read_insights");
    if (need == PageNeed::read && !has_scope(t, "pages_read_engagement"))
      return errors::permission_missing("pages_read_engagement");
    return meter_buc(c, "pages", page.id);
  }
  if (t.kind == "user" && user != users_.end() && user->second.page_tasks.count(page.id)) {
    if (need == PageNeed::publish) return errors::page_publish_permission();
    if (need == PageNeed::insights)
      return GraphError{
          400, 190,   0,      "(#190) This method must be called with a Page Access Token", "OAuthException", "",
          "",  false, nullptr};
    if (!has_scope(t, "pages_read_engagement")) return errors::permission_missing("pages_read_engagement");
    return meter_user_call(c, t.user_id, page.id);
  }
  return errors::unknown_object(page.id, c.request->method);
}

// ---- shared endpoints -------------------------------------------------------------------------------

Response Emulator::oauth_access_token(Call& c) {
  if (auto e = meter_app(c)) return fail(c, *e);
  const auto& p = c.params;
  const auto grant = p.str("grant_type");
  if (p.str("client_id") != kAppId) return fail(c, errors::bad_client_id());
  if (p.str("client_secret") != kAppSecret) return fail(c, errors::bad_client_secret());
  if (grant == "client_credentials")
    return ok(c, {{"access_token", std::string(kAppId) + "|" + kAppSecret}, {"token_type", "bearer"}});
  if (grant == "fb_exchange_token") {
    if (!p.has("fb_exchange_token")) return fail(c, errors::missing_parameter("fb_exchange_token"));
    auto it = tokens_.find(p.str("fb_exchange_token"));
    if (it == tokens_.end() || it->second.login != "facebook") return fail(c, errors::token_unparsable());
    const Token old = it->second;
    if (old.kind != "user") return fail(c, errors::invalid_parameter("fb_exchange_token must be a user access token"));
    if (auto problem = token_problem(old)) return fail(c, *problem);
    Token fresh = old;
    fresh.token = new_token("EAAS");
    fresh.long_lived = true;
    fresh.expires_ms = now() + limits_.long_token_s * kSecondMs;
    const auto& issued = issue_token(fresh);
    return ok(c, {{"access_token", issued.token}, {"token_type", "bearer"}, {"expires_in", limits_.long_token_s}});
  }
  if (!grant.empty() && grant != "authorization_code")
    return fail(c, errors::invalid_parameter("Unsupported grant_type: " + grant));
  if (!p.has("code")) return fail(c, errors::missing_parameter("code"));
  if (!p.has("redirect_uri")) return fail(c, GraphError{400, 100, 0, "Missing redirect_uri parameter."});
  auto it = codes_.find(p.str("code"));
  if (it == codes_.end() || it->second.login != "facebook")
    return fail(c, GraphError{400, 100, 0, "Invalid verification code format."});
  AuthCode& code = it->second;
  // EMU-CHOICE: subcodes 36007/36008/36009 for expired, redirect mismatch and reused codes.
  if (code.used) return fail(c, GraphError{400, 100, 36009, "This authorization code has been used."});
  if (now() - code.created_ms > 10 * kMinuteMs)
    return fail(c, GraphError{400, 100, 36007, "This authorization code has expired."});
  if (code.redirect_uri != p.str("redirect_uri"))
    return fail(c, GraphError{400, 100, 36008,
                              "Error validating verification code. Please make sure your redirect_uri is identical to "
                              "the one you used in the OAuth dialog request"});
  code.used = true;
  auto& user = users_[code.user_id];
  for (const auto& s : code.scopes)
    if (!contains(user.scopes, s)) user.scopes.push_back(s);
  user.data_access_expires_ms = now() + limits_.data_access_days * kDayMs;
  Token t;
  t.token = new_token("EAAS");
  t.kind = "user";
  t.login = "facebook";
  t.user_id = user.id;
  t.expires_ms = now() + limits_.short_user_token_s * kSecondMs;
  t.scopes = code.scopes;
  const auto& issued = issue_token(t);
  return ok(c, {{"access_token", issued.token}, {"token_type", "bearer"}, {"expires_in", limits_.short_user_token_s}});
}

Response Emulator::debug_token(Call& c) {
  if (auto e = meter_app(c)) return fail(c, *e);
  if (!c.params.has("input_token")) return fail(c, errors::missing_parameter("input_token"));
  const auto access = call_token(c);
  if (access.empty()) return fail(c, errors::token_required());
  auto caller = tokens_.find(access);
  if (caller == tokens_.end() || caller->second.login != "facebook") {
    if (access.find('|') != std::string::npos)
      return fail(c, GraphError{400, 190, 0, "Invalid OAuth access token signature."});
    return fail(c, errors::token_unparsable());
  }
  if (caller->second.kind != "app") {
    if (auto problem = token_problem(caller->second)) return fail(c, *problem);
  }
  auto it = tokens_.find(c.params.str("input_token"));
  if (it == tokens_.end() || it->second.login != "facebook") {
    // EMU-CHOICE: Instagram Login tokens are not known to debug_token (1.2: UNCONFIRMED); a client
    // probes them with GET /me on graph.instagram.com instead.
    return ok(c, {{"data",
                   {{"error", {{"code", 190}, {"message", "Invalid OAuth access token - Cannot parse access token"}}},
                    {"is_valid", false},
                    {"scopes", json::array()}}}});
  }
  const Token& t = it->second;
  json data{{"app_id", kAppId}, {"application", kAppName}};
  data["type"] = t.kind == "page" ? "PAGE" : t.kind == "app" ? "APP" : "USER";
  data["expires_at"] = t.expires_ms / 1000;
  data["issued_at"] = t.issued_ms / 1000;
  const auto scopes = effective_scopes(t);
  data["scopes"] = scopes;
  if (t.kind != "app") {
    auto user = users_.find(t.user_id);
    data["user_id"] = t.user_id;
    if (user != users_.end()) {
      data["data_access_expires_at"] = user->second.data_access_expires_ms / 1000;
      json granular = json::array();
      for (const auto& s : scopes) {
        json g{{"scope", s}};
        std::vector<std::string> targets;
        for (const auto& [page_id, tasks] : user->second.page_tasks) {
          (void)tasks;
          if (t.kind == "page" && page_id != t.page_id) continue;
          if (s.starts_with("pages_")) targets.push_back(page_id);
          if (s.starts_with("instagram_") && pages_.count(page_id) && !pages_.at(page_id).ig_user_id.empty())
            targets.push_back(pages_.at(page_id).ig_user_id);
        }
        if (!targets.empty()) g["target_ids"] = targets;
        granular.push_back(g);
      }
      data["granular_scopes"] = granular;
    }
    if (t.kind == "page") data["profile_id"] = t.page_id;
  }
  const auto problem = token_problem(t);
  data["is_valid"] = !problem.has_value();
  if (problem) data["error"] = {{"code", problem->code}, {"message", problem->message}, {"subcode", problem->subcode}};
  return ok(c, {{"data", data}});
}

Response Emulator::me(Call& c) {
  if (auto e = authenticate(c)) return fail(c, *e);
  return fail(c, errors::unknown_object("me", c.request->method));
}

Response Emulator::fb_user(Call& c) {
  const auto& id = c.segments[0];
  if (auto e = authenticate(c)) return fail(c, *e);
  if (c.token->kind != "user" || c.token->user_id != id) return fail(c, errors::unknown_object(id, "GET"));
  if (auto e = meter_user_call(c, id, "")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "id,name", fields)) return fail(c, *e);
  const auto& user = users_.at(id);
  json out{{"id", id}};
  for (const auto& f : fields) {
    if (f.name == "id") continue;
    if (f.name == "name")
      out["name"] = user.name;
    else
      return fail(c, errors::unknown_field(f.name, "User"));
  }
  return ok(c, out);
}

Response Emulator::me_accounts(Call& c) {
  const auto& id = c.segments[0];
  if (auto e = authenticate(c)) return fail(c, *e);
  if (c.token->kind != "user" || c.token->user_id != id) return fail(c, errors::unknown_object(id, "GET"));
  if (!has_scope(*c.token, "pages_show_list")) return fail(c, errors::permission_missing("pages_show_list"));
  if (auto e = meter_user_call(c, id, "")) return fail(c, *e);
  std::vector<FieldSel> fields;
  if (auto e = fields_of(c, "access_token,category,category_list,name,id,tasks", fields)) return fail(c, *e);
  const Token user_token = *c.token;
  std::vector<std::string> ids;
  for (const auto& [page_id, tasks] : users_.at(id).page_tasks) {
    (void)tasks;
    if (pages_.count(page_id)) ids.push_back(page_id);
  }
  return paginate(
      c, ids,
      [&](const std::string& page_id, json& out) -> std::optional<GraphError> {
        const auto& page = pages_.at(page_id);
        out["id"] = page_id;
        for (const auto& f : fields) {
          if (f.name == "id") continue;
          if (f.name == "name") {
            out["name"] = page.name;
          } else if (f.name == "category") {
            out["category"] = page.category;
          } else if (f.name == "category_list") {
            out["category_list"] = json::array(
                {{{"id", std::to_string(1000 + stable_hash(page.category) % 9000)}, {"name", page.category}}});
          } else if (f.name == "tasks") {
            out["tasks"] = users_.at(id).page_tasks.at(page_id);
          } else if (f.name == "instagram_business_account") {
            if (!page.ig_user_id.empty()) out["instagram_business_account"] = {{"id", page.ig_user_id}};
          } else if (f.name == "followers_count" || f.name == "fan_count") {
            out[f.name] = page.followers;
          } else if (f.name == "access_token") {
            out["access_token"] = page_token_for(user_token, page_id);
          } else {
            return errors::unknown_field(f.name, "Page");
          }
        }
        return std::nullopt;
      },
      25);
}

// A Page token from a long-lived user token never expires; from a short-lived one it dies with it.
std::string Emulator::page_token_for(const Token& user_token, const std::string& page_id) {
  for (const auto& [text, t] : tokens_) {
    if (t.kind == "page" && t.user_id == user_token.user_id && t.page_id == page_id &&
        t.long_lived == user_token.long_lived && !token_problem(t) &&
        (t.long_lived || t.expires_ms == user_token.expires_ms))
      return text;
  }
  Token t;
  t.token = new_token("EAAP");
  t.kind = "page";
  t.login = "facebook";
  t.user_id = user_token.user_id;
  t.page_id = page_id;
  t.long_lived = user_token.long_lived;
  t.expires_ms = user_token.long_lived ? 0 : user_token.expires_ms;
  t.scopes = user_token.scopes;
  return issue_token(t).token;
}

Response Emulator::permissions(Call& c) {
  const auto& id = c.segments[0];
  if (auto e = authenticate(c)) return fail(c, *e);
  if (c.token->kind != "user" || c.token->user_id != id) return fail(c, errors::unknown_object(id, "GET"));
  if (auto e = meter_user_call(c, id, "")) return fail(c, *e);
  json data = json::array();
  for (const auto& s : users_.at(id).scopes) data.push_back({{"permission", s}, {"status", "granted"}});
  return ok(c, {{"data", data}});
}

// DELETE /{user-id}/permissions revokes the app (every token of the user dies: 190/467); with a
// permission name after it, only that permission.
Response Emulator::permissions_revoke(Call& c) {
  const auto& id = c.segments[0];
  if (auto e = authenticate(c)) return fail(c, *e);
  const bool app_token = c.token->kind == "app";
  if (!app_token && (c.token->kind != "user" || c.token->user_id != id))
    return fail(c, errors::unknown_object(id, "DELETE"));
  if (auto e = app_token ? meter_app(c) : meter_user_call(c, id, "")) return fail(c, *e);
  auto& user = users_.at(id);
  if (c.segments.size() == 3) {
    std::erase(user.scopes, c.segments[2]);
  } else {
    user.scopes.clear();
    user.invalid_subcode = 467;
    user.invalid_before_serial = next_id_ + 1;
  }
  return ok(c, {{"success", true}});
}

// The Facebook Login dialog, consented at once: 302 to redirect_uri with a code (or the denial) and
// the state, as www.facebook.com answers after the user clicks through.
Response Emulator::dialog(Call& c) {
  const auto& p = c.params;
  if (p.str("client_id") != kAppId) return Response::text(400, "Invalid App ID: " + p.str("client_id") + "\n");
  const auto redirect = p.str("redirect_uri");
  if (!redirect.starts_with("http://") && !redirect.starts_with("https://"))
    return Response::text(400, "URL blocked: redirect_uri must be an absolute http(s) URL\n");
  const json consent = consent_.value("facebook", json::object());
  const auto sep = redirect.find('?') == std::string::npos ? "?" : "&";
  const auto state = url_encode(p.str("state"));
  Response r;
  r.status = 302;
  if (consent.value("deny", false)) {
    r.set_header("Location", redirect + sep +
                                 "error=access_denied&error_code=200&error_description=Permissions+error"
                                 "&error_reason=user_denied&state=" +
                                 state + "#_=_");
    return r;
  }
  AuthCode code;
  code.code = new_token("AQ");
  code.login = "facebook";
  code.user_id = consent.value("user_id", std::string("100000000000099"));
  code.redirect_uri = redirect;
  const auto declined = consent.value("decline", std::vector<std::string>{});
  for (const auto& s : split_list(p.str("scope")))
    if (!contains(declined, s)) code.scopes.push_back(s);
  code.created_ms = now();
  if (!users_.count(code.user_id)) return Response::text(400, "No such sandbox user: " + code.user_id + "\n");
  codes_[code.code] = code;
  r.set_header("Location", redirect + sep + "code=" + url_encode(code.code) + "&state=" + state + "#_=_");
  return r;
}

Response Emulator::unknown_node(Call& c) {
  return fail(c, errors::unknown_object(c.segments.empty() ? "" : c.segments[0], c.request->method));
}

Response Emulator::unknown_edge(Call& c) {
  std::string path;
  for (const auto& s : c.segments) path += "/" + s;
  if (c.served == 0) path = "/" + c.version_text + path;
  return fail(c, errors::unknown_path(path.empty() ? "/" : path));
}

}  // namespace schedulo::sandbox::graph
