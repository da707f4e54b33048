#include "common/http_server.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <ctime>
#include <exception>

#include "common/deadline.hpp"
#include "common/log.hpp"

namespace schedulo::server {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using net::use_tuple;

namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::vector<std::string> split_path(std::string_view path) {
  std::vector<std::string> out;
  std::size_t start = 0;
  if (!path.empty() && path.front() == '/') start = 1;
  while (start <= path.size()) {
    const auto slash = path.find('/', start);
    const auto end = slash == std::string_view::npos ? path.size() : slash;
    out.emplace_back(path.substr(start, end - start));
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return out;
}

std::string http_date() {
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&now, &tm);
  std::array<char, 64> buf{};
  const auto n = std::strftime(buf.data(), buf.size(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  return {buf.data(), n};
}

net::awaitable<Response> plain(int status, std::string text) { co_return Response::text(status, text); }

// One of the server's own answers, in the form the options ask for.
Response own_error(const ServerOptions& options, int status, std::string_view code, std::string_view message) {
  if (!options.json_errors) return Response::text(status, std::string(message) + "\n");
  std::string body = R"({"error":{"code":")";
  body.append(code).append(R"(","message":")").append(message).append("\"}}");
  return Response::json(status, std::move(body));
}

// The handler's answer, or 500 when it throws. Inside the deadline's `||`, because a branch that
// throws does not end that race: it would be answered 503 when the deadline passes instead.
net::awaitable<Response> guarded(const Handler& handler, Request& request, const ServerOptions& options) {
  try {
    co_return co_await handler(request);
  } catch (const std::exception& e) {
    log::error("http server: {} {} failed: {}", request.method, request.path, e.what());
  }
  co_return own_error(options, 500, "internal", "internal error");
}

}  // namespace

std::string percent_decode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      const int hi = hex_value(text[i + 1]);
      const int lo = hex_value(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += (plus_is_space && c == '+') ? ' ' : c;
  }
  return out;
}

std::vector<std::pair<std::string, std::string>> parse_query(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  std::size_t start = 0;
  while (start < query.size()) {
    auto amp = query.find('&', start);
    if (amp == std::string_view::npos) amp = query.size();
    const auto item = query.substr(start, amp - start);
    if (!item.empty()) {
      const auto eq = item.find('=');
      if (eq == std::string_view::npos)
        out.emplace_back(percent_decode(item, true), "");
      else
        out.emplace_back(percent_decode(item.substr(0, eq), true), percent_decode(item.substr(eq + 1), true));
    }
    start = amp + 1;
  }
  return out;
}

std::optional<std::string_view> Request::header(std::string_view name) const {
  for (const auto& h : headers)
    if (iequals(h.name, name)) return std::string_view(h.value);
  return std::nullopt;
}

std::optional<std::string> Request::query_param(std::string_view name) const {
  for (auto& [k, v] : query_params())
    if (k == name) return v;
  return std::nullopt;
}

void Response::set_header(std::string name, std::string value) {
  for (auto& h : headers) {
    if (iequals(h.name, name)) {
      h.value = std::move(value);
      return;
    }
  }
  headers.push_back({std::move(name), std::move(value)});
}

Response Response::typed(int status, std::string body, std::string content_type) {
  Response r;
  r.status = status;
  r.body = std::move(body);
  r.headers.push_back({"Content-Type", std::move(content_type)});
  return r;
}

Response Response::json(int status, std::string body) {
  return typed(status, std::move(body), "application/json; charset=utf-8");
}

Response Response::text(int status, std::string body) { return typed(status, std::move(body), "text/plain; charset=utf-8"); }

// ---- routing --------------------------------------------------------------------------------------

void Router::add(std::string method, const std::string& pattern, Handler handler) {
  Route route;
  route.method = std::move(method);
  route.segments = split_path(pattern);
  if (!route.segments.empty() && route.segments.back() == "*") {
    route.rest = true;
    route.segments.pop_back();
  }
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

void Router::add(std::string method, const std::string& pattern, Handler handler,
                 std::chrono::milliseconds handler_timeout) {
  add(std::move(method), pattern, std::move(handler));
  routes_.back().handler_timeout = handler_timeout;
}

const Handler& Router::match(Request& request) const {
  const auto segments = split_path(request.path);
  for (const auto& route : routes_) {
    if (route.method != "*" && route.method != request.method &&
        !(request.method == "HEAD" && route.method == "GET"))
      continue;
    if (route.rest ? segments.size() < route.segments.size() : segments.size() != route.segments.size()) continue;
    std::map<std::string, std::string> params;
    bool ok = true;
    for (std::size_t i = 0; i < route.segments.size() && ok; ++i) {
      const auto& want = route.segments[i];
      if (want.size() > 2 && want.front() == '{' && want.back() == '}') {
        if (segments[i].empty()) ok = false;
        else params[want.substr(1, want.size() - 2)] = percent_decode(segments[i], false);
      } else if (want != segments[i]) {
        ok = false;
      }
    }
    if (!ok) continue;
    if (route.rest) {
      std::string rest;
      for (std::size_t i = route.segments.size(); i < segments.size(); ++i)
        rest += (i == route.segments.size() ? "" : "/") + percent_decode(segments[i], false);
      params["*"] = std::move(rest);
    }
    request.params = std::move(params);
    request.handler_timeout = route.handler_timeout;
    return route.handler;
  }
  static const Handler kNotFound = [](Request&) { return plain(404, "not found\n"); };
  return fallback_ ? fallback_ : kNotFound;
}

// ---- the server -----------------------------------------------------------------------------------

using Acceptor = net::DefaultToken::as_default_on_t<net::Tcp::acceptor>;

struct Server::Impl : std::enable_shared_from_this<Server::Impl> {
  Impl(const net::Executor& ex, Router r, ServerOptions o)
      : executor(ex), router(std::move(r)), options(std::move(o)), acceptor(ex) {
    if (!options.tls_certificate_pem.empty() && !options.tls_private_key_pem.empty()) {
      tls.emplace(asio::ssl::context::tls_server);
      tls->set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                       asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 |
                       asio::ssl::context::no_tlsv1_1);
      tls->use_certificate_chain(asio::buffer(options.tls_certificate_pem));
      tls->use_private_key(asio::buffer(options.tls_private_key_pem), asio::ssl::context::pem);
    }
  }

  net::Executor executor;
  Router router;
  ServerOptions options;
  Acceptor acceptor;
  std::optional<asio::ssl::context> tls;
  std::map<std::uint64_t, std::function<void()>> closers;  // open connections, closed by stop()
  std::uint64_t next_id = 0;
  bool stopped = false;

  net::awaitable<void> accept_loop();
  net::awaitable<void> session(net::Tcp::socket socket);
  template <typename Stream>
  net::awaitable<void> serve(Stream& stream, std::uint64_t id, const std::string& remote);
  template <typename Stream>
  net::awaitable<bool> respond(Stream& stream, Response& response, bool head_only, bool keep_alive);
  template <typename Stream>
  net::awaitable<void> linger(Stream& stream);
};

namespace {

// Closes the socket with RST instead of FIN: what a peer sees when a server dies mid-reply.
void reset(beast::tcp_stream& lowest) {
  beast::error_code ignored;
  lowest.socket().set_option(asio::socket_base::linger(true, 0), ignored);
  lowest.socket().close(ignored);
}

// Removes the connection's entry from the closers when the session ends, however it ends.
struct CloserGuard {
  std::map<std::uint64_t, std::function<void()>>& closers;
  std::uint64_t id;
  ~CloserGuard() { closers.erase(id); }
};

}  // namespace

net::awaitable<void> Server::Impl::accept_loop() {
  auto self = shared_from_this();
  while (!stopped) {
    auto [ec, socket] = co_await acceptor.async_accept();
    if (ec) {
      if (stopped || ec == asio::error::operation_aborted) co_return;
      continue;  // EMFILE and the like: keep serving the connections we have
    }
    // The lambda holds `self` until the session's coroutine has started and holds its own.
    asio::co_spawn(
        executor, [self, s = std::move(socket)]() mutable { return self->session(std::move(s)); }, asio::detached);
  }
}

net::awaitable<void> Server::Impl::session(net::Tcp::socket socket) {
  auto self = shared_from_this();
  const std::uint64_t id = ++next_id;
  beast::error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  const std::string remote = ec ? std::string("?") : peer.address().to_string() + ":" + std::to_string(peer.port());
  try {
    if (tls) {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), *tls);
      closers[id] = [&stream] { beast::error_code e; beast::get_lowest_layer(stream).socket().close(e); };
      const CloserGuard guard{closers, id};
      beast::get_lowest_layer(stream).expires_after(options.read_timeout);
      auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
      if (hec) co_return;
      co_await serve(stream, id, remote);
    } else {
      beast::tcp_stream stream(std::move(socket));
      closers[id] = [&stream] { beast::error_code e; stream.socket().close(e); };
      const CloserGuard guard{closers, id};
      co_await serve(stream, id, remote);
    }
  } catch (const std::exception& e) {
    log::warn("http server: connection {} ended: {}", remote, e.what());
  }
}

template <typename Stream>
net::awaitable<void> Server::Impl::serve(Stream& stream, std::uint64_t id, const std::string& remote) {
  auto self = shared_from_this();
  auto& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  for (;;) {
    bhttp::request_parser<bhttp::string_body> parser;
    parser.body_limit(options.body_limit);
    parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
    lowest.expires_after(options.read_timeout);
    auto [ec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    (void)n;
    if (ec) {
      // A malformed or oversized request gets its status before the connection closes; anything
      // else (EOF between requests, timeout, reset) just ends the connection.
      Response error;
      if (ec == bhttp::error::body_limit)
        error = own_error(options, 413, "too_large", "request body too large");
      else if (ec == bhttp::error::header_limit)
        error = own_error(options, 431, "header_too_large", "request header too large");
      else if (ec.category() == bhttp::make_error_code(bhttp::error::bad_target).category() &&
               ec != bhttp::error::end_of_stream && ec != bhttp::error::partial_message)
        error = own_error(options, 400, "malformed_request", "malformed request");
      else
        break;
      co_await respond(stream, error, false, false);
      co_await linger(stream);
      co_return;
    }
    auto& message = parser.get();
    Request request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    const auto q = request.target.find('?');
    request.path = request.target.substr(0, q);
    if (q != std::string::npos) request.query = request.target.substr(q + 1);
    for (const auto& field : message)
      request.headers.push_back({std::string(field.name_string()), std::string(field.value())});
    request.body = std::move(message.body());
    request.remote = remote;
    request.connection_id = id;
    const bool keep_alive = message.keep_alive();
    const bool head_only = message.method() == bhttp::verb::head;

    Response response;
    const Handler& handler = router.match(request);
    const auto limit = request.handler_timeout.count() > 0 ? request.handler_timeout : options.handler_timeout;
    auto outcome = co_await net::with_timeout(guarded(handler, request, options), limit);
    if (outcome)
      response = std::move(*outcome);
    else
      response = own_error(options, 503, "timeout", "the handler did not finish in time");
    if (stopped) break;
    if (response.drop) {
      // Close without a word: the request may have taken effect, the client cannot know.
      beast::error_code ignored;
      lowest.socket().shutdown(asio::socket_base::shutdown_both, ignored);
      lowest.socket().close(ignored);
      co_return;
    }
    if (!co_await respond(stream, response, head_only, keep_alive)) co_return;
    if (!keep_alive) break;
  }
  beast::error_code ignored;
  lowest.socket().shutdown(asio::socket_base::shutdown_send, ignored);
}

// After answering a request we did not read to its end (413, 400): stop sending, then read and drop
// what the client is still sending, for a moment. Closing with unread data would send a reset, and
// the client could lose the answer we just wrote.
template <typename Stream>
net::awaitable<void> Server::Impl::linger(Stream& stream) {
  constexpr std::size_t kMaxDrain = 4 * 1024 * 1024;
  auto& lowest = beast::get_lowest_layer(stream);
  beast::error_code ignored;
  lowest.socket().shutdown(asio::socket_base::shutdown_send, ignored);
  lowest.expires_after(std::chrono::seconds(2));
  std::array<char, 16 * 1024> sink{};
  for (std::size_t drained = 0; drained < kMaxDrain;) {
    auto [ec, n] = co_await lowest.async_read_some(asio::buffer(sink), use_tuple);
    if (ec) break;
    drained += n;
  }
  lowest.socket().close(ignored);
}

// Writes the response; false when the connection is gone (or was reset on purpose).
template <typename Stream>
net::awaitable<bool> Server::Impl::respond(Stream& stream, Response& response, bool head_only, bool keep_alive) {
  auto& lowest = beast::get_lowest_layer(stream);
  const std::uint64_t length = response.body_length();
  std::string head = "HTTP/1.1 " + std::to_string(response.status) + " " +
                     std::string(bhttp::obsolete_reason(bhttp::int_to_status(static_cast<unsigned>(response.status)))) +
                     "\r\n";
  bool has_date = false;
  for (const auto& h : response.headers) {
    if (iequals(h.name, "Content-Length") || iequals(h.name, "Connection") || iequals(h.name, "Transfer-Encoding"))
      continue;
    if (iequals(h.name, "Date")) has_date = true;
    head += h.name + ": " + h.value + "\r\n";
  }
  if (!has_date) head += "Date: " + http_date() + "\r\n";
  head += "Server: " + options.server_name + "\r\n";
  head += "Content-Length: " + std::to_string(length) + "\r\n";
  head += keep_alive ? "Connection: keep-alive\r\n\r\n" : "Connection: close\r\n\r\n";

  const bool send_body = !head_only && response.status != 204 && response.status != 304;
  const std::uint64_t limit = send_body ? std::min(length, response.cut_after.value_or(length)) : 0;
  const bool cut = send_body && response.cut_after && *response.cut_after < length;

  // Small, whole bodies go out with the head in one write.
  if (!response.stream && response.chunk_delay.count() == 0 && !cut) {
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                                    asio::buffer(response.body.data(), send_body ? length : 0)};
    lowest.expires_after(options.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, buffers, use_tuple);
    (void)n;
    co_return !ec;
  }

  lowest.expires_after(options.write_timeout);
  if (auto [ec, n] = co_await asio::async_write(stream, asio::buffer(head), use_tuple); ec) co_return false;
  std::string chunk;
  std::uint64_t sent = 0;
  net::Timer pause(executor);
  while (sent < limit) {
    const auto want = static_cast<std::size_t>(std::min<std::uint64_t>(response.chunk_size, limit - sent));
    std::size_t got = 0;
    if (response.stream) {
      chunk.resize(want);
      while (got < want) {
        const auto r = response.stream->read(chunk.data() + got, want - got);
        if (r == 0) break;
        got += r;
      }
      if (got == 0) break;  // the source ended early: the client sees a short body
      chunk.resize(got);
    } else {
      chunk.assign(response.body, static_cast<std::size_t>(sent), want);
      got = want;
    }
    lowest.expires_after(options.write_timeout);
    auto [ec, n] = co_await asio::async_write(stream, asio::buffer(chunk), use_tuple);
    (void)n;
    if (ec) co_return false;
    sent += got;
    if (response.chunk_delay.count() > 0 && sent < limit) {
      pause.expires_after(response.chunk_delay);
      co_await pause.async_wait();
      if (stopped) co_return false;
    }
  }
  if (cut || sent < limit) {
    reset(lowest);
    co_return false;
  }
  co_return true;
}

Server::Server(const net::Executor& executor, Router router, ServerOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(router), std::move(options))) {}

Server::~Server() { stop(); }

net::error_code Server::listen(const std::string& host, std::uint16_t port) {
  net::error_code ec;
  const auto address = asio::ip::make_address(host, ec);
  if (ec) return ec;
  const net::Tcp::endpoint endpoint(address, port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (ec) return ec;
  impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  impl_->acceptor.bind(endpoint, ec);
  if (ec) return ec;
  impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  return ec;
}

std::uint16_t Server::port() const {
  net::error_code ec;
  const auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? 0 : endpoint.port();
}

void Server::start() {
  // The lambda keeps the state alive until the loop has started: a Server destroyed before the
  // executor ran it must not leave the loop a dangling `this`.
  asio::co_spawn(impl_->executor, [self = impl_] { return self->accept_loop(); }, asio::detached);
}

void Server::stop() {
  if (!impl_ || impl_->stopped) return;
  impl_->stopped = true;
  net::error_code ignored;
  impl_->acceptor.close(ignored);
  auto closers = impl_->closers;  // closing may end sessions, which erase their entries
  for (auto& [id, close] : closers) close();
}

}  // namespace schedulo::server
