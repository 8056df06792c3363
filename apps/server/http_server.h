// A small, generic HTTP/1.1 server over h2o's library: a route table of plain handlers
// (router.h), one event loop per thread, JSON error bodies in FastAPI's words, and the limits
// that keep slow, idle or hostile clients from starving the others (server_options.h).
//
// Each thread owns an h2o event loop and its own listening socket bound with SO_REUSEPORT to
// the same host:port (as nginx does), so the kernel spreads connections over the threads and
// no lock sits between them. Only the server's own files include h2o.h (server_internal.h).
//
// Answers the server gives by itself besides the router's (router.h), all JSON:
//   413 {"detail":"Request body exceeds ... bytes"}  body above max_body_bytes; the server
//                                           then reads and drops what the client still sends
//                                           (up to 5 s and 32 MiB) before closing, so the
//                                           client reads the answer instead of a reset
//   500 {"detail":"Internal Server Error"}  a handler threw
// Connections are kept alive. Every response carries X-Request-Id: the client's own when it
// sent a well-formed one, else a new one.
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

#include <memory>
#include <string>

#include "csml/core/error.h"
#include "router.h"
#include "server_options.h"

namespace csml::server {

class AccessLog;
class HttpMetrics;

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

  struct Impl;  // server_internal.h

 private:
  explicit HttpServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml::server
