#pragma once
// The Redis client every daemon part shares: one pipelined connection on Asio, RESP through hiredis,
// coroutine API. Commands from many coroutines are written back to back and their replies matched in
// order. The client reconnects with capped, jittered back-off; it follows a Sentinel failover by asking
// the sentinels again whenever the connection fails or the server says it is no longer the primary.
//
// Guarantees to a caller: every call completes, with a reply or an error code (errors.hpp), by its
// deadline; nothing blocks the event loop. A command that could not be written waits for the next
// connection until its deadline. A command written on a connection that then failed completes with
// connection_lost: whether it took effect is unknown.
//
// Threading: a Client lives on one executor (one io_context thread); call it only from there.
#include <boost/system/result.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/net.hpp"
#include "queue/redis/errors.hpp"
#include "queue/redis/redis_url.hpp"
#include "queue/redis/resp.hpp"
#include "queue/redis/script.hpp"
#include "queue/redis/value.hpp"

namespace schedulo::redis {

using Reply = boost::system::result<Value>;
using Replies = boost::system::result<std::vector<Value>>;
using Args = std::vector<std::string>;

struct ClientOptions {
  RedisUrl url;
  std::chrono::milliseconds connect_timeout{3000};  // resolve + connect + TLS + handshake, per try
  std::chrono::milliseconds command_timeout{5000};  // from the call until its reply
  std::chrono::milliseconds reconnect_min{25};
  std::chrono::milliseconds reconnect_max{2000};
  std::string tls_ca_file;  // extra trust anchors for rediss://
  std::string client_name = "schedulo";
};

struct ClientStats {
  std::uint64_t connects = 0;           // successful connections, the first included
  std::uint64_t failed_connects = 0;    // tries that did not come up
  std::uint64_t lost_connections = 0;   // connections that failed after coming up
  std::string endpoint;                 // host:port of the current or last server
  // When the current connection came up; time_point::max() while there is none.
  std::chrono::steady_clock::time_point connected_since = std::chrono::steady_clock::time_point::max();
  // Who the current server is: "<run_id>:<master_replid>" from INFO at connect; empty while there is
  // no connection or when INFO is refused. It changes when the server restarts or a replica is
  // promoted: the moments writes not yet on disk or on the replica may have been lost (the rate
  // limiter holds its buckets back then, queue/lua/rate_acquire.lua).
  std::string server_id;
};

class Client {
 public:
  Client(const net::Executor& executor, ClientOptions options);
  ~Client();
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  void start();
  // Fails every waiting call with Errc::stopped and closes the connection.
  void stop();
  bool connected() const;
  ClientStats stats() const;
  // Cheap reads of two stats for hot paths: ClientStats::server_id and ::connects (which counts
  // connections, so a change tells that a command may have run on another server than the one
  // server_id named when it was built).
  const std::string& server_id() const;
  std::uint64_t connects() const;
  const ClientOptions& options() const;

  // co_await client.exec("SET", key, value). Arguments are binary-safe string views, formatted at the
  // call, so temporaries need not outlive it.
  template <typename... A>
  net::awaitable<Reply> exec(const A&... args) {
    return submit_one(format_command(args...), {});
  }
  net::awaitable<Reply> exec_args(const Args& args, std::chrono::milliseconds timeout = {});
  // One write for all commands; the replies in order. A command's Redis error is a Value, not a
  // failure of the whole pipeline.
  net::awaitable<Replies> pipeline(const std::vector<Args>& commands);
  // EVALSHA, falling back to EVAL when the server lost its script cache (restart, SCRIPT FLUSH).
  net::awaitable<Reply> eval(const Script& script, Args keys, Args args);

 private:
  net::awaitable<Reply> submit_one(std::string payload, std::chrono::milliseconds timeout);
  net::awaitable<Replies> submit(std::string payload, std::size_t replies, std::chrono::milliseconds timeout);

  struct Impl;
  std::shared_ptr<Impl> impl_;
};

// "ERR ..." text of an error reply or the message of an error code, for logs and job errors.
std::string reply_error_text(const Reply& reply);

}  // namespace schedulo::redis
