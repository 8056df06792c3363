// The HTTP server's settings, checked once by Validate() before the server starts (see
// http_server.h for what each limit does).
#pragma once

#include <cstddef>
#include <string>

#include "csml/core/error.h"

namespace csml::server {

struct ServerOptions {
  std::string host = "127.0.0.1";        // IP address or name to listen on
  int port = 8000;                       // 0: an ephemeral port chosen by the kernel
  int threads = 0;                       // event-loop threads; 0: one per hardware thread
  std::size_t max_body_bytes = 1 << 20;  // bytes; a larger request body is refused with 413
  int header_timeout_ms = 10'000;        // see http_server.h for each limit
  int body_timeout_ms = 30'000;
  int idle_timeout_ms = 75'000;  // above common load balancers' 60 s, so they close first
  int write_timeout_ms = 30'000;
  int max_connections = 4096;
  int shutdown_grace_ms = 5'000;  // after Stop(): time left to requests in progress

  // Checks ranges (port 0-65535, threads 0-1024, body 1 byte to 1 GiB, timeouts 1 ms to
  // 1 hour, connections 1 to 1,000,000, grace 0 to 10 minutes); the host is checked when
  // HttpServer::Start() resolves it.
  [[nodiscard]] Status Validate() const;
  // threads, with 0 resolved to the number of hardware threads (at least 1).
  int ResolvedThreads() const;
};

}  // namespace csml::server
