// The HTTP client's figures, printed as BENCH lines (scripts/bench http). The server is
// tests/support's Beast server on 127.0.0.1, on its own thread in this process; the client runs on
// the main thread, as in the daemon (one io_context).
//
//   http_bench [--requests N] [--dir DIR] [--stream-gib G] [--range-bytes R]
//
// Cases:
//   keepalive  N small GETs with 1, 50 and 500 in flight (the pool cap equals the in-flight count, so
//              every request has a kept-alive connection): requests/s, p50 and p99 latency
//   stream     a G GiB sparse file PUT as R-byte ranges (default 2 GiB in 64 MB ranges): MB/s and the
//              peak RSS of the whole process above its idle RSS (VmHWM after clear_refs), target < 16 MiB
#include <fcntl.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "common/event.hpp"
#include "platforms/http/client.hpp"
#include "tests/support/http_server.hpp"

using namespace schedulo;
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  long requests = 20000;
  std::string dir = "/tmp";
  std::uint64_t stream_bytes = std::uint64_t{2} << 30;
  std::uint64_t range_bytes = 64'000'000;
};

// kB of a /proc/self/status line ("VmRSS:", "VmHWM:").
long status_kib(const std::string& key) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind(key, 0) == 0) return std::atol(line.c_str() + key.size());
  return -1;
}

http::ClientOptions loopback(std::size_t cap) {
  http::ClientOptions o;
  o.policy = *http::AddressPolicy::from_entries({"127.0.0.1"}).policy;
  o.max_connections_per_origin = cap;
  return o;
}

void keepalive_case(const test::HttpTestServer& server, long total, int inflight) {
  boost::asio::io_context io(1);
  http::HttpClient client(loopback(static_cast<std::size_t>(inflight)));
  std::vector<double> latencies;
  latencies.reserve(static_cast<std::size_t>(total));
  long failed = 0;
  long next = 0;
  const std::string url = server.url("/small");
  Clock::time_point t0;
  auto worker = [&](net::Countdown& running) -> net::awaitable<void> {
    http::Request request;
    request.url = url;
    while (next < total) {
      ++next;
      const auto start = Clock::now();
      auto r = co_await client.request(request);
      latencies.push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
      if (!r || r->status != 200) ++failed;
    }
    running.done();
  };
  boost::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    {  // warm-up: open the connections first, so the figures are about keep-alive
      net::Countdown warm(io.get_executor(), inflight);
      const long saved = total;
      total = inflight;
      for (int i = 0; i < inflight; ++i) boost::asio::co_spawn(io, worker(warm), boost::asio::detached);
      co_await warm.wait();
      total = saved;
      next = 0;
      latencies.clear();
      failed = 0;
    }
    t0 = Clock::now();
    net::Countdown running(io.get_executor(), inflight);
    for (int i = 0; i < inflight; ++i) boost::asio::co_spawn(io, worker(running), boost::asio::detached);
    co_await running.wait();
  }, boost::asio::detached);
  io.run();
  const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  std::sort(latencies.begin(), latencies.end());
  const auto pct = [&](double p) {
    return latencies.empty() ? 0.0 : latencies[static_cast<std::size_t>(p * static_cast<double>(latencies.size() - 1))];
  };
  std::printf("BENCH http keepalive inflight=%d requests=%zu failed=%ld connections_opened=%zu seconds=%.3f "
              "req_per_s=%.0f p50_us=%.0f p99_us=%.0f\n",
              inflight, latencies.size(), failed, client.pool_stats().opened, seconds,
              static_cast<double>(latencies.size()) / seconds, pct(0.50), pct(0.99));
}

int stream_case(const test::HttpTestServer& server, const Options& o) {
  const std::string path = o.dir + "/schedulo-http-bench-" + std::to_string(::getpid()) + ".bin";
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0 || ::ftruncate(fd, static_cast<off_t>(o.stream_bytes)) != 0) {
    std::fprintf(stderr, "http_bench: cannot make the sparse file %s\n", path.c_str());
    return 1;
  }
  ::close(fd);
  boost::asio::io_context io(1);
  http::HttpClient client(loopback(4));
  long failed = 0;
  long idle_kib = 0;
  double seconds = 0;
  boost::asio::co_spawn(io, [&]() -> net::awaitable<void> {
    http::Request request;
    request.method = "PUT";
    request.url = server.url("/upload");
    request.body = http::FileRange{path, 0, std::min<std::uint64_t>(o.range_bytes, o.stream_bytes)};
    co_await client.request(request);  // warm-up: connection, TLS-free buffers, allocator arenas
    idle_kib = status_kib("VmRSS:");
    std::ofstream("/proc/self/clear_refs") << "5";  // resets VmHWM to the current RSS
    const auto t0 = Clock::now();
    for (std::uint64_t offset = 0; offset < o.stream_bytes; offset += o.range_bytes) {
      request.body = http::FileRange{path, offset, std::min(o.range_bytes, o.stream_bytes - offset)};
      auto r = co_await client.request(request);
      if (!r || r->status != 200) ++failed;
    }
    seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  }, boost::asio::detached);
  io.run();
  const long peak_kib = status_kib("VmHWM:");
  ::unlink(path.c_str());
  std::printf("BENCH http stream bytes=%llu range_bytes=%llu failed=%ld seconds=%.3f mb_per_s=%.0f rss_idle_kib=%ld "
              "rss_peak_kib=%ld peak_above_idle_mib=%.2f target_mib=16\n",
              static_cast<unsigned long long>(o.stream_bytes), static_cast<unsigned long long>(o.range_bytes), failed,
              seconds, static_cast<double>(o.stream_bytes) / 1e6 / seconds, idle_kib, peak_kib,
              static_cast<double>(peak_kib - idle_kib) / 1024.0);
  return failed == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--requests") o.requests = std::atol(argv[i + 1]);
    else if (k == "--dir") o.dir = argv[i + 1];
    else if (k == "--stream-gib") o.stream_bytes = static_cast<std::uint64_t>(std::atof(argv[i + 1]) * (1 << 30));
    else if (k == "--range-bytes") o.range_bytes = std::strtoull(argv[i + 1], nullptr, 10);
  }
  test::HttpTestServer server([](const test::ServerRequest&) {
    test::ServerReply reply;
    reply.body = std::string(64, 'x');
    return reply;
  });
  for (const int inflight : {1, 50, 500}) keepalive_case(server, o.requests, inflight);
  return stream_case(server, o);
}
