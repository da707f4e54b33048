#pragma once
// The byte stream under a Redis connection: plain TCP or TLS over TCP, behind one small interface so
// the client's loops do not care which.
#include <boost/asio/ssl.hpp>

#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "common/net.hpp"

namespace schedulo::redis {

class Stream {
 public:
  // tls_context null: plain TCP.
  Stream(const net::Executor& executor, boost::asio::ssl::context* tls_context);

  net::Tcp::socket& socket();
  // Resolves and connects; then, for TLS, handshakes with SNI and host-name verification.
  net::awaitable<net::error_code> open(const std::string& host, std::uint16_t port);
  net::awaitable<std::tuple<net::error_code, std::size_t>> read_some(boost::asio::mutable_buffer buffer);
  net::awaitable<std::tuple<net::error_code, std::size_t>> write(const std::vector<boost::asio::const_buffer>& buffers);
  // Closing the socket cancels every pending read and write.
  void close();

 private:
  std::optional<net::Tcp::socket> plain_;
  std::optional<boost::asio::ssl::stream<net::Tcp::socket>> tls_;
};

}  // namespace schedulo::redis
