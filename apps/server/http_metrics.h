// What the HTTP server counts: requests by route and status, their latency, and connections
// (opened, closed, and why the server ended one). Rendered in Prometheus text format.
//
// Recording is per thread (per_thread.h): a request costs a few plain stores into its event
// loop's own slot. Route labels are the router's paths, bound once by HttpServer::Start;
// requests no route matched (404, 307, h2o's own 400/413) are counted as route "unmatched".
// Thread-safety: Record*() from any thread; AppendPrometheus() from any thread at any time.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "per_thread.h"

namespace csml::server {

// Why the server closed a connection itself.
enum class ConnectionEnd : std::uint8_t {
  kHeaderTimeout,  // a request's headers (or a new connection's first byte) came too slowly
  kBodyTimeout,    // a request body came too slowly
  kIdleTimeout,    // a kept-alive connection had no next request in time
  kWriteTimeout,   // the client stopped reading a response
  kEvicted,        // closed while idle to make room under the connection cap
  kShutdown,       // closed while idle (or at the grace deadline) during a graceful stop
};
inline constexpr std::size_t kNumConnectionEnds = 6;
std::string_view ConnectionEndName(ConnectionEnd end);

class HttpMetrics {
 public:
  static constexpr std::size_t kMaxRoutes = 24;  // routes beyond this count as "unmatched"
  static constexpr int kUnmatched = -1;

  HttpMetrics() = default;
  HttpMetrics(const HttpMetrics&) = delete;
  HttpMetrics& operator=(const HttpMetrics&) = delete;

  // Names the routes (index = route id). Called once, before any request is recorded.
  void BindRoutes(std::vector<std::string> paths);

  void RecordRequest(int route, int status, std::chrono::nanoseconds latency);
  void RecordConnectionOpened();
  void RecordConnectionClosed();
  void RecordConnectionEnd(ConnectionEnd end);
  void RecordAcceptPaused();  // the connection cap was reached with nothing to evict

  // Appends the csml_http_* families.
  void AppendPrometheus(std::string* out) const;

  // Requests counted so far over every route and status (for the stop summary).
  std::uint64_t TotalRequests() const;

  // Latency bucket upper bounds in microseconds; the last bucket is +Inf.
  static constexpr std::array<std::uint64_t, 14> kLatencyBoundsUs = {
      50,     100,    250,    500,     1'000,   2'500,     5'000,
      10'000, 25'000, 50'000, 100'000, 250'000, 1'000'000, 5'000'000};
  static constexpr std::size_t kNumLatencyBuckets = kLatencyBoundsUs.size() + 1;

  // The latency histogram of one route (by its path) so far, over every thread and status.
  struct RouteLatency {
    std::uint64_t count = 0;
    std::uint64_t sum_ns = 0;
    std::array<std::uint64_t, kNumLatencyBuckets> buckets{};
  };
  // Empty until BindRoutes ran; safe to call from any thread before and after it.
  RouteLatency LatencyOf(std::string_view path) const;

 private:
  // Status codes with their own series; anything else is counted under its class ("2xx"...).
  static constexpr std::array<int, 25> kStatuses = {200, 201, 202, 204, 301, 302, 304, 307, 308,
                                                    400, 401, 403, 404, 405, 408, 409, 411, 413,
                                                    414, 415, 422, 429, 431, 500, 503};
  static constexpr std::size_t kNumStatusSlots = kStatuses.size() + 5;  // + 1xx..5xx
  static constexpr std::size_t kRouteSlots = kMaxRoutes + 1;            // last: unmatched

  struct alignas(64) Slot {
    std::array<std::array<Counter, kNumStatusSlots>, kRouteSlots> requests;
    std::array<std::array<Counter, kNumLatencyBuckets>, kRouteSlots> latency;
    std::array<Counter, kRouteSlots> latency_sum_ns;
    Counter opened;
    Counter closed;
    Counter accept_paused;
    std::array<Counter, kNumConnectionEnds> ends;
  };

  static std::size_t StatusSlot(int status);
  static std::string StatusLabel(std::size_t slot);
  std::size_t RouteSlot(int route) const;
  std::string_view RouteLabel(std::size_t slot) const;

  std::vector<std::string> routes_;
  std::atomic<bool> bound_{false};  // routes_ written (LatencyOf may run on another thread)
  mutable PerThread<Slot> slots_;
};

}  // namespace csml::server
