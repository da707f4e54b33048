// schedulo-limiter-client: one "daemon" of the shared-bucket test and benchmark. It runs `callers`
// coroutines that each, until the deadline, take a slot from the fleet's rate limiter (Redis) for one
// bucket and then GET the URL with the daemon's HTTP client. Several of these processes share the
// bucket; the server they call counts what arrives.
//
//   schedulo-limiter-client --redis URL --prefix P --url URL --limit N --period-ms MS [--burst B]
//       [--margin-ms MS] [--callers C] [--duration-ms MS] [--max-wait-ms MS] [--start-at-ms EPOCH_MS]
//
// Prints one line at the end: LIMITER granted=.. refused=.. ok=.. failed=.. redis_errors=..
#include <CLI/CLI.hpp>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

#include "common/event.hpp"
#include "common/rfc3339.hpp"
#include "platforms/http/client.hpp"
#include "queue/rate_limiter.hpp"
#include "queue/redis/client.hpp"

using namespace schedulo;
using std::chrono::milliseconds;

namespace {

struct Counts {
  long granted = 0, refused = 0, ok = 0, failed = 0, redis_errors = 0;
};

net::awaitable<void> sleep_for(milliseconds d) {
  net::Timer t(co_await net::asio::this_coro::executor);
  t.expires_after(d);
  co_await t.async_wait();
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"one daemon of the shared rate-limit bucket test"};
  std::string redis_url, prefix, url;
  long long limit = 50, period_ms = 1000, burst = 0, margin_ms = 20, duration_ms = 5000, max_wait_ms = 2000;
  long long start_at_ms = 0;
  int callers = 10;
  app.add_option("--redis", redis_url)->required();
  app.add_option("--prefix", prefix)->required();
  app.add_option("--url", url)->required();
  app.add_option("--limit", limit);
  app.add_option("--period-ms", period_ms);
  app.add_option("--burst", burst);
  app.add_option("--margin-ms", margin_ms);
  app.add_option("--callers", callers);
  app.add_option("--duration-ms", duration_ms);
  app.add_option("--max-wait-ms", max_wait_ms);
  app.add_option("--start-at-ms", start_at_ms, "wall-clock epoch ms to start at (lines the processes up)");
  CLI11_PARSE(app, argc, argv);

  std::string error;
  redis::ClientOptions ro;
  auto parsed = redis::parse_redis_url(redis_url, error);
  if (!parsed) {
    std::cerr << "bad --redis: " << error << "\n";
    return 2;
  }
  ro.url = *parsed;
  boost::asio::io_context io(1);
  redis::Client client(io.get_executor(), ro);
  client.start();
  queue::LimiterOptions lo;
  lo.margin = milliseconds(margin_ms);
  queue::RateLimiter limiter(client, queue::Keys(prefix), lo);
  http::ClientOptions ho;
  ho.policy = *http::AddressPolicy::from_entries({"127.0.0.1"}).policy;
  ho.max_connections_per_origin = static_cast<std::size_t>(callers);
  http::HttpClient http_client(ho);
  const std::vector<queue::Bucket> buckets{
      {"bench", "app", "shared", queue::BucketLimit{limit, milliseconds(period_ms), burst}}};

  if (start_at_ms > 0) {
    const auto ahead = start_at_ms - now_epoch_ms();
    if (ahead > 0) std::this_thread::sleep_for(milliseconds(ahead));
  }
  Counts counts;
  const auto deadline = std::chrono::steady_clock::now() + milliseconds(duration_ms);
  net::Countdown done(io.get_executor(), callers);
  for (int i = 0; i < callers; ++i) {
    net::asio::co_spawn(
        io,
        [&]() -> net::awaitable<void> {
          http::Request request;
          request.url = url;
          request.timeouts.total = milliseconds(5000);
          while (std::chrono::steady_clock::now() < deadline) {
            auto permit = co_await limiter.acquire(buckets, milliseconds(max_wait_ms));
            if (!permit) {
              ++counts.redis_errors;
              co_await sleep_for(milliseconds(50));
              continue;
            }
            if (!permit->granted) {
              ++counts.refused;  // a daemon would defer the job; here the caller waits and asks again
              co_await sleep_for(permit->wait);
              continue;
            }
            ++counts.granted;
            auto response = co_await http_client.request(request);
            if (response && response->ok())
              ++counts.ok;
            else
              ++counts.failed;
          }
          done.done();
        },
        net::asio::detached);
  }
  net::asio::co_spawn(
      io,
      [&]() -> net::awaitable<void> {
        co_await done.wait();
        client.stop();
      },
      net::asio::detached);
  io.run();
  std::printf("LIMITER granted=%ld refused=%ld ok=%ld failed=%ld redis_errors=%ld\n", counts.granted, counts.refused,
              counts.ok, counts.failed, counts.redis_errors);
  return 0;
}
