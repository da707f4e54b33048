#pragma once
// Asio vocabulary for the whole project: the default completion token is as_tuple(use_awaitable), so
// every asynchronous call reads `auto [ec, n] = co_await op(...)` and errors stay values inside I/O.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace schedulo::net {

namespace asio = boost::asio;
using error_code = boost::system::error_code;

inline constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
using DefaultToken = asio::as_tuple_t<asio::use_awaitable_t<>>;
using Executor = asio::any_io_executor;
using Tcp = asio::ip::tcp;
using TcpSocket = DefaultToken::as_default_on_t<Tcp::socket>;
using TcpResolver = DefaultToken::as_default_on_t<Tcp::resolver>;
using Timer = DefaultToken::as_default_on_t<asio::steady_timer>;

template <typename T = void>
using awaitable = asio::awaitable<T>;

}  // namespace schedulo::net
