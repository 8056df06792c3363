// The parser's own rejections, taken over from h2o: a new connection's first request head is
// read and checked here (framing.h) before h2o sees the socket, because h2o's parser closes
// the connection without an answer on a malformed head. A sound head is handed to h2o with
// the bytes read so far; a bad one is answered here with JSON, counted, logged, and the
// connection closed by lingering. Also the per-request framing check h2o does not make.
#include <array>
#include <chrono>
#include <string>
#include <string_view>

#include <fmt/format.h>

#include "access_log.h"
#include "csml/core/json_writer.h"
#include "framing.h"
#include "server_internal.h"

namespace csml::server::internal {
namespace {

const char* RejectionReason(int status) {
  return status == 431 ? "Request Header Fields Too Large" : "Bad Request";
}

void OnRejectionWritten(h2o_socket_t* sock, const char* err) {
  auto* conn = static_cast<Conn*>(sock->on_close.data);
  if (err == nullptr) PrepareLinger(*conn);
  h2o_socket_close(sock);
}

void Reject(Conn& conn, const HeadCheck& check, std::size_t bytes_in) {
  LoopState& loop = *conn.loop;
  h2o_socket_read_stop(conn.sock);
  const std::uint64_t now = h2o_now(loop.loop);
  const auto latency = std::chrono::milliseconds(now - conn.phase_start_ms);
  conn.fresh = false;
  SetPhase(conn, kResponding, now);
  conn.progress_ms = now;
  conn.bytes_written_mark = conn.sock->bytes_written;

  std::array<char, 64> id_buffer{};
  const std::string_view request_id = NewRequestId(loop, id_buffer);
  std::string body = "{\"detail\":";
  AppendJsonString(&body, check.rejection.detail);
  body.push_back('}');
  conn.reply = fmt::format(
      "HTTP/1.1 {} {}\r\nConnection: close\r\nContent-Length: {}\r\nServer: csml\r\n"
      "content-type: application/json\r\nx-request-id: {}\r\n\r\n{}",
      check.rejection.status, RejectionReason(check.rejection.status), body.size(), request_id,
      body);

  const HttpServer::Impl& server = *loop.server;
  if (server.observers.metrics != nullptr) {
    server.observers.metrics->RecordRequest(Router::kNoRoute, check.rejection.status, latency);
  }
  if (AccessLog* log = server.observers.access_log; log != nullptr && log->enabled()) {
    AccessLogEntry entry;
    entry.method = check.method.empty() ? std::string_view("-") : std::string_view(check.method);
    entry.route = "unmatched";
    entry.path = check.target;
    entry.status = check.rejection.status;
    entry.latency_ns = std::chrono::nanoseconds(latency).count();
    entry.request_id = request_id;
    entry.bytes_in = bytes_in;
    entry.bytes_out = body.size();
    log->Record(entry);
  }
  h2o_iovec_t buf = h2o_iovec_init(conn.reply.data(), conn.reply.size());
  h2o_socket_write(conn.sock, &buf, 1, OnRejectionWritten);
}

void OnFirstBytes(h2o_socket_t* sock, const char* err) {
  auto* conn = static_cast<Conn*>(sock->on_close.data);
  if (err != nullptr) {
    h2o_socket_close(sock);
    return;
  }
  const std::string_view bytes(sock->input->bytes, sock->input->size);
  conn->head = CheckRequestHead(bytes, H2O_MAX_REQLEN, H2O_MAX_HEADERS, std::move(conn->head));
  switch (conn->head.verdict) {
    case HeadCheck::kIncomplete:
      return;
    case HeadCheck::kBad:
      Reject(*conn, conn->head, bytes.size());
      return;
    case HeadCheck::kComplete:
      conn->head = HeadCheck{};
      h2o_socket_read_stop(sock);
      h2o_accept(&conn->loop->accept_ctx, sock);
      return;
  }
}

}  // namespace

void StartReading(LoopState& loop, h2o_socket_t* sock) {
  Track(loop, sock);
  h2o_socket_read_start(sock, OnFirstBytes);
}

std::optional<Rejection> CheckRequestFraming(h2o_req_t* req) {
  Conn* conn = ConnOf(req);
  if (conn == nullptr) return std::nullopt;
  // Until the response is sent h2o keeps the request's head at the start of the socket's
  // input (the body after it may have been decoded in place).
  const h2o_buffer_t* input = conn->sock->input;
  const std::string_view bytes(input->bytes == nullptr ? "" : input->bytes, input->size);
  std::size_t start = 0;
  while (start < bytes.size() && (bytes[start] == '\r' || bytes[start] == '\n')) ++start;
  if (!bytes.substr(start).starts_with(View(req->input.method))) {
    return std::nullopt;  // not the head expected: h2o's own checks are all there is
  }
  return CheckFraming(bytes.substr(start));
}

}  // namespace csml::server::internal
