// A loop's graceful stop (see "Stopping" in http_server.h).
#include <chrono>

#include <spdlog/spdlog.h>

#include "access_log.h"
#include "server_internal.h"

namespace csml::server::internal {

bool DrainLoop(LoopState& loop) {
  const ServerOptions& options = loop.server->options;
  // Stop accepting, but first take the connections the kernel already completed for this
  // listener: their clients believe they are connected and may have sent a request.
  loop.stopping = true;
  loop.stop_started_ms = h2o_now(loop.loop);
  while (h2o_socket_t* sock = h2o_evloop_socket_accept(loop.listener)) {
    StartReading(loop, sock);
  }
  h2o_socket_read_stop(loop.listener);
  h2o_socket_close(loop.listener);
  loop.listener = nullptr;
  // Lingering closes end now: their answers were sent, and the stop does not wait for them.
  EndLingering(loop);
  // Responses from now on say Connection: close. (h2o_context_request_shutdown would also arm
  // HTTP/2's GOAWAY timer; this server speaks HTTP/1.1 only, and that timer would outlive the
  // context.)
  loop.context.ctx.shutdown_requested = 1;

  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
  Sweep(loop, h2o_now(loop.loop));
  while ((loop.open > 0 || loop.deferred_pending > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    h2o_evloop_run(loop.loop, 10);
    DeliverMail(loop);
    Sweep(loop, h2o_now(loop.loop));
  }
  if (loop.open > 0) {
    // The grace period is over: end what is left (a deferred request cannot be ended without
    // its answer, so it is left to the exit).
    for (h2o_linklist_t& anchor : loop.phases) {
      for (h2o_linklist_t* node = anchor.next; node != &anchor; node = node->next) {
        Conn* conn = ConnFromLink(node);
        if (!conn->deferred) CloseConnection(*conn, ConnectionEnd::kShutdown);
      }
    }
    const auto final_deadline = std::chrono::steady_clock::now() + kFinalCloseTime;
    while (loop.open > 0 && std::chrono::steady_clock::now() < final_deadline) {
      h2o_evloop_run(loop.loop, 10);
      DeliverMail(loop);
    }
  }
  CloseMailbox(loop);
  if (AccessLog* log = loop.server->observers.access_log) log->FlushThisThread();
  if (loop.open > 0) {
    spdlog::warn("shutdown: {} connections still open after {} ms; leaving them to the exit",
                 loop.open, options.shutdown_grace_ms);
    return false;
  }
  return true;
}

}  // namespace csml::server::internal
