#include "queue/redis/stream.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/write.hpp>

namespace schedulo::redis {

namespace asio = boost::asio;

Stream::Stream(const net::Executor& executor, asio::ssl::context* tls_context) {
  if (tls_context)
    tls_.emplace(executor, *tls_context);
  else
    plain_.emplace(executor);
}

net::Tcp::socket& Stream::socket() { return tls_ ? tls_->next_layer() : *plain_; }

net::awaitable<net::error_code> Stream::open(const std::string& host, std::uint16_t port) {
  net::Tcp::resolver resolver(co_await asio::this_coro::executor);
  auto [rec, endpoints] = co_await resolver.async_resolve(host, std::to_string(port), net::use_tuple);
  if (rec) co_return rec;
  auto [cec, endpoint] = co_await asio::async_connect(socket(), endpoints, net::use_tuple);
  if (cec) co_return cec;
  net::error_code ignored;
  socket().set_option(net::Tcp::no_delay(true), ignored);  // small pipelined commands must not wait
  if (tls_) {
    net::error_code not_ip;
    asio::ip::make_address(host, not_ip);
    // SNI carries names only (RFC 6066); an IP literal is verified against the certificate's IP SANs.
    if (not_ip && !SSL_ctrl(tls_->native_handle(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                            const_cast<char*>(host.c_str())))
      co_return net::error_code(static_cast<int>(::ERR_get_error()), asio::error::get_ssl_category());
    tls_->set_verify_mode(asio::ssl::verify_peer);
    tls_->set_verify_callback(asio::ssl::host_name_verification(host));
    auto [hec] = co_await tls_->async_handshake(asio::ssl::stream_base::client, net::use_tuple);
    if (hec) co_return hec;
  }
  co_return net::error_code{};
}

net::awaitable<std::tuple<net::error_code, std::size_t>> Stream::read_some(asio::mutable_buffer buffer) {
  if (tls_) co_return co_await tls_->async_read_some(buffer, net::use_tuple);
  co_return co_await plain_->async_read_some(buffer, net::use_tuple);
}

net::awaitable<std::tuple<net::error_code, std::size_t>> Stream::write(
    const std::vector<asio::const_buffer>& buffers) {
  if (tls_) co_return co_await asio::async_write(*tls_, buffers, net::use_tuple);
  co_return co_await asio::async_write(*plain_, buffers, net::use_tuple);
}

void Stream::close() {
  net::error_code ignored;
  socket().shutdown(net::Tcp::socket::shutdown_both, ignored);
  socket().close(ignored);
}

}  // namespace schedulo::redis
