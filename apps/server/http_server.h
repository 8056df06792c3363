// A small, generic HTTP/1.1 server over h2o's library: a route table of plain handlers, one
// event loop per thread, and JSON error bodies in FastAPI's words.
//
// Each thread owns an h2o event loop and its own listening socket bound with SO_REUSEPORT to
// the same host:port (as nginx does), so the kernel spreads connections over the threads and
// no lock sits between them. Handlers run on the loop thread and must not block; they see a
// Request view and return a Response, and never see h2o (only http_server.cc includes h2o.h).
//
// Answers the server gives by itself, all JSON:
//   404 {"detail":"Not Found"}              no route has the path
//   405 {"detail":"Method Not Allowed"}     the path exists, the method does not (with Allow)
//   307 redirect                            the path differs from a route's only by a trailing
//                                           slash (FastAPI's redirect_slashes)
//   413 {"detail":"Request body exceeds ... bytes"}  body above max_body_bytes
//   415 {"detail":"Content-Encoding ..."}   a Content-Encoding other than identity
//   500 {"detail":"Internal Server Error"}  a handler threw
// HEAD is served by a GET route without the body. Connections are kept alive.
//
// Stopping: Stop() (safe from any thread, and async-signal-safe) makes every loop close its
// listening socket, drop idle keep-alive connections and finish the responses in progress,
// within shutdown_grace_ms; Wait() returns when all loops have ended.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "csml/core/error.h"

namespace csml::server {

struct ServerOptions {
  std::string host = "127.0.0.1";        // IP address or name to listen on
  int port = 8000;                       // 0: an ephemeral port chosen by the kernel
  int threads = 0;                       // event-loop threads; 0: one per hardware thread
  std::size_t max_body_bytes = 1 << 20;  // bytes; a larger request body is refused with 413
  int request_timeout_ms = 10'000;       // idle keep-alive and slow-request timeout
  int shutdown_grace_ms = 5'000;         // after Stop(): time left to in-flight responses

  // Checks ranges (port 0-65535, threads 0-1024, body 1 byte to 1 GiB, timeouts > 0); the
  // host is checked when Start() resolves it.
  [[nodiscard]] Status Validate() const;
};

// One request as a handler sees it. The views point into the server's buffers and are valid
// only during the handler call.
struct Request {
  using HeaderLookup = std::optional<std::string_view> (*)(const void* source,
                                                           std::string_view lower_case_name);

  std::string_view method;     // "GET", "POST", ...
  std::string_view path;       // percent-decoded, dot-segments resolved, no query
  std::string_view query;      // after '?', empty when none
  std::string_view authority;  // the Host header (or the server's address)
  std::string_view body;       // empty when the request has none

  // The first header with this name (lower case), or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_case_name) const {
    return header_lookup == nullptr ? std::nullopt : header_lookup(header_source, lower_case_name);
  }

  const void* header_source = nullptr;
  HeaderLookup header_lookup = nullptr;
};

struct Response {
  int status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, names lower case
};

// {"detail":"<detail>"} with the given status, FastAPI's shape for errors.
Response DetailResponse(int status, std::string_view detail);

// The route table: exact paths, one handler per method.
// Not thread-safe to modify; build it before Start(), after which it is only read.
class Router {
 public:
  using Handler = std::function<Response(const Request&)>;

  // A later Add for the same method and path replaces the handler.
  void Add(std::string method, std::string path, Handler handler);

  // Routes one request, answering 404/405/307/415 itself (see the file comment).
  Response Handle(const Request& request) const;

 private:
  struct Route {
    std::string path;
    std::vector<std::pair<std::string, Handler>> methods;
  };
  const Route* Find(std::string_view path) const;

  std::vector<Route> routes_;
};

class HttpServer {
 public:
  // Validates the options, resolves the host, binds one listening socket per thread and
  // starts the threads. Fails (kInvalidArgument, kIo) before any thread starts. Sets SIGPIPE
  // to ignored for the process (h2o writes to sockets whose peer may have gone) and logs
  // "listening on http://HOST:PORT".
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, Router router);

  ~HttpServer();  // Stop() and Wait()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address; the kernel's choice when options.port was 0.
  const std::string& host() const;
  int port() const;
  int threads() const;

  void Stop();
  void Wait();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml::server
