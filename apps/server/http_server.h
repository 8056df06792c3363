// A small, generic HTTP/1.1 server over h2o's library: a route table of plain handlers, one
// event loop per thread, JSON error bodies in FastAPI's words, and the limits that keep slow,
// idle or hostile clients from starving the others.
//
// Each thread owns an h2o event loop and its own listening socket bound with SO_REUSEPORT to
// the same host:port (as nginx does), so the kernel spreads connections over the threads and
// no lock sits between them. Handlers run on the loop thread and must not block; they see a
// Request view and return a Response, and never see h2o (only http_server.cc includes h2o.h).
// A handler that cannot answer at once (an admin reload) defers: Request::Defer() gives a
// Responder that any thread may complete later; the loop sends it within ~100 ms.
//
// Answers the server gives by itself, all JSON:
//   404 {"detail":"Not Found"}              no route has the path
//   405 {"detail":"Method Not Allowed"}     the path exists, the method does not (with Allow)
//   307 redirect                            the path differs from a route's only by a trailing
//                                           slash (FastAPI's redirect_slashes)
//   413 {"detail":"Request body exceeds ... bytes"}  body above max_body_bytes
//   415 {"detail":"Content-Encoding ..."}   a Content-Encoding other than identity
//   500 {"detail":"Internal Server Error"}  a handler threw
// HEAD is served by a GET route without the body. Connections are kept alive. Every response
// carries X-Request-Id: the client's own when it sent a well-formed one, else a new one.
//
// Limits (h2o 2.2 has one timer per request; the phases are tracked here, per connection,
// by a sweep every 100 ms on each loop):
//   header_timeout_ms   first byte of a request -> end of its headers; also how long a new
//                       connection may wait before sending anything
//   body_timeout_ms     end of the headers -> end of the body (the whole body, so a client
//                       trickling bytes cannot stretch it)
//   idle_timeout_ms     a kept-alive connection between a response and the next request
//   write_timeout_ms    a response that makes no progress (the client stopped reading)
//   max_connections     over all loops (each loop holds its share). At the cap a new
//                       connection evicts the loop's longest-idle connection (then the oldest
//                       one still sending headers); with none to evict, accepting pauses and
//                       new clients wait in the kernel's backlog until a connection ends.
//   max_body_bytes      413
//
// Stopping: Stop() (safe from any thread, async-signal-safe) makes every loop accept what is
// already in its backlog, close its listening socket, close idle connections (after checking
// that no request bytes are waiting), answer every request it has read or is reading, with
// Connection: close, and end when no connection is left or shutdown_grace_ms has passed.
// Wait() returns when all loops have ended.
#pragma once

#include <chrono>
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

class AccessLog;
class HttpMetrics;

struct ServerOptions {
  std::string host = "127.0.0.1";        // IP address or name to listen on
  int port = 8000;                       // 0: an ephemeral port chosen by the kernel
  int threads = 0;                       // event-loop threads; 0: one per hardware thread
  std::size_t max_body_bytes = 1 << 20;  // bytes; a larger request body is refused with 413
  int header_timeout_ms = 10'000;        // see the file comment for each limit
  int body_timeout_ms = 30'000;
  int idle_timeout_ms = 75'000;  // above common load balancers' 60 s, so they close first
  int write_timeout_ms = 30'000;
  int max_connections = 4096;
  int shutdown_grace_ms = 5'000;  // after Stop(): time left to requests in progress

  // Checks ranges (port 0-65535, threads 0-1024, body 1 byte to 1 GiB, timeouts 1 ms to
  // 1 hour, connections 1 to 1,000,000, grace 0 to 10 minutes); the host is checked when
  // Start() resolves it.
  [[nodiscard]] Status Validate() const;
  // threads, with 0 resolved to the number of hardware threads (at least 1).
  int ResolvedThreads() const;
};

struct Response;
class Responder;

// One request as a handler sees it. The views point into the server's buffers and are valid
// only during the handler call.
struct Request {
  using HeaderLookup = std::optional<std::string_view> (*)(const void* source,
                                                           std::string_view lower_case_name);
  using DeferFn = Responder (*)(const void* source);

  std::string_view method;     // "GET", "POST", ...
  std::string_view path;       // percent-decoded, dot-segments resolved, no query
  std::string_view query;      // after '?', empty when none
  std::string_view authority;  // the Host header (or the server's address)
  std::string_view body;       // empty when the request has none

  // The first header with this name (lower case), or nullopt.
  std::optional<std::string_view> Header(std::string_view lower_case_name) const {
    return header_lookup == nullptr ? std::nullopt : header_lookup(header_source, lower_case_name);
  }

  // Takes over answering this request: the handler then returns DeferredResponse() and the
  // request is answered when the Responder is completed. A server that cannot defer (or a
  // second call) gives an empty Responder.
  Responder Defer() const;

  const void* header_source = nullptr;
  HeaderLookup header_lookup = nullptr;
  const void* defer_source = nullptr;
  DeferFn defer = nullptr;
};

struct Response {
  int status = 200;
  std::string_view content_type = "application/json";  // static storage only (a literal)
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;  // extra headers, names lower case
  // For the access log: the model version that answered, a view into an object that
  // `log_keep_alive` keeps alive until the line is written.
  std::string_view log_model_version;
  std::shared_ptr<const void> log_keep_alive;
  bool deferred = false;  // see Request::Defer
};

// {"detail":"<detail>"} with the given status, FastAPI's shape for errors.
Response DetailResponse(int status, std::string_view detail);

// What a handler returns after Request::Defer().
Response DeferredResponse();

// Completes a deferred request from any thread, once. Destroying a Responder that was not
// completed answers 500, so a request is never left without an answer. Move-only.
class Responder {
 public:
  struct State;

  Responder() = default;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  Responder(const Responder&) = delete;
  Responder& operator=(const Responder&) = delete;
  ~Responder();

  explicit operator bool() const { return state_ != nullptr; }
  void Send(Response response);

 private:
  std::shared_ptr<State> state_;
};

// The route table: exact paths, one handler per method.
// Not thread-safe to modify; build it before Start(), after which it is only read.
class Router {
 public:
  using Handler = std::function<Response(const Request&)>;
  static constexpr int kNoRoute = -1;

  // A later Add for the same method and path replaces the handler.
  void Add(std::string method, std::string path, Handler handler);

  // The paths in the order they were first added: a route's id is its index here.
  std::vector<std::string> Paths() const;
  // The methods one path answers (HEAD included where GET is), or empty for an unknown path.
  std::vector<std::string> Methods(std::string_view path) const;

  struct Outcome {
    Response response;
    int route = kNoRoute;  // the matched path's id (also for 405 and 415), else kNoRoute
  };
  // Routes one request, answering 404/405/307/415 itself (see the file comment).
  Outcome Handle(const Request& request) const;

 private:
  struct Route {
    std::string path;
    std::vector<std::pair<std::string, Handler>> methods;
  };
  const Route* Find(std::string_view path) const;

  std::vector<Route> routes_;
};

// Where the server reports what it does; each is optional and must outlive the server.
struct ServerObservers {
  HttpMetrics* metrics = nullptr;
  AccessLog* access_log = nullptr;
};

class HttpServer {
 public:
  // Validates the options, resolves the host, raises the open-file limit for the connection
  // cap if it can (lowering the cap, with a warning, if it cannot), binds one listening
  // socket per thread and starts the threads. Fails (kInvalidArgument, kIo) before any thread
  // starts. Sets SIGPIPE to ignored for the process (h2o writes to sockets whose peer may
  // have gone) and logs "listening on http://HOST:PORT".
  static Result<std::unique_ptr<HttpServer>> Start(const ServerOptions& options, Router router,
                                                   ServerObservers observers = {});

  ~HttpServer();  // Stop() and Wait()
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // The bound address; the kernel's choice when options.port was 0.
  const std::string& host() const;
  int port() const;
  int threads() const;
  // The connection cap in force (options.max_connections, or lower if the open-file limit
  // could not be raised).
  int max_connections() const;

  void Stop();
  void Wait();

  struct Impl;

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml::server
