// The generic HTTP server (apps/server/http_server.h) in this process, with a test route table.
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "http_client.h"
#include "http_server.h"

namespace csml::e2e {
namespace {

using server::HttpServer;
using server::Request;
using server::Response;
using server::Router;
using server::ServerOptions;

Router TestRoutes() {
  Router router;
  router.Add("POST", "/echo", [](const Request& r) {
    Response response;
    response.content_type = "text/plain";
    response.body = std::string(r.body) + "|" + std::string(r.query) + "|" +
                    std::string(r.Header("x-test").value_or("-"));
    return response;
  });
  router.Add("GET", "/echo", [](const Request&) { return server::DetailResponse(200, "get"); });
  router.Add("GET", "/throw",
             [](const Request&) -> Response { throw std::runtime_error("handler bug"); });
  return router;
}

class HttpServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.max_body_bytes = 1000;
    auto started = HttpServer::Start(options, TestRoutes());
    ASSERT_TRUE(started.has_value()) << started.error().message;
    server_ = std::move(*started);
  }
  void TearDown() override { server_.reset(); }

  HttpRequestSpec Spec(std::string method, std::string path, std::string body = "") {
    HttpRequestSpec spec;
    spec.method = std::move(method);
    spec.path = std::move(path);
    spec.body = std::move(body);
    spec.content_type = std::nullopt;
    return spec;
  }

  std::unique_ptr<HttpServer> server_;
};

TEST_F(HttpServerTest, BindsAnEphemeralPortOnEveryThread) {
  EXPECT_GT(server_->port(), 0);
  EXPECT_EQ(server_->threads(), 2);
  EXPECT_EQ(server_->host(), "127.0.0.1");
}

TEST_F(HttpServerTest, PassesBodyQueryAndHeadersToTheHandler) {
  HttpRequestSpec spec = Spec("POST", "/echo?a=1&b=2", "hello");
  spec.headers = {{"X-Test", "yes"}};
  auto r = Fetch(server_->port(), spec);
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->Header("content-type").value_or(""), "text/plain");
  EXPECT_EQ(r->body, "hello|a=1&b=2|yes");
}

TEST_F(HttpServerTest, AnswersUnknownPathsAndMethodsInFastApisWords) {
  auto missing = Fetch(server_->port(), Spec("GET", "/nope"));
  ASSERT_TRUE(missing.has_value());
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(missing->body, R"({"detail":"Not Found"})");
  auto wrong = Fetch(server_->port(), Spec("DELETE", "/echo"));
  ASSERT_TRUE(wrong.has_value());
  EXPECT_EQ(wrong->status, 405);
  EXPECT_EQ(wrong->body, R"({"detail":"Method Not Allowed"})");
  EXPECT_EQ(wrong->Header("allow").value_or(""), "POST, GET, HEAD");
}

TEST_F(HttpServerTest, RefusesABodyAboveTheLimitWithJson) {
  auto r = Fetch(server_->port(), Spec("POST", "/echo", std::string(1001, 'x')));
  ASSERT_TRUE(r.has_value()) << r.error().message;
  EXPECT_EQ(r->status, 413);
  EXPECT_EQ(r->Header("content-type").value_or(""), "application/json");
  EXPECT_EQ(r->body, R"({"detail":"Request body exceeds the limit of 1000 bytes"})");
  auto at_limit = Fetch(server_->port(), Spec("POST", "/echo", std::string(1000, 'x')));
  ASSERT_TRUE(at_limit.has_value());
  EXPECT_EQ(at_limit->status, 200);
}

TEST_F(HttpServerTest, RefusesCompressedBodies) {
  HttpRequestSpec spec = Spec("POST", "/echo", "x");
  spec.headers = {{"Content-Encoding", "br"}};
  auto r = Fetch(server_->port(), spec);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 415);
  spec.headers = {{"Content-Encoding", "identity"}};
  auto identity = Fetch(server_->port(), spec);
  ASSERT_TRUE(identity.has_value());
  EXPECT_EQ(identity->status, 200);
}

TEST_F(HttpServerTest, TurnsAHandlerExceptionInto500AndKeepsServing) {
  auto r = Fetch(server_->port(), Spec("GET", "/throw"));
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->status, 500);
  EXPECT_EQ(r->body, R"({"detail":"Internal Server Error"})");
  auto next = Fetch(server_->port(), Spec("GET", "/echo"));
  ASSERT_TRUE(next.has_value());
  EXPECT_EQ(next->status, 200);
}

TEST_F(HttpServerTest, KeepsConnectionsAliveAcrossRequests) {
  auto conn = HttpConnection::Connect(server_->port());
  ASSERT_TRUE(conn.has_value());
  for (int i = 0; i < 20; ++i) {
    auto r = conn->Send(Spec("POST", "/echo", std::to_string(i)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->body, std::to_string(i) + "||-");
  }
  EXPECT_FALSE(conn->peer_closed());
}

TEST_F(HttpServerTest, StopsAcceptingAndClosesIdleConnectionsPromptly) {
  auto idle = HttpConnection::Connect(server_->port());
  ASSERT_TRUE(idle.has_value());
  ASSERT_TRUE(idle->Send(Spec("GET", "/echo")).has_value());
  const int port = server_->port();
  const auto started = std::chrono::steady_clock::now();
  server_->Stop();
  server_->Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_FALSE(HttpConnection::Connect(port, std::chrono::milliseconds(500)).has_value());
  server_.reset();
}

TEST_F(HttpServerTest, RefusesAPortAnotherServerHolds) {
  // SO_REUSEPORT would let a second server share the port silently; it must fail instead.
  ServerOptions options;
  options.port = server_->port();
  options.threads = 1;
  auto second = HttpServer::Start(options, TestRoutes());
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kIo);
  EXPECT_NE(second.error().message.find(std::to_string(server_->port())), std::string::npos)
      << second.error().message;
}

TEST(ServerOptions, RefusesValuesOutsideTheirRanges) {
  EXPECT_TRUE(ServerOptions{}.Validate());
  ServerOptions bad_port;
  bad_port.port = 70000;
  EXPECT_FALSE(bad_port.Validate());
  ServerOptions bad_threads;
  bad_threads.threads = -1;
  EXPECT_FALSE(bad_threads.Validate());
  ServerOptions bad_body;
  bad_body.max_body_bytes = 0;
  EXPECT_FALSE(bad_body.Validate());
  ServerOptions bad_host;
  bad_host.host = "";
  EXPECT_FALSE(bad_host.Validate());
}

TEST(HttpServerStart, ReportsAHostItCannotResolve) {
  ServerOptions options;
  options.host = "no-such-host.invalid";
  options.port = 0;
  auto started = HttpServer::Start(options, Router{});
  ASSERT_FALSE(started.has_value());
  EXPECT_NE(started.error().message.find("no-such-host.invalid"), std::string::npos);
}

}  // namespace
}  // namespace csml::e2e
