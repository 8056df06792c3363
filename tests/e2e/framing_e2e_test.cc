// HTTP framing that cannot be smuggled and the parser's own rejections as JSON: raw bytes
// against the HTTP server in this process (a route that counts its calls shows that no
// smuggled request ever runs) and against `csml serve` for the access log.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "framing.h"
#include "http_metrics.h"
#include "http_server.h"
#include "serve_fixture.h"

namespace csml::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using server::HttpServer;
using server::Request;
using server::Response;
using server::Router;
using server::ServerOptions;

// What one connection received: all bytes until the server closed it (or the deadline).
struct Exchange {
  std::string received;
  bool closed = false;  // the server ended the connection (EOF or reset)
  int send_errno = 0;
};

// Sends `bytes` (from a second thread, so a server that answers early cannot block it) and
// reads until the server ends its side; then waits for the writer to finish (a server that
// closes by lingering reads the rest, one that stops reading fails the send within 2 s).
Exchange SendAndReadToClose(int port, const std::string& bytes,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  Exchange out;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    if (fd >= 0) close(fd);
    out.send_errno = errno;
    return out;
  }
  const timeval send_timeout{2, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  std::thread writer([&] {
    std::size_t sent = 0;
    while (sent < bytes.size()) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
      if (n <= 0) {
        out.send_errno = errno;
        return;
      }
      sent += static_cast<std::size_t>(n);
    }
  });
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (poll(&p, 1, 20) <= 0) continue;
    char chunk[8192];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n > 0) {
      out.received.append(chunk, static_cast<std::size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      out.closed = true;
      break;
    }
  }
  writer.join();
  close(fd);
  return out;
}

int CountOf(const std::string& text, const std::string& what) {
  int n = 0;
  for (std::size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) {
    ++n;
  }
  return n;
}

class FramingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    router_.Add("POST", "/echo", [](const Request& r) {
      Response response;
      response.content_type = "text/plain";
      response.body =
          std::string(r.body) + "|" + std::string(r.query) + "|" + std::string(r.authority);
      return response;
    });
    router_.Add("GET", "/echo", [](const Request&) { return server::DetailResponse(200, "ok"); });
    // The action a smuggled request aims at.
    router_.Add("POST", "/admin/count", [this](const Request&) {
      counted_.fetch_add(1);
      return server::DetailResponse(200, "counted");
    });
    ServerOptions options;
    options.port = 0;
    options.threads = 2;
    options.max_body_bytes = 1000;
    auto started = HttpServer::Start(options, router_, server::ServerObservers{&metrics_, nullptr});
    ASSERT_TRUE(started.has_value()) << started.error().message;
    server_ = std::move(*started);
  }
  void TearDown() override { server_.reset(); }

  int port() const { return server_->port(); }

  double Requests(const std::string& route, int status) const {
    std::string text;
    metrics_.AppendPrometheus(&text);
    return MetricValue(text, fmt::format(R"(csml_http_requests_total{{route="{}",status="{}"}})",
                                         route, status))
        .value_or(0);
  }

  // Checks one exchange was answered with exactly one JSON error and a closed connection.
  void ExpectOneJsonErrorAndClose(const Exchange& e, int status) {
    EXPECT_TRUE(e.closed) << e.received;
    EXPECT_TRUE(e.received.starts_with(fmt::format("HTTP/1.1 {} ", status))) << e.received;
    EXPECT_EQ(CountOf(e.received, "HTTP/1.1 "), 1) << e.received;
    EXPECT_NE(e.received.find("\r\nConnection: close\r\n"), std::string::npos) << e.received;
    EXPECT_NE(e.received.find("\r\ncontent-type: application/json\r\n"), std::string::npos)
        << e.received;
    EXPECT_NE(e.received.find("\r\n\r\n{\"detail\":\""), std::string::npos) << e.received;
    EXPECT_TRUE(e.received.ends_with("\"}")) << e.received;
  }

  Router router_;
  std::atomic<int> counted_{0};
  server::HttpMetrics metrics_;
  std::unique_ptr<HttpServer> server_;
};

constexpr std::string_view kSmuggled =
    "POST /admin/count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
constexpr std::string_view kGoodFirst = "GET /echo HTTP/1.1\r\nHost: x\r\n\r\n";

struct SmuggleCase {
  std::string name;
  std::string request;  // the bytes of kSmuggled follow it
};

std::vector<SmuggleCase> SmuggleCases() {
  const std::string smuggled(kSmuggled);
  const auto post = [](const std::string& headers) {
    return "POST /echo HTTP/1.1\r\nHost: x\r\n" + headers + "\r\n";
  };
  return {
      {"content_lengths_disagree", post("Content-Length: 5\r\nContent-Length: " +
                                        std::to_string(5 + smuggled.size()) + "\r\n") +
                                       "hello"},
      {"content_length_list_disagrees", post("Content-Length: 5, 7\r\n") + "hello"},
      {"content_length_and_chunked", post("Content-Length: " + std::to_string(5 + smuggled.size()) +
                                          "\r\nTransfer-Encoding: chunked\r\n") +
                                         "0\r\n\r\n"},
      {"chunked_and_content_length",
       post("Transfer-Encoding: chunked\r\nContent-Length: 3\r\n") + "0\r\n\r\n"},
      {"gzip_then_chunked",
       post("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n") + "0\r\n\r\n"},
      {"chunked_then_gzip",
       post("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n") + "0\r\n\r\n"},
      {"identity_encoding", post("Transfer-Encoding: identity\r\n") + "0\r\n\r\n"},
      {"obs_folded_content_length",
       post("Content-Length: 0\r\n " + std::to_string(smuggled.size()) + "\r\n")},
      {"chunk_size_not_hex", post("Transfer-Encoding: chunked\r\n") + "zz\r\nhello\r\n0\r\n\r\n"},
      {"chunk_size_negative", post("Transfer-Encoding: chunked\r\n") + "-5\r\nhello\r\n0\r\n\r\n"},
      {"chunk_size_overflows",
       post("Transfer-Encoding: chunked\r\n") + "10000000000000005\r\nhello\r\n0\r\n\r\n"},
  };
}

// Each attempt, as the first request of a connection and after a good one on a kept-alive
// connection: one 400 in JSON, the connection closed, the smuggled request never run.
TEST_F(FramingTest, EverySmugglingAttemptIsA400ThatClosesTheConnection) {
  for (const SmuggleCase& c : SmuggleCases()) {
    for (const bool second : {false, true}) {
      SCOPED_TRACE(c.name + (second ? " (second request)" : " (first request)"));
      const std::string bytes =
          (second ? std::string(kGoodFirst) : "") + c.request + std::string(kSmuggled);
      Exchange e = SendAndReadToClose(port(), bytes);
      if (second) {
        ASSERT_TRUE(e.received.starts_with("HTTP/1.1 200 ")) << e.received;
        e.received.erase(0, e.received.find("HTTP/1.1 ", 1));
      }
      ExpectOneJsonErrorAndClose(e, 400);
    }
  }
  EXPECT_EQ(counted_.load(), 0) << "a smuggled request ran";
  // The same request sent on its own does run (so the check above could fail).
  const Exchange direct = SendAndReadToClose(
      port(),
      "POST /admin/count HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(direct.received.starts_with("HTTP/1.1 200 ")) << direct.received;
  EXPECT_EQ(counted_.load(), 1);
}

TEST_F(FramingTest, SoundFramingStillWorksAndKeepsTheConnection) {
  const std::string bytes =
      "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello"
      "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
      "5;ext=1\r\nhello\r\n0\r\n\r\n" +
      std::string(kSmuggled) + "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const Exchange e = SendAndReadToClose(port(), bytes);
  EXPECT_EQ(CountOf(e.received, "HTTP/1.1 200 "), 4) << e.received;
  EXPECT_EQ(counted_.load(), 1);
}

struct ParserCase {
  std::string name;
  std::string bytes;
  int status;
};

std::vector<ParserCase> ParserCases() {
  std::string many_headers = "GET /echo HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 10'000; ++i) many_headers += fmt::format("X-H{}: v\r\n", i);
  many_headers += "\r\n";
  const std::string huge_header =
      "GET /echo HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n";
  // The start of a TLS 1.2 ClientHello record.
  const std::string client_hello =
      std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) + std::string(32, 'Z');
  return {
      {"garbage_request_line", "HELLO\r\n\r\n", 400},
      {"space_in_method", "GE T /echo HTTP/1.1\r\n\r\n", 400},
      {"no_version", "GET /echo\r\nHost: x\r\n\r\n", 400},
      {"unknown_version", "GET /echo HTTP/9.9\r\nHost: x\r\n\r\n", 400},
      {"lower_case_version", "GET /echo http/1.1\r\nHost: x\r\n\r\n", 400},
      {"nul_in_header", std::string("GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\0b\r\n\r\n", 42), 400},
      {"missing_colon", "GET /echo HTTP/1.1\r\nHost x\r\n\r\n", 400},
      {"space_before_colon", "GET /echo HTTP/1.1\r\nHost : x\r\n\r\n", 400},
      {"control_byte_in_value", "GET /echo HTTP/1.1\r\nHost: x\x01y\r\n\r\n", 400},
      {"obs_fold_first_request", "GET /echo HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n", 400},
      {"ten_thousand_headers", many_headers, 431},
      {"one_megabyte_header", huge_header, 431},
      {"http2_preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400},
      {"tls_client_hello", client_hello, 400},
  };
}

TEST_F(FramingTest, ParserRejectionsAreJsonCountedAndClosed) {
  std::map<int, int> expected;
  for (const ParserCase& c : ParserCases()) {
    SCOPED_TRACE(c.name);
    const Exchange e = SendAndReadToClose(port(), c.bytes);
    ExpectOneJsonErrorAndClose(e, c.status);
    EXPECT_EQ(e.send_errno, 0) << "the client could not finish sending: " << e.send_errno;
    ++expected[c.status];
  }
  EXPECT_EQ(Requests("unmatched", 400), expected[400]);
  EXPECT_EQ(Requests("unmatched", 431), expected[431]);
  // The server goes on serving.
  const Exchange ok =
      SendAndReadToClose(port(), "GET /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_TRUE(ok.received.starts_with("HTTP/1.1 200 ")) << ok.received;
}

// A client that writes its whole 16 MB body before reading still reads its 413 (the server
// reads and drops what follows the answer, then closes).
TEST_F(FramingTest, ASixteenMegabyteBodyIsReadBackAsA413) {
  constexpr std::size_t kBodyBytes = std::size_t{16} << 20;
  const std::string bytes =
      fmt::format("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", kBodyBytes) +
      std::string(kBodyBytes, 'x');
  for (int attempt = 0; attempt < 2; ++attempt) {
    SCOPED_TRACE(attempt);
    const Exchange e = SendAndReadToClose(port(), bytes);
    EXPECT_EQ(e.send_errno, 0) << "the client met " << std::strerror(e.send_errno);
    ExpectOneJsonErrorAndClose(e, 413);
  }
  // The same for a chunked body that grows past the limit, and for a 400 sent early.
  std::string chunked = "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 256; ++i)
    chunked += fmt::format("{:x}\r\n{}\r\n", 65536, std::string(65536, 'y'));
  const Exchange e = SendAndReadToClose(port(), chunked);
  EXPECT_EQ(e.send_errno, 0) << std::strerror(e.send_errno);
  ExpectOneJsonErrorAndClose(e, 413);
}

TEST_F(FramingTest, AcceptsAbsoluteFormTargetsForItsOwnHost) {
  const std::string own = fmt::format("127.0.0.1:{}", port());
  const Exchange e = SendAndReadToClose(
      port(), fmt::format("POST http://{}/echo?a=1 HTTP/1.1\r\nHost: {}\r\nContent-Length: 2\r\n"
                          "Connection: close\r\n\r\nhi",
                          own, own));
  EXPECT_TRUE(e.received.starts_with("HTTP/1.1 200 ")) << e.received;
  EXPECT_TRUE(e.received.ends_with("\r\n\r\nhi|a=1|" + own)) << e.received;
  const Exchange localhost = SendAndReadToClose(
      port(), fmt::format("GET HTTP://localhost:{}/echo HTTP/1.1\r\nHost: elsewhere\r\n"
                          "Connection: close\r\n\r\n",
                          port()));
  EXPECT_TRUE(localhost.received.starts_with("HTTP/1.1 200 ")) << localhost.received;
  const Exchange other = SendAndReadToClose(
      port(), fmt::format("GET http://other.example/echo HTTP/1.1\r\nHost: {}\r\n"
                          "Connection: close\r\n\r\n",
                          own));
  EXPECT_TRUE(other.received.starts_with("HTTP/1.1 400 ")) << other.received;
  EXPECT_NE(other.received.find("{\"detail\":"), std::string::npos) << other.received;
}

TEST(Framing, ChecksHeadsAsTheyArrive) {
  using server::CheckRequestHead;
  using server::HeadCheck;
  const std::string head = "GET /x HTTP/1.1\r\nHost: a\r\nX-Y: z\r\n\r\nBODY";
  HeadCheck check;
  for (std::size_t n = 1; n < head.size(); ++n) {
    check = CheckRequestHead(std::string_view(head).substr(0, n), 1000, 10, std::move(check));
    if (n < head.find("\r\n\r\n") + 4) {
      ASSERT_EQ(check.verdict, HeadCheck::kIncomplete) << n;
    } else {
      ASSERT_EQ(check.verdict, HeadCheck::kComplete) << n;
      EXPECT_EQ(check.head_bytes, head.find("BODY"));
    }
  }
  EXPECT_EQ(check.method, "GET");
  EXPECT_EQ(check.target, "/x");
  EXPECT_EQ(CheckRequestHead("\x16\x03", 1000, 10).verdict, HeadCheck::kBad);
  EXPECT_EQ(CheckRequestHead("GET /x HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", 1000, 1).rejection.status,
            431);
  EXPECT_EQ(CheckRequestHead("GET /x HTTP/1.1\r\nA: " + std::string(2000, 'a'), 1000, 10)
                .rejection.status,
            431);
}

TEST(Framing, SplitsAbsoluteTargets) {
  const auto split = server::SplitAbsoluteTarget("http://h:1?q=2");
  ASSERT_TRUE(split.has_value());
  EXPECT_EQ(split->authority, "h:1");
  EXPECT_EQ(split->origin_form, "/?q=2");
  EXPECT_FALSE(server::SplitAbsoluteTarget("/http://h/x").has_value());
  EXPECT_FALSE(server::SplitAbsoluteTarget("http:///x").has_value());
  EXPECT_TRUE(server::IsOwnAuthority("[::1]:8", "", "::1", 8));
  EXPECT_FALSE(server::IsOwnAuthority("h:8", "", "127.0.0.1", 8));
  EXPECT_FALSE(server::IsOwnAuthority("127.0.0.1:9", "", "127.0.0.1", 8));
}

// `csml serve` logs the parser's rejections and the path of an absolute-form request.
class FramingServeTest : public OneVersionServedTest {};

TEST_F(FramingServeTest, LogsParserRejectionsAndAbsoluteFormPaths) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  const Exchange hello = SendAndReadToClose(port(), std::string("\x16\x03\x01\x00\x05hello", 10));
  EXPECT_TRUE(hello.received.starts_with("HTTP/1.1 400 ")) << hello.received;
  const std::string body = SeedScoreBody();
  const Exchange scored = SendAndReadToClose(
      port(), fmt::format("POST http://127.0.0.1:{}/score HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n"
                          "Content-Type: application/json\r\nContent-Length: {}\r\n"
                          "Connection: close\r\n\r\n{}",
                          port(), port(), body.size(), body));
  EXPECT_TRUE(scored.received.starts_with("HTTP/1.1 200 ")) << scored.received;
  EXPECT_TRUE(WaitUntil(
      [&] {
        const std::string log = Log();
        return log.find(R"("method":"-","route":"unmatched","status":400)") != std::string::npos &&
               log.find(R"("method":"POST","route":"/score","status":200)") != std::string::npos;
      },
      std::chrono::seconds(5)))
      << Log();
  EXPECT_EQ(Log().find("/http:"), std::string::npos) << Log();
  EXPECT_EQ(MetricValue(Metrics(), R"(csml_http_requests_total{route="unmatched",status="400"})"),
            1.0);
}

}  // namespace
}  // namespace csml::e2e
