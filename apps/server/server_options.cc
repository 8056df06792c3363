// ServerOptions: the ranges Validate() accepts.
#include "server_options.h"

#include <algorithm>
#include <string_view>
#include <thread>
#include <utility>

#include <fmt/format.h>

namespace csml::server {
namespace {

constexpr int kMaxThreads = 1024;
constexpr std::size_t kMaxBodyLimit = std::size_t{1} << 30;
constexpr int kMaxTimeoutMs = 3'600'000;
constexpr int kMaxConnectionsLimit = 1'000'000;
constexpr int kMaxGraceMs = 600'000;

}  // namespace

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

}  // namespace csml::server
