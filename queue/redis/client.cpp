#include "queue/redis/client.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <deque>
#include <random>

#include "common/deadline.hpp"
#include "common/log.hpp"
#include "queue/redis/stream.hpp"

namespace schedulo::redis {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Handler = asio::any_completion_handler<void(net::error_code, std::vector<Value>)>;

namespace {

constexpr std::size_t kReadChunk = 64 * 1024;
constexpr std::size_t kMaxBuffersPerWrite = 1024;  // bounds one gather-write; the rest goes next turn
constexpr auto kIdleTickerWait = std::chrono::hours(24);

bool cancelled(const asio::cancellation_state& state) { return state.cancelled() != asio::cancellation_type::none; }

// One "name:value" line of an INFO reply; empty when absent or the reply is not INFO text.
std::string info_field(const Value& reply, std::string_view name) {
  if (reply.is_error()) return {};
  const std::string& text = reply.str;
  for (std::size_t at = 0; at < text.size();) {
    auto end = text.find('\n', at);
    if (end == std::string::npos) end = text.size();
    std::string_view line(text.data() + at, end - at);
    if (line.ends_with('\r')) line.remove_suffix(1);
    if (line.size() > name.size() && line.starts_with(name) && line[name.size()] == ':')
      return std::string(line.substr(name.size() + 1));
    at = end + 1;
  }
  return {};
}

}  // namespace

struct Pending {
  std::string payload;
  std::size_t expected = 1;
  std::vector<Value> replies;
  Clock::time_point deadline;
  Handler handler;  // empty once completed (or cancelled by the caller)
  bool done() const { return !handler; }
};
using PendingPtr = std::shared_ptr<Pending>;

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  Impl(const net::Executor& ex, ClientOptions opts)
      : executor(ex), options(std::move(opts)), tls_context(asio::ssl::context::tls_client),
        writer_wake(ex), ticker_wake(ex), rng(std::random_device{}()) {
    if (options.url.mode == RedisUrl::Mode::tls) {
      tls_context.set_default_verify_paths();
      if (!options.tls_ca_file.empty()) tls_context.load_verify_file(options.tls_ca_file);  // throws at start-up
    }
    log::register_secret(options.url.password);
    log::register_secret(options.url.sentinel_password);
  }

  net::Executor executor;
  ClientOptions options;
  asio::ssl::context tls_context;
  std::unique_ptr<Stream> stream;
  std::deque<PendingPtr> unsent;
  std::deque<PendingPtr> inflight;
  net::Timer writer_wake;
  net::Timer ticker_wake;
  bool writer_idle = false;
  bool ticker_idle = false;
  bool connected = false;
  bool stopped = false;
  bool started = false;
  bool stuck = false;           // the deadline ticker closed an unresponsive connection
  bool lost_primary = false;    // a READONLY reply: the server was demoted (sentinel failover)
  net::error_code connection_error;
  ClientStats stats;
  std::mt19937_64 rng;
  asio::cancellation_signal stop_signal;

  // ---- completion -------------------------------------------------------------------------------
  void complete(Pending& p, net::error_code ec) {
    if (!p.handler) return;
    // Move construction only: Boost 1.81's any_completion_handler move-assignment recurses forever.
    Handler h(std::move(p.handler));
    asio::get_associated_cancellation_slot(h).clear();
    std::vector<Value> replies = ec ? std::vector<Value>{} : std::move(p.replies);
    // Posted, never run inline: the reader loop must not resume a caller inside its own stack. The
    // client and its callers share one executor (see client.hpp), so this is the handler's executor.
    asio::post(executor, [h = std::move(h), ec, replies = std::move(replies)]() mutable {
      std::move(h)(ec, std::move(replies));
    });
  }

  void fail_all(std::deque<PendingPtr>& queue, net::error_code ec) {
    for (auto& p : queue) complete(*p, ec);
    queue.clear();
  }

  // ---- submission -------------------------------------------------------------------------------
  void submit(PendingPtr p) {
    if (stopped) {
      complete(*p, Errc::stopped);
      return;
    }
    unsent.push_back(std::move(p));
    if (connected && writer_idle) {
      writer_idle = false;
      writer_wake.cancel();
    }
    if (ticker_idle) {
      ticker_idle = false;
      ticker_wake.cancel();
    }
  }

  // ---- connection loops -------------------------------------------------------------------------
  net::awaitable<void> reader(Stream& s) {
    std::vector<char> buffer(kReadChunk);
    ReplyReader replies;
    for (;;) {
      auto [ec, n] = co_await s.read_some(asio::buffer(buffer));
      if (ec) {
        connection_error = ec;
        co_return;
      }
      if (!replies.feed(buffer.data(), n)) {
        connection_error = Errc::protocol_error;
        co_return;
      }
      bool bad = false;
      while (auto value = replies.next(bad)) {
        if (inflight.empty()) {
          bad = true;
          break;
        }
        if (options.url.mode == RedisUrl::Mode::sentinel && value->is_error_kind("READONLY"))
          lost_primary = true;
        Pending& p = *inflight.front();
        p.replies.push_back(std::move(*value));
        if (p.replies.size() == p.expected) {
          complete(p, {});
          inflight.pop_front();
        }
      }
      if (bad) {
        connection_error = Errc::protocol_error;
        co_return;
      }
      if (lost_primary) {
        connection_error = asio::error::connection_reset;
        co_return;
      }
    }
  }

  net::awaitable<void> writer(Stream& s) {
    std::vector<PendingPtr> batch;
    std::vector<asio::const_buffer> buffers;
    for (;;) {
      while (!unsent.empty()) {
        batch.clear();
        buffers.clear();
        while (!unsent.empty() && buffers.size() < kMaxBuffersPerWrite) {
          PendingPtr p = std::move(unsent.front());
          unsent.pop_front();
          if (p->done()) continue;  // the caller gave up before it was sent
          buffers.emplace_back(p->payload.data(), p->payload.size());
          inflight.push_back(p);  // before the write: a reply may arrive while we still write
          batch.push_back(std::move(p));
        }
        if (buffers.empty()) continue;
        auto [ec, n] = co_await s.write(buffers);
        for (auto& p : batch) std::string().swap(p->payload);
        if (ec) {
          connection_error = ec;
          co_return;
        }
      }
      writer_idle = true;
      writer_wake.expires_at(Clock::time_point::max());
      co_await writer_wake.async_wait();
      writer_idle = false;
      if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
    }
  }

  // Completes calls whose deadline passed; closes a connection whose oldest reply is overdue, since
  // replies come in order and everything behind it waits too.
  net::awaitable<void> deadline_ticker() {
    const auto tick = std::clamp<Clock::duration>(options.command_timeout / 10, std::chrono::milliseconds(5),
                                                   std::chrono::milliseconds(200));
    for (;;) {
      if (unsent.empty() && inflight.empty()) {
        ticker_idle = true;
        ticker_wake.expires_after(kIdleTickerWait);
      } else {
        ticker_wake.expires_after(tick);
      }
      co_await ticker_wake.async_wait();
      ticker_idle = false;
      if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
      const auto now = Clock::now();
      for (auto& p : unsent)
        if (!p->done() && p->deadline <= now) complete(*p, connected ? Errc::timeout : Errc::not_connected);
      std::erase_if(unsent, [](const PendingPtr& p) { return p->done(); });
      if (stream && !inflight.empty() && inflight.front()->deadline <= now) {
        stuck = true;
        stream->close();
      }
    }
  }

  net::awaitable<Reply> roundtrip(Stream& s, const std::string& payload) {
    const std::vector<asio::const_buffer> request{asio::buffer(payload)};
    auto [wec, wn] = co_await s.write(request);
    if (wec) co_return wec;
    ReplyReader replies;
    std::vector<char> buffer(4096);
    for (;;) {
      auto [ec, n] = co_await s.read_some(asio::buffer(buffer));
      if (ec) co_return ec;
      if (!replies.feed(buffer.data(), n)) co_return Errc::protocol_error;
      bool bad = false;
      if (auto v = replies.next(bad)) co_return std::move(*v);
      if (bad) co_return Errc::protocol_error;
    }
  }

  net::awaitable<Reply> ask_sentinels() {
    std::string last_problem = "no sentinel configured";
    for (const auto& sentinel : options.url.endpoints) {
      Stream s(executor, nullptr);
      auto step = [&]() -> net::awaitable<Reply> {
        if (auto ec = co_await s.open(sentinel.host, sentinel.port)) co_return ec;
        if (!options.url.sentinel_password.empty()) {
          auto auth = co_await roundtrip(s, format_command("AUTH", options.url.sentinel_password));
          if (!auth || auth->is_error()) co_return Errc::handshake_failed;
        }
        co_return co_await roundtrip(s, format_command("SENTINEL", "get-master-addr-by-name", options.url.master_name));
      };
      auto r = co_await net::with_timeout(step(), options.connect_timeout);
      s.close();
      if (!r) {
        last_problem = sentinel.host + ":" + std::to_string(sentinel.port) + " timed out";
        continue;
      }
      if (!*r) {
        last_problem = sentinel.host + ":" + std::to_string(sentinel.port) + ": " + r->error().message();
        continue;
      }
      const Value& v = r->value();
      if (v.is_array() && v.elements.size() == 2) co_return v;
      last_problem = sentinel.host + ":" + std::to_string(sentinel.port) + " does not know master \"" +
                     options.url.master_name + "\" (" + describe(v) + ")";
    }
    log::warn("redis: sentinels named no primary: {}", last_problem);
    co_return Errc::no_primary;
  }

  // One connection attempt: find the server, connect, TLS, AUTH, SELECT, name, role check.
  net::awaitable<net::error_code> connect_once() {
    std::string host;
    std::uint16_t port = 0;
    if (options.url.mode == RedisUrl::Mode::sentinel) {
      auto primary = co_await ask_sentinels();
      if (!primary) co_return primary.error();
      host = primary->elements[0].str;
      const auto p = primary->elements[1].as_integer();
      if (!p || *p <= 0 || *p > 65535) co_return Errc::protocol_error;
      port = static_cast<std::uint16_t>(*p);
    } else {
      host = options.url.endpoints.front().host;
      port = options.url.endpoints.front().port;
    }
    stats.endpoint = host + ":" + std::to_string(port);
    auto s = std::make_unique<Stream>(executor, options.url.mode == RedisUrl::Mode::tls ? &tls_context : nullptr);
    std::string server_id;
    auto handshake = [&]() -> net::awaitable<net::error_code> {
      if (auto ec = co_await s->open(host, port)) co_return ec;
      // Sent one by one so a refused AUTH is reported as such, not as a later NOAUTH.
      std::vector<std::string> commands;
      if (!options.url.password.empty())
        commands.push_back(options.url.username.empty()
                               ? format_command("AUTH", options.url.password)
                               : format_command("AUTH", options.url.username, options.url.password));
      if (options.url.db != 0) commands.push_back(format_command("SELECT", std::to_string(options.url.db)));
      if (options.url.mode == RedisUrl::Mode::sentinel) commands.push_back(format_command("ROLE"));
      for (const auto& command : commands) {
        auto r = co_await roundtrip(*s, command);
        if (!r) co_return r.error();
        if (r->is_error()) {
          log::warn("redis: handshake with {} refused: {}", stats.endpoint, r->str);
          co_return Errc::handshake_failed;
        }
        if (r->is_array()) {  // ROLE
          if (r->elements.empty() || r->elements[0].str != "master") {
            log::warn("redis: {} is not the primary (yet); asking the sentinels again", stats.endpoint);
            co_return Errc::no_primary;
          }
        }
      }
      // The server's identity (ClientStats::server_id). A server that refuses INFO (ACL, renamed
      // command) is still usable; only the limiter's hold-back after a failover is lost.
      static constexpr std::pair<const char*, const char*> kIdentity[] = {{"server", "run_id"},
                                                                          {"replication", "master_replid"}};
      std::string id;
      for (const auto& [section, name] : kIdentity) {
        const auto command = format_command("INFO", section);
        auto r = co_await roundtrip(*s, command);
        if (!r) co_return r.error();
        const auto field = info_field(*r, name);
        if (field.empty()) {
          id.clear();
          break;
        }
        id += (id.empty() ? "" : ":") + field;
      }
      if (id.empty()) log::warn("redis: {} does not tell its run_id and master_replid (INFO)", stats.endpoint);
      server_id = std::move(id);
      co_return net::error_code{};
    };
    auto r = co_await net::with_timeout(handshake(), options.connect_timeout);
    if (!r || *r) {
      s->close();
      co_return r ? *r : net::error_code(Errc::timeout);
    }
    stream = std::move(s);
    stats.server_id = std::move(server_id);
    co_return net::error_code{};
  }

  Clock::duration backoff(unsigned attempt) {
    // Full jitter over a capped exponential: a fleet reconnecting after an outage spreads out.
    const auto cap = std::min<Clock::duration>(options.reconnect_max,
                                                options.reconnect_min * (1LL << std::min(attempt, 16u)));
    std::uniform_int_distribution<Clock::rep> pick(options.reconnect_min.count() > 0 ? Clock::duration(options.reconnect_min).count() / 2 : 0,
                                                   cap.count());
    return Clock::duration(pick(rng));
  }

  net::awaitable<void> supervise() {
    using namespace boost::asio::experimental::awaitable_operators;
    unsigned failures = 0;
    net::Timer wait(executor);
    for (;;) {
      const auto ec = co_await connect_once();
      if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
      if (ec) {
        ++stats.failed_connects;
        if (failures == 0 || failures % 20 == 0)
          log::warn("redis: cannot connect to {} ({}): {}; retrying", options.url.redacted(),
                    stats.endpoint, ec.message());
        ++failures;
        wait.expires_after(backoff(failures));
        co_await wait.async_wait();
        if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
        continue;
      }
      if (failures > 0 || stats.connects > 0) log::info("redis: connected to {}", stats.endpoint);
      failures = 0;
      ++stats.connects;
      connected = true;
      stats.connected_since = Clock::now();
      stuck = false;
      lost_primary = false;
      connection_error = {};
      co_await (reader(*stream) || writer(*stream));
      connected = false;
      stats.connected_since = Clock::time_point::max();
      stats.server_id.clear();
      stream->close();
      // Replies to these will never come: their effect is unknown to the caller.
      fail_all(inflight, stuck ? net::error_code(Errc::timeout) : net::error_code(Errc::connection_lost));
      const bool stopping = cancelled(co_await asio::this_coro::cancellation_state) || stopped;
      stream.reset();
      if (stopping) co_return;
      ++stats.lost_connections;
      log::warn("redis: connection to {} lost: {}", stats.endpoint,
                stuck ? std::string("no reply before the deadline") : connection_error.message());
      ++failures;
      wait.expires_after(backoff(0));
      co_await wait.async_wait();
      if (cancelled(co_await asio::this_coro::cancellation_state)) co_return;
    }
  }
};

Client::Client(const net::Executor& executor, ClientOptions options)
    : impl_(std::make_shared<Impl>(executor, std::move(options))) {}

Client::~Client() { stop(); }

void Client::start() {
  if (impl_->started) return;
  impl_->started = true;
  using namespace boost::asio::experimental::awaitable_operators;
  auto self = impl_;
  asio::co_spawn(
      impl_->executor,
      [self]() -> net::awaitable<void> { co_await (self->supervise() || self->deadline_ticker()); },
      asio::bind_cancellation_slot(impl_->stop_signal.slot(), asio::detached));
}

void Client::stop() {
  auto& impl = *impl_;
  if (impl.stopped) return;
  impl.stopped = true;
  impl.stop_signal.emit(asio::cancellation_type::terminal);
  if (impl.stream) impl.stream->close();
  impl.fail_all(impl.unsent, Errc::stopped);
  impl.fail_all(impl.inflight, Errc::stopped);
}

bool Client::connected() const { return impl_->connected; }
ClientStats Client::stats() const { return impl_->stats; }
const std::string& Client::server_id() const {
  return impl_->stats.server_id;
}
std::uint64_t Client::connects() const {
  return impl_->stats.connects;
}
const ClientOptions& Client::options() const { return impl_->options; }

net::awaitable<Replies> Client::submit(std::string payload, std::size_t replies, std::chrono::milliseconds timeout) {
  auto p = std::make_shared<Pending>();
  p->payload = std::move(payload);
  p->expected = replies;
  p->deadline = Clock::now() + (timeout.count() > 0 ? timeout : impl_->options.command_timeout);
  // The initiation holds plain pointers: `p` lives in this frame until the handler runs, and the
  // client outlives its calls. (GCC 12 may destroy a temporary inside a co_await operand twice, so a
  // by-value shared_ptr capture there would be released twice.)
  Impl* impl = impl_.get();
  std::weak_ptr<Impl> weak_impl = impl_;
  std::weak_ptr<Pending> weak_p = p;
  auto initiation = [impl, raw = p.get(), weak_impl, weak_p](auto handler) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
      slot.assign([weak_impl, weak_p](asio::cancellation_type) {
        auto i = weak_impl.lock();
        auto pending = weak_p.lock();
        // A sent command still gets its reply read and dropped; an unsent one is never sent.
        if (i && pending) i->complete(*pending, asio::error::operation_aborted);
      });
    }
    Handler wrapped(std::move(handler));
    raw->handler.swap(wrapped);  // not operator=: see complete()
    impl->submit(weak_p.lock());
  };
  auto [ec, values] = co_await asio::async_initiate<decltype(net::use_tuple), void(net::error_code, std::vector<Value>)>(
      std::move(initiation), net::use_tuple);
  if (ec) co_return ec;
  co_return std::move(values);
}

net::awaitable<Reply> Client::submit_one(std::string payload, std::chrono::milliseconds timeout) {
  auto r = co_await submit(std::move(payload), 1, timeout);
  if (!r) co_return r.error();
  co_return std::move(r->front());
}

net::awaitable<Reply> Client::exec_args(const Args& args, std::chrono::milliseconds timeout) {
  std::string payload;
  append_command(payload, std::vector<std::string_view>(args.begin(), args.end()));
  return submit_one(std::move(payload), timeout);
}

net::awaitable<Replies> Client::pipeline(const std::vector<Args>& commands) {
  std::string payload;
  for (const auto& c : commands) append_command(payload, std::vector<std::string_view>(c.begin(), c.end()));
  if (commands.empty()) {
    return []() -> net::awaitable<Replies> { co_return std::vector<Value>{}; }();
  }
  return submit(std::move(payload), commands.size(), {});
}

net::awaitable<Reply> Client::eval(const Script& script, Args keys, Args args) {
  auto build = [&](std::string_view verb, std::string_view body) {
    std::vector<std::string_view> argv{verb, body};
    const std::string numkeys = std::to_string(keys.size());
    argv.push_back(numkeys);
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    std::string payload;
    append_command(payload, argv);
    return payload;
  };
  auto reply = co_await submit_one(build("EVALSHA", script.sha1()), {});
  if (reply && reply->is_error_kind("NOSCRIPT")) reply = co_await submit_one(build("EVAL", script.source()), {});
  co_return reply;
}

std::string reply_error_text(const Reply& reply) {
  if (!reply) return reply.error().message();
  if (reply->is_error()) return reply->str;
  return {};
}

}  // namespace schedulo::redis
