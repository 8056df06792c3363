// Connection phases and their timeouts, the connection cap, and the lingering close after a
// 413 (see http_server.h for the limits and server_internal.h for the state).
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

#include "server_internal.h"

namespace csml::server::internal {
namespace {

void Link(LoopState& loop, Conn& conn, Phase phase, std::uint64_t now_ms) {
  conn.phase = phase;
  conn.phase_start_ms = now_ms;
  h2o_linklist_insert(&loop.phases[phase], &conn.link);  // before the anchor: at the tail
}

void OnLingerClose(void* data) {
  Linger* linger = static_cast<Linger*>(data);
  LoopState& loop = *linger->loop;
  h2o_linklist_unlink(&linger->link);
  --loop.lingers;
  delete linger;
  ResumeAcceptingIfRoom(loop);
}

void OnLingerRead(h2o_socket_t* sock, const char* err) {
  Linger* linger = static_cast<Linger*>(sock->data);
  if (err != nullptr) {  // the client closed its side (or reset): done
    h2o_socket_close(sock);
    return;
  }
  linger->bytes_dropped += sock->input->size;
  h2o_buffer_consume(&sock->input, sock->input->size);
  if (linger->bytes_dropped >= kLingerMaxBytes) h2o_socket_close(sock);
}

// Takes over the duplicate descriptor of a connection h2o has just closed after its 413: the
// response is already in the socket's send queue, so shutdown(SHUT_WR) sends it with the end
// of the stream, and what the client is still sending is read and dropped.
void StartLinger(LoopState& loop, int fd) {
  ::shutdown(fd, SHUT_WR);
  h2o_socket_t* sock = h2o_evloop_socket_create(loop.loop, fd, 0);
  auto* linger = new Linger{};
  linger->sock = sock;
  linger->loop = &loop;
  linger->deadline_ms = h2o_now(loop.loop) + kLingerMaxMs;
  h2o_linklist_insert(&loop.lingering, &linger->link);
  ++loop.lingers;
  sock->data = linger;
  sock->on_close.cb = OnLingerClose;
  sock->on_close.data = linger;
  h2o_socket_read_start(sock, OnLingerRead);
}

void OnSocketClose(void* data) {
  Conn* conn = static_cast<Conn*>(data);
  LoopState& loop = *conn->loop;
  h2o_linklist_unlink(&conn->link);
  --loop.open;
  if (conn->closing) --loop.closing;
  const int linger_fd = conn->linger_fd;
  const bool linger = linger_fd >= 0 && !conn->closing && !loop.stopping;
  delete conn;
  if (HttpMetrics* metrics = loop.server->observers.metrics) metrics->RecordConnectionClosed();
  if (linger) {
    StartLinger(loop, linger_fd);
  } else if (linger_fd >= 0) {
    close(linger_fd);
  }
  ResumeAcceptingIfRoom(loop);
}

// The first live connection of a phase list: its oldest.
Conn* Oldest(LoopState& loop, Phase phase) {
  h2o_linklist_t* anchor = &loop.phases[phase];
  for (h2o_linklist_t* node = anchor->next; node != anchor; node = node->next) {
    Conn* conn = ConnFromLink(node);
    if (!conn->closing) return conn;
  }
  return nullptr;
}

bool HeadersComplete(const h2o_buffer_t* input) {
  const std::string_view bytes(input->bytes == nullptr ? "" : input->bytes, input->size);
  return bytes.find("\r\n\r\n") != std::string_view::npos ||
         bytes.find("\n\n") != std::string_view::npos;
}

}  // namespace

void Track(LoopState& loop, h2o_socket_t* sock) {
  auto* conn = new Conn{};
  conn->sock = sock;
  conn->loop = &loop;
  conn->fresh = true;
  conn->linger_fd = -1;
  Link(loop, *conn, kIdle, h2o_now(loop.loop));
  sock->on_close.cb = OnSocketClose;
  sock->on_close.data = conn;
  ++loop.open;
  if (HttpMetrics* metrics = loop.server->observers.metrics) metrics->RecordConnectionOpened();
}

void SetPhase(Conn& conn, Phase phase, std::uint64_t now_ms) {
  h2o_linklist_unlink(&conn.link);
  Link(*conn.loop, conn, phase, now_ms);
}

// h2o owns the socket, so it is not closed here: shutdown(2) makes h2o see the end of the
// stream (or a failed write) and close it through its own path, which calls OnSocketClose.
void CloseConnection(Conn& conn, ConnectionEnd why) {
  if (conn.closing) return;
  conn.closing = true;
  ++conn.loop->closing;
  ::shutdown(h2o_socket_get_fd(conn.sock), SHUT_RDWR);
  if (HttpMetrics* metrics = conn.loop->server->observers.metrics) {
    metrics->RecordConnectionEnd(why);
  }
}

std::size_t Occupied(const LoopState& loop) { return loop.open - loop.closing + loop.lingers; }

bool MakeRoom(LoopState& loop) {
  if (!h2o_linklist_is_empty(&loop.lingering)) {
    h2o_socket_close(LingerFromLink(loop.lingering.next)->sock);
    return true;
  }
  Conn* victim = Oldest(loop, kIdle);
  if (victim == nullptr) victim = Oldest(loop, kHeaders);
  if (victim == nullptr) return false;
  CloseConnection(*victim, ConnectionEnd::kEvicted);
  return true;
}

bool BytesWaiting(h2o_socket_t* sock) {
  int waiting = 0;
  return ::ioctl(h2o_socket_get_fd(sock), FIONREAD, &waiting) == 0 && waiting > 0;
}

Conn* ConnOf(h2o_req_t* req) {
  h2o_socket_t* sock = req->conn->callbacks->get_socket == nullptr
                           ? nullptr
                           : req->conn->callbacks->get_socket(req->conn);
  return sock == nullptr ? nullptr : static_cast<Conn*>(sock->on_close.data);
}

void PrepareLinger(Conn& conn) {
  if (conn.linger_fd >= 0 || conn.closing || conn.loop->stopping) return;
  // When dup fails (no descriptor left) the connection simply closes as before.
  conn.linger_fd = ::fcntl(h2o_socket_get_fd(conn.sock), F_DUPFD_CLOEXEC, 0);
}

void EndLingering(LoopState& loop) {
  while (!h2o_linklist_is_empty(&loop.lingering)) {
    h2o_socket_close(LingerFromLink(loop.lingering.next)->sock);
  }
}

void Sweep(LoopState& loop, std::uint64_t now) {
  const ServerOptions& options = loop.server->options;
  const auto header_timeout = static_cast<std::uint64_t>(options.header_timeout_ms);
  const auto body_timeout = static_cast<std::uint64_t>(options.body_timeout_ms);
  const auto idle_timeout = static_cast<std::uint64_t>(options.idle_timeout_ms);
  const auto write_timeout = static_cast<std::uint64_t>(options.write_timeout_ms);
  // Each list is walked with its next node saved first: a connection may move to a later list.
  const auto for_each = [&loop](Phase phase, auto&& fn) {
    h2o_linklist_t* anchor = &loop.phases[phase];
    for (h2o_linklist_t* node = anchor->next; node != anchor;) {
      h2o_linklist_t* next = node->next;
      Conn* conn = ConnFromLink(node);
      if (!conn->closing) fn(*conn);
      node = next;
    }
  };

  for_each(kResponding, [&](Conn& conn) {
    if (conn.deferred) return;
    if (!h2o_socket_is_writing(conn.sock)) {
      SetPhase(conn, conn.sock->input->size > 0 ? kHeaders : kIdle, now);
      return;
    }
    if (conn.sock->bytes_written != conn.bytes_written_mark) {
      conn.bytes_written_mark = conn.sock->bytes_written;
      conn.progress_ms = now;
    } else if (now - conn.progress_ms >= write_timeout) {
      CloseConnection(conn, ConnectionEnd::kWriteTimeout);
    }
  });
  for_each(kIdle, [&](Conn& conn) {
    if (conn.sock->input->size > 0) {
      SetPhase(conn, kHeaders, now);
      return;
    }
    if (loop.stopping) {
      // A kept-alive connection with nothing sent is closed at once; one that never sent a
      // byte gets a moment, since its client connected before the stop.
      const bool may_close = !conn.fresh || now - loop.stop_started_ms >= kShutdownFreshGraceMs;
      if (may_close && !BytesWaiting(conn.sock)) {
        CloseConnection(conn, ConnectionEnd::kShutdown);
        return;
      }
    }
    const std::uint64_t limit = conn.fresh ? header_timeout : idle_timeout;
    if (now - conn.phase_start_ms >= limit) {
      CloseConnection(conn,
                      conn.fresh ? ConnectionEnd::kHeaderTimeout : ConnectionEnd::kIdleTimeout);
    }
  });
  for_each(kHeaders, [&](Conn& conn) {
    if (HeadersComplete(conn.sock->input)) {
      SetPhase(conn, kBody, now);
    } else if (now - conn.phase_start_ms >= header_timeout) {
      CloseConnection(conn, ConnectionEnd::kHeaderTimeout);
    }
  });
  for_each(kBody, [&](Conn& conn) {
    if (now - conn.phase_start_ms >= body_timeout) {
      CloseConnection(conn, ConnectionEnd::kBodyTimeout);
    }
  });
  // Lingering sockets are in start order: the first one not yet due ends the walk.
  while (!h2o_linklist_is_empty(&loop.lingering)) {
    Linger* oldest = LingerFromLink(loop.lingering.next);
    if (now < oldest->deadline_ms) break;
    h2o_socket_close(oldest->sock);
  }
  ResumeAcceptingIfRoom(loop);
}

}  // namespace csml::server::internal
