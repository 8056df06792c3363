// A minimal HTTP/1.1 client over a plain POSIX socket, for end-to-end tests.
//
// It sends exactly the bytes it is given (so tests can send malformed requests), reads one
// response per request (Content-Length, chunked or read-to-close bodies; interim 1xx
// responses are skipped), keeps the connection open between requests, and bounds every wait
// by a deadline. While sending a large body it watches for an early response (a server may
// answer 413 before reading everything) and stops sending when one arrives.
// Not thread-safe: one connection per thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csml/core/error.h"

namespace csml::e2e {

struct HttpResponse {
  int status = 0;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased, in order
  std::string body;

  std::optional<std::string> Header(std::string_view lower_case_name) const;
};

struct HttpRequestSpec {
  std::string method = "GET";
  std::string path = "/";
  std::string body;
  std::optional<std::string> content_type = "application/json";  // nullopt: no header
  std::vector<std::pair<std::string, std::string>> headers;      // extra headers
};

// The request's bytes: request line, Host, Content-Length (when there is a body or the
// method is POST), Content-Type, extra headers, blank line, body.
std::string FormatRequest(const HttpRequestSpec& spec);

class HttpConnection {
 public:
  using Clock = std::chrono::steady_clock;

  static Result<HttpConnection> Connect(
      int port, std::chrono::milliseconds timeout = std::chrono::seconds(5));

  HttpConnection(HttpConnection&& other) noexcept;
  HttpConnection& operator=(HttpConnection&& other) noexcept;
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;
  ~HttpConnection();

  // Sends raw request bytes and reads one response. `head` says the request was HEAD (the
  // response then has no body whatever its Content-Length says).
  Result<HttpResponse> RoundTrip(std::string_view raw_request, bool head = false,
                                 std::chrono::milliseconds timeout = std::chrono::seconds(10));

  Result<HttpResponse> Send(const HttpRequestSpec& spec,
                            std::chrono::milliseconds timeout = std::chrono::seconds(10));

  // True once the server closed its side (after a Connection: close response).
  bool peer_closed() const { return peer_closed_; }

 private:
  explicit HttpConnection(int fd) : fd_(fd) {}
  Status WriteAll(std::string_view data, Clock::time_point deadline, bool* answered_early);
  Result<HttpResponse> ReadResponse(bool head, Clock::time_point deadline);
  // Appends at least one byte to buffer_; false at end of stream.
  Result<bool> ReadMore(Clock::time_point deadline);

  int fd_ = -1;
  std::string buffer_;  // bytes received but not consumed
  bool peer_closed_ = false;
};

// One request on a fresh connection.
Result<HttpResponse> Fetch(int port, const HttpRequestSpec& spec,
                           std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace csml::e2e
