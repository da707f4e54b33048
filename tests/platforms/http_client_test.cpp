// The HTTP client over real sockets against tests/support's Beast server on 127.0.0.1 (label
// `http`): responses, keep-alive, the pool cap, deadlines at each step, resets, body caps, uploads
// from a buffer or a file range, redirects (downloads only).
#include <gtest/gtest.h>

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <vector>

#include "common/event.hpp"
#include "platforms/http/client.hpp"
#include "tests/support/http_server.hpp"
#include "tests/support/run.hpp"

namespace schedulo::http {
namespace {

using namespace std::chrono_literals;
using test::HttpTestServer;
using test::ServerReply;
using test::ServerRequest;

ClientOptions loopback_allowed(std::size_t cap = 16) {
  ClientOptions options;
  options.policy = *AddressPolicy::from_entries({"127.0.0.0/8", "::1"}).policy;
  options.max_connections_per_origin = cap;
  return options;
}

Request get(const std::string& url) {
  Request request;
  request.url = url;
  return request;
}

ServerReply ok(std::string body) {
  ServerReply reply;
  reply.body = std::move(body);
  return reply;
}

Result<Response> fetch(boost::asio::io_context& io, HttpClient& client, const Request& request) {
  return test::run_for(io, client.request(request), 30s);
}

// One request on a client of its own.
Result<Response> fetch_once(const Request& request) {
  boost::asio::io_context io;  // outlives the client
  HttpClient client(loopback_allowed());
  return fetch(io, client, request);
}

ServerReply misbehave(ServerReply::Action action) {
  ServerReply reply = ok(std::string(10000, 'b'));
  reply.action = action;
  reply.stall_after = 100;
  return reply;
}

void expect_timeout(const Result<Response>& result, std::string_view step) {
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::timeout);
  EXPECT_NE(result.error().message.find(step), std::string::npos) << result.error().message;
}

TEST(HttpClient, GetReturnsStatusHeadersAndBodyWithHeadersFoundInAnyCase) {
  HttpTestServer server([](const ServerRequest& r) {
    ServerReply reply = ok("hello " + r.target);
    reply.status = 201;
    reply.headers = {{"X-Rate-Limit-Remaining", "42"}};
    return reply;
  });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  auto response = fetch(io, client, get(server.url("/path?q=1")));
  ASSERT_TRUE(response) << response.error().message;
  EXPECT_EQ(response->status, 201);
  EXPECT_EQ(response->body, "hello /path?q=1");
  EXPECT_EQ(response->headers.get("x-rate-limit-remaining"), "42");
  EXPECT_EQ(response->headers.get("X-RATE-LIMIT-REMAINING"), "42");
}

TEST(HttpClient, SecondRequestReusesTheKeptAliveConnection) {
  HttpTestServer server([](const ServerRequest&) { return ok("x"); });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  auto first = fetch(io, client, get(server.url("/a")));
  auto second = fetch(io, client, get(server.url("/b")));
  ASSERT_TRUE(first && second);
  EXPECT_FALSE(first->reused_connection);
  EXPECT_TRUE(second->reused_connection);
  EXPECT_EQ(server.connections(), 1u);
  EXPECT_EQ(server.requests(), 2u);
}

TEST(HttpClient, IdleConnectionClosedByTheServerIsReplacedNotUsed) {
  HttpTestServer server([](const ServerRequest&) {
    ServerReply reply = ok("x");
    reply.action = ServerReply::Action::respond_then_drop;
    return reply;
  });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  ASSERT_TRUE(fetch(io, client, get(server.url("/a"))));
  auto second = fetch(io, client, get(server.url("/b")));
  ASSERT_TRUE(second) << second.error().message;
  EXPECT_EQ(server.connections(), 2u);
}

TEST(HttpClient, PoolCapLimitsOpenConnectionsAndQueuesTheRestUntilOneIsFree) {
  HttpTestServer server([](const ServerRequest&) { return ok("x"); });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed(2));
  constexpr int kRequests = 8;
  auto all = [&]() -> net::awaitable<int> {
    net::Countdown running(co_await net::asio::this_coro::executor, kRequests);
    int succeeded = 0;
    for (int i = 0; i < kRequests; ++i)
      net::asio::co_spawn(
          io,
          [&, i]() -> net::awaitable<void> {
            auto r = co_await client.request(get(server.url("/" + std::to_string(i))));
            if (r && r->status == 200) ++succeeded;
            running.done();
          },
          net::asio::detached);
    co_await running.wait();
    co_return succeeded;
  };
  EXPECT_EQ(test::run_for(io, all(), 30s), kRequests);
  EXPECT_EQ(server.connections(), 2u);
  EXPECT_LE(server.max_open(), 2u);
  EXPECT_GE(client.pool_stats().waited, 1u);
}

TEST(HttpClient, WaitingForAFullPoolEndsAtTheRequestDeadline) {
  HttpTestServer server([](const ServerRequest& r) {
    ServerReply reply;
    if (r.target == "/hold") reply.action = ServerReply::Action::stall_before_headers;
    return reply;
  });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed(1));
  auto both = [&]() -> net::awaitable<Result<Response>> {
    Request hold = get(server.url("/hold"));
    hold.timeouts.headers = 10s;
    net::asio::co_spawn(
        io, [&]() -> net::awaitable<void> { co_await client.request(hold); }, net::asio::detached);
    Request waiter = get(server.url("/next"));
    waiter.timeouts.total = 300ms;
    auto result = co_await client.request(waiter);
    co_return result;
  };
  auto result = test::run_for(io, both(), 30s);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::timeout);
  EXPECT_NE(result.error().message.find("waiting for a free connection"), std::string::npos) << result.error().message;
}

TEST(HttpClient, ConnectTimesOutAgainstAListenerWithAFullBacklog) {
  test::FullBacklogListener listener;
  Request request = get("http://127.0.0.1:" + std::to_string(listener.port()) + "/");
  request.timeouts.connect = 300ms;
  expect_timeout(fetch_once(request), "timed out connecting to 127.0.0.1:");
}

TEST(HttpClient, HeadersStepTimesOutWhenTheServerNeverAnswers) {
  HttpTestServer server([](const ServerRequest&) { return misbehave(ServerReply::Action::stall_before_headers); });
  Request request = get(server.url());
  request.timeouts.headers = 300ms;
  expect_timeout(fetch_once(request), "timed out waiting for the response headers");
}

TEST(HttpClient, BodyStepTimesOutWhenTheBodyStopsMidway) {
  HttpTestServer server([](const ServerRequest&) { return misbehave(ServerReply::Action::stall_mid_body); });
  Request request = get(server.url());
  request.timeouts.body = 300ms;
  expect_timeout(fetch_once(request), "timed out reading the response body");
}

TEST(HttpClient, TotalDeadlineBoundsTheRequestWhateverTheStepLimits) {
  HttpTestServer server([](const ServerRequest&) { return misbehave(ServerReply::Action::stall_before_headers); });
  Request request = get(server.url());
  request.timeouts.total = 300ms;  // headers keeps its 30 s default
  expect_timeout(fetch_once(request), "timed out");
}

TEST(HttpClient, ResetConnectionIsANetworkErrorWorthRetrying) {
  HttpTestServer server([](const ServerRequest&) { return misbehave(ServerReply::Action::reset); });
  auto result = fetch_once(get(server.url()));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::network) << result.error().message;
  EXPECT_FALSE(result.error().permanent());
}

TEST(HttpClient, ResponseLargerThanItsCapIsTooLarge) {
  HttpTestServer server([](const ServerRequest&) { return ok(std::string(5000, 'z')); });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  Request request = get(server.url());
  request.max_response_bytes = 4999;
  auto result = fetch(io, client, request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::too_large);
  request.max_response_bytes = 5000;
  auto exact = fetch(io, client, request);
  ASSERT_TRUE(exact) << exact.error().message;
  EXPECT_EQ(exact->body.size(), 5000u);
}

TEST(HttpClient, ChunkedBodyIsReadWholeAndCappedWithoutAContentLength) {
  HttpTestServer server([](const ServerRequest&) {
    ServerReply reply = ok(std::string(5000, 'c'));
    reply.chunked = true;
    return reply;
  });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  auto whole = fetch(io, client, get(server.url()));
  ASSERT_TRUE(whole) << whole.error().message;
  EXPECT_EQ(whole->body, std::string(5000, 'c'));
  EXPECT_FALSE(whole->headers.contains("content-length"));
  Request capped = get(server.url());
  capped.max_response_bytes = 4000;
  auto result = fetch(io, client, capped);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::too_large);
}

TEST(HttpClient, HeadResponseHasNoBodyAndLeavesTheConnectionReusable) {
  HttpTestServer server([](const ServerRequest&) { return ok(std::string(5000, 'h')); });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  Request head = get(server.url());
  head.method = "HEAD";
  auto result = fetch(io, client, head);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(result->headers.get("Content-Length"), "5000");
  EXPECT_EQ(result->body, "");
  auto next = fetch(io, client, get(server.url()));
  ASSERT_TRUE(next) << next.error().message;
  EXPECT_EQ(next->body.size(), 5000u);
  EXPECT_EQ(server.connections(), 1u);
}

TEST(HttpClient, BufferBodyArrivesWithItsContentLength) {
  std::atomic<std::uint64_t> length{0};
  std::string seen;
  HttpTestServer server([&](const ServerRequest& r) {
    length = std::stoull(r.header("content-length"));
    seen = r.body;
    return ok("done");
  });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  Request request = get(server.url("/upload"));
  request.method = "POST";
  request.headers.set("Content-Type", "application/json");
  request.body = std::string(R"({"caption":"hello"})");
  auto result = fetch(io, client, request);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(length, 19u);
  EXPECT_EQ(seen, R"({"caption":"hello"})");
}

TEST(HttpClient, FileRangeBodyIsExactlyThoseBytesOfTheFile) {
  test::TempDir dir;
  std::string content;
  for (int i = 0; i < 300'000; ++i) content += static_cast<char>('a' + i % 26);
  std::ofstream(dir.file("media.bin"), std::ios::binary) << content;
  std::string body;
  HttpTestServer server([&](const ServerRequest& r) {
    body = r.body;
    return ok("");
  });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  Request request = get(server.url("/chunk"));
  request.method = "PUT";
  request.body = FileRange{dir.file("media.bin"), 70'001, 150'000};
  auto result = fetch(io, client, request);
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(body, content.substr(70'001, 150'000));
}

TEST(HttpClient, FileRangeBeyondTheEndOfTheFileIsRefusedBeforeSending) {
  test::TempDir dir;
  std::ofstream(dir.file("small.bin")) << "0123456789";
  HttpTestServer server([](const ServerRequest&) { return ok(""); });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  Request request = get(server.url());
  request.method = "PUT";
  request.body = FileRange{dir.file("small.bin"), 5, 6};
  auto result = fetch(io, client, request);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::io);
  EXPECT_EQ(server.requests(), 0u);
}

// --- downloads and redirects ---

class Download : public ::testing::Test {
 protected:
  Result<Response> download(HttpClient& client, const std::string& url, DownloadOptions options = {}) {
    const int fd = ::open(dir_.file("out").c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    auto result = test::run_for(io_, client.download(url, fd, options), 30s);
    ::close(fd);
    return result;
  }
  std::string written() const {
    std::ifstream in(dir_.file("out"), std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  test::TempDir dir_;
  boost::asio::io_context io_;
};

ServerReply redirect(int status, std::string location) {
  ServerReply reply = ok("moved");
  reply.status = status;
  reply.headers = {{"Location", std::move(location)}};
  return reply;
}

TEST_F(Download, FollowsRedirectsAndWritesOnlyTheFinalBody) {
  HttpTestServer server([](const ServerRequest& r) {
    if (r.target == "/a") return redirect(302, "/b");
    if (r.target == "/b") return redirect(307, "c?x=1");
    return ok("final body");
  });
  HttpClient client(loopback_allowed());
  auto result = download(client, server.url("/a"));
  ASSERT_TRUE(result) << result.error().message;
  EXPECT_EQ(written(), "final body");
  EXPECT_EQ(result->url, server.url("/c?x=1"));
  EXPECT_EQ(server.requests(), 3u);
}

TEST_F(Download, StopsAfterTheRedirectLimit) {
  HttpTestServer server([](const ServerRequest&) { return redirect(301, "/again"); });
  HttpClient client(loopback_allowed());
  DownloadOptions options;
  options.max_redirects = 3;
  auto result = download(client, server.url("/start"), options);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::too_many_redirects);
  EXPECT_EQ(server.requests(), 4u);
}

TEST_F(Download, RedirectToAPrivateAddressIsRefused) {
  HttpTestServer server([](const ServerRequest&) { return redirect(302, "http://10.0.0.7/secret"); });
  HttpClient client(loopback_allowed());
  auto result = download(client, server.url("/start"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::refused_address) << result.error().message;
}

TEST(HttpClient, RequestReturnsARedirectWithoutFollowingIt) {
  HttpTestServer server([](const ServerRequest&) { return redirect(302, "/elsewhere"); });
  boost::asio::io_context io;
  HttpClient client(loopback_allowed());
  auto result = fetch(io, client, get(server.url("/start")));
  ASSERT_TRUE(result);
  EXPECT_EQ(result->status, 302);
  EXPECT_EQ(server.requests(), 1u);
}

TEST_F(Download, NotFoundIsAPermanentHttpStatusError) {
  HttpTestServer server([](const ServerRequest&) {
    ServerReply reply = ok("no");
    reply.status = 404;
    return reply;
  });
  HttpClient client(loopback_allowed());
  auto result = download(client, server.url("/missing"));
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::http_status);
  EXPECT_EQ(result.error().status, 404);
  EXPECT_TRUE(result.error().permanent());
}

TEST_F(Download, ReportsProgressEndingWithTheWholeSize) {
  HttpTestServer server([](const ServerRequest&) { return ok(std::string(300'000, 'p')); });
  HttpClient client(loopback_allowed());
  std::vector<std::uint64_t> seen;
  std::optional<std::uint64_t> total;
  DownloadOptions options;
  options.progress_step = 100'000;
  options.progress = [&](std::uint64_t received, std::optional<std::uint64_t> declared) {
    seen.push_back(received);
    total = declared;
  };
  auto result = download(client, server.url("/big"), options);
  ASSERT_TRUE(result) << result.error().message;
  ASSERT_GE(seen.size(), 3u);
  EXPECT_TRUE(std::is_sorted(seen.begin(), seen.end()));
  EXPECT_EQ(seen.back(), 300'000u);
  EXPECT_EQ(total, 300'000u);
}

TEST_F(Download, DeclaredLengthOverTheCapFailsBeforeTheBodyIsRead) {
  HttpTestServer server([](const ServerRequest&) { return ok(std::string(200'000, 'q')); });
  HttpClient client(loopback_allowed());
  DownloadOptions options;
  options.max_bytes = 1000;
  auto result = download(client, server.url("/big"), options);
  ASSERT_FALSE(result);
  EXPECT_EQ(result.error().kind, ErrorKind::too_large);
  EXPECT_EQ(written(), "");
}

}  // namespace
}  // namespace schedulo::http
