#include "sandbox/tiktok/pull.hpp"

#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <array>
#include <chrono>
#include <utility>

#include "common/deadline.hpp"

namespace schedulo::sandbox::tiktok {
namespace {

namespace http = boost::beast::http;

constexpr auto kStepLimit = std::chrono::seconds(30);
constexpr std::size_t kPiece = 64 * 1024;

struct Target {
  std::string host;
  std::string port = "80";
  std::string path;  // path and query
};

bool parse_http_url(const std::string& url, Target& target) {
  static const std::string kScheme = "http://";
  if (url.compare(0, kScheme.size(), kScheme) != 0) return false;
  const auto rest = url.substr(kScheme.size());
  const auto slash = rest.find_first_of("/?#");
  const auto authority = rest.substr(0, slash);
  target.path = slash == std::string::npos ? "/" : rest.substr(slash);
  if (const auto hash = target.path.find('#'); hash != std::string::npos) target.path.resize(hash);
  if (target.path.empty() || target.path.front() != '/') target.path.insert(0, "/");
  if (authority.empty() || authority.find('@') != std::string::npos) return false;
  if (authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string::npos) return false;
    target.host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return false;
      target.port = authority.substr(close + 2);
    }
  } else {
    const auto colon = authority.find(':');
    target.host = authority.substr(0, colon);
    if (colon != std::string::npos) target.port = authority.substr(colon + 1);
  }
  return !target.host.empty() && !target.port.empty() &&
         target.port.find_first_not_of("0123456789") == std::string::npos;
}

net::awaitable<void> pull(std::string url, PullProgress progress, PullDone done) {
  PullOutcome out;
  Target target;
  if (!parse_http_url(url, target)) {
    out.error = "the sandbox pulls http:// URLs only";
    done(out);
    co_return;
  }
  const auto executor = co_await net::asio::this_coro::executor;
  net::TcpResolver resolver(executor);
  auto resolved = co_await net::with_timeout(resolver.async_resolve(target.host, target.port), kStepLimit);
  if (!resolved || std::get<0>(*resolved)) {
    out.error = "cannot resolve the host";
    done(out);
    co_return;
  }
  net::TcpSocket socket(executor);
  bool connected = false;
  for (const auto& entry : std::get<1>(*resolved)) {
    socket = net::TcpSocket(executor);
    auto attempt = co_await net::with_timeout(socket.async_connect(entry.endpoint()), kStepLimit);
    if (attempt && !std::get<0>(*attempt)) {
      connected = true;
      break;
    }
  }
  if (!connected) {
    out.error = "cannot connect";
    done(out);
    co_return;
  }
  http::request<http::empty_body> request{http::verb::get, target.path, 11};
  request.set(http::field::host, target.port == "80" ? target.host : target.host + ":" + target.port);
  request.set(http::field::user_agent, "schedulo-sandbox-tiktok-puller");
  request.set(http::field::connection, "close");
  auto written = co_await net::with_timeout(http::async_write(socket, request, net::use_tuple), kStepLimit);
  if (!written || std::get<0>(*written)) {
    out.error = "cannot send the request";
    done(out);
    co_return;
  }
  boost::beast::flat_buffer buffer;
  http::response_parser<http::buffer_body> parser;
  parser.body_limit(boost::none);
  auto head = co_await net::with_timeout(http::async_read_header(socket, buffer, parser, net::use_tuple), kStepLimit);
  if (!head || std::get<0>(*head)) {
    out.error = "no answer";
    done(out);
    co_return;
  }
  out.status = static_cast<int>(parser.get().result_int());
  out.content_type = std::string(parser.get()[http::field::content_type]);
  if (out.status != 200) {
    out.error = "answered HTTP " + std::to_string(out.status);
    done(out);
    co_return;
  }
  std::array<char, kPiece> piece{};
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    auto read = co_await net::with_timeout(http::async_read(socket, buffer, parser, net::use_tuple), kStepLimit);
    if (!read) {
      out.error = "the body stalled";
      done(out);
      co_return;
    }
    auto ec = std::get<0>(*read);
    if (ec == http::error::need_buffer) ec = {};
    out.bytes += piece.size() - parser.get().body().size;
    if (ec) {
      out.error = "the body was cut short";
      done(out);
      co_return;
    }
    if (!progress(out.bytes)) {
      out.error = "stopped";
      done(out);
      co_return;
    }
  }
  out.ok = true;
  done(out);
}

}  // namespace

void start_pull(const net::Executor& executor, std::string url, PullProgress progress, PullDone done) {
  net::asio::co_spawn(executor, pull(std::move(url), std::move(progress), std::move(done)), net::asio::detached);
}

}  // namespace schedulo::sandbox::tiktok
