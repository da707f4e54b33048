#include "sandbox/core/core.hpp"

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/log.hpp"

namespace schedulo::sandbox {

namespace {

constexpr std::int64_t kHourMs = 3600LL * 1000;
constexpr std::int64_t kDayMs = 24 * kHourMs;

Response generic_error(int status) {
  return json_response(status, {{"error", {{"status", status}, {"message", "injected fault"}}}});
}

bool is_read(const std::string& method) { return method == "GET" || method == "HEAD"; }

net::awaitable<Response> ready(Response response) { co_return response; }

std::int64_t ceil_div(std::int64_t a, std::int64_t b) {
  return (a + b - 1) / b;
}

// Every estimated_time_to_regain_access in a usage header's JSON (objects nested in arrays too).
void set_regain(json& v, std::int64_t minutes) {
  if (v.is_object()) {
    for (auto it = v.begin(); it != v.end(); ++it) {
      if (it.key() == "estimated_time_to_regain_access")
        it.value() = minutes;
      else
        set_regain(it.value(), minutes);
    }
  } else if (v.is_array()) {
    for (auto& e : v) set_regain(e, minutes);
  }
}

// A rate_limit fault's reset_in_ms (faults.hpp): the API's own throttle answer, its reset headers
// rewritten to name a limit that clears `in_ms` after `now_ms`.
void name_reset(Response& response, std::int64_t now_ms, std::int64_t in_ms) {
  for (auto& h : response.headers) {
    std::string name = h.name;
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (name == "x-rate-limit-reset" || name == "x-user-limit-24hour-reset" || name == "x-app-limit-24hour-reset") {
      h.value = std::to_string(ceil_div(now_ms + in_ms, 1000));
    } else if (name == "retry-after") {
      h.value = std::to_string(ceil_div(in_ms, 1000));
    } else if (name == "x-app-usage" || name == "x-page-usage" || name == "x-business-use-case-usage") {
      auto usage = json::parse(h.value, nullptr, false);
      if (usage.is_discarded()) continue;
      set_regain(usage, ceil_div(in_ms, 60000));
      h.value = usage.dump();
    }
  }
}

// Runs a handler; a JSON value of the wrong type deep in a request body (nlohmann throws) is the
// client's mistake: answered 422 in the API's own shape, like any other invalid request.
Response call(const RouteHandler& handler, Request& request, const std::function<Response(int)>& error) {
  try {
    return handler(request);
  } catch (const nlohmann::json::exception&) {
    return error(422);
  }
}

net::awaitable<Response> call_async(const AsyncRouteHandler& handler, Request& request,
                                    const std::function<Response(int)>& error) {
  try {
    co_return co_await handler(request);
  } catch (const nlohmann::json::exception&) {
  }
  co_return error(422);
}

}  // namespace

Response json_response(int status, const json& body) { return Response::json(status, body.dump()); }

std::optional<json> parse_body(const Request& request) {
  auto parsed = json::parse(request.body, nullptr, false);
  if (parsed.is_discarded()) return std::nullopt;
  return parsed;
}

std::string bearer_token(const Request& request) {
  const auto auth = request.header("Authorization");
  if (!auth || auth->size() < 7) return {};
  std::string scheme(auth->substr(0, 7));
  for (auto& c : scheme) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (scheme != "bearer ") return {};
  std::string token(auth->substr(7));
  while (!token.empty() && token.front() == ' ') token.erase(0, 1);
  while (!token.empty() && token.back() == ' ') token.pop_back();
  return token;
}

Core::Core(const net::Executor& executor, CoreOptions options)
    : executor_(executor), options_(std::move(options)), log_(options_.log_capacity) {
  if (options_.frozen_clock) clock_.freeze(true);
  connect_demo_accounts();
  add_admin_routes();
}

void Core::add_api(ApiSpec spec) {
  if (!spec.error) spec.error = generic_error;
  if (!spec.throttled)
    spec.throttled = [] {
      auto r = generic_error(429);
      r.set_header("Retry-After", "30");
      return r;
    };
  apis_.push_back(std::make_unique<ApiSpec>(std::move(spec)));
}

const ApiSpec* Core::find_api(const std::string& name) const {
  for (const auto& a : apis_)
    if (a->name == name) return a.get();
  return nullptr;
}

void Core::route(const std::string& api, std::string name, std::string method, std::string pattern,
                 RouteHandler handler) {
  const ApiSpec* spec = find_api(api);
  if (!spec) throw std::logic_error("sandbox: route for unregistered api " + api);
  auto shared = std::make_shared<const AsyncRouteHandler>(
      [h = std::move(handler), spec](Request& request) { return ready(call(h, request, spec->error)); });
  routes_.push_back({std::move(method), std::move(pattern),
                     [this, spec, name = std::move(name), shared](Request& request) {
                       return run(*spec, name, *shared, request);
                     }});
}

void Core::route_dynamic(std::string method, std::string pattern, Dispatcher dispatcher) {
  auto shared = std::make_shared<const Dispatcher>(std::move(dispatcher));
  routes_.push_back(
      {std::move(method), std::move(pattern), [this, shared](Request& request) -> net::awaitable<Response> {
         Dispatch d = (*shared)(request);
         const ApiSpec* spec = find_api(d.api);
         if (!spec) throw std::logic_error("sandbox: dispatch to unregistered api " + d.api);
         co_return co_await run(*spec, d.name, d.handler, request);
       }});
}

void Core::admin_route(std::string method, const std::string& pattern, RouteHandler handler) {
  admin_.push_back({std::move(method), "/_sandbox" + pattern,
                    [h = std::move(handler)](Request& request) {
                      return ready(call(h, request, [](int status) {
                        return json_response(status == 422 ? 400 : status, {{"error", "body: a value has the wrong type"}});
                      }));
                    }});
}

server::Router Core::build_router(RouteHandler fallback) {
  server::Router router;
  for (const auto& r : admin_) router.add(r.method, r.pattern, r.handler);
  for (const auto& r : routes_) router.add(r.method, r.pattern, r.handler);
  if (fallback) {
    router.set_fallback([f = std::move(fallback)](Request& request) { return ready(f(request)); });
  } else {
    router.set_fallback([](Request&) { return ready(json_response(404, {{"error", "NOT_FOUND"}})); });
  }
  return router;
}

// Every emulated request passes here: logged, faults decided, the handler run (or not), state saved.
net::awaitable<Response> Core::run(const ApiSpec& api, const std::string& name, const AsyncRouteHandler& handler,
                                   Request& request) {
  const std::uint64_t seq = log_.begin(request, api.name, name, clock_.now_ms());
  auto decision = faults_.decide(api.name, name, request.method, request.path, clock_.now_ms());
  if (decision.latency_ms > 0) {
    net::Timer wait(executor_);
    wait.expires_after(std::chrono::milliseconds(decision.latency_ms));
    co_await wait.async_wait();
  }
  Response response;
  std::string outcome = "answered";
  bool handled = false;
  if (decision.terminal) {
    const Fault& f = *decision.terminal;
    switch (f.kind) {
      case FaultKind::error:
      case FaultKind::outage:
        response = f.body.is_null() ? api.error(f.status) : json_response(f.status, f.body);
        response.status = f.status;
        break;
      case FaultKind::rate_limit:
        response = api.throttled();
        break;
      case FaultKind::drop_request:
        response.drop = true;
        outcome = "dropped";
        break;
      case FaultKind::commit_then_lose:
        // With cut_after, the request itself is broken: the handler sees only that many body bytes
        // (what a server keeps of an upload whose connection died), and nobody gets an answer.
        if (f.cut_after && *f.cut_after < request.body.size()) request.body.resize(*f.cut_after);
        response = co_await call_async(handler, request, api.error);
        handled = true;
        response.drop = true;
        outcome = "dropped";
        break;
      case FaultKind::reset_mid_body:
        response = co_await call_async(handler, request, api.error);
        handled = true;
        response.cut_after = f.cut_after.value_or(response.body_length() / 2);
        outcome = "reset";
        break;
      case FaultKind::latency: break;
    }
    for (const auto& h : f.headers) response.set_header(h.name, h.value);
    // After the fault's own headers: they may give a usage header's shape, this its regain time.
    if (f.kind == FaultKind::rate_limit && f.reset_in_ms) name_reset(response, clock_.now_ms(), *f.reset_in_ms);
  } else {
    response = co_await call_async(handler, request, api.error);
    handled = true;
  }
  if (handled && !is_read(request.method) && response.status < 400) save_state();
  log_.finish(seq, response, std::move(outcome), std::move(decision.names));
  co_return response;
}

// ---- accounts ---------------------------------------------------------------------------------------

// The four demo accounts of interface.md, connected: one JSON record each, with the token facts each
// platform really has (Graph Page tokens do not expire; TikTok and X access tokens last 2 h and come
// with rotating refresh tokens).
void Core::connect_demo_accounts() {
  const auto now = clock_.now_ms();
  auto at = [](std::int64_t ms) { return json(format_rfc3339_ms(ms)); };
  accounts_ = json::object();
  accounts_["demo-instagram"] = {
      {"key", "demo-instagram"}, {"platform", "instagram"}, {"status", "connected"},
      {"platform_account_id", "17841400000000001"}, {"username", "schedulo.demo"},
      {"page_id", "100000000000001"}, {"access_token", "sbx-ig-access-demo-instagram-0001"},
      {"access_token_expires_at", nullptr}, {"refresh_token", nullptr},
      {"scopes", {"instagram_basic", "instagram_content_publish", "instagram_manage_insights", "pages_show_list",
                  "pages_read_engagement"}},
      {"connected_at", at(now)}};
  accounts_["demo-facebook"] = {
      {"key", "demo-facebook"}, {"platform", "facebook"}, {"status", "connected"},
      {"platform_account_id", "100000000000002"}, {"username", "Schedulo Demo Page"},
      {"access_token", "sbx-fb-page-access-demo-facebook-0001"}, {"access_token_expires_at", nullptr},
      {"refresh_token", nullptr},
      {"scopes", {"pages_manage_posts", "pages_read_engagement", "pages_show_list", "read_insights"}},
      {"connected_at", at(now)}};
  accounts_["demo-tiktok"] = {
      {"key", "demo-tiktok"}, {"platform", "tiktok"}, {"status", "connected"},
      {"platform_account_id", "sbx-tiktok-open-id-0001"}, {"username", "schedulo.demo"},
      {"access_token", "act.sbx-tiktok-access-demo-0001"}, {"access_token_expires_at", at(now + 2 * kHourMs)},
      {"refresh_token", "rft.sbx-tiktok-refresh-demo-0001"}, {"refresh_token_expires_at", at(now + 180 * kDayMs)},
      {"scopes", {"user.info.basic", "user.info.profile", "user.info.stats", "video.publish", "video.upload",
                  "video.list"}},
      {"connected_at", at(now)}};
  accounts_["demo-x"] = {
      {"key", "demo-x"}, {"platform", "x"}, {"status", "connected"},
      {"platform_account_id", "1500000000000000001"}, {"username", "schedulo_demo"},
      {"access_token", "sbx-x-access-demo-0001"}, {"access_token_expires_at", at(now + 2 * kHourMs)},
      {"refresh_token", "sbx-x-refresh-demo-0001"}, {"refresh_token_expires_at", nullptr},
      {"scopes", {"tweet.read", "tweet.write", "users.read", "media.write", "offline.access"}},
      {"connected_at", at(now)}};
}

// ---- state ------------------------------------------------------------------------------------------

json Core::state() const {
  json apis = json::object();
  for (const auto& a : apis_)
    if (a->save) apis[a->name] = a->save();
  return {{"version", 1}, {"clock", clock_.to_json()}, {"accounts", accounts_}, {"apis", apis}};
}

bool Core::load_state(std::string& error) {
  if (options_.state_file.empty()) return true;
  std::ifstream in(options_.state_file);
  if (!in) return true;  // first run: nothing to restore
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = json::parse(text.str(), nullptr, false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    error = options_.state_file + ": not a JSON object";
    return false;
  }
  try {
    if (parsed.contains("clock") && parsed["clock"].value("frozen", false)) {
      clock_.freeze(true);
      clock_.set(parsed["clock"]["now_ms"].get<std::int64_t>());
    }
    if (parsed.contains("accounts") && parsed["accounts"].is_object()) accounts_ = parsed["accounts"];
    if (parsed.contains("apis")) {
      for (const auto& a : apis_)
        if (a->load && parsed["apis"].contains(a->name)) a->load(parsed["apis"][a->name]);
    }
  } catch (const std::exception& e) {
    error = options_.state_file + ": " + e.what();
    return false;
  }
  return true;
}

void Core::save_state() {
  if (options_.state_file.empty()) return;
  const std::string tmp = options_.state_file + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << state().dump(1) << "\n";
    if (!out) {
      log::error("sandbox: cannot write state to {}", tmp);
      return;
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, options_.state_file, ec);
  if (ec) log::error("sandbox: cannot replace {}: {}", options_.state_file, ec.message());
}

// ---- admin routes -----------------------------------------------------------------------------------

void Core::add_admin_routes() {
  admin_route("GET", "/health", [](Request&) { return json_response(200, {{"ok", true}}); });

  admin_route("GET", "/clock", [this](Request&) { return json_response(200, clock_.to_json()); });
  // {"frozen": bool} first, then {"set": RFC 3339 | "set_ms": N}, then {"advance_ms": N}.
  admin_route("POST", "/clock", [this](Request& request) {
    auto body = parse_body(request);
    if (!body || !body->is_object()) return json_response(400, {{"error", "body must be a JSON object"}});
    if (body->contains("frozen")) clock_.freeze((*body)["frozen"].get<bool>());
    if (body->contains("set")) {
      auto ms = parse_rfc3339_ms((*body)["set"].get<std::string>());
      if (!ms) return json_response(400, {{"error", "set: not an RFC 3339 time"}});
      clock_.set(*ms);
    }
    if (body->contains("set_ms")) clock_.set((*body)["set_ms"].get<std::int64_t>());
    if (body->contains("advance_ms")) clock_.advance((*body)["advance_ms"].get<std::int64_t>());
    return json_response(200, clock_.to_json());
  });

  admin_route("GET", "/faults", [this](Request&) { return json_response(200, {{"faults", faults_.to_json()}}); });
  // One fault object or an array of them; all or nothing.
  admin_route("POST", "/faults", [this](Request& request) {
    auto body = parse_body(request);
    if (!body) return json_response(400, {{"error", "body must be JSON"}});
    const json list = body->is_array() ? *body : json::array({*body});
    Faults staged = faults_;
    json ids = json::array();
    for (std::size_t i = 0; i < list.size(); ++i) {
      std::string error;
      auto id = staged.add(list[i], clock_.now_ms(), error);
      if (!id) return json_response(400, {{"error", "fault " + std::to_string(i) + ": " + error}});
      ids.push_back(*id);
    }
    faults_ = std::move(staged);
    return json_response(201, {{"ids", ids}});
  });
  admin_route("DELETE", "/faults", [this](Request&) {
    faults_.clear();
    return json_response(200, {{"faults", json::array()}});
  });
  admin_route("DELETE", "/faults/{id}", [this](Request& request) {
    const auto id = std::strtoull(request.params["id"].c_str(), nullptr, 10);
    if (!faults_.remove(id)) return json_response(404, {{"error", "no such fault"}});
    return json_response(200, {{"deleted", id}});
  });

  // ?api=&route=&since=SEQ&limit=N
  admin_route("GET", "/log", [this](Request& request) {
    LogFilter filter;
    filter.api = request.query_param("api").value_or("");
    filter.route = request.query_param("route").value_or("");
    filter.since = std::strtoull(request.query_param("since").value_or("0").c_str(), nullptr, 10);
    if (auto limit = request.query_param("limit")) filter.limit = std::strtoull(limit->c_str(), nullptr, 10);
    return json_response(200, log_.to_json(filter));
  });
  admin_route("DELETE", "/log", [this](Request&) {
    log_.clear();
    return json_response(200, {{"entries", json::array()}, {"last_seq", log_.last_seq()}});
  });

  admin_route("GET", "/accounts", [this](Request&) { return json_response(200, {{"accounts", accounts_}}); });
  admin_route("GET", "/accounts/{key}", [this](Request& request) {
    const auto& key = request.params["key"];
    if (!accounts_.contains(key)) return json_response(404, {{"error", "no such account"}});
    return json_response(200, accounts_[key]);
  });

  admin_route("GET", "/state", [this](Request&) { return json_response(200, state()); });
  admin_route("POST", "/state/save", [this](Request&) {
    save_state();
    return json_response(200, {{"saved", !options_.state_file.empty()}, {"file", options_.state_file}});
  });
}

}  // namespace schedulo::sandbox
