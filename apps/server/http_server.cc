// The only file that includes h2o.h. h2o must be told which event loop it was built with
// before its header is read: without H2O_USE_EPOLL it assumes libuv.
#define H2O_USE_EPOLL 1
#include "http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <h2o.h>
#include <spdlog/spdlog.h>

#include "access_log.h"
#include "csml/core/json_writer.h"
#include "http_metrics.h"

#if defined(__SANITIZE_ADDRESS__)
// h2o keeps per-thread caches of freed buffers and memory-pool chunks (and each context's
// message queue) that it never releases, so LeakSanitizer reports them when a loop thread
// ends. They are h2o's, bounded by the number of threads, and not ours to free.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(readability-identifier-naming)
  return "leak:libh2o-evloop\n";
}
#endif

namespace csml::server {
namespace {

// How long a loop waits for events before it looks at the stop flag and its mailbox.
constexpr std::int32_t kStopPollMs = 100;
// How often a loop checks its connections against the timeouts.
constexpr std::uint64_t kSweepIntervalMs = 100;
// Connections accepted per readiness event, so one busy listener cannot starve the loop.
constexpr int kAcceptBatch = 16;
constexpr int kMaxThreads = 1024;
constexpr std::size_t kMaxBodyLimit = std::size_t{1} << 30;
constexpr int kMaxTimeoutMs = 3'600'000;
constexpr int kMaxConnectionsLimit = 1'000'000;
constexpr int kMaxGraceMs = 600'000;
// While stopping: how long a connection that never sent a byte may still send its request.
constexpr std::uint64_t kShutdownFreshGraceMs = 1'000;
// After the grace period: how long closed connections get to be torn down by h2o.
constexpr auto kFinalCloseTime = std::chrono::milliseconds(500);
// File descriptors kept for everything but client connections (listeners, logs, models).
constexpr rlim_t kReservedFds = 64;
constexpr std::size_t kMaxRequestIdBytes = 128;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 202:
      return "Accepted";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 408:
      return "Request Timeout";
    case 409:
      return "Conflict";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
    case 429:
      return "Too Many Requests";
    case 500:
      return "Internal Server Error";
    case 503:
      return "Service Unavailable";
    default:
      return status < 400 ? "OK" : (status < 500 ? "Bad Request" : "Internal Server Error");
  }
}

std::string_view View(h2o_iovec_t v) {
  return v.base == nullptr ? std::string_view() : std::string_view(v.base, v.len);
}

h2o_iovec_t PoolCopy(h2o_req_t* req, std::string_view s) {
  return h2o_strdup(&req->pool, s.data(), s.size());
}

std::optional<std::string_view> LookupHeader(const void* source, std::string_view name) {
  const auto* req = static_cast<const h2o_req_t*>(source);
  const ssize_t i = h2o_find_header_by_str(&req->headers, name.data(), name.size(), -1);
  if (i < 0) return std::nullopt;
  return View(req->headers.entries[i].value);
}

// A client's X-Request-Id is echoed and logged only when it is short and plain.
bool IsGoodRequestId(std::string_view id) {
  if (id.empty() || id.size() > kMaxRequestIdBytes) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_' || c == '.' || c == ':';
  });
}

// ---- connections ----------------------------------------------------------------------------

// Where a connection is in its request cycle, as far as the timeouts are concerned.
enum Phase : std::uint8_t {
  kIdle,        // no byte of a request yet (a new or a kept-alive connection)
  kHeaders,     // request bytes arrived, the headers are not complete
  kBody,        // headers complete, the body is arriving
  kResponding,  // a handler was called; the response is being produced or written
  kNumPhases,
};

struct LoopState;

// Our record of one client connection, linked into its loop's list for its phase (lists are
// ordered by phase start, so the head of each is its oldest member).
struct Conn {
  h2o_linklist_t link;  // first member: a Conn* and its link's address are interchangeable
  h2o_socket_t* sock;
  LoopState* loop;
  Phase phase;
  bool fresh;     // no request received yet
  bool deferred;  // a handler deferred the response (no timeout applies)
  bool closing;   // shutdown(2) issued; h2o sees the end of the stream and closes it
  std::uint64_t phase_start_ms;
  std::uint64_t progress_ms;  // kResponding: when bytes_written last moved
  std::size_t bytes_written_mark;
};

Conn* ConnFromLink(h2o_linklist_t* link) { return reinterpret_cast<Conn*>(link); }

// Deferred answers completed on other threads, delivered by the loop that owns the requests.
struct Mailbox {
  std::mutex mu;
  std::vector<std::pair<std::shared_ptr<Responder::State>, Response>> mail;  // guarded by mu
  bool closed = false;                                                       // guarded by mu
  std::atomic<bool> has_mail{false};
};

// h2o gives handlers the h2o_context_t; our loop state sits next to it. Standard layout with
// the context first, so a context pointer converts back to its LoopContext.
struct LoopContext {
  h2o_context_t ctx;
  LoopState* state;
};

}  // namespace

struct Responder::State {
  std::shared_ptr<Mailbox> mailbox;
  std::atomic<bool> sent{false};
  // Loop thread only:
  bool active = false;  // the handler returned DeferredResponse(); the request waits
  h2o_req_t* req = nullptr;
  Conn* conn = nullptr;
  int route = Router::kNoRoute;
  std::chrono::steady_clock::time_point started;
  std::string request_id;
};

namespace {

struct LoopState {
  HttpServer::Impl* server = nullptr;
  int index = 0;
  h2o_evloop_t* loop = nullptr;
  LoopContext context{};
  h2o_accept_ctx_t accept_ctx{};
  h2o_socket_t* listener = nullptr;
  bool accept_paused = false;
  bool stopping = false;
  std::uint64_t stop_started_ms = 0;
  std::array<h2o_linklist_t, kNumPhases> phases{};
  std::size_t open = 0;
  std::size_t closing = 0;
  std::size_t cap = 0;  // this loop's share of max_connections
  std::uint64_t next_sweep_ms = 0;
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
  std::size_t deferred_pending = 0;
  std::uint64_t request_seq = 0;
  std::string request_id_prefix;  // "<8 hex digits>-<loop>-"
};

LoopState& LoopOf(h2o_context_t* ctx) { return *reinterpret_cast<LoopContext*>(ctx)->state; }

struct RouteHandler {
  h2o_handler_t super;
  HttpServer::Impl* server;
};

struct JsonErrorFilter {
  h2o_filter_t super;
  HttpServer::Impl* server;
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  Router router;
  ServerObservers observers;
  std::vector<std::string> route_labels;
  std::string host;
  int port = 0;
  int max_connections = 0;
  h2o_globalconf_t globalconf{};
  bool globalconf_ready = false;
  std::vector<int> listen_fds;  // owned until handed to a loop thread
  std::vector<std::unique_ptr<LoopState>> loops;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};
  std::atomic<int> undrained_loops{0};

  ~Impl() {
    for (const int fd : listen_fds) {
      if (fd >= 0) close(fd);
    }
    // A loop that could not finish its connections leaves them to the exiting process; the
    // configuration they point to must then stay.
    if (globalconf_ready && undrained_loops.load() == 0) h2o_config_dispose(&globalconf);
  }

  void RunLoop(LoopState& loop, int listen_fd);
};

namespace {

using Impl = HttpServer::Impl;

void Link(LoopState& loop, Conn& conn, Phase phase, std::uint64_t now_ms) {
  conn.phase = phase;
  conn.phase_start_ms = now_ms;
  h2o_linklist_insert(&loop.phases[phase], &conn.link);  // before the anchor: at the tail
}

void SetPhase(Conn& conn, Phase phase, std::uint64_t now_ms) {
  h2o_linklist_unlink(&conn.link);
  Link(*conn.loop, conn, phase, now_ms);
}

void OnAccept(h2o_socket_t* listener, const char* err);

void ResumeAcceptingIfRoom(LoopState& loop) {
  if (!loop.accept_paused || loop.stopping || loop.listener == nullptr) return;
  if (loop.open - loop.closing >= loop.cap) return;
  loop.accept_paused = false;
  h2o_socket_read_start(loop.listener, OnAccept);
}

void OnSocketClose(void* data) {
  Conn* conn = static_cast<Conn*>(data);
  LoopState& loop = *conn->loop;
  h2o_linklist_unlink(&conn->link);
  --loop.open;
  if (conn->closing) --loop.closing;
  delete conn;
  if (HttpMetrics* metrics = loop.server->observers.metrics) metrics->RecordConnectionClosed();
  ResumeAcceptingIfRoom(loop);
}

// Ends a connection from our side. h2o owns the socket, so it is not closed here: shutdown(2)
// makes h2o see the end of the stream (or a failed write) and close it through its own path,
// which calls OnSocketClose.
void CloseConnection(Conn& conn, ConnectionEnd why) {
  if (conn.closing) return;
  conn.closing = true;
  ++conn.loop->closing;
  ::shutdown(h2o_socket_get_fd(conn.sock), SHUT_RDWR);
  if (HttpMetrics* metrics = conn.loop->server->observers.metrics) {
    metrics->RecordConnectionEnd(why);
  }
}

void Track(LoopState& loop, h2o_socket_t* sock) {
  auto* conn = new Conn{};
  conn->sock = sock;
  conn->loop = &loop;
  conn->fresh = true;
  Link(loop, *conn, kIdle, h2o_now(loop.loop));
  sock->on_close.cb = OnSocketClose;
  sock->on_close.data = conn;
  ++loop.open;
  if (HttpMetrics* metrics = loop.server->observers.metrics) metrics->RecordConnectionOpened();
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

// At the cap: evicts the longest-idle connection, else the oldest one still sending headers.
bool MakeRoom(LoopState& loop) {
  Conn* victim = Oldest(loop, kIdle);
  if (victim == nullptr) victim = Oldest(loop, kHeaders);
  if (victim == nullptr) return false;
  CloseConnection(*victim, ConnectionEnd::kEvicted);
  return true;
}

void OnAccept(h2o_socket_t* listener, const char* err) {
  if (err != nullptr) return;
  LoopState& loop = *static_cast<LoopState*>(listener->data);
  for (int i = 0; i < kAcceptBatch; ++i) {
    if (loop.open - loop.closing >= loop.cap && !MakeRoom(loop)) {
      h2o_socket_read_stop(listener);
      loop.accept_paused = true;
      if (HttpMetrics* metrics = loop.server->observers.metrics) metrics->RecordAcceptPaused();
      return;
    }
    h2o_socket_t* sock = h2o_evloop_socket_accept(listener);
    if (sock == nullptr) return;
    Track(loop, sock);
    h2o_accept(&loop.accept_ctx, sock);
  }
}

bool HeadersComplete(const h2o_buffer_t* input) {
  const std::string_view bytes(input->bytes == nullptr ? "" : input->bytes, input->size);
  return bytes.find("\r\n\r\n") != std::string_view::npos ||
         bytes.find("\n\n") != std::string_view::npos;
}

// Request bytes the kernel holds that h2o has not read yet.
bool BytesWaiting(h2o_socket_t* sock) {
  int waiting = 0;
  return ::ioctl(h2o_socket_get_fd(sock), FIONREAD, &waiting) == 0 && waiting > 0;
}

// Applies the timeouts and follows the phases h2o does not report (a response finished,
// request bytes arrived, headers completed).
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
  ResumeAcceptingIfRoom(loop);
}

// ---- requests -------------------------------------------------------------------------------

Conn* ConnOf(h2o_req_t* req) {
  h2o_socket_t* sock = req->conn->callbacks->get_socket == nullptr
                           ? nullptr
                           : req->conn->callbacks->get_socket(req->conn);
  return sock == nullptr ? nullptr : static_cast<Conn*>(sock->on_close.data);
}

void SendResponse(h2o_req_t* req, const Response& response, std::string_view request_id) {
  req->res.status = response.status;
  req->res.reason = ReasonPhrase(response.status);
  if (!response.content_type.empty()) {
    const h2o_iovec_t type = PoolCopy(req, response.content_type);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr, type.base,
                   type.len);
  }
  const h2o_iovec_t id = PoolCopy(req, request_id);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, nullptr,
                        id.base, id.len);
  for (const auto& [name, value] : response.headers) {
    const h2o_iovec_t n = PoolCopy(req, name);
    const h2o_iovec_t v = PoolCopy(req, value);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, nullptr, v.base, v.len);
  }
  req->res.content_length = response.body.size();
  // Copies the body into the request's pool; for HEAD it sends the headers only.
  h2o_send_inline(req, response.body.data(), response.body.size());
}

// The request id to answer with: the client's when it is well formed, else a new one
// written into `buffer`.
std::string_view RequestIdFor(h2o_req_t* req, LoopState& loop, std::span<char> buffer) {
  if (const auto given = LookupHeader(req, "x-request-id"); given && IsGoodRequestId(*given)) {
    return *given;
  }
  const auto written = fmt::format_to_n(buffer.data(), buffer.size(), "{}{:x}",
                                        loop.request_id_prefix, ++loop.request_seq);
  return std::string_view(buffer.data(), std::min(written.size, buffer.size()));
}

void Record(LoopState& loop, h2o_req_t* req, int route, const Response& response,
            std::chrono::nanoseconds latency, std::string_view request_id) {
  const Impl& server = *loop.server;
  if (server.observers.metrics != nullptr) {
    server.observers.metrics->RecordRequest(route, response.status, latency);
  }
  AccessLog* log = server.observers.access_log;
  if (log == nullptr || !log->enabled()) return;
  AccessLogEntry entry;
  entry.method = View(req->method);
  const bool matched = route >= 0 && static_cast<std::size_t>(route) < server.route_labels.size();
  entry.route = matched ? std::string_view(server.route_labels[static_cast<std::size_t>(route)])
                        : std::string_view("unmatched");
  if (!matched) entry.path = View(req->path_normalized);
  entry.status = response.status;
  entry.latency_ns = latency.count();
  entry.request_id = request_id;
  entry.model_version = response.log_model_version;
  entry.bytes_in = req->entity.len;
  entry.bytes_out = response.body.size();
  log->Record(entry);
}

// Counts and logs the request before sending it, so a client that has its answer finds it
// in /metrics; the latency therefore ends where the response is handed to h2o.
void Finish(LoopState& loop, h2o_req_t* req, int route, const Response& response,
            std::chrono::steady_clock::time_point started, std::string_view request_id) {
  Record(loop, req, route, response, std::chrono::steady_clock::now() - started, request_id);
  SendResponse(req, response, request_id);
}

// What Request::Defer needs from the request being handled.
struct DeferSource {
  LoopState* loop;
  h2o_req_t* req;
  Conn* conn;
  std::shared_ptr<Responder::State> state;  // set by the first Defer()
};

Responder MakeResponder(const void* source) {
  auto* defer = static_cast<DeferSource*>(const_cast<void*>(source));
  if (defer->state != nullptr) return Responder();
  defer->state = std::make_shared<Responder::State>();
  defer->state->mailbox = defer->loop->mailbox;
  defer->state->req = defer->req;
  defer->state->conn = defer->conn;
  return Responder(defer->state);
}

int OnRequest(h2o_handler_t* self, h2o_req_t* req) {
  const auto started = std::chrono::steady_clock::now();
  const Impl& server = *reinterpret_cast<RouteHandler*>(self)->server;
  LoopState& loop = LoopOf(req->conn->ctx);
  Conn* conn = ConnOf(req);
  if (conn != nullptr) {
    const std::uint64_t now = h2o_now(loop.loop);
    conn->fresh = false;
    SetPhase(*conn, kResponding, now);
    conn->progress_ms = now;
    conn->bytes_written_mark = conn->sock->bytes_written;
  }

  Request request;
  request.method = View(req->method);
  request.path = View(req->path_normalized);
  if (req->query_at != SIZE_MAX) {
    request.query = View(req->path).substr(req->query_at + 1);
  }
  request.authority = View(req->authority);
  request.body = View(req->entity);
  request.header_source = req;
  request.header_lookup = &LookupHeader;
  DeferSource defer{&loop, req, conn, nullptr};
  request.defer_source = &defer;
  request.defer = &MakeResponder;
  std::array<char, 64> id_buffer{};
  const std::string_view request_id = RequestIdFor(req, loop, id_buffer);

  Router::Outcome outcome;
  try {
    outcome = server.router.Handle(request);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: handler failed: {}", request.method, request.path, e.what());
    outcome.response = DetailResponse(500, "Internal Server Error");
  }
  if (outcome.response.deferred) {
    if (defer.state != nullptr) {
      defer.state->active = true;
      defer.state->route = outcome.route;
      defer.state->started = started;
      defer.state->request_id = request_id;
      if (conn != nullptr) conn->deferred = true;
      ++loop.deferred_pending;
      return 0;
    }
    spdlog::error("{} {}: handler deferred without a responder", request.method, request.path);
    outcome.response = DetailResponse(500, "Internal Server Error");
  }
  Finish(loop, req, outcome.route, outcome.response, started, request_id);
  return 0;
}

void DeliverMail(LoopState& loop) {
  Mailbox& mailbox = *loop.mailbox;
  if (!mailbox.has_mail.load(std::memory_order_relaxed)) return;
  std::vector<std::pair<std::shared_ptr<Responder::State>, Response>> mail;
  {
    std::lock_guard<std::mutex> lock(mailbox.mu);
    mailbox.has_mail.store(false, std::memory_order_relaxed);
    mail.swap(mailbox.mail);
  }
  for (auto& [state, response] : mail) {
    if (!state->active) continue;  // the handler answered by itself after all
    state->active = false;
    if (state->conn != nullptr) state->conn->deferred = false;
    --loop.deferred_pending;
    Finish(loop, state->req, state->route, response, state->started, state->request_id);
  }
}

// ---- JSON bodies for the errors h2o answers itself ------------------------------------------
//
// h2o refuses some requests before any handler runs (a body above max_request_entity_size, a
// broken chunked encoding) with a text/plain body. Those responses are bound to the host's
// fallback path, so a filter there rewrites them to {"detail": ...}, and counts and logs them.

struct JsonBodyOstream {
  h2o_ostream_t super;
  h2o_iovec_t body;
  bool sent;
};

void SendJsonBody(h2o_ostream_t* self, h2o_req_t* req, h2o_iovec_t* /*bufs*/,
                  std::size_t /*bufcnt*/, h2o_send_state_t state) {
  auto* os = reinterpret_cast<JsonBodyOstream*>(self);
  const bool head = View(req->input.method) == "HEAD";
  if (os->sent || head) {
    h2o_ostream_send_next(self, req, nullptr, 0, state);
    return;
  }
  os->sent = true;
  h2o_ostream_send_next(self, req, &os->body, 1, state);
}

void SetupJsonErrorOstream(h2o_filter_t* self, h2o_req_t* req, h2o_ostream_t** slot) {
  const Impl& server = *reinterpret_cast<JsonErrorFilter*>(self)->server;
  Response logged;
  logged.status = req->res.status;
  if (req->res.status >= 400) {
    std::string body = "{\"detail\":";
    if (req->res.status == 413) {
      AppendJsonString(&body, fmt::format("Request body exceeds the limit of {} bytes",
                                          server.options.max_body_bytes));
    } else {
      AppendJsonString(&body, req->res.reason != nullptr ? req->res.reason : "Bad Request");
    }
    body.push_back('}');
    const ssize_t type_at = h2o_find_header(&req->res.headers, H2O_TOKEN_CONTENT_TYPE, -1);
    if (type_at >= 0) {
      req->res.headers.entries[type_at].value = h2o_iovec_init(H2O_STRLIT("application/json"));
    } else {
      h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr,
                     H2O_STRLIT("application/json"));
    }
    req->res.content_length = body.size();
    auto* os =
        reinterpret_cast<JsonBodyOstream*>(h2o_add_ostream(req, sizeof(JsonBodyOstream), slot));
    os->super.do_send = SendJsonBody;
    os->body = PoolCopy(req, body);
    os->sent = false;
    slot = &os->super.next;
    logged.body = std::move(body);
  }
  LoopState& loop = LoopOf(req->conn->ctx);
  std::array<char, 64> id_buffer{};
  const std::string_view request_id = RequestIdFor(req, loop, id_buffer);
  const h2o_iovec_t id = PoolCopy(req, request_id);
  h2o_add_header_by_str(&req->pool, &req->res.headers, H2O_STRLIT("x-request-id"), 0, nullptr,
                        id.base, id.len);
  std::chrono::nanoseconds latency{0};
  if (req->timestamps.request_begin_at.tv_sec != 0) {
    timeval now{};
    gettimeofday(&now, nullptr);
    const std::int64_t us = (now.tv_sec - req->timestamps.request_begin_at.tv_sec) * 1'000'000 +
                            (now.tv_usec - req->timestamps.request_begin_at.tv_usec);
    latency = std::chrono::microseconds(std::max<std::int64_t>(0, us));
  }
  Record(loop, req, Router::kNoRoute, logged, latency, request_id);
  h2o_setup_next_ostream(req, slot);
}

// ---- listening sockets ----------------------------------------------------------------------

std::string FormatHost(const sockaddr_storage& addr) {
  char text[NI_MAXHOST] = {};
  if (getnameinfo(reinterpret_cast<const sockaddr*>(&addr), sizeof(addr), text, sizeof(text),
                  nullptr, 0, NI_NUMERICHOST) != 0) {
    return "?";
  }
  return text;
}

int PortOf(const sockaddr_storage& addr) {
  if (addr.ss_family == AF_INET6) {
    return ntohs(reinterpret_cast<const sockaddr_in6*>(&addr)->sin6_port);
  }
  return ntohs(reinterpret_cast<const sockaddr_in*>(&addr)->sin_port);
}

void SetPort(sockaddr_storage* addr, int port) {
  const auto net_port = htons(static_cast<std::uint16_t>(port));
  if (addr->ss_family == AF_INET6) {
    reinterpret_cast<sockaddr_in6*>(addr)->sin6_port = net_port;
  } else {
    reinterpret_cast<sockaddr_in*>(addr)->sin_port = net_port;
  }
}

// SO_REUSEPORT lets another process of the same user bind the same port and silently share
// its connections, so a port that is already taken is detected first by binding without it.
Status CheckPortFree(const sockaddr_storage& addr, socklen_t addr_len) {
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(ErrorCode::kIo, fmt::format("socket: {}", std::strerror(errno)));
  const int on = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  const bool bound = bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) == 0;
  const int saved = errno;
  close(fd);
  if (!bound) return MakeError(ErrorCode::kIo, std::strerror(saved));
  return {};
}

// A non-blocking listening socket with SO_REUSEPORT, so each loop can own one on the same port.
Result<int> OpenListener(const sockaddr_storage& addr, socklen_t addr_len) {
  const int fd = socket(addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return MakeError(ErrorCode::kIo, fmt::format("socket: {}", std::strerror(errno)));
  const int on = 1;
  const bool configured = setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on)) == 0 &&
                          setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &on, sizeof(on)) == 0 &&
                          setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on)) == 0;
  if (!configured || bind(fd, reinterpret_cast<const sockaddr*>(&addr), addr_len) != 0 ||
      listen(fd, SOMAXCONN) != 0) {
    const int saved = errno;
    close(fd);
    return MakeError(ErrorCode::kIo, std::strerror(saved));
  }
  return fd;
}

// Raises the soft open-file limit towards what the connection cap needs and returns the cap
// that fits under the limit in force.
int FitConnectionCap(int wanted, int threads) {
  const rlim_t needed =
      static_cast<rlim_t>(wanted) + kReservedFds + static_cast<rlim_t>(threads) * 4;
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return wanted;
  if (limit.rlim_cur != RLIM_INFINITY && limit.rlim_cur < needed) {
    rlimit raised = limit;
    raised.rlim_cur = limit.rlim_max == RLIM_INFINITY ? needed : std::min(limit.rlim_max, needed);
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) limit = raised;
  }
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= needed) return wanted;
  const rlim_t spare = static_cast<rlim_t>(kReservedFds) + static_cast<rlim_t>(threads) * 4;
  const rlim_t fits = limit.rlim_cur > spare ? limit.rlim_cur - spare : 1;
  spdlog::warn("open-file limit is {}; serving at most {} connections instead of {}",
               limit.rlim_cur, fits, wanted);
  return static_cast<int>(std::max<rlim_t>(1, fits));
}

}  // namespace

// ---- the responder ----------------------------------------------------------------------------

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (state_ != nullptr) Send(DetailResponse(500, "Internal Server Error"));
    state_ = std::move(other.state_);
  }
  return *this;
}

Responder::~Responder() {
  if (state_ != nullptr) Send(DetailResponse(500, "Internal Server Error"));
}

void Responder::Send(Response response) {
  if (state_ == nullptr) return;
  std::shared_ptr<State> state = std::move(state_);
  if (state->sent.exchange(true)) return;
  Mailbox& mailbox = *state->mailbox;
  std::lock_guard<std::mutex> lock(mailbox.mu);
  if (mailbox.closed) return;
  mailbox.mail.emplace_back(std::move(state), std::move(response));
  mailbox.has_mail.store(true, std::memory_order_relaxed);
}

// ---- the loop -------------------------------------------------------------------------------

void HttpServer::Impl::RunLoop(LoopState& loop, int listen_fd) {
  loop.loop = h2o_evloop_create();
  h2o_context_init(&loop.context.ctx, loop.loop, &globalconf);
  loop.context.state = &loop;
  for (h2o_linklist_t& anchor : loop.phases) h2o_linklist_init_anchor(&anchor);
  loop.accept_ctx.ctx = &loop.context.ctx;
  loop.accept_ctx.hosts = globalconf.hosts;
  loop.listener = h2o_evloop_socket_create(loop.loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
  loop.listener->data = &loop;
  h2o_socket_read_start(loop.listener, OnAccept);
  AccessLog* log = observers.access_log;

  while (!stop.load(std::memory_order_acquire)) {
    h2o_evloop_run(loop.loop, kStopPollMs);
    DeliverMail(loop);
    const std::uint64_t now = h2o_now(loop.loop);
    if (now >= loop.next_sweep_ms) {
      Sweep(loop, now);
      loop.next_sweep_ms = now + kSweepIntervalMs;
      if (log != nullptr) log->FlushThisThread();
    }
  }

  // Stop accepting, but first take the connections the kernel already completed for this
  // listener: their clients believe they are connected and may have sent a request.
  loop.stopping = true;
  loop.stop_started_ms = h2o_now(loop.loop);
  while (h2o_socket_t* sock = h2o_evloop_socket_accept(loop.listener)) {
    Track(loop, sock);
    h2o_accept(&loop.accept_ctx, sock);
  }
  h2o_socket_read_stop(loop.listener);
  h2o_socket_close(loop.listener);
  loop.listener = nullptr;
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
  {
    std::lock_guard<std::mutex> lock(loop.mailbox->mu);
    loop.mailbox->closed = true;
    loop.mailbox->mail.clear();
  }
  if (log != nullptr) log->FlushThisThread();
  if (loop.open > 0) {
    spdlog::warn("shutdown: {} connections still open after {} ms; leaving them to the exit",
                 loop.open, options.shutdown_grace_ms);
    undrained_loops.fetch_add(1);
    return;
  }
  h2o_context_dispose(&loop.context.ctx);
  h2o_evloop_destroy(loop.loop);
}

// ---- options and the server -----------------------------------------------------------------

Status ServerOptions::Validate() const {
  if (host.empty())
    return MakeError(ErrorCode::kInvalidArgument, "host: expected an address, got ''");
  if (port < 0 || port > 65535) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("port: expected 0 to 65535, got {}", port));
  }
  if (threads < 0 || threads > kMaxThreads) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("threads: expected 0 (one per core) to {}, got {}", kMaxThreads, threads));
  }
  if (max_body_bytes == 0 || max_body_bytes > kMaxBodyLimit) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("max body bytes: expected 1 to {}, got {}", kMaxBodyLimit, max_body_bytes));
  }
  const std::pair<std::string_view, int> timeouts[] = {{"header timeout", header_timeout_ms},
                                                       {"body timeout", body_timeout_ms},
                                                       {"idle timeout", idle_timeout_ms},
                                                       {"write timeout", write_timeout_ms}};
  for (const auto& [name, ms] : timeouts) {
    if (ms < 1 || ms > kMaxTimeoutMs) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("{}: expected 1 to {} ms, got {}", name, kMaxTimeoutMs, ms));
    }
  }
  if (max_connections < 1 || max_connections > kMaxConnectionsLimit) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("max connections: expected 1 to {}, got {}", kMaxConnectionsLimit,
                                 max_connections));
  }
  if (shutdown_grace_ms < 0 || shutdown_grace_ms > kMaxGraceMs) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("shutdown grace: expected 0 to {} ms, got {}", kMaxGraceMs, shutdown_grace_ms));
  }
  return {};
}

int ServerOptions::ResolvedThreads() const {
  return threads > 0 ? threads : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
  Wait();
}

const std::string& HttpServer::host() const { return impl_->host; }
int HttpServer::port() const { return impl_->port; }
int HttpServer::threads() const { return static_cast<int>(impl_->threads.size()); }
int HttpServer::max_connections() const { return impl_->max_connections; }

void HttpServer::Stop() { impl_->stop.store(true, std::memory_order_release); }

void HttpServer::Wait() {
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options, Router router,
                                                      ServerObservers observers) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  // h2o writes with writev(); a peer that has gone would otherwise kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->router = std::move(router);
  impl->observers = observers;
  impl->route_labels = impl->router.Paths();
  if (observers.metrics != nullptr) observers.metrics->BindRoutes(impl->route_labels);

  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string service = std::to_string(options.port);
  if (const int rc = getaddrinfo(options.host.c_str(), service.c_str(), &hints, &found); rc != 0) {
    return MakeError(ErrorCode::kInvalidArgument, fmt::format("host '{}': cannot resolve it: {}",
                                                              options.host, gai_strerror(rc)));
  }
  sockaddr_storage addr{};
  const socklen_t addr_len = found->ai_addrlen;
  std::memcpy(&addr, found->ai_addr, addr_len);
  freeaddrinfo(found);

  if (options.port != 0) {
    if (Status free = CheckPortFree(addr, addr_len); !free) {
      return MakeError(ErrorCode::kIo, fmt::format("cannot listen on {}:{}: {}", options.host,
                                                   options.port, free.error().message));
    }
  }
  const int num_threads = options.ResolvedThreads();
  impl->max_connections = FitConnectionCap(options.max_connections, num_threads);
  for (int i = 0; i < num_threads; ++i) {
    Result<int> fd = OpenListener(addr, addr_len);
    if (!fd) {
      return MakeError(ErrorCode::kIo, fmt::format("cannot listen on {}:{}: {}", options.host,
                                                   PortOf(addr), fd.error().message));
    }
    impl->listen_fds.push_back(*fd);
    if (i == 0) {
      // With port 0 the kernel picked one; the other sockets must share it.
      sockaddr_storage bound{};
      socklen_t bound_len = sizeof(bound);
      getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
      SetPort(&addr, PortOf(bound));
      impl->host = FormatHost(bound);
      impl->port = PortOf(bound);
    }
  }

  h2o_config_init(&impl->globalconf);
  impl->globalconf_ready = true;
  impl->globalconf.server_name = h2o_iovec_init(H2O_STRLIT("csml"));
  impl->globalconf.max_request_entity_size = options.max_body_bytes;
  // h2o's own per-request timer runs from the end of one response to the end of the next
  // request; the sweep enforces each phase, this only backs it up.
  impl->globalconf.http1.req_timeout = static_cast<std::uint64_t>(options.idle_timeout_ms) +
                                       static_cast<std::uint64_t>(options.header_timeout_ms) +
                                       static_cast<std::uint64_t>(options.body_timeout_ms);
  impl->globalconf.http1.upgrade_to_http2 = 0;  // HTTP/1.1 only: no h2c upgrade
  h2o_hostconf_t* hostconf =
      h2o_config_register_host(&impl->globalconf, h2o_iovec_init(H2O_STRLIT("default")), 65535);
  h2o_pathconf_t* pathconf = h2o_config_register_path(hostconf, "/", 0);
  auto* handler =
      reinterpret_cast<RouteHandler*>(h2o_create_handler(pathconf, sizeof(RouteHandler)));
  handler->super.on_req = OnRequest;
  handler->server = impl.get();
  auto* filter = reinterpret_cast<JsonErrorFilter*>(
      h2o_create_filter(&hostconf->fallback_path, sizeof(JsonErrorFilter)));
  filter->super.on_setup_ostream = SetupJsonErrorOstream;
  filter->server = impl.get();

  std::random_device random;
  const std::uint32_t instance = random();
  const auto per_loop_cap =
      static_cast<std::size_t>((impl->max_connections + num_threads - 1) / num_threads);
  Impl* raw = impl.get();
  for (int i = 0; i < num_threads; ++i) {
    auto loop = std::make_unique<LoopState>();
    loop->server = raw;
    loop->index = i;
    loop->cap = per_loop_cap;
    loop->request_id_prefix = fmt::format("{:08x}-{}-", instance, i);
    raw->loops.push_back(std::move(loop));
  }
  for (int i = 0; i < num_threads; ++i) {
    int& fd = raw->listen_fds[static_cast<std::size_t>(i)];
    LoopState* loop = raw->loops[static_cast<std::size_t>(i)].get();
    raw->threads.emplace_back([raw, loop, listen_fd = fd] { raw->RunLoop(*loop, listen_fd); });
    fd = -1;  // the loop's listener closes it
  }
  const std::string shown_host =
      raw->host.find(':') != std::string::npos ? fmt::format("[{}]", raw->host) : raw->host;
  // Scripts and tests read this line: keep it exactly "listening on http://HOST:PORT".
  spdlog::info("listening on http://{}:{}", shown_host, raw->port);
  spdlog::info(
      "{} event-loop threads, request bodies up to {} bytes, up to {} connections; timeouts: "
      "headers {} ms, body {} ms, idle {} ms, write {} ms",
      num_threads, options.max_body_bytes, raw->max_connections, options.header_timeout_ms,
      options.body_timeout_ms, options.idle_timeout_ms, options.write_timeout_ms);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace csml::server
