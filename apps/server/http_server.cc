// The server itself: Start(), each loop's main cycle, requests and deferred answers. The
// other concerns have their own files (see server_internal.h).
#include "http_server.h"

#include <netdb.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstring>
#include <exception>
#include <mutex>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "access_log.h"
#include "http_metrics.h"
#include "server_internal.h"

#if defined(__SANITIZE_ADDRESS__)
// h2o keeps per-thread caches of freed buffers and memory-pool chunks (and each context's
// message queue) that it never releases, so LeakSanitizer reports them when a loop thread
// ends. They are h2o's, bounded by the number of threads, and not ours to free.
extern "C" const char* __lsan_default_suppressions() {  // NOLINT(readability-identifier-naming)
  return "leak:libh2o-evloop\n";
}
#endif

namespace csml::server {

using internal::LoopState;

namespace internal {
namespace {

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

struct RouteHandler {
  h2o_handler_t super;
  HttpServer::Impl* server;
};

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

}  // namespace

// The request id to answer with: the client's when it is well formed, else a new one
// written into `buffer`.
std::string_view RequestIdFor(h2o_req_t* req, LoopState& loop, std::span<char> buffer) {
  if (const auto given = LookupHeader(req, "x-request-id"); given && IsGoodRequestId(*given)) {
    return *given;
  }
  return NewRequestId(loop, buffer);
}

std::string_view NewRequestId(LoopState& loop, std::span<char> buffer) {
  const auto written = fmt::format_to_n(buffer.data(), buffer.size(), "{}{:x}",
                                        loop.request_id_prefix, ++loop.request_seq);
  return std::string_view(buffer.data(), std::min(written.size, buffer.size()));
}

void Record(LoopState& loop, h2o_req_t* req, int route, const Response& response,
            std::chrono::nanoseconds latency, std::string_view request_id) {
  const HttpServer::Impl& server = *loop.server;
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

namespace {

// Counts and logs the request before sending it, so a client that has its answer finds it
// in /metrics; the latency therefore ends where the response is handed to h2o.
void Finish(LoopState& loop, h2o_req_t* req, int route, const Response& response,
            std::chrono::steady_clock::time_point started, std::string_view request_id) {
  // An error that ends the connection is followed by a lingering close, so a client still
  // sending reads it instead of meeting a reset.
  if (response.status >= 400 && !req->http1_is_persistent) {
    if (Conn* conn = ConnOf(req); conn != nullptr) PrepareLinger(*conn);
  }
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

// An absolute-form target (RFC 9112 3.2.2, what a forward proxy sends) for this server's own
// host becomes the origin-form request it names. False when it names another host.
bool TakeAbsoluteForm(h2o_req_t* req, const HttpServer::Impl& server) {
  const std::optional<AbsoluteTarget> target = SplitAbsoluteTarget(View(req->input.path));
  if (!target) return true;
  if (!IsOwnAuthority(target->authority, View(req->input.authority), server.host, server.port)) {
    return false;
  }
  req->authority = PoolCopy(req, target->authority);
  req->path = PoolCopy(req, target->origin_form);
  req->path_normalized = h2o_url_normalize_path(&req->pool, req->path.base, req->path.len,
                                                &req->query_at, &req->norm_indexes);
  return true;
}

int OnRequest(h2o_handler_t* self, h2o_req_t* req) {
  const auto started = std::chrono::steady_clock::now();
  const HttpServer::Impl& server = *reinterpret_cast<RouteHandler*>(self)->server;
  LoopState& loop = LoopOf(req->conn->ctx);
  Conn* conn = ConnOf(req);
  if (conn != nullptr) {
    const std::uint64_t now = h2o_now(loop.loop);
    conn->fresh = false;
    SetPhase(*conn, kResponding, now);
    conn->progress_ms = now;
    conn->bytes_written_mark = conn->sock->bytes_written;
  }

  if (std::optional<Rejection> bad = CheckRequestFraming(req)) {
    // The bytes after this request cannot be trusted to start the next one: the connection
    // ends with the answer.
    req->http1_is_persistent = 0;
    std::array<char, 64> id_buffer{};
    Finish(loop, req, Router::kNoRoute, DetailResponse(bad->status, bad->detail), started,
           RequestIdFor(req, loop, id_buffer));
    return 0;
  }
  if (!TakeAbsoluteForm(req, server)) {
    std::array<char, 64> id_buffer{};
    Finish(loop, req, Router::kNoRoute,
           DetailResponse(400, "The request target names a host this server does not serve"),
           started, RequestIdFor(req, loop, id_buffer));
    return 0;
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
  request.request_id = request_id;
  request.received = started;

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

}  // namespace

void InstallRouteHandler(h2o_pathconf_t* pathconf, HttpServer::Impl* server) {
  auto* handler =
      reinterpret_cast<RouteHandler*>(h2o_create_handler(pathconf, sizeof(RouteHandler)));
  handler->super.on_req = OnRequest;
  handler->server = server;
}

void DeliverMail(LoopState& loop) {
  Mailbox& mailbox = *loop.mailbox;
  if (!mailbox.has_mail.load(std::memory_order_acquire)) return;
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

namespace {

void CloseWake(LoopState& loop) {
  {
    // After this no Send writes to the eventfd, so it can be closed.
    std::lock_guard<std::mutex> lock(loop.mailbox->mu);
    loop.mailbox->wake_fd = -1;
  }
  if (loop.wake != nullptr) {
    h2o_socket_read_stop(loop.wake);
    h2o_socket_close(loop.wake);  // closes the descriptor; h2o frees the socket later
    loop.wake = nullptr;
  }
}

// The mailbox's eventfd is readable: a Send queued mail into an empty mailbox. The counter is
// read (reset) before the mail is taken, so a Send that finds the mailbox empty again after
// this delivery writes anew and is not lost. h2o: a socket made with H2O_SOCKET_FLAG_DONT_READ
// is never read by h2o; its read callback is called on readiness (epoll, level-triggered) and
// reading is ours, so the counter must be drained here or the callback fires again.
void OnWake(h2o_socket_t* sock, const char* err) {
  LoopState& loop = *static_cast<LoopState*>(sock->data);
  if (err != nullptr) {
    // Not seen with an eventfd (h2o passes no error for a DONT_READ socket); if it were, the
    // mail would still be delivered by the poll.
    spdlog::warn(
        "event loop {}: mailbox wake-up failed ({}); deferred answers now wait for the "
        "{} ms poll",
        loop.index, err, kStopPollMs);
    CloseWake(loop);
    return;
  }
  std::uint64_t count = 0;
  while (read(h2o_socket_get_fd(sock), &count, sizeof(count)) < 0 && errno == EINTR) {
  }
  DeliverMail(loop);
}

}  // namespace

void OpenMailboxWake(LoopState& loop) {
  const int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) {
    spdlog::warn(
        "event loop {}: no eventfd for deferred answers ({}); they wait for the {} ms poll",
        loop.index, std::strerror(errno), kStopPollMs);
    return;
  }
  // h2o_evloop_socket_create takes the descriptor: h2o_socket_close closes it.
  loop.wake = h2o_evloop_socket_create(loop.loop, fd, H2O_SOCKET_FLAG_DONT_READ);
  loop.wake->data = &loop;
  {
    std::lock_guard<std::mutex> lock(loop.mailbox->mu);
    loop.mailbox->wake_fd = fd;
  }
  h2o_socket_read_start(loop.wake, OnWake);
}

void CloseMailbox(LoopState& loop) {
  {
    std::lock_guard<std::mutex> lock(loop.mailbox->mu);
    loop.mailbox->closed = true;
    loop.mailbox->mail.clear();
  }
  CloseWake(loop);
}

}  // namespace internal

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
  internal::Mailbox& mailbox = *state->mailbox;
  std::lock_guard<std::mutex> lock(mailbox.mu);
  if (mailbox.closed) return;
  mailbox.mail.emplace_back(std::move(state), std::move(response));
  // One wake-up per batch: only the Send that finds the mailbox empty writes. The write is
  // made under the lock, so the loop cannot close the eventfd meanwhile (CloseMailbox).
  if (!mailbox.has_mail.exchange(true, std::memory_order_release) && mailbox.wake_fd >= 0) {
    const std::uint64_t one = 1;
    // It fails only when the counter is at its maximum, and then the loop is awake anyway.
    const ssize_t written = write(mailbox.wake_fd, &one, sizeof(one));
    static_cast<void>(written);
  }
}

// ---- the loop -------------------------------------------------------------------------------

void HttpServer::Impl::RunLoop(LoopState& loop, int listen_fd) {
  using internal::kStopPollMs;
  using internal::kSweepIntervalMs;
  loop.loop = h2o_evloop_create();
  h2o_context_init(&loop.context.ctx, loop.loop, &globalconf);
  loop.context.state = &loop;
  for (h2o_linklist_t& anchor : loop.phases) h2o_linklist_init_anchor(&anchor);
  h2o_linklist_init_anchor(&loop.lingering);
  loop.accept_ctx.ctx = &loop.context.ctx;
  loop.accept_ctx.hosts = globalconf.hosts;
  loop.listener = h2o_evloop_socket_create(loop.loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
  loop.listener->data = &loop;
  h2o_socket_read_start(loop.listener, internal::OnAccept);
  internal::OpenMailboxWake(loop);
  AccessLog* log = observers.access_log;

  while (!stop.load(std::memory_order_acquire)) {
    h2o_evloop_run(loop.loop, kStopPollMs);
    internal::DeliverMail(loop);
    const std::uint64_t now = h2o_now(loop.loop);
    if (now >= loop.next_sweep_ms) {
      internal::Sweep(loop, now);
      loop.next_sweep_ms = now + kSweepIntervalMs;
      if (log != nullptr) log->FlushThisThread();
    }
  }

  if (!internal::DrainLoop(loop)) {
    undrained_loops.fetch_add(1);
    return;
  }
  h2o_context_dispose(&loop.context.ctx);
  h2o_evloop_destroy(loop.loop);
}

HttpServer::Impl::~Impl() {
  for (const int fd : listen_fds) {
    if (fd >= 0) close(fd);
  }
  // A loop that could not finish its connections leaves them to the exiting process; the
  // configuration they point to must then stay.
  if (globalconf_ready && undrained_loops.load() == 0) h2o_config_dispose(&globalconf);
}

// ---- the server -----------------------------------------------------------------------------

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
    if (Status free = internal::CheckPortFree(addr, addr_len); !free) {
      return MakeError(ErrorCode::kIo, fmt::format("cannot listen on {}:{}: {}", options.host,
                                                   options.port, free.error().message));
    }
  }
  const int num_threads = options.ResolvedThreads();
  impl->max_connections = internal::FitConnectionCap(options.max_connections, num_threads);
  for (int i = 0; i < num_threads; ++i) {
    Result<int> fd = internal::OpenListener(addr, addr_len);
    if (!fd) {
      return MakeError(ErrorCode::kIo, fmt::format("cannot listen on {}:{}: {}", options.host,
                                                   internal::PortOf(addr), fd.error().message));
    }
    impl->listen_fds.push_back(*fd);
    if (i == 0) {
      // With port 0 the kernel picked one; the other sockets must share it.
      sockaddr_storage bound{};
      socklen_t bound_len = sizeof(bound);
      getsockname(*fd, reinterpret_cast<sockaddr*>(&bound), &bound_len);
      internal::SetPort(&addr, internal::PortOf(bound));
      impl->host = internal::FormatHost(bound);
      impl->port = internal::PortOf(bound);
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
  internal::InstallRouteHandler(pathconf, impl.get());
  internal::InstallJsonErrorFilter(hostconf, impl.get());

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
