// common/http_server in-process: routing, limits, deadlines and keep-alive, seen by a plain socket
// client.
#include "common/http_server.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "tests/support/sandbox_process.hpp"

namespace schedulo::test {
namespace {

using server::Request;
using server::Response;

net::awaitable<Response> answer(Response r) { co_return r; }

// A server with a few routes on its own io_context thread.
class HttpServer : public ::testing::Test {
 protected:
  void SetUp() override {
    server::Router router;
    router.add("GET", "/items/{id}", [](Request& r) {
      return answer(Response::text(200, r.params["id"] + "|" + r.query_param("q").value_or("-")));
    });
    router.add("POST", "/echo", [](Request& r) { return answer(Response::text(200, r.body)); });
    router.add("GET", "/files/*", [](Request& r) { return answer(Response::text(200, "rest=" + r.params["*"])); });
    router.add("GET", "/stuck", [](Request&) -> net::awaitable<Response> {
      net::Timer never(co_await net::asio::this_coro::executor);
      never.expires_after(std::chrono::hours(1));
      co_await never.async_wait();  // cancelled by the handler deadline
      co_return Response::text(200, "late");
    });
    router.add("GET", "/throws", [](Request&) -> net::awaitable<Response> {
      throw std::runtime_error("handler bug");
      co_return Response::text(200, "unreachable");
    });
    server::ServerOptions options;
    options.body_limit = 1024;
    options.handler_timeout = std::chrono::milliseconds(200);
    server_ = std::make_unique<server::Server>(io_.get_executor(), std::move(router), options);
    ASSERT_FALSE(server_->listen("127.0.0.1", 0));
    server_->start();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    net::asio::post(io_, [this] { server_->stop(); });
    io_.stop();
    thread_.join();
    server_.reset();
  }
  std::uint16_t port() const { return server_->port(); }

  net::asio::io_context io_;
  std::unique_ptr<server::Server> server_;
  std::thread thread_;
};

TEST_F(HttpServer, RoutesCaptureDecodedSegmentsAndQuery) {
  const auto reply = http(port(), "GET", "/items/a%20b?q=x%2By+z");
  EXPECT_EQ(reply.status, 200);
  EXPECT_EQ(reply.body, "a b|x+y z");
  EXPECT_EQ(http(port(), "GET", "/files/a/b%20c").body, "rest=a/b c");
  EXPECT_EQ(http(port(), "GET", "/nowhere").status, 404);
  EXPECT_EQ(http(port(), "POST", "/items/1").status, 404) << "the method is part of the route";
}

TEST_F(HttpServer, BodiesOverTheLimitAre413) {
  EXPECT_EQ(http(port(), "POST", "/echo", std::string(1024, 'x')).body.size(), 1024u);
  const auto reply = http(port(), "POST", "/echo", std::string(5000, 'x'));
  EXPECT_EQ(reply.status, 413);
}

TEST_F(HttpServer, MalformedRequestsAre400) {
  HttpConnection connection(port());
  const auto reply = connection.raw("NOT HTTP AT ALL\r\n\r\n");
  EXPECT_EQ(reply.status, 400);
}

TEST_F(HttpServer, HandlerPastItsDeadlineIsAnswered503) {
  EXPECT_EQ(http(port(), "GET", "/stuck").status, 503);
}

TEST_F(HttpServer, HandlerExceptionIsAnswered500AndTheServerGoesOn) {
  EXPECT_EQ(http(port(), "GET", "/throws").status, 500);
  EXPECT_EQ(http(port(), "GET", "/items/1").status, 200);
}

TEST_F(HttpServer, KeepAliveAndHeadOnOneConnection) {
  HttpConnection connection(port());
  EXPECT_EQ(connection.request("POST", "/echo", "one").body, "one");
  const auto head = connection.request("HEAD", "/items/7");
  EXPECT_EQ(head.status, 200);
  EXPECT_EQ(head.content_length, 3u) << "HEAD announces the GET body's length";
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(connection.request("POST", "/echo", "two").body, "two");
}

TEST(PercentDecode, KeepsMalformedEscapesAndDecodesPlusOnlyInQueries) {
  EXPECT_EQ(server::percent_decode("a%2Fb%zz%4", false), "a/b%zz%4");
  EXPECT_EQ(server::percent_decode("a+b", false), "a+b");
  EXPECT_EQ(server::percent_decode("a+b", true), "a b");
  const auto q = server::parse_query("fields%5B%5D=A&fields%5B%5D=B&flag&x=");
  ASSERT_EQ(q.size(), 4u);
  EXPECT_EQ(q[0], (std::pair<std::string, std::string>{"fields[]", "A"}));
  EXPECT_EQ(q[2], (std::pair<std::string, std::string>{"flag", ""}));
}

}  // namespace
}  // namespace schedulo::test
