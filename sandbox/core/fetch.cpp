#include "sandbox/core/fetch.hpp"

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <array>
#include <optional>

#include "common/deadline.hpp"

namespace schedulo::sandbox {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using net::use_tuple;

struct Url {
  bool tls = false;
  std::string host;  // without brackets
  std::string port;
  std::string target;
  std::string host_header;
};

std::optional<Url> parse_url(const std::string& text) {
  Url u;
  std::string rest;
  if (text.starts_with("http://")) {
    rest = text.substr(7);
  } else if (text.starts_with("https://")) {
    rest = text.substr(8);
    u.tls = true;
  } else {
    return std::nullopt;
  }
  const auto slash = rest.find_first_of("/?#");
  std::string authority = rest.substr(0, slash);
  u.target = slash == std::string::npos ? "/" : rest.substr(slash);
  if (const auto hash = u.target.find('#'); hash != std::string::npos) u.target.resize(hash);
  if (u.target.empty() || u.target.front() != '/') u.target = "/" + u.target;
  if (authority.empty() || authority.find('@') != std::string::npos) return std::nullopt;
  u.host_header = authority;
  u.port = u.tls ? "443" : "80";
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return std::nullopt;
    u.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return std::nullopt;
      u.port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.rfind(':');
    u.host = authority.substr(0, colon);
    if (colon != std::string::npos) u.port = authority.substr(colon + 1);
  }
  if (u.host.empty() || u.port.empty() || u.port.size() > 5 ||
      u.port.find_first_not_of("0123456789") != std::string::npos)
    return std::nullopt;
  return u;
}

FetchResult failed(std::string error, std::string detail) {
  FetchResult r;
  r.error = std::move(error);
  r.detail = std::move(detail);
  return r;
}

// Reads the answer on an open stream (plain or TLS) into `out`.
template <typename Stream>
net::awaitable<void> exchange(Stream& stream, const Url& url, const FetchOptions& options, FetchResult& out) {
  bhttp::request<bhttp::empty_body> request(bhttp::verb::get, url.target, 11);
  request.set(bhttp::field::host, url.host_header);
  request.set(bhttp::field::user_agent, "facebookexternalhit/1.1 (schedulo-sandbox)");
  request.set(bhttp::field::accept, "*/*");
  request.set(bhttp::field::connection, "close");
  auto [wec, written] = co_await bhttp::async_write(stream, request, use_tuple);
  (void)written;
  if (wec) {
    out = failed(wec == beast::error::timeout ? "timeout" : "http", "sending the request: " + wec.message());
    co_return;
  }
  beast::flat_buffer buffer;
  bhttp::response_parser<bhttp::buffer_body> parser;
  parser.body_limit(boost::none);
  auto [hec, head_bytes] = co_await bhttp::async_read_header(stream, buffer, parser, use_tuple);
  (void)head_bytes;
  if (hec) {
    out = failed(hec == beast::error::timeout ? "timeout" : "http", "reading the answer: " + hec.message());
    co_return;
  }
  const auto& head = parser.get();
  out.status = static_cast<int>(head.result_int());
  out.content_type = std::string(head[bhttp::field::content_type]);
  if (parser.content_length()) out.content_length = *parser.content_length();
  std::array<char, 64 * 1024> chunk{};
  while (!parser.is_done()) {
    parser.get().body().data = chunk.data();
    parser.get().body().size = chunk.size();
    auto [rec, n] = co_await bhttp::async_read(stream, buffer, parser, use_tuple);
    (void)n;
    const std::size_t got = chunk.size() - parser.get().body().size;
    if (got > 0) {
      const auto keep = options.keep_bytes > out.total_bytes ? options.keep_bytes - out.total_bytes : 0;
      out.body.append(chunk.data(), static_cast<std::size_t>(std::min<std::uint64_t>(keep, got)));
      out.total_bytes += got;
      if (out.total_bytes > options.max_bytes) {
        out.error = "too_large";
        out.detail = "the body is larger than " + std::to_string(options.max_bytes) + " bytes";
        co_return;
      }
    }
    if (rec == bhttp::error::need_buffer) continue;
    if (rec) {
      out.error = rec == beast::error::timeout ? "timeout" : "http";
      out.detail = "reading the body after " + std::to_string(out.total_bytes) + " bytes: " + rec.message();
      co_return;
    }
  }
}

net::awaitable<FetchResult> fetch_once(Url url, FetchOptions options, std::chrono::steady_clock::time_point deadline) {
  auto executor = co_await asio::this_coro::executor;
  net::TcpResolver resolver(executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(url.host, url.port);
  if (rec) co_return failed("resolve", "cannot resolve " + url.host + ": " + rec.message());
  beast::tcp_stream tcp(executor);
  tcp.expires_at(deadline);
  auto [cec, endpoint] = co_await tcp.async_connect(endpoints, use_tuple);
  (void)endpoint;
  if (cec)
    co_return failed(cec == beast::error::timeout ? "timeout" : "connect",
                     "cannot connect to " + url.host + ":" + url.port + ": " + cec.message());
  FetchResult out;
  if (!url.tls) {
    co_await exchange(tcp, url, options, out);
    beast::error_code ignored;
    tcp.socket().shutdown(net::Tcp::socket::shutdown_both, ignored);
    co_return out;
  }
  asio::ssl::context context(asio::ssl::context::tls_client);
  context.set_default_verify_paths();
  if (!options.ca_file.empty()) {
    beast::error_code ignored;
    context.load_verify_file(options.ca_file, ignored);
  }
  context.set_verify_mode(asio::ssl::verify_peer);
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), context);
  // SNI (SSL_set_tlsext_host_name is a macro with a C cast).
  SSL_ctrl(stream.native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
           static_cast<void*>(const_cast<char*>(url.host.c_str())));
  stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  auto [hec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (hec) co_return failed(hec == beast::error::timeout ? "timeout" : "tls", "TLS handshake: " + hec.message());
  co_await exchange(stream, url, options, out);
  co_return out;
}

}  // namespace

net::awaitable<FetchResult> fetch_url(std::string url, FetchOptions options) {
  auto parsed = parse_url(url);
  if (!parsed) co_return failed("bad_url", "not an http(s) URL");
  const auto limit = options.timeout;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  // The resolver is the one step the stream's own expiry does not cover.
  auto result = co_await net::with_timeout(fetch_once(std::move(*parsed), std::move(options), deadline),
                                           limit + std::chrono::milliseconds(50));
  if (!result) co_return failed("timeout", "no complete answer in time");
  co_return std::move(*result);
}

}  // namespace schedulo::sandbox
