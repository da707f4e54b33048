// Pipelined throughput of our Redis client, printed as BENCH lines. scripts/bench runs redis-benchmark
// against the same server in the same run and prints the ratio.
//
//   redis_bench --url redis://127.0.0.1:PORT/0 [--commands N] [--depth D] [--callers C]
//
// Cases:
//   batch     one caller, pipeline() batches of D commands back to back (redis-benchmark -P D, -c 1)
//   callers   C coroutines each issuing single commands with at most D in flight per coroutine
//             batch; the client pipelines them on one connection (auto-pipelining)
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "common/event.hpp"
#include "common/log.hpp"
#include "queue/redis/client.hpp"

using namespace schedulo;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  std::string url = "redis://127.0.0.1:6379/0";
  long commands = 1000000;
  int depth = 16;
  int callers = 50;
};

net::awaitable<long> batch_case(redis::Client& client, const Options& o) {
  std::vector<redis::Args> batch;
  batch.reserve(static_cast<std::size_t>(o.depth));
  for (int i = 0; i < o.depth; ++i) batch.push_back({"SET", "bench:key:" + std::to_string(i), "xxx"});
  long done = 0, failed = 0;
  while (done < o.commands) {
    auto r = co_await client.pipeline(batch);
    if (!r) ++failed;
    done += o.depth;
  }
  co_return failed;
}

net::awaitable<void> caller(redis::Client& client, long count, long& failed, net::Countdown& running) {
  const std::string key = "bench:caller:" + std::to_string(running.remaining());
  for (long i = 0; i < count; ++i) {
    auto r = co_await client.exec("SET", key, "xxx");
    if (!r || r->is_error()) ++failed;
  }
  running.done();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--url") o.url = argv[i + 1];
    else if (k == "--commands") o.commands = std::atol(argv[i + 1]);
    else if (k == "--depth") o.depth = std::atoi(argv[i + 1]);
    else if (k == "--callers") o.callers = std::atoi(argv[i + 1]);
  }
  log::init(log::Format::text, spdlog::level::warn);
  std::string error;
  auto url = redis::parse_redis_url(o.url, error);
  if (!url) {
    std::fprintf(stderr, "redis_bench: --url: %s\n", error.c_str());
    return 2;
  }
  boost::asio::io_context io(1);
  redis::ClientOptions options;
  options.url = *url;
  options.command_timeout = std::chrono::seconds(30);
  redis::Client client(io.get_executor(), options);
  client.start();

  int status = 0;
  boost::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    auto warm = co_await client.exec("PING");
    if (!warm || warm->is_error()) {
      std::fprintf(stderr, "redis_bench: cannot reach %s\n", o.url.c_str());
      status = 1;
      client.stop();
      co_return;
    }
    {
      const auto t0 = Clock::now();
      const long failed = co_await batch_case(client, o);
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("BENCH redis batch commands=%ld depth=%d failed=%ld seconds=%.3f ops_per_s=%.0f\n", o.commands,
                  o.depth, failed, s, static_cast<double>(o.commands) / s);
    }
    {
      long failed = 0;
      auto ex = co_await boost::asio::this_coro::executor;
      net::Countdown running(ex, o.callers);
      const long per = o.commands / o.callers;
      const auto t0 = Clock::now();
      for (int c = 0; c < o.callers; ++c) boost::asio::co_spawn(ex, caller(client, per, failed, running), boost::asio::detached);
      co_await running.wait();
      const double s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::printf("BENCH redis callers commands=%ld callers=%d failed=%ld seconds=%.3f ops_per_s=%.0f\n",
                  per * o.callers, o.callers, failed, s, static_cast<double>(per * o.callers) / s);
    }
    client.stop();
  }, boost::asio::detached);
  io.run();
  return status;
}
