#include "platforms/http/connection.hpp"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/socket.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <cerrno>
#include <vector>

namespace schedulo::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = boost::asio::ssl;

namespace {

constexpr std::size_t kChunk = 64 * 1024;           // one read or write of a body; the only body memory
constexpr std::uint32_t kHeaderLimit = 64 * 1024;   // response status line and headers
constexpr std::size_t kReadBufferLimit = 256 * 1024;
constexpr std::string_view kUserAgent = "schedulo/0.1";

std::string host_header(const Url& url) {
  const bool default_port = (url.scheme == "https" && url.port == 443) || (url.scheme == "http" && url.port == 80);
  const bool v6 = url.host_is_ip && url.host.find(':') != std::string::npos;
  std::string out = v6 ? "[" + url.host + "]" : url.host;
  if (!default_port) out += ":" + std::to_string(url.port);
  return out;
}

}  // namespace

struct Connection::Impl {
  // The chunk is left uninitialised: zeroing 64 KiB per connection cost a page fault per 4 KiB that a
  // small body never touches (500 new connections at once: 32 MB written for nothing).
  Impl(const net::Executor& executor, ssl::context* tls)
      : buffer(kReadBufferLimit), chunk(std::make_unique_for_overwrite<char[]>(kChunk)) {
    if (tls)
      tls_stream.emplace(executor, *tls);
    else
      plain.emplace(executor);
  }

  beast::tcp_stream& tcp() { return tls_stream ? beast::get_lowest_layer(*tls_stream) : *plain; }
  const beast::tcp_stream& tcp() const { return tls_stream ? beast::get_lowest_layer(*tls_stream) : *plain; }

  // The error of a failed step, by kind, naming the step and the peer.
  Error classify(const net::error_code& ec, std::string_view step) {
    const std::string where = std::string(step) + " " + peer;
    if (ec == beast::error::timeout) return {ErrorKind::timeout, "timed out " + where};
    if (ec == asio::error::operation_aborted) return {ErrorKind::cancelled, "cancelled while " + where};
    if (ec == bhttp::error::end_of_stream || ec == asio::error::eof || ec == ssl::error::stream_truncated)
      return {ErrorKind::network, "connection closed by the server while " + where};
    if (ec.category() == asio::error::get_ssl_category())
      return {ErrorKind::tls, "TLS failed while " + where + ": " + ec.message() + verify_detail()};
    if (ec == bhttp::error::body_limit || ec == bhttp::error::header_limit || ec == bhttp::error::buffer_overflow)
      return {ErrorKind::too_large, "response too large while " + where};
    if (ec.category() == bhttp::make_error_code(bhttp::error::bad_version).category())
      return {ErrorKind::protocol, "bad HTTP response while " + where + ": " + ec.message()};
    return {ErrorKind::network, where + ": " + ec.message()};
  }

  // Why certificate verification failed ("hostname mismatch", "self-signed certificate", ...).
  std::string verify_detail() {
    if (!tls_stream) return {};
    const long result = SSL_get_verify_result(tls_stream->native_handle());
    if (result == X509_V_OK) return {};
    return std::string(" (") + X509_verify_cert_error_string(result) + ")";
  }

  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_stream;
  beast::flat_buffer buffer;
  std::optional<bhttp::response_parser<bhttp::buffer_body>> parser;
  std::unique_ptr<char[]> chunk;  // kChunk bytes
  std::string peer;
  bool head_request = false;
  bool request_keep_alive = true;
  bool complete = false;
  bool broken = false;
  Clock::time_point idle_since;
};

namespace {

template <typename Stream>
net::awaitable<std::optional<Error>> send_on(Stream& stream, Connection::Impl& c, bhttp::request<bhttp::buffer_body>& req,
                                             BodySource* body) {
  bhttp::request_serializer<bhttp::buffer_body> serializer(req);
  auto [ec, n] = co_await bhttp::async_write_header(stream, serializer, net::use_tuple);
  if (ec) co_return c.classify(ec, "sending the request to");
  std::uint64_t remaining = body ? body->size() : 0;
  if (body) body->rewind();
  while (!serializer.is_done()) {
    auto& chunk = req.body();
    if (remaining > 0) {
      auto got = body->read(c.chunk.get(), static_cast<std::size_t>(std::min<std::uint64_t>(kChunk, remaining)));
      if (!got) co_return got.error();
      if (*got == 0) co_return Error{ErrorKind::io, "the request body ended before its declared size"};
      remaining -= *got;
      chunk.data = c.chunk.get();
      chunk.size = *got;
      chunk.more = remaining > 0;
    } else {
      chunk.data = nullptr;
      chunk.size = 0;
      chunk.more = false;
    }
    auto [wec, wn] = co_await bhttp::async_write(stream, serializer, net::use_tuple);
    if (wec == bhttp::error::need_buffer) wec = {};  // the chunk went out; the serializer wants the next
    if (wec) co_return c.classify(wec, "sending the request body to");
  }
  co_return std::nullopt;
}

template <typename Stream>
net::awaitable<net::error_code> read_head_on(Stream& stream, Connection::Impl& c) {
  auto [ec, n] = co_await bhttp::async_read_header(stream, c.buffer, *c.parser, net::use_tuple);
  co_return ec;
}

template <typename Stream>
net::awaitable<net::error_code> read_some_body_on(Stream& stream, Connection::Impl& c) {
  auto [ec, n] = co_await bhttp::async_read(stream, c.buffer, *c.parser, net::use_tuple);
  if (ec == bhttp::error::need_buffer) ec = {};  // the chunk is full: hand it to the sink
  co_return ec;
}

}  // namespace

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Connection::~Connection() = default;

net::awaitable<Result<std::unique_ptr<Connection>>> Connection::open(const Url& url, const Endpoints& endpoints,
                                                                     ssl::context* tls, Clock::time_point deadline) {
  auto impl = std::make_unique<Impl>(co_await asio::this_coro::executor, tls);
  impl->peer = host_header(url);
  auto& tcp = impl->tcp();
  tcp.expires_at(deadline);
  auto [ec, endpoint] = co_await tcp.async_connect(endpoints, net::use_tuple);
  if (ec) co_return impl->classify(ec, "connecting to");
  impl->peer += " (" + endpoint.address().to_string() + ")";
  net::error_code ignored;
  tcp.socket().set_option(net::Tcp::no_delay(true), ignored);
  if (impl->tls_stream) {
    SSL* handle = impl->tls_stream->native_handle();
    if (url.host_is_ip) {
      // An IP literal: no SNI (RFC 6066 allows names only); the certificate must carry the IP.
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), url.host.c_str());
    } else {
      // SSL_set_tlsext_host_name is a macro with an old-style cast; this is what it expands to.
      SSL_ctrl(handle, SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name, const_cast<char*>(url.host.c_str()));
      SSL_set1_host(handle, url.host.c_str());  // OpenSSL checks the name during verification
    }
    impl->tls_stream->set_verify_mode(ssl::verify_peer);
    auto [hec] = co_await impl->tls_stream->async_handshake(ssl::stream_base::client, net::use_tuple);
    if (hec) co_return impl->classify(hec, "in the TLS handshake with");
  }
  tcp.expires_never();
  co_return std::unique_ptr<Connection>(new Connection(std::move(impl)));
}

net::awaitable<std::optional<Error>> Connection::send(const std::string& method, const Url& url, const Headers& headers,
                                                      BodySource* body, Clock::time_point deadline) {
  Impl& c = *impl_;
  c.complete = false;
  c.parser.reset();
  bhttp::request<bhttp::buffer_body> req;
  req.method_string(method);
  req.target(url.target);
  req.version(11);
  req.set(bhttp::field::host, host_header(url));
  for (const auto& [name, value] : headers.fields()) req.insert(name, value);
  if (!headers.contains("User-Agent")) req.set(bhttp::field::user_agent, kUserAgent);
  if (body || method == "POST" || method == "PUT" || method == "PATCH") req.content_length(body ? body->size() : 0);
  c.request_keep_alive = req.keep_alive();
  c.head_request = method == "HEAD";
  req.body().data = nullptr;
  req.body().more = body != nullptr && body->size() > 0;
  c.tcp().expires_at(deadline);
  // Not `a ? co_await x : co_await y`: GCC 12 destroys the chosen branch's std::optional<Error> (and its
  // strings) before copying it out, which ASan caught on a send cut by cancellation.
  std::optional<Error> error;
  if (c.tls_stream)
    error = co_await send_on(*c.tls_stream, c, req, body);
  else
    error = co_await send_on(*c.plain, c, req, body);
  if (error) c.broken = true;
  co_return error;
}

net::awaitable<Result<ResponseHead>> Connection::read_head(Clock::time_point deadline) {
  Impl& c = *impl_;
  c.parser.emplace();
  c.parser->header_limit(kHeaderLimit);
  c.parser->body_limit(boost::none);  // the sink enforces the caller's cap
  if (c.head_request) c.parser->skip(true);
  c.tcp().expires_at(deadline);
  const net::error_code ec = c.tls_stream ? co_await read_head_on(*c.tls_stream, c) : co_await read_head_on(*c.plain, c);
  if (ec) {
    c.broken = true;
    co_return c.classify(ec, "waiting for the response headers from");
  }
  ResponseHead head;
  const auto& message = c.parser->get();
  head.status = static_cast<int>(message.result_int());
  for (const auto& field : message) head.headers.add(field.name_string(), field.value());
  if (const auto length = c.parser->content_length()) head.content_length = *length;
  co_return head;
}

net::awaitable<std::optional<Error>> Connection::read_body(BodySink& sink, Clock::time_point deadline) {
  Impl& c = *impl_;
  if (!c.parser) co_return Error{ErrorKind::protocol, "read_body before read_head"};
  std::optional<std::uint64_t> declared;
  if (const auto length = c.parser->content_length(); length && !c.head_request) declared = *length;
  if (auto error = sink.begin(declared)) {
    c.broken = true;  // the body stays unread: the connection cannot carry another exchange
    co_return error;
  }
  c.tcp().expires_at(deadline);
  while (!c.parser->is_done()) {
    auto& body = c.parser->get().body();
    body.data = c.chunk.get();
    body.size = kChunk;
    const net::error_code ec =
        c.tls_stream ? co_await read_some_body_on(*c.tls_stream, c) : co_await read_some_body_on(*c.plain, c);
    const std::size_t got = kChunk - c.parser->get().body().size;
    if (got > 0) {
      if (auto error = sink.write(c.chunk.get(), got)) {
        c.broken = true;
        co_return error;
      }
    }
    if (ec) {
      c.broken = true;
      co_return c.classify(ec, "reading the response body from");
    }
  }
  c.tcp().expires_never();
  c.complete = true;
  c.idle_since = Clock::now();
  co_return std::nullopt;
}

bool Connection::reusable() const {
  const Impl& c = *impl_;
  return c.complete && !c.broken && c.request_keep_alive && c.parser && c.parser->keep_alive() &&
         c.buffer.size() == 0;
}

bool Connection::looks_alive() const {
  const auto& socket = impl_->tcp().socket();
  if (!socket.is_open()) return false;
  char byte = 0;
  // Nothing to read is the only healthy state of an idle connection: 0 is the server's close, and
  // bytes before a request (a TLS close_notify, garbage) make it unusable too.
  // NOLINTNEXTLINE(cppcoreguidelines-pro-type-const-cast): native_handle() is not const in Asio
  const ssize_t n = ::recv(const_cast<net::Tcp::socket&>(socket).native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

bool Connection::response_started() const { return impl_->parser && impl_->parser->got_some(); }
Clock::time_point Connection::idle_since() const { return impl_->idle_since; }
const std::string& Connection::peer() const { return impl_->peer; }

}  // namespace schedulo::http
