// The listening side: one SO_REUSEPORT socket per event-loop thread on the same address,
// accepting under the connection cap, and the open-file limit the cap needs.
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "server_internal.h"

namespace csml::server::internal {
namespace {

// File descriptors kept for everything but client connections (listeners, logs, models).
constexpr rlim_t kReservedFds = 64;

}  // namespace

void ResumeAcceptingIfRoom(LoopState& loop) {
  if (!loop.accept_paused || loop.stopping || loop.listener == nullptr) return;
  if (Occupied(loop) >= loop.cap) return;
  loop.accept_paused = false;
  h2o_socket_read_start(loop.listener, OnAccept);
}

void OnAccept(h2o_socket_t* listener, const char* err) {
  if (err != nullptr) return;
  LoopState& loop = *static_cast<LoopState*>(listener->data);
  for (int i = 0; i < kAcceptBatch; ++i) {
    if (Occupied(loop) >= loop.cap && !MakeRoom(loop)) {
      h2o_socket_read_stop(listener);
      loop.accept_paused = true;
      if (HttpMetrics* metrics = loop.server->observers.metrics) metrics->RecordAcceptPaused();
      return;
    }
    h2o_socket_t* sock = h2o_evloop_socket_accept(listener);
    if (sock == nullptr) return;
    StartReading(loop, sock);
  }
}

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

}  // namespace csml::server::internal
