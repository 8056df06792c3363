// The only file that includes h2o.h. h2o must be told which event loop it was built with
// before its header is read: without H2O_USE_EPOLL it assumes libuv.
#define H2O_USE_EPOLL 1
#include "http_server.h"

#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <exception>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <h2o.h>
#include <spdlog/spdlog.h>

#include "csml/core/json_writer.h"

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

// How often a loop looks at the stop flag while it has nothing else to do.
constexpr std::int32_t kStopPollMs = 100;
// Connections accepted per readiness event, so one busy listener cannot starve the loop.
constexpr int kAcceptBatch = 16;
constexpr int kMaxThreads = 1024;
constexpr std::size_t kMaxBodyLimit = std::size_t{1} << 30;

const char* ReasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 307:
      return "Temporary Redirect";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 413:
      return "Request Entity Too Large";
    case 415:
      return "Unsupported Media Type";
    case 422:
      return "Unprocessable Entity";
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

void SendResponse(h2o_req_t* req, const Response& response) {
  req->res.status = response.status;
  req->res.reason = ReasonPhrase(response.status);
  if (!response.content_type.empty()) {
    const h2o_iovec_t type = PoolCopy(req, response.content_type);
    h2o_add_header(&req->pool, &req->res.headers, H2O_TOKEN_CONTENT_TYPE, nullptr, type.base,
                   type.len);
  }
  for (const auto& [name, value] : response.headers) {
    const h2o_iovec_t n = PoolCopy(req, name);
    const h2o_iovec_t v = PoolCopy(req, value);
    h2o_add_header_by_str(&req->pool, &req->res.headers, n.base, n.len, 1, nullptr, v.base, v.len);
  }
  req->res.content_length = response.body.size();
  // Copies the body into the request's pool; for HEAD it sends the headers only.
  h2o_send_inline(req, response.body.data(), response.body.size());
}

// ---- JSON bodies for the errors h2o answers itself ------------------------------------------
//
// h2o refuses some requests before any handler runs (a body above max_request_entity_size, a
// broken chunked encoding) with a text/plain body. Those responses are bound to the host's
// fallback path, so a filter there rewrites them to {"detail": ...}.

struct JsonErrorFilter {
  h2o_filter_t super;
  std::size_t max_body_bytes;
};

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
  if (req->res.status >= 400) {
    const auto* filter = reinterpret_cast<JsonErrorFilter*>(self);
    std::string body = "{\"detail\":";
    if (req->res.status == 413) {
      AppendJsonString(
          &body, fmt::format("Request body exceeds the limit of {} bytes", filter->max_body_bytes));
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
  }
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

struct RouteHandler {
  h2o_handler_t super;
  HttpServer::Impl* server;
};

int OnRequest(h2o_handler_t* self, h2o_req_t* req);

void OnAccept(h2o_socket_t* listener, const char* err) {
  if (err != nullptr) return;
  auto* accept_ctx = static_cast<h2o_accept_ctx_t*>(listener->data);
  for (int i = 0; i < kAcceptBatch; ++i) {
    h2o_socket_t* sock = h2o_evloop_socket_accept(listener);
    if (sock == nullptr) return;
    h2o_accept(accept_ctx, sock);
  }
}

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  Router router;
  std::string host;
  int port = 0;
  h2o_globalconf_t globalconf{};
  bool globalconf_ready = false;
  std::vector<int> listen_fds;  // owned until handed to a loop thread
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

  void RunLoop(int listen_fd);
};

namespace {

int OnRequest(h2o_handler_t* self, h2o_req_t* req) {
  const auto started = std::chrono::steady_clock::now();
  const HttpServer::Impl& server = *reinterpret_cast<RouteHandler*>(self)->server;
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
  Response response;
  try {
    response = server.router.Handle(request);
  } catch (const std::exception& e) {
    spdlog::error("{} {}: handler failed: {}", request.method, request.path, e.what());
    response = DetailResponse(500, "Internal Server Error");
  }
  SendResponse(req, response);
  if (spdlog::should_log(spdlog::level::debug)) {
    const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::steady_clock::now() - started)
                            .count();
    spdlog::debug("request method={} path={} status={} body_bytes={} response_bytes={} us={}",
                  request.method, request.path, response.status, request.body.size(),
                  response.body.size(), micros);
  }
  return 0;
}

}  // namespace

void HttpServer::Impl::RunLoop(int listen_fd) {
  h2o_evloop_t* loop = h2o_evloop_create();
  h2o_context_t ctx;
  h2o_context_init(&ctx, loop, &globalconf);
  h2o_accept_ctx_t accept_ctx{};
  accept_ctx.ctx = &ctx;
  accept_ctx.hosts = globalconf.hosts;
  h2o_socket_t* listener = h2o_evloop_socket_create(loop, listen_fd, H2O_SOCKET_FLAG_DONT_READ);
  listener->data = &accept_ctx;
  h2o_socket_read_start(listener, OnAccept);

  while (!stop.load(std::memory_order_acquire)) h2o_evloop_run(loop, kStopPollMs);

  // Stop accepting; give idle keep-alive connections (and requests still arriving) no more
  // time, so they close at once; responses being written finish within the grace period.
  h2o_socket_read_stop(listener);
  h2o_socket_close(listener);
  // (h2o_context_request_shutdown would also arm HTTP/2's GOAWAY timer; this server speaks
  // HTTP/1.1 only, and that timer would outlive the context.)
  ctx.shutdown_requested = 1;  // responses from now on close their connection
  ctx.http1.req_timeout.timeout = 0;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(options.shutdown_grace_ms);
  h2o_evloop_run(loop, 0);
  while (!h2o_linklist_is_empty(&ctx.http1._conns) && std::chrono::steady_clock::now() < deadline) {
    h2o_evloop_run(loop, 10);
  }
  if (!h2o_linklist_is_empty(&ctx.http1._conns)) {
    spdlog::warn("shutdown: connections still open after {} ms; leaving them to the exit",
                 options.shutdown_grace_ms);
    undrained_loops.fetch_add(1);
    return;
  }
  h2o_context_dispose(&ctx);
  h2o_evloop_destroy(loop);
}

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
  if (request_timeout_ms <= 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("request timeout: expected > 0 ms, got {}", request_timeout_ms));
  }
  if (shutdown_grace_ms < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("shutdown grace: expected >= 0 ms, got {}", shutdown_grace_ms));
  }
  return {};
}

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

HttpServer::~HttpServer() {
  Stop();
  Wait();
}

const std::string& HttpServer::host() const { return impl_->host; }
int HttpServer::port() const { return impl_->port; }
int HttpServer::threads() const { return static_cast<int>(impl_->threads.size()); }

void HttpServer::Stop() { impl_->stop.store(true, std::memory_order_release); }

void HttpServer::Wait() {
  for (std::thread& t : impl_->threads) {
    if (t.joinable()) t.join();
  }
}

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options, Router router) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  // h2o writes with writev(); a peer that has gone would otherwise kill the process.
  std::signal(SIGPIPE, SIG_IGN);
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->router = std::move(router);

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
  const int num_threads = options.threads > 0
                              ? options.threads
                              : std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
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
  impl->globalconf.http1.req_timeout = static_cast<std::uint64_t>(options.request_timeout_ms);
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
  filter->max_body_bytes = options.max_body_bytes;

  Impl* raw = impl.get();
  for (int& fd : raw->listen_fds) {
    raw->threads.emplace_back([raw, listen_fd = fd] { raw->RunLoop(listen_fd); });
    fd = -1;  // the loop's listener closes it
  }
  const std::string shown_host =
      raw->host.find(':') != std::string::npos ? fmt::format("[{}]", raw->host) : raw->host;
  // Scripts and tests read this line: keep it exactly "listening on http://HOST:PORT".
  spdlog::info("listening on http://{}:{}", shown_host, raw->port);
  spdlog::info("{} event-loop threads, request bodies up to {} bytes", num_threads,
               options.max_body_bytes);
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace csml::server
