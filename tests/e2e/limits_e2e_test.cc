// The limits of `csml serve` against slow, idle and crowding clients, and its graceful stop:
// the real binary on 127.0.0.1, raw sockets for the clients that misbehave.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <mutex>
#include <regex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "serve_fixture.h"

namespace csml::e2e {
namespace {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using std::chrono::seconds;

// A plain blocking TCP connection to 127.0.0.1 that the test drives byte by byte.
class RawSocket {
 public:
  explicit RawSocket(int port) {
    fd_ = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd_ >= 0 && connect(fd_, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
      close(fd_);
      fd_ = -1;
    }
    // A send into full buffers gives up instead of blocking the test for ever.
    const timeval send_timeout{2, 0};
    if (fd_ >= 0) setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &send_timeout, sizeof(send_timeout));
  }
  ~RawSocket() {
    if (fd_ >= 0) close(fd_);
  }
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;
  RawSocket(RawSocket&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}

  bool ok() const { return fd_ >= 0; }

  // False once the server has closed the connection.
  bool Send(std::string_view bytes) {
    return send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
           static_cast<ssize_t>(bytes.size());
  }

  // Reads until the server closes the connection (EOF or reset) or `timeout` passes; returns
  // the time it took, or nullopt when the connection is still open. Response bytes are read
  // and dropped on the way.
  std::optional<Clock::duration> WaitForClose(Clock::duration timeout) {
    const auto start = Clock::now();
    while (Clock::now() - start < timeout) {
      pollfd p{fd_, POLLIN, 0};
      if (poll(&p, 1, 20) <= 0) continue;
      char buffer[4096];
      const ssize_t n = recv(fd_, buffer, sizeof(buffer), 0);
      if (n == 0 || (n < 0 && errno == ECONNRESET)) return Clock::now() - start;
    }
    return std::nullopt;
  }

 private:
  int fd_ = -1;
};

// What a plain blocking client (as Python's http.client is) sees when it writes a whole
// request, however large, and only then reads the answer: the bytes it read, and the errno
// of its first failed send or recv (0 when none failed).
struct BlockingExchange {
  std::string received;
  int send_errno = 0;
  int recv_errno = 0;
};

BlockingExchange SendWholeThenRead(int port, std::string_view head, std::size_t body_bytes) {
  BlockingExchange out;
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof(addr)) != 0) {
    out.send_errno = errno;
    if (fd >= 0) close(fd);
    return out;
  }
  // Blocking, with a bound on each wait so a server that stops reading fails the test.
  const timeval timeout{5, 0};
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &timeout, sizeof(timeout));
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof(timeout));
  const auto send_all = [&](std::string_view bytes) {
    while (!bytes.empty()) {
      const ssize_t n = send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      bytes.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  };
  const std::string chunk(64 * 1024, 'x');
  bool sent = send_all(head);
  for (std::size_t left = body_bytes; sent && left > 0;) {
    const std::size_t n = std::min(left, chunk.size());
    sent = send_all(std::string_view(chunk).substr(0, n));
    left -= n;
  }
  if (!sent) out.send_errno = errno;
  char buffer[4096];
  for (;;) {
    const ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n == 0) break;
    if (n < 0) {
      out.recv_errno = errno;
      break;
    }
    out.received.append(buffer, static_cast<std::size_t>(n));
  }
  close(fd);
  return out;
}

void RaiseOpenFileLimit(rlim_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

class LimitsTest : public OneVersionServedTest {
 protected:
  void Serve(std::vector<std::string> args) {
    args.insert(args.end(), {"--reload-interval-ms", "0"});
    ServedRegistryTest::Serve(std::move(args));
  }

  // `count` scoring requests, each on a fresh connection; returns how many got a 200, and
  // the slowest.
  std::pair<int, Clock::duration> ScoreOnFreshConnections(int count) {
    int ok = 0;
    Clock::duration slowest{};
    for (int i = 0; i < count; ++i) {
      const auto start = Clock::now();
      auto response = Fetch(port(), PostJson("/score", SeedScoreBody()), seconds(5));
      slowest = std::max(slowest, Clock::now() - start);
      if (response && response->status == 200) ++ok;
    }
    return {ok, slowest};
  }
};

TEST_F(LimitsTest, SlowHeadersSlowBodiesAndIdleConnectionsAreClosedOnTime) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--header-timeout-ms", "400", "--body-timeout-ms", "400",
                                 "--idle-timeout-ms", "600", "--write-timeout-ms", "400"}));
  RawSocket silent(port());
  RawSocket half_headers(port());
  RawSocket trickle(port());
  RawSocket half_body(port());
  RawSocket kept_alive(port());
  ASSERT_TRUE(silent.ok() && half_headers.ok() && trickle.ok() && half_body.ok() &&
              kept_alive.ok());
  ASSERT_TRUE(half_headers.Send("POST /score HTTP/1.1\r\nHost: x\r\n"));
  ASSERT_TRUE(
      half_body.Send("POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     "Content-Length: 200\r\n\r\n{\"userId\":"));
  const std::string request = fmt::format(
      "POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: "
      "{}\r\n\r\n{}",
      SeedScoreBody().size(), SeedScoreBody());
  ASSERT_TRUE(kept_alive.Send(request));

  // A client sending its headers a byte at a time cannot stretch the header timeout.
  const std::string slow =
      "POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Padding: " + std::string(200, 'a') + "\r\n\r\n";
  const auto trickle_start = Clock::now();
  std::size_t sent = 0;
  while (sent < slow.size() && trickle.Send(slow.substr(sent, 1))) {
    ++sent;
    std::this_thread::sleep_for(milliseconds(20));
    if (Clock::now() - trickle_start > seconds(5)) break;
  }
  EXPECT_LT(sent, slow.size()) << "the trickling client was cut off before its headers ended";
  EXPECT_LT(Clock::now() - trickle_start, seconds(3));

  for (RawSocket* s : {&silent, &half_headers, &half_body, &kept_alive}) {
    const auto closed = s->WaitForClose(seconds(5));
    ASSERT_TRUE(closed.has_value()) << "a connection outlived its timeout";
  }
  const std::string metrics = Metrics();
  EXPECT_GE(MetricValue(metrics,
                        R"(csml_http_connections_closed_by_server_total{reason="header_timeout"})")
                .value_or(0),
            3.0)
      << metrics;
  EXPECT_GE(
      MetricValue(metrics, R"(csml_http_connections_closed_by_server_total{reason="body_timeout"})")
          .value_or(0),
      1.0);
  EXPECT_GE(
      MetricValue(metrics, R"(csml_http_connections_closed_by_server_total{reason="idle_timeout"})")
          .value_or(0),
      1.0);
  EXPECT_EQ(ScoreOnFreshConnections(5).first, 5);
}

// The server answers 413 as soon as it has the headers, while the client is still writing:
// it then reads and drops the rest of the body before closing (a lingering close, as
// nginx's), so a client that writes everything before reading gets its JSON, not a reset.
TEST_F(LimitsTest, AClientThatWritesAWholeOversizedBodyReadsIts413) {
  ASSERT_NO_FATAL_FAILURE(Serve({}));
  constexpr std::size_t kBodyBytes = std::size_t{8} << 20;  // 8 MB; the limit is 1 MiB
  const std::string head = fmt::format(
      "POST /score HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: {}\r\n\r\n",
      kBodyBytes);
  for (int attempt = 0; attempt < 3; ++attempt) {
    SCOPED_TRACE(attempt);
    const auto start = Clock::now();
    const BlockingExchange exchange = SendWholeThenRead(port(), head, kBodyBytes);
    EXPECT_LT(Clock::now() - start, seconds(10));
    EXPECT_EQ(exchange.send_errno, 0) << std::strerror(exchange.send_errno);
    EXPECT_EQ(exchange.recv_errno, 0) << std::strerror(exchange.recv_errno);
    EXPECT_TRUE(exchange.received.starts_with("HTTP/1.1 413 ")) << exchange.received;
    EXPECT_TRUE(exchange.received.ends_with(
        "\r\n\r\n{\"detail\":\"Request body exceeds the limit of 1048576 bytes\"}"))
        << exchange.received;
  }
  EXPECT_EQ(ScoreOnFreshConnections(2).first, 2);
}

TEST_F(LimitsTest, AKeptAliveConnectionLivesUntilItsIdleTimeout) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--idle-timeout-ms", "1500"}));
  auto conn = HttpConnection::Connect(port());
  ASSERT_TRUE(conn.has_value());
  for (int i = 0; i < 3; ++i) {
    auto response = conn->Send(PostJson("/score", SeedScoreBody()));
    ASSERT_TRUE(response.has_value()) << response.error().message;
    EXPECT_EQ(response->status, 200);
    std::this_thread::sleep_for(milliseconds(500));  // idle, but less than the timeout
  }
  EXPECT_FALSE(conn->peer_closed());
}

TEST_F(LimitsTest, AClientThatStopsReadingIsCutOffByTheWriteTimeout) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--write-timeout-ms", "300"}));
  RawSocket greedy(port());
  ASSERT_TRUE(greedy.ok());
  // Pipelined requests whose answers this client never reads, until the socket buffers fill.
  const std::string request = "GET /openapi.json HTTP/1.1\r\nHost: x\r\n\r\n";
  std::string burst;
  for (int i = 0; i < 200; ++i) burst += request;
  const auto start = Clock::now();
  while (Clock::now() - start < seconds(10)) {
    greedy.Send(burst);  // fails (times out or is refused) once the buffers are full
    if (MetricValue(Metrics(),
                    R"(csml_http_connections_closed_by_server_total{reason="write_timeout"})")
            .value_or(0) >= 1.0) {
      break;
    }
    std::this_thread::sleep_for(milliseconds(50));
  }
  EXPECT_GE(MetricValue(Metrics(),
                        R"(csml_http_connections_closed_by_server_total{reason="write_timeout"})")
                .value_or(0),
            1.0);
  EXPECT_EQ(ScoreOnFreshConnections(3).first, 3);
}

struct CrowdCase {
  std::string name;
  std::string max_connections;
};

class IdleCrowd : public LimitsTest, public ::testing::WithParamInterface<CrowdCase> {};

TEST_P(IdleCrowd, AThousandIdleConnectionsDoNotStopScoring) {
  RaiseOpenFileLimit(4096);
  ASSERT_NO_FATAL_FAILURE(Serve({"--max-connections", GetParam().max_connections,
                                 "--header-timeout-ms", "60000", "--access-log", "off"}));
  std::vector<RawSocket> crowd;
  crowd.reserve(1000);
  for (int i = 0; i < 1000; ++i) {
    crowd.emplace_back(port());
    ASSERT_TRUE(crowd.back().ok()) << "connection " << i;
    // A third are slowloris clients holding half a request.
    if (i % 3 == 0) crowd.back().Send("POST /score HTTP/1.1\r\nHost: x\r\n");
  }
  std::this_thread::sleep_for(milliseconds(300));
  const auto [ok, slowest] = ScoreOnFreshConnections(50);
  EXPECT_EQ(ok, 50);
  EXPECT_LT(slowest, seconds(3));
  const auto open = [&] {
    return MetricValue(Metrics(), "csml_http_connections_open").value_or(-1);
  };
  if (GetParam().max_connections == "200") {
    EXPECT_TRUE(WaitUntil([&] { return open() <= 200.0; }, seconds(5))) << Metrics();
    EXPECT_GE(
        MetricValue(Metrics(), R"(csml_http_connections_closed_by_server_total{reason="evicted"})")
            .value_or(0),
        800.0)
        << Metrics();
  } else {
    EXPECT_TRUE(WaitUntil([&] { return open() >= 1000.0; }, seconds(5))) << Metrics();
  }
}

INSTANTIATE_TEST_SUITE_P(Caps, IdleCrowd,
                         ::testing::Values(CrowdCase{"default_cap", "4096"},
                                           CrowdCase{"cap_below_the_crowd", "200"}),
                         [](const ::testing::TestParamInfo<CrowdCase>& param) {
                           return param.param.name;
                         });

TEST_F(LimitsTest, SigtermDuringLoadAnswersEveryRequestTheServerReadAndExitsZero) {
  ASSERT_NO_FATAL_FAILURE(Serve({"--shutdown-grace-ms", "8000", "--access-log", "off"}));
  std::atomic<bool> stopping{false};
  std::atomic<int> answered{0};
  std::atomic<int> answered_after_stop{0};
  std::atomic<int> never_read{0};  // closed before any response byte, after SIGTERM
  std::mutex mu;
  std::vector<std::string> problems;
  const auto problem = [&](std::string what) {
    std::lock_guard<std::mutex> lock(mu);
    if (problems.size() < 20) problems.push_back(std::move(what));
  };
  const std::string batch = SeedBatchBody(300);  // slow enough to be in flight at the signal
  std::vector<std::thread> clients;
  for (int c = 0; c < 6; ++c) {
    clients.emplace_back([&, c] {
      for (int round = 0; round < 100'000; ++round) {
        auto conn = HttpConnection::Connect(port(), seconds(2));
        if (!conn) {
          if (!stopping) problem("connect failed before SIGTERM: " + conn.error().message);
          return;  // the listener is gone
        }
        while (true) {
          const bool big = c % 2 == 0;
          auto response = conn->Send(
              big ? PostJson("/score/batch", batch) : PostJson("/score", SeedScoreBody()),
              seconds(15));
          if (!response) {
            const std::string& message = response.error().message;
            if (stopping && message.find("(0 bytes received)") != std::string::npos) {
              ++never_read;  // the server closed this idle connection before reading it
            } else {
              problem(fmt::format("{} request failed: {}", stopping ? "late" : "early", message));
            }
            break;
          }
          ++answered;
          if (stopping) ++answered_after_stop;
          if (response->status != 200) {
            problem(fmt::format("status {}: {}", response->status, response->body.substr(0, 200)));
          }
          if (response->Header("connection").value_or("") == "close") break;
        }
        if (stopping) return;
      }
    });
  }
  std::this_thread::sleep_for(milliseconds(800));
  stopping = true;
  ASSERT_TRUE(served_->process.Signal(SIGTERM));
  const std::optional<int> status = served_->process.WaitFor(seconds(20));
  for (auto& t : clients) t.join();
  ASSERT_TRUE(status.has_value()) << "the server did not stop";
  EXPECT_EQ(*status, 0) << Log();

  EXPECT_TRUE(problems.empty()) << fmt::format("{}", fmt::join(problems, "\n"));
  EXPECT_GT(answered.load(), 20);
  EXPECT_GT(answered_after_stop.load(), 0) << "requests in flight at the signal were answered";
  const std::string log = Log();
  std::smatch match;
  static const std::regex kStopped(R"(stopped: ([0-9]+) requests answered)");
  ASSERT_TRUE(std::regex_search(log, match, kStopped)) << log;
  EXPECT_EQ(std::stoi(match[1].str()), answered.load())
      << "every request the server answered reached its client, and no client waited for one "
         "the server dropped (requests in flight at the signal: "
      << answered_after_stop.load() << ", closed before being read: " << never_read.load() << ")";
  served_.reset();
}

}  // namespace
}  // namespace csml::e2e
