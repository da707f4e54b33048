#include "platforms/http/client.hpp"

#include <boost/asio/ssl/context.hpp>

#include <stdexcept>
#include <tuple>

#include "platforms/http/connection.hpp"
#include "platforms/http/resolve.hpp"
#include "platforms/http/url.hpp"

namespace schedulo::http {

namespace ssl = boost::asio::ssl;

namespace {

constexpr std::uint64_t kMaxRedirectBody = 64 * 1024;  // read and dropped so the connection is reused

Clock::time_point step_deadline(std::chrono::milliseconds step, Clock::time_point request_deadline) {
  return std::min(Clock::now() + step, request_deadline);
}

bool idempotent(const std::string& method) {
  return method == "GET" || method == "HEAD" || method == "PUT" || method == "DELETE" || method == "OPTIONS";
}

bool is_redirect(int status) {
  return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

std::string origin_of(const Url& url) { return url.scheme + "://" + url.host + ":" + std::to_string(url.port); }

// An absolute URL for a Location header value, relative to the URL that answered.
std::string absolute_location(const Url& base, std::string_view location) {
  if (location.starts_with("//")) return base.scheme + ":" + std::string(location);
  if (location.find("://") != std::string_view::npos) return std::string(location);
  Url target = base;
  if (location.starts_with("/")) {
    target.target = std::string(location);
  } else {
    const std::string path = base.target.substr(0, base.target.find('?'));
    target.target = path.substr(0, path.rfind('/') + 1) + std::string(location);
  }
  return target.str();
}

// The exchange started: a leased connection positioned before the response body.
struct Started {
  Lease lease;
  ResponseHead head;
  bool reused = false;
};

}  // namespace

struct HttpClient::Impl {
  explicit Impl(ClientOptions o)
      : options(std::move(o)), tls(ssl::context::tls_client), pool(options.max_connections_per_origin, options.max_idle) {
    tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                    ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
    tls.set_default_verify_paths();
    if (!options.ca_file.empty()) {
      net::error_code ec;
      tls.load_verify_file(options.ca_file, ec);
      if (ec) throw std::runtime_error("tls.ca_file: cannot load " + options.ca_file + ": " + ec.message());
    }
  }

  Result<Url> parse_checked(std::string_view text) const {
    auto parsed = parse_url(text);
    if (!parsed.url) return Error{ErrorKind::bad_url, parsed.error};
    if (auto refused = check_public_url(*parsed.url, options.policy)) return Error{ErrorKind::refused_address, *refused};
    return std::move(*parsed.url);
  }

  // Lease (and open, when no idle connection is free), send, read the head. A kept-alive connection
  // that fails before any byte of the response was most likely closed by the server while idle: an
  // idempotent request is then sent once more on a new connection.
  net::awaitable<Result<Started>> start(const std::string& method, const Url& url, const Headers& headers,
                                        BodySource* body, const Timeouts& t, Clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
      auto lease = co_await pool.acquire(origin_of(url), deadline);
      if (!lease) co_return lease.error();
      const bool reused = lease->connection != nullptr;
      if (!reused) {
        const auto connect_by = step_deadline(t.connect, deadline);
        auto endpoints = co_await resolve_pinned(url, options.policy, connect_by);
        if (!endpoints) co_return endpoints.error();
        auto opened = co_await Connection::open(url, *endpoints, url.scheme == "https" ? &tls : nullptr, connect_by);
        if (!opened) co_return opened.error();
        lease->connection = std::move(*opened);
      }
      Connection& c = *lease->connection;
      std::optional<Error> failure = co_await c.send(method, url, headers, body, step_deadline(t.send, deadline));
      if (!failure) {
        auto head = co_await c.read_head(step_deadline(t.headers, deadline));
        if (head) co_return Started{std::move(*lease), std::move(*head), reused};
        failure = head.error();
      }
      const bool again = reused && attempt == 0 && !c.response_started() && idempotent(method) &&
                         failure->kind == ErrorKind::network;
      if (!again) co_return *failure;
    }
  }

  ClientOptions options;
  ssl::context tls;
  ConnectionPool pool;
};

HttpClient::HttpClient(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
HttpClient::~HttpClient() = default;

const PoolStats& HttpClient::pool_stats() const { return impl_->pool.stats(); }
const ClientOptions& HttpClient::options() const { return impl_->options; }

net::awaitable<Result<Response>> HttpClient::request(const Request& request) {
  const auto deadline = Clock::now() + request.timeouts.total;
  auto url = impl_->parse_checked(request.url);
  if (!url) co_return url.error();
  std::unique_ptr<BodySource> source;
  if (const auto* text = std::get_if<std::string>(&request.body)) {
    source = std::make_unique<BufferSource>(*text);
  } else if (const auto* range = std::get_if<FileRange>(&request.body)) {
    auto file = std::make_unique<FileRangeSource>(range->path, range->offset, range->length);
    if (file->open_error()) co_return *file->open_error();
    source = std::move(file);
  }
  auto started = co_await impl_->start(request.method, *url, request.headers, source.get(), request.timeouts, deadline);
  if (!started) co_return started.error();
  MemorySink sink(request.max_response_bytes);
  if (auto error = co_await started->lease.connection->read_body(sink, step_deadline(request.timeouts.body, deadline)))
    co_return *error;
  Response response;
  response.status = started->head.status;
  response.headers = std::move(started->head.headers);
  response.body_bytes = sink.received();
  response.body = sink.take();
  response.url = url->str();
  response.reused_connection = started->reused;
  co_return response;
}

net::awaitable<Result<Response>> HttpClient::download(const std::string& url_text, int fd,
                                                      const DownloadOptions& options) {
  const auto deadline = Clock::now() + options.timeouts.total;
  auto url = impl_->parse_checked(url_text);
  if (!url) co_return url.error();
  FileSink sink(fd, options.max_bytes, options.progress, options.progress_step);
  for (int hop = 0;; ++hop) {
    auto started = co_await impl_->start("GET", *url, options.headers, nullptr, options.timeouts, deadline);
    if (!started) co_return started.error();
    Connection& c = *started->lease.connection;
    const ResponseHead& head = started->head;
    if (is_redirect(head.status)) {
      const auto location = head.headers.get("Location");
      if (!location) co_return Error{ErrorKind::protocol, url->host + " redirected without a Location"};
      DiscardSink drain(kMaxRedirectBody);
      std::ignore = co_await c.read_body(drain, step_deadline(options.timeouts.body, deadline));
      if (hop >= options.max_redirects)
        co_return Error{ErrorKind::too_many_redirects,
                        "more than " + std::to_string(options.max_redirects) + " redirects, the last from " + url->host};
      auto next = impl_->parse_checked(absolute_location(*url, *location));
      if (!next) co_return Error{next.error().kind, "redirect from " + url->host + ": " + next.error().message};
      url = std::move(next);
      continue;
    }
    if (head.status < 200 || head.status > 299)
      co_return Error{ErrorKind::http_status,
                      "download from " + url->host + " answered HTTP " + std::to_string(head.status), head.status};
    if (auto error = co_await c.read_body(sink, step_deadline(options.timeouts.body, deadline))) co_return *error;
    sink.finish();
    Response response;
    response.status = head.status;
    response.headers = head.headers;
    response.body_bytes = sink.received();
    response.url = url->str();
    response.reused_connection = started->reused;
    co_return response;
  }
}

}  // namespace schedulo::http
