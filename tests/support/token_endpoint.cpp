#include "tests/support/token_endpoint.hpp"

#include <openssl/rand.h>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <stdexcept>
#include <thread>

#include "common/event.hpp"
#include "common/http_server.hpp"
#include "common/rfc3339.hpp"

namespace schedulo::test {

namespace asio = boost::asio;
using json = nlohmann::json;

struct TokenEndpoint::State {
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::unique_ptr<server::Server> server;
  std::thread thread;

  mutable std::recursive_mutex mutex;
  std::condition_variable_any changed;
  std::map<std::string, std::int64_t> access;  // working access token -> expires at ms (0 never)
  std::set<std::string> refreshed_access;      // access tokens a refresh issued
  std::set<std::string> refresh;               // refresh tokens that work
  std::vector<std::string> every_token;
  std::map<std::string, std::string> posts_by_job;
  std::int64_t lifetime_s = 3600;
  std::vector<Hold> holds;    // for the next refresh requests, in order
  std::vector<int> failures;  // statuses for the next refresh requests, in order
  bool stall = false;

  // Gates live on the io thread: handlers wait on them; release/stall changes are posted there.
  std::shared_ptr<net::Event> refresh_gate;
  std::shared_ptr<net::Event> stall_gate;

  std::atomic<int> refresh_requests{0}, refresh_granted{0}, refresh_refused{0}, held{0}, api_calls{0}, api_refused{0},
      stalled{0};

  void notify() { changed.notify_all(); }

  std::string issue_access(std::int64_t now) {
    std::string token = make_token("at");
    access[token] = now + lifetime_s * 1000;
    refreshed_access.insert(token);
    every_token.push_back(token);
    return token;
  }

  static std::string bearer(const server::Request& r) {
    auto h = r.header("Authorization");
    if (!h || !h->starts_with("Bearer ")) return {};
    return std::string(h->substr(7));
  }

  bool works(const std::string& token) {
    const auto it = access.find(token);
    return it != access.end() && (it->second == 0 || it->second > now_epoch_ms());
  }

  net::awaitable<server::Response> token_route(server::Request& r) {
    std::map<std::string, std::string> form;
    for (auto& [k, v] : server::parse_query(r.body)) form[k] = v;
    if (form["grant_type"] != "refresh_token")
      co_return server::Response::json(400, R"({"error":"unsupported_grant_type"})");
    ++refresh_requests;
    std::optional<Hold> hold;
    int failure = 0;
    {
      std::lock_guard lock(mutex);
      if (!holds.empty()) {
        hold = holds.front();
        holds.erase(holds.begin());
      }
      if (!failures.empty()) {
        failure = failures.front();
        failures.erase(failures.begin());
      }
    }
    notify();
    if (failure != 0) {
      ++refresh_refused;
      notify();
      co_return server::Response::json(failure, R"({"error":"temporarily_unavailable"})");
    }
    auto gate = refresh_gate;
    if (hold == Hold::before_consuming) {
      ++held;
      notify();
      co_await gate->wait();
    }
    server::Response response;
    {
      std::lock_guard lock(mutex);
      const std::string& presented = form["refresh_token"];
      if (refresh.erase(presented) == 1) {
        const std::int64_t now = now_epoch_ms();
        std::string next_refresh = make_token("rt");
        refresh.insert(next_refresh);
        every_token.push_back(next_refresh);
        json body = {{"token_type", "bearer"},
                     {"access_token", issue_access(now)},
                     {"refresh_token", next_refresh},
                     {"expires_in", lifetime_s},
                     {"scope", "tweet.read tweet.write users.read offline.access"}};
        response = server::Response::json(200, body.dump());
        ++refresh_granted;
      } else {
        // Echoes the token on purpose (some providers quote the input): the daemon must scrub it.
        json body = {{"error", "invalid_grant"},
                     {"error_description", "Value passed for the token was invalid: " + presented}};
        response = server::Response::json(400, body.dump());
        ++refresh_refused;
      }
    }
    notify();
    if (hold == Hold::after_consuming) {
      ++held;
      notify();
      co_await gate->wait();
    }
    co_return response;
  }

  net::awaitable<server::Response> revoke_route(server::Request& r) {
    std::map<std::string, std::string> form;
    for (auto& [k, v] : server::parse_query(r.body)) form[k] = v;
    {
      std::lock_guard lock(mutex);
      access.erase(form["token"]);
      refresh.erase(form["token"]);
    }
    notify();
    co_return server::Response::json(200, "{}");
  }

  // Common to the API routes: the bearer must work; a refreshed one may be stalled.
  net::awaitable<std::optional<server::Response>> admit(const server::Request& r) {
    ++api_calls;
    const std::string token = bearer(r);
    bool ok = false, stall_this = false;
    {
      std::lock_guard lock(mutex);
      ok = works(token);
      stall_this = ok && stall && refreshed_access.count(token) > 0;
    }
    if (stall_this) {
      auto gate = stall_gate;
      ++stalled;
      notify();
      co_await gate->wait();
    }
    if (!ok) {
      ++api_refused;
      notify();
      co_return server::Response::json(
          401, R"({"title":"Unauthorized","type":"about:blank","status":401,"detail":"Unauthorized"})");
    }
    co_return std::nullopt;
  }

  net::awaitable<server::Response> me_route(server::Request& r) {
    auto refused = co_await admit(r);
    if (refused) co_return std::move(*refused);
    notify();
    co_return server::Response::json(200, R"({"data":{"id":"1","username":"schedulo_test"}})");
  }

  net::awaitable<server::Response> post_route(server::Request& r) {
    auto refused = co_await admit(r);
    if (refused) co_return std::move(*refused);
    const auto doc = json::parse(r.body, nullptr, false);
    if (!doc.is_object() || !doc.contains("job") || !doc["job"].is_string())
      co_return server::Response::json(400, R"({"title":"Invalid Request","status":400})");
    std::string id;
    {
      std::lock_guard lock(mutex);
      auto& post = posts_by_job[doc["job"].get<std::string>()];
      if (post.empty()) post = "post-" + std::to_string(posts_by_job.size());
      id = post;
    }
    notify();
    co_return server::Response::json(200, json({{"data", {{"id", id}}}}).dump());
  }

  net::awaitable<server::Response> find_route(server::Request& r) {
    auto refused = co_await admit(r);
    if (refused) co_return std::move(*refused);
    const std::string job = r.query_param("job").value_or("");
    std::string id;
    {
      std::lock_guard lock(mutex);
      const auto it = posts_by_job.find(job);
      if (it != posts_by_job.end()) id = it->second;
    }
    notify();
    if (id.empty()) co_return server::Response::json(404, R"({"title":"Not Found","status":404})");
    co_return server::Response::json(200, json({{"data", {{"id", id}}}}).dump());
  }
};

std::string TokenEndpoint::make_token(std::string_view kind) {
  unsigned char bytes[18];
  if (RAND_bytes(bytes, sizeof bytes) != 1) throw std::runtime_error("RAND_bytes failed");
  static constexpr char kHex[] = "0123456789abcdef";
  std::string token(kind);
  token += "+/";
  for (const unsigned char b : bytes) {
    token += kHex[b >> 4];
    token += kHex[b & 0xf];
  }
  token += "==";
  return token;
}

TokenEndpoint::TokenEndpoint() : state_(std::make_unique<State>()) {
  auto& s = *state_;
  s.refresh_gate = std::make_shared<net::Event>(s.io.get_executor());
  s.stall_gate = std::make_shared<net::Event>(s.io.get_executor());
  server::Router router;
  router.add("POST", "/oauth/token", [&s](server::Request& r) { return s.token_route(r); });
  router.add("POST", "/oauth/revoke", [&s](server::Request& r) { return s.revoke_route(r); });
  router.add("GET", "/api/me", [&s](server::Request& r) { return s.me_route(r); });
  router.add("POST", "/api/post", [&s](server::Request& r) { return s.post_route(r); });
  router.add("GET", "/api/post", [&s](server::Request& r) { return s.find_route(r); });
  server::ServerOptions options;
  options.handler_timeout = std::chrono::minutes(10);  // held answers stay held until released
  s.server = std::make_unique<server::Server>(s.io.get_executor(), std::move(router), options);
  if (auto ec = s.server->listen("127.0.0.1", 0)) throw std::runtime_error("token endpoint: " + ec.message());
  s.server->start();
  s.thread = std::thread([&s] { s.io.run(); });
}

TokenEndpoint::~TokenEndpoint() {
  auto& s = *state_;
  std::promise<void> stopped;
  asio::post(s.io, [&s, &stopped] {
    s.server->stop();
    s.refresh_gate->set();
    s.stall_gate->set();
    stopped.set_value();
  });
  stopped.get_future().wait_for(std::chrono::seconds(10));
  s.work.reset();
  s.io.stop();
  s.thread.join();
}

std::string TokenEndpoint::url(std::string_view path) const {
  return "http://127.0.0.1:" + std::to_string(state_->server->port()) + std::string(path);
}

void TokenEndpoint::seed(const std::string& access, std::int64_t access_expires_at_ms, const std::string& refresh) {
  std::lock_guard lock(state_->mutex);
  state_->access[access] = access_expires_at_ms;
  state_->refresh.insert(refresh);
  state_->every_token.push_back(access);
  state_->every_token.push_back(refresh);
}

void TokenEndpoint::set_access_lifetime(std::chrono::seconds lifetime) {
  std::lock_guard lock(state_->mutex);
  state_->lifetime_s = lifetime.count();
}

void TokenEndpoint::revoke_all_access_tokens() {
  std::lock_guard lock(state_->mutex);
  state_->access.clear();
}

void TokenEndpoint::hold_next_refresh(Hold hold) {
  std::lock_guard lock(state_->mutex);
  state_->holds.push_back(hold);
}

void TokenEndpoint::fail_next_refresh(int status) {
  std::lock_guard lock(state_->mutex);
  state_->failures.push_back(status);
}

void TokenEndpoint::release_held() {
  auto& s = *state_;
  asio::post(s.io, [&s] {
    auto old = s.refresh_gate;
    s.refresh_gate = std::make_shared<net::Event>(s.io.get_executor());
    old->set();
  });
}

void TokenEndpoint::stall_calls_with_refreshed_tokens(bool on) {
  auto& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    s.stall = on;
  }
  if (!on)
    asio::post(s.io, [&s] {
      auto old = s.stall_gate;
      s.stall_gate = std::make_shared<net::Event>(s.io.get_executor());
      old->set();
    });
}

int TokenEndpoint::refresh_requests() const {
  return state_->refresh_requests;
}
int TokenEndpoint::refresh_granted() const {
  return state_->refresh_granted;
}
int TokenEndpoint::refresh_refused() const {
  return state_->refresh_refused;
}
int TokenEndpoint::held_refreshes() const {
  return state_->held;
}
int TokenEndpoint::api_calls() const {
  return state_->api_calls;
}
int TokenEndpoint::api_refused() const {
  return state_->api_refused;
}
int TokenEndpoint::stalled_calls() const {
  return state_->stalled;
}

int TokenEndpoint::posts() const {
  std::lock_guard lock(state_->mutex);
  return static_cast<int>(state_->posts_by_job.size());
}

int TokenEndpoint::posts_for(const std::string& job) const {
  std::lock_guard lock(state_->mutex);
  return static_cast<int>(state_->posts_by_job.count(job));
}

std::string TokenEndpoint::current_refresh_token() const {
  std::lock_guard lock(state_->mutex);
  return state_->refresh.empty() ? std::string() : *state_->refresh.begin();
}

bool TokenEndpoint::refresh_token_works(const std::string& token) const {
  std::lock_guard lock(state_->mutex);
  return state_->refresh.count(token) == 1;
}

bool TokenEndpoint::access_token_works(const std::string& token) const {
  std::lock_guard lock(state_->mutex);
  return state_->works(token);
}

std::vector<std::string> TokenEndpoint::all_tokens() const {
  std::lock_guard lock(state_->mutex);
  return state_->every_token;
}

bool TokenEndpoint::wait_for(const std::function<bool()>& condition, std::chrono::milliseconds limit) {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, limit, condition);
}

}  // namespace schedulo::test
