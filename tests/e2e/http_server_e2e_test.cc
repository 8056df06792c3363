// The generic HTTP server (apps/server/http_server.h) in this process, with a test route table.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "http_client.h"
#include "http_server.h"

namespace csml::e2e {
namespace {

using server::HttpServer;
using server::Request;
using server::Responder;
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

// Completes deferred requests on its own threads, as a reload or a model load would.
class Completer {
 public:
  explicit Completer(int threads) {
    for (int i = 0; i < threads; ++i) workers_.emplace_back([this] { Run(); });
  }
  ~Completer() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    ready_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }
  Completer(const Completer&) = delete;
  Completer& operator=(const Completer&) = delete;

  // Answers "deferred:<body>", or drops the responder unanswered when `drop`.
  void Post(Responder responder, std::string body, bool drop) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      jobs_.push_back(Job{std::move(responder), std::move(body), drop});
    }
    ready_.notify_one();
  }

 private:
  struct Job {
    Responder responder;
    std::string body;
    bool drop = false;
  };

  void Run() {
    for (;;) {
      Job job;
      {
        std::unique_lock<std::mutex> lock(mu_);
        ready_.wait(lock, [this] { return done_ || !jobs_.empty(); });
        if (jobs_.empty()) return;
        job = std::move(jobs_.front());
        jobs_.pop_front();
      }
      if (job.drop) continue;  // the Responder's destructor answers 500
      Response response;
      response.content_type = "text/plain";
      response.body = "deferred:" + job.body;
      job.responder.Send(std::move(response));
    }
  }

  std::mutex mu_;
  std::condition_variable ready_;
  std::deque<Job> jobs_;
  bool done_ = false;
  std::vector<std::thread> workers_;
};

class DeferredAnswerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    Router router;
    router.Add("POST", "/defer", [this](const Request& r) {
      Responder responder = r.Defer();
      if (!responder) return server::DetailResponse(500, "no responder");
      completer_.Post(std::move(responder), std::string(r.body), r.query == "drop");
      return server::DeferredResponse();
    });
    // Completed on the loop thread before the handler returns: delivered all the same.
    router.Add("POST", "/defer-inline", [](const Request& r) {
      Responder responder = r.Defer();
      Response response;
      response.content_type = "text/plain";
      response.body = "inline:" + std::string(r.body);
      responder.Send(std::move(response));
      return server::DeferredResponse();
    });
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    auto started = HttpServer::Start(options, std::move(router));
    ASSERT_TRUE(started.has_value()) << started.error().message;
    server_ = std::move(*started);
  }
  void TearDown() override { server_.reset(); }

  static HttpRequestSpec Post(std::string path, std::string body) {
    HttpRequestSpec spec;
    spec.method = "POST";
    spec.path = std::move(path);
    spec.body = std::move(body);
    spec.content_type = std::nullopt;
    return spec;
  }

  Completer completer_{3};  // declared first: it outlives the server, which drains into it
  std::unique_ptr<HttpServer> server_;
};

TEST_F(DeferredAnswerTest, ManyAnswersCompletedOnOtherThreadsEachReachTheirRequest) {
  constexpr int kClients = 6;
  constexpr int kRequestsEach = 40;
  std::vector<std::vector<std::string>> failures(kClients);
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([this, c, &failures] {
      auto conn = HttpConnection::Connect(server_->port());
      if (!conn) {
        failures[c].push_back("connect: " + conn.error().message);
        return;
      }
      for (int i = 0; i < kRequestsEach; ++i) {
        const std::string body = std::to_string(c) + "-" + std::to_string(i);
        auto r = conn->Send(Post("/defer", body));
        if (!r) {
          failures[c].push_back(body + ": " + r.error().message);
          return;
        }
        if (r->status != 200 || r->body != "deferred:" + body) {
          failures[c].push_back(body + ": " + std::to_string(r->status) + " " + r->body);
        }
      }
    });
  }
  for (std::thread& client : clients) client.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_TRUE(failures[c].empty()) << "client " << c << ": " << failures[c].front();
  }
}

TEST_F(DeferredAnswerTest, ConcurrentRequestsOnSeparateConnectionsAllGetTheirOwnAnswer) {
  // Many requests waiting at once, so answers are completed while others are queued.
  constexpr int kRequests = 64;
  std::vector<HttpConnection> conns;
  for (int i = 0; i < kRequests; ++i) {
    auto conn = HttpConnection::Connect(server_->port());
    ASSERT_TRUE(conn.has_value()) << conn.error().message;
    conns.push_back(std::move(*conn));
  }
  std::vector<Result<HttpResponse>> answers(kRequests, MakeError(ErrorCode::kIo, "not sent"));
  std::vector<std::thread> clients;
  for (int i = 0; i < kRequests; ++i) {
    clients.emplace_back(
        [&, i] { answers[i] = conns[i].Send(Post("/defer", "n" + std::to_string(i))); });
  }
  for (std::thread& client : clients) client.join();
  for (int i = 0; i < kRequests; ++i) {
    ASSERT_TRUE(answers[i].has_value()) << i << ": " << answers[i].error().message;
    EXPECT_EQ(answers[i]->status, 200);
    EXPECT_EQ(answers[i]->body, "deferred:n" + std::to_string(i));
  }
}

TEST_F(DeferredAnswerTest, AnAnswerCompletedInsideTheHandlerIsDelivered) {
  auto conn = HttpConnection::Connect(server_->port());
  ASSERT_TRUE(conn.has_value());
  for (int i = 0; i < 10; ++i) {
    auto r = conn->Send(Post("/defer-inline", std::to_string(i)));
    ASSERT_TRUE(r.has_value()) << r.error().message;
    EXPECT_EQ(r->status, 200);
    EXPECT_EQ(r->body, "inline:" + std::to_string(i));
  }
}

TEST_F(DeferredAnswerTest, AResponderDroppedUnansweredGives500AndTheConnectionGoesOn) {
  auto conn = HttpConnection::Connect(server_->port());
  ASSERT_TRUE(conn.has_value());
  auto dropped = conn->Send(Post("/defer?drop", "x"));
  ASSERT_TRUE(dropped.has_value()) << dropped.error().message;
  EXPECT_EQ(dropped->status, 500);
  EXPECT_EQ(dropped->body, R"({"detail":"Internal Server Error"})");
  auto next = conn->Send(Post("/defer", "y"));
  ASSERT_TRUE(next.has_value()) << next.error().message;
  EXPECT_EQ(next->body, "deferred:y");
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
