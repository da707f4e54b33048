#include "tests/support/http_server.hpp"

#include <fcntl.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <stdexcept>
#include <thread>

#include "common/net.hpp"

namespace schedulo::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = beast::http;
namespace ssl = boost::asio::ssl;

namespace {

constexpr std::size_t kChunk = 64 * 1024;
constexpr std::size_t kKeptBody = 1 << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string hex(const unsigned char* data, unsigned size) {
  std::string out;
  char part[3];
  for (unsigned i = 0; i < size; ++i) {
    std::snprintf(part, sizeof part, "%02x", data[i]);
    out += part;
  }
  return out;
}

class Sha256 {
 public:
  Sha256() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~Sha256() { EVP_MD_CTX_free(ctx_); }
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  void update(const void* data, std::size_t size) { EVP_DigestUpdate(ctx_, data, size); }
  std::string hex_digest() {
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned size = 0;
    EVP_DigestFinal_ex(ctx_, digest, &size);
    return hex(digest, size);
  }

 private:
  EVP_MD_CTX* ctx_;
};

}  // namespace

std::string ServerRequest::header(std::string_view name) const {
  const std::string wanted = lower(name);
  for (const auto& [k, v] : headers)
    if (lower(k) == wanted) return v;
  return {};
}

struct HttpTestServer::Impl {
  Impl(Handler h, ServerOptions o)
      : handler(std::move(h)), options(std::move(o)), acceptor(io), tls(ssl::context::tls_server) {
    if (!options.cert_file.empty()) {
      tls.use_certificate_chain_file(options.cert_file);
      tls.use_private_key_file(options.key_file, ssl::context::pem);
    }
    const net::Tcp::endpoint endpoint(asio::ip::make_address(options.address), 0);
    acceptor.open(endpoint.protocol());
    acceptor.set_option(asio::socket_base::reuse_address(true));
    acceptor.bind(endpoint);
    acceptor.listen(asio::socket_base::max_listen_connections);
    port = acceptor.local_endpoint().port();
    asio::co_spawn(io, accept_loop(), asio::detached);
    for (int i = 0; i < std::max(1, options.threads); ++i) threads.emplace_back([this] { io.run(); });
  }

  ~Impl() {
    io.stop();  // stalled sessions are destroyed with the io_context
    for (auto& t : threads) t.join();
  }

  net::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(net::use_tuple);
      if (ec) co_return;
      ++connections;
      const std::uint64_t now_open = ++open;
      std::uint64_t seen = max_open.load();
      while (now_open > seen && !max_open.compare_exchange_weak(seen, now_open)) {
      }
      asio::co_spawn(acceptor.get_executor(), session(std::move(socket)), asio::detached);
    }
  }

  net::awaitable<void> session(net::Tcp::socket socket) {
    struct OpenGuard {
      std::atomic<std::uint64_t>& open;
      ~OpenGuard() { --open; }
    } guard{open};
    if (options.cert_file.empty()) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve(stream);
    } else {
      beast::ssl_stream<beast::tcp_stream> stream(beast::tcp_stream(std::move(socket)), tls);
      auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, net::use_tuple);
      if (ec) co_return;
      co_await serve(stream);
    }
  }

  net::awaitable<void> wait_for_stop() {
    net::Timer timer(co_await asio::this_coro::executor);
    timer.expires_at(asio::steady_timer::time_point::max());
    co_await timer.async_wait();
  }

  template <typename Stream>
  net::awaitable<void> serve(Stream& stream) {
    beast::flat_buffer buffer;
    std::vector<char> chunk(kChunk);
    for (;;) {
      bhttp::request_parser<bhttp::buffer_body> parser;
      parser.body_limit(boost::none);
      auto [ec, n] = co_await bhttp::async_read_header(stream, buffer, parser, net::use_tuple);
      if (ec) co_return;
      ServerRequest request;
      request.method = std::string(parser.get().method_string());
      request.target = std::string(parser.get().target());
      for (const auto& field : parser.get()) request.headers.emplace_back(field.name_string(), field.value());
      Sha256 sha;
      while (!parser.is_done()) {
        parser.get().body().data = chunk.data();
        parser.get().body().size = chunk.size();
        auto [bec, bn] = co_await bhttp::async_read(stream, buffer, parser, net::use_tuple);
        if (bec == bhttp::error::need_buffer) bec = {};
        const std::size_t got = chunk.size() - parser.get().body().size;
        sha.update(chunk.data(), got);
        request.body_bytes += got;
        if (request.body.size() < kKeptBody)
          request.body.append(chunk.data(), std::min(got, kKeptBody - request.body.size()));
        if (bec) co_return;
      }
      request.body_sha256 = sha.hex_digest();
      ++requests;
      const ServerReply reply = handler(request);
      auto& socket = beast::get_lowest_layer(stream).socket();
      switch (reply.action) {
        case ServerReply::Action::stall_before_headers:
          co_await wait_for_stop();
          co_return;
        case ServerReply::Action::reset: {
          net::error_code ignored;
          socket.set_option(asio::socket_base::linger(true, 0), ignored);
          socket.close(ignored);
          co_return;
        }
        case ServerReply::Action::stall_mid_body: {
          const std::string head = "HTTP/1.1 " + std::to_string(reply.status) +
                                   " OK\r\nContent-Length: " + std::to_string(reply.body.size()) + "\r\n\r\n" +
                                   reply.body.substr(0, reply.stall_after);
          co_await asio::async_write(stream, asio::buffer(head), net::use_tuple);
          co_await wait_for_stop();
          co_return;
        }
        case ServerReply::Action::respond:
        case ServerReply::Action::respond_then_drop: {
          bhttp::response<bhttp::string_body> response(static_cast<bhttp::status>(reply.status), 11);
          for (const auto& [k, v] : reply.headers) response.insert(k, v);
          if (request.method != "HEAD") response.body() = reply.body;  // HEAD: the length only
          response.keep_alive(!reply.close && parser.keep_alive());
          if (request.method == "HEAD")
            response.content_length(reply.body.size());
          else if (reply.chunked)
            response.chunked(true);
          else
            response.prepare_payload();
          auto [wec, wn] = co_await bhttp::async_write(stream, response, net::use_tuple);
          if (wec || !response.keep_alive() || reply.action == ServerReply::Action::respond_then_drop) {
            net::error_code ignored;
            socket.shutdown(net::Tcp::socket::shutdown_both, ignored);
            socket.close(ignored);
            co_return;
          }
          break;
        }
      }
    }
  }

  Handler handler;
  ServerOptions options;
  asio::io_context io;
  net::Tcp::acceptor acceptor;
  ssl::context tls;
  std::uint16_t port = 0;
  std::atomic<std::uint64_t> connections{0};
  std::atomic<std::uint64_t> requests{0};
  std::atomic<std::uint64_t> open{0};
  std::atomic<std::uint64_t> max_open{0};
  std::vector<std::thread> threads;
};

HttpTestServer::HttpTestServer(Handler handler, ServerOptions options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(options))) {}
HttpTestServer::~HttpTestServer() = default;

std::uint16_t HttpTestServer::port() const { return impl_->port; }
std::uint64_t HttpTestServer::connections() const { return impl_->connections; }
std::uint64_t HttpTestServer::requests() const { return impl_->requests; }
std::uint64_t HttpTestServer::max_open() const { return impl_->max_open; }

std::string HttpTestServer::url(std::string_view path, std::string_view host) const {
  std::string h = host.empty() ? impl_->options.address : std::string(host);
  if (h.find(':') != std::string::npos) h = "[" + h + "]";
  const std::string scheme = impl_->options.cert_file.empty() ? "http" : "https";
  return scheme + "://" + h + ":" + std::to_string(impl_->port) + std::string(path);
}

TempDir::TempDir() {
  char tmpl[] = "/tmp/schedulo-http-test.XXXXXX";
  if (!::mkdtemp(tmpl)) throw std::runtime_error("mkdtemp failed");
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ignored;
  std::filesystem::remove_all(path_, ignored);
}

bool make_ca(const std::string& dir) {
  const std::string script = "{ cd '" + dir +
                             "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes "
                             "-keyout ca.key -out ca.crt -days 2 -subj /CN=schedulo-test-ca; } >/dev/null 2>&1";
  return std::system(script.c_str()) == 0;
}

bool make_certificate(const std::string& dir, const std::string& name, const std::string& san) {
  std::ofstream(dir + "/" + name + ".cnf") << "subjectAltName=" << san << "\n";
  const std::string script =
      "{ cd '" + dir + "' && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + name +
      ".key -out " + name + ".csr -subj /CN=" + name + " && openssl x509 -req -in " + name +
      ".csr -CA ca.crt -CAkey ca.key -CAcreateserial -out " + name + ".crt -days 2 -extfile " + name +
      ".cnf; } >/dev/null 2>&1";
  return std::system(script.c_str()) == 0;
}

FullBacklogListener::FullBacklogListener() {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (listener_ < 0 || ::bind(listener_, reinterpret_cast<sockaddr*>(&addr), len) != 0 || ::listen(listener_, 0) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot make the full-backlog listener");
  port_ = ntohs(addr.sin_port);
  // Fill the accept queue (never accepted) until a connect is left unanswered: that one is the proof
  // the queue is full, and stays pending too.
  for (int i = 0; i < 64; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    fillers_.push_back(fd);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) continue;
    if (errno != EINPROGRESS) throw std::runtime_error("cannot fill the listener's backlog");
    pollfd p{fd, POLLOUT, 0};
    if (::poll(&p, 1, 200) == 0) return;  // unanswered: the queue is full
  }
  throw std::runtime_error("the listener's backlog never filled");
}

FullBacklogListener::~FullBacklogListener() {
  for (const int fd : fillers_) ::close(fd);
  if (listener_ >= 0) ::close(listener_);
}

std::string sha256_of_file_range(const std::string& path, std::uint64_t offset, std::uint64_t length) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error("cannot open " + path);
  Sha256 sha;
  std::vector<char> block(1 << 20);
  while (length > 0) {
    const ssize_t n = ::pread(fd, block.data(), std::min<std::uint64_t>(block.size(), length), static_cast<off_t>(offset));
    if (n <= 0) break;
    sha.update(block.data(), static_cast<std::size_t>(n));
    offset += static_cast<std::uint64_t>(n);
    length -= static_cast<std::uint64_t>(n);
  }
  ::close(fd);
  return sha.hex_digest();
}

}  // namespace schedulo::test
