#include "daemon/api_server.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "common/rfc3339.hpp"
#include "daemon/metrics.hpp"
#include "daemon/oauth_routes.hpp"
#include "daemon/runtime.hpp"
#include "jobs/intake.hpp"
#include "queue/outbox.hpp"
#include "queue/store.hpp"

namespace schedulo::daemon {
namespace {

using json = nlohmann::json;
using server::Request;
using server::Response;

constexpr int kMaxListLimit = 1000;
constexpr auto kHealthRedisTimeout = std::chrono::milliseconds(300);

Response error_response(int status, std::string_view code, std::string_view message, std::string_view field = {}) {
  return api_error(status, code, message, field);
}

Response json_response(int status, const json& body) {
  return Response::json(status, body.dump(-1, ' ', false, json::error_handler_t::replace));  // as api_error
}

json error_json(const jobs::ValidationError& e, std::optional<std::size_t> index) {
  json j = {{"code", e.code}, {"message", e.message}, {"field", e.field}};
  if (index) j["index"] = *index;
  return j;
}

}  // namespace

struct ApiServer::State {
  ApiDependencies deps;
  ApiOptions options;

  State(ApiDependencies d, ApiOptions o) : deps(std::move(d)), options(std::move(o)) {}

  // ---- plumbing -------------------------------------------------------------------------------
  bool authorised(const Request& request) const { return bearer_authorised(request, options.token); }

  // Wraps a route: auth (unless public), metrics, and a JSON error for anything unexpected.
  server::Handler route(std::string name, bool needs_auth, std::function<net::awaitable<Response>(Request&)> body) {
    return [this, name = std::move(name), needs_auth,
            body = std::move(body)](Request& request) -> net::awaitable<Response> {
      Response response;
      if (needs_auth && !authorised(request)) {
        response = error_response(401, "unauthorized", "missing or wrong Bearer token");
        response.set_header("WWW-Authenticate", "Bearer");
      } else {
        response = co_await body(request);
      }
      deps.metrics.api_request(name, response.status);
      co_return response;
    };
  }

  // ---- parsing jobs ---------------------------------------------------------------------------
  using ParsedBody = ParsedJobs;
  ParsedBody parse_body(const Request& request) const {
    return parse_jobs_body(request, options.max_batch, options.validation);
  }

  // ---- routes ---------------------------------------------------------------------------------
  net::awaitable<Response> post_jobs(Request& request) {
    auto parsed = parse_body(request);
    if (parsed.failure) co_return std::move(*parsed.failure);
    const auto validate = request.query_param("validate");
    if (validate && (*validate == "1" || *validate == "true")) co_return co_await validate_only(parsed);

    if (auto failure = validation_failure(parsed)) co_return std::move(*failure);
    std::vector<queue::NewJob> jobs;
    jobs.reserve(parsed.jobs.size());
    for (auto& p : parsed.jobs) jobs.push_back(jobs::to_new_job(std::move(*p.job), options.default_max_attempts));
    auto results = co_await deps.store.enqueue(jobs, now_epoch_ms());
    if (!results || results->size() != jobs.size())
      co_return error_response(503, "queue_unavailable", "the queue could not be reached; send the same request again");
    json out = json::array();
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      const auto r = (*results)[i];
      out.push_back({{"id", jobs[i].id},
                     {"status", r == queue::EnqueueResult::created     ? "created"
                                : r == queue::EnqueueResult::duplicate ? "duplicate"
                                                                       : "cancelled"}});
    }
    json body = {{"jobs", out}};
    if (!parsed.is_array) body["id"] = jobs.front().id;
    co_return json_response(202, body);
  }

  net::awaitable<Response> validate_only(ParsedBody& parsed) {
    DeepCheckContext context{deps.store, deps.media_client, options.validate_media_timeout, options.accounts_required};
    json results = json::array();
    bool all_valid = true;
    for (std::size_t i = 0; i < parsed.jobs.size(); ++i) {
      auto& p = parsed.jobs[i];
      std::vector<jobs::ValidationError> errors = p.errors;
      std::vector<jobs::ValidationError> warnings;
      if (p.job) co_await deep_check(*p.job, context, errors, warnings);
      json e = json::array();
      json w = json::array();
      for (const auto& x : errors) e.push_back(error_json(x, std::nullopt));
      for (const auto& x : warnings) w.push_back(error_json(x, std::nullopt));
      all_valid = all_valid && errors.empty();
      json r = {{"index", i}, {"valid", errors.empty()}, {"errors", e}, {"warnings", w}};
      if (p.job && !p.job->id.empty()) r["id"] = p.job->id;
      results.push_back(r);
    }
    json body = {{"valid", all_valid}, {"jobs", results}};
    if (!parsed.is_array) {
      body["errors"] = results.front()["errors"];
      body["warnings"] = results.front()["warnings"];
    }
    co_return json_response(200, body);
  }

  net::awaitable<Response> get_job(Request& request) {
    const std::string id = request.params["id"];
    if (!is_job_id(id)) co_return error_response(400, "invalid_value", "not a job id", "id");
    auto r = co_await deps.store.status(id);
    if (!r) {
      if (r.error() == queue::QueueErrc::no_such_job) co_return error_response(404, "not_found", "no such job", "id");
      co_return error_response(503, "queue_unavailable", "the queue could not be reached");
    }
    co_return json_response(200, record_json(*r));
  }

  net::awaitable<Response> delete_job(Request& request) {
    const std::string id = request.params["id"];
    if (!is_job_id(id)) co_return error_response(400, "invalid_value", "not a job id", "id");
    auto r = co_await deps.store.cancel(id, now_epoch_ms());
    if (!r) co_return error_response(503, "queue_unavailable", "the queue could not be reached; try again");
    const std::string& answer = *r;
    if (answer == "cancelled" || answer == "ended:cancelled")  // the second: a repeated call
      co_return json_response(200, {{"id", id}, {"state", "cancelled"}});
    if (answer == "pending")
      co_return json_response(
          202,
          {{"id", id}, {"state", "cancel_pending"}, {"message", "no such job yet; it is cancelled if it arrives"}});
    const auto colon = answer.find(':');
    const std::string state = colon == std::string::npos ? answer : answer.substr(colon + 1);
    const bool started = answer.starts_with("started:");
    json e = {{"code", started ? "already_started" : "already_ended"},
              {"message", std::string("the job has already ") + (started ? "started" : "ended") + " (" + state +
                              "); it was not cancelled"},
              {"field", "id"}};
    co_return json_response(409, {{"error", e}, {"id", id}, {"state", state}});
  }

  net::awaitable<Response> put_job(Request& request) {
    const std::string id = request.params["id"];
    if (!is_job_id(id)) co_return error_response(400, "invalid_value", "not a job id", "id");
    auto parsed = jobs::parse_job(request.body, options.validation);
    if (!parsed.job) {
      json errors = json::array();
      for (const auto& e : parsed.errors) errors.push_back(error_json(e, std::nullopt));
      co_return json_response(400, {{"error", errors.front()}, {"errors", errors}});
    }
    if (parsed.job->id.empty()) parsed.job->id = id;
    if (parsed.job->id != id)
      co_return error_response(400, "invalid_value", "the body's id differs from the URL's", "id");
    auto job = jobs::to_new_job(std::move(*parsed.job), options.default_max_attempts);
    auto r = co_await deps.store.replace(job, now_epoch_ms());
    if (!r) co_return error_response(503, "queue_unavailable", "the queue could not be reached; try again");
    const std::string& answer = *r;
    if (answer == "replaced") co_return json_response(200, {{"id", id}, {"status", "replaced"}});
    if (answer == "unknown")
      co_return error_response(404, "not_found", "no such job (POST /v1/jobs creates one)", "id");
    const auto colon = answer.find(':');
    const std::string state = colon == std::string::npos ? answer : answer.substr(colon + 1);
    const bool started = answer.starts_with("started:");
    json e = {{"code", started ? "already_started" : "already_ended"},
              {"message", std::string("the job has already ") + (started ? "started" : "ended") + " (" + state +
                              "); it was not replaced"},
              {"field", "id"}};
    co_return json_response(409, {{"error", e}, {"id", id}, {"state", state}});
  }

  net::awaitable<Response> list_jobs(Request& request) {
    const std::string account = request.query_param("account").value_or("");
    const std::string state = request.query_param("state").value_or("");
    const std::string platform = request.query_param("platform").value_or("");
    int limit = 100;
    if (auto l = request.query_param("limit")) {
      try {
        limit = std::stoi(*l);
      } catch (const std::exception&) {
        limit = 0;
      }
      if (limit < 1 || limit > kMaxListLimit)
        co_return error_response(400, "invalid_value", "limit must be 1 to " + std::to_string(kMaxListLimit), "limit");
    }
    if (!platform.empty() &&
        std::find(options.platforms.begin(), options.platforms.end(), platform) == options.platforms.end())
      co_return error_response(400, "invalid_value", "platform must be instagram, facebook, tiktok or x", "platform");
    std::vector<std::string> platforms;
    if (!account.empty())
      platforms = platform.empty() ? options.platforms : std::vector<std::string>{platform};
    else
      platforms.emplace_back();
    json out = json::array();
    for (const auto& p : platforms) {
      auto rows = co_await deps.store.list(p, account, state, limit);
      if (!rows) co_return error_response(503, "queue_unavailable", "the queue could not be reached");
      for (const auto& row : *rows) {
        if (!platform.empty() && row.count("platform") != 0 && row.at("platform") != platform) continue;
        if (out.size() < static_cast<std::size_t>(limit)) out.push_back(job_fields_json(row));
      }
    }
    co_return json_response(200, {{"jobs", out}});
  }

  net::awaitable<std::optional<queue::QueueStats>> queue_stats() {
    auto st = co_await deps.store.stats(options.platforms, now_epoch_ms());
    if (!st) co_return std::nullopt;
    co_return std::move(*st);
  }

  net::awaitable<Response> stats(Request&) {
    auto st = co_await queue_stats();
    if (!st) co_return error_response(503, "queue_unavailable", "the queue could not be reached");
    json out = {{"queued_by_platform", st->ready_by_platform},
                {"scheduled", st->scheduled},
                {"running", st->running},
                {"dead_or_needs_review", st->dead},
                {"inbox", st->inbox},
                {"control", st->control},
                {"finished_total", st->totals},
                {"oldest_due_not_started_ms", st->oldest_due_age_ms}};
    if (deps.outbox) {
      auto ob = co_await deps.outbox->stats(now_epoch_ms());
      if (ob) out["outbox"] = {{"pending", ob->pending}, {"dead", ob->dead}, {"claimed", ob->claimed}};
    }
    out["consuming"] = deps.consuming ? deps.consuming() : false;
    co_return json_response(200, out);
  }

  net::awaitable<Response> health(Request&) {
    json problems = json::array();
    const bool consuming = deps.consuming && deps.consuming();
    if (!consuming) problems.push_back("not consuming jobs");
    auto pong = co_await net::with_timeout(deps.store.client().exec("PING"), kHealthRedisTimeout);
    if (!pong || !*pong || (*pong)->is_error()) {
      problems.push_back("Redis does not answer");
    } else {
      auto st = co_await queue_stats();
      if (!st)
        problems.push_back("queue figures unavailable");
      else if (st->oldest_due_age_ms > options.health_max_lag.count())
        problems.push_back("the oldest due job has waited " + std::to_string(st->oldest_due_age_ms) + " ms");
    }
    if (problems.empty()) co_return json_response(200, {{"status", "ok"}});
    co_return json_response(503, {{"status", "unhealthy"}, {"problems", problems}});
  }

  net::awaitable<Response> metrics(Request&) {
    QueueFigures figures;
    if (auto st = co_await queue_stats()) {
      figures.ready_by_platform = st->ready_by_platform;
      figures.scheduled = st->scheduled;
      figures.running = st->running;
      figures.dead = st->dead;
      figures.inbox = st->inbox;
      figures.control = st->control;
      figures.oldest_due_age_ms = st->oldest_due_age_ms;
      if (deps.outbox) {
        if (auto ob = co_await deps.outbox->stats(now_epoch_ms())) {
          figures.outbox_pending = ob->pending;
          figures.outbox_dead = ob->dead;
        }
      }
      deps.metrics.queue_figures(figures);
    }
    if (deps.gather) co_await deps.gather(deps.metrics);
    co_return Response::typed(200, deps.metrics.text(), "text/plain; version=0.0.4; charset=utf-8");
  }
};

ApiServer::ApiServer(const net::Executor& executor, ApiDependencies deps, ApiOptions options)
    : state_(std::make_unique<State>(std::move(deps), std::move(options))) {
  State& s = *state_;
  server::Router router;
  auto bind = [&s](net::awaitable<Response> (State::*fn)(Request&)) {
    return [&s, fn](Request& r) { return (s.*fn)(r); };
  };
  router.add("POST", "/v1/jobs", s.route("POST /v1/jobs", true, bind(&State::post_jobs)));
  router.add("GET", "/v1/jobs", s.route("GET /v1/jobs", true, bind(&State::list_jobs)));
  router.add("GET", "/v1/jobs/{id}", s.route("GET /v1/jobs/{id}", true, bind(&State::get_job)));
  router.add("DELETE", "/v1/jobs/{id}", s.route("DELETE /v1/jobs/{id}", true, bind(&State::delete_job)));
  router.add("PUT", "/v1/jobs/{id}", s.route("PUT /v1/jobs/{id}", true, bind(&State::put_job)));
  router.add("GET", "/v1/stats", s.route("GET /v1/stats", true, bind(&State::stats)));
  router.add("GET", "/healthz", s.route("GET /healthz", false, bind(&State::health)));
  router.add("GET", "/metrics", s.route("GET /metrics", !s.options.public_metrics, bind(&State::metrics)));
  // ---- OAuth connect flow (issue 13): start and callback are public (their signed single-use state
  // protects them); a Meta login's pending choice is read and recorded by the app's backend (Bearer).
  if (OAuthRoutes* oauth = s.deps.oauth) {
    router.add("GET", "/v1/oauth/{platform}/start",
               s.route("GET /v1/oauth/{platform}/start", false, [oauth](Request& r) { return oauth->start(r); }));
    router.add("GET", "/v1/oauth/{platform}/callback",
               s.route("GET /v1/oauth/{platform}/callback", false, [oauth](Request& r) { return oauth->callback(r); }),
               oauth->callback_timeout());
    router.add(
        "GET", "/v1/oauth/{platform}/pending/{id}",
        s.route("GET /v1/oauth/{platform}/pending/{id}", true, [oauth](Request& r) { return oauth->pending(r); }));
    router.add(
        "POST", "/v1/oauth/{platform}/pending/{id}",
        s.route("POST /v1/oauth/{platform}/pending/{id}", true, [oauth](Request& r) { return oauth->choose(r); }));
  }
  router.set_fallback(s.route("other", true, [](Request& r) -> net::awaitable<Response> {
    co_return error_response(404, "not_found", "no route " + r.method + " " + r.path.substr(0, 64));
  }));
  auto server_options = s.options.server;
  server_options.json_errors = true;
  server_ = std::make_unique<server::Server>(executor, std::move(router), std::move(server_options));
}

ApiServer::~ApiServer() = default;

net::error_code ApiServer::listen(const std::string& host, std::uint16_t port) {
  return server_->listen(host, port);
}
std::uint16_t ApiServer::port() const {
  return server_->port();
}
void ApiServer::start() {
  server_->start();
}
void ApiServer::stop() {
  server_->stop();
}

}  // namespace schedulo::daemon
