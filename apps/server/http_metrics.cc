#include "http_metrics.h"

#include <algorithm>

#include <fmt/format.h>

#include "prometheus_text.h"

namespace csml::server {
namespace {

constexpr std::string_view kUnmatchedLabel = "unmatched";

// The bucket bounds as Prometheus prints them, in seconds.
constexpr std::array<std::string_view, 14> kLatencyBoundLabels = {
    "5e-05", "0.0001", "0.00025", "0.0005", "0.001", "0.0025", "0.005",
    "0.01",  "0.025",  "0.05",    "0.1",    "0.25",  "1",      "5"};

}  // namespace

std::string_view ConnectionEndName(ConnectionEnd end) {
  switch (end) {
    case ConnectionEnd::kHeaderTimeout:
      return "header_timeout";
    case ConnectionEnd::kBodyTimeout:
      return "body_timeout";
    case ConnectionEnd::kIdleTimeout:
      return "idle_timeout";
    case ConnectionEnd::kWriteTimeout:
      return "write_timeout";
    case ConnectionEnd::kEvicted:
      return "evicted";
    case ConnectionEnd::kShutdown:
      return "shutdown";
  }
  return "unknown";
}

void HttpMetrics::BindRoutes(std::vector<std::string> paths) {
  if (paths.size() > kMaxRoutes) paths.resize(kMaxRoutes);
  routes_ = std::move(paths);
  bound_.store(true, std::memory_order_release);
}

std::size_t HttpMetrics::StatusSlot(int status) {
  const auto it = std::find(kStatuses.begin(), kStatuses.end(), status);
  if (it != kStatuses.end()) return static_cast<std::size_t>(it - kStatuses.begin());
  const int hundreds = std::clamp(status / 100, 1, 5);
  return kStatuses.size() + static_cast<std::size_t>(hundreds - 1);
}

std::string HttpMetrics::StatusLabel(std::size_t slot) {
  if (slot < kStatuses.size()) return std::to_string(kStatuses[slot]);
  return fmt::format("{}xx", slot - kStatuses.size() + 1);
}

std::size_t HttpMetrics::RouteSlot(int route) const {
  if (route < 0 || static_cast<std::size_t>(route) >= routes_.size()) return kMaxRoutes;
  return static_cast<std::size_t>(route);
}

std::string_view HttpMetrics::RouteLabel(std::size_t slot) const {
  return slot < routes_.size() ? std::string_view(routes_[slot]) : kUnmatchedLabel;
}

void HttpMetrics::RecordRequest(int route, int status, std::chrono::nanoseconds latency) {
  Slot& slot = slots_.Local();
  const std::size_t r = RouteSlot(route);
  slot.requests[r][StatusSlot(status)].Add();
  const auto us = static_cast<std::uint64_t>(std::max<std::int64_t>(
      0, std::chrono::duration_cast<std::chrono::microseconds>(latency).count()));
  std::size_t bucket = 0;
  while (bucket < kLatencyBoundsUs.size() && us > kLatencyBoundsUs[bucket]) ++bucket;
  slot.latency[r][bucket].Add();
  slot.latency_sum_ns[r].Add(
      static_cast<std::uint64_t>(std::max<std::int64_t>(0, latency.count())));
}

void HttpMetrics::RecordConnectionOpened() { slots_.Local().opened.Add(); }
void HttpMetrics::RecordConnectionClosed() { slots_.Local().closed.Add(); }
void HttpMetrics::RecordAcceptPaused() { slots_.Local().accept_paused.Add(); }
void HttpMetrics::RecordConnectionEnd(ConnectionEnd end) {
  slots_.Local().ends[static_cast<std::size_t>(end)].Add();
}

std::uint64_t HttpMetrics::TotalRequests() const {
  std::uint64_t total = 0;
  slots_.ForEach([&](const Slot& slot) {
    for (const auto& route : slot.requests) {
      for (const Counter& c : route) total += c.Get();
    }
  });
  return total;
}

HttpMetrics::RouteLatency HttpMetrics::LatencyOf(std::string_view path) const {
  RouteLatency out;
  if (!bound_.load(std::memory_order_acquire)) return out;
  const auto it = std::find(routes_.begin(), routes_.end(), path);
  if (it == routes_.end()) return out;
  const auto r = static_cast<std::size_t>(it - routes_.begin());
  slots_.ForEach([&](const Slot& slot) {
    for (std::size_t b = 0; b < kNumLatencyBuckets; ++b) {
      const std::uint64_t n = slot.latency[r][b].Get();
      out.buckets[b] += n;
      out.count += n;
    }
    out.sum_ns += slot.latency_sum_ns[r].Get();
  });
  return out;
}

void HttpMetrics::AppendPrometheus(std::string* out) const {
  std::array<std::array<std::uint64_t, kNumStatusSlots>, kRouteSlots> requests{};
  std::array<std::array<std::uint64_t, kNumLatencyBuckets>, kRouteSlots> latency{};
  std::array<std::uint64_t, kRouteSlots> latency_sum_ns{};
  std::uint64_t opened = 0;
  std::uint64_t closed = 0;
  std::uint64_t paused = 0;
  std::array<std::uint64_t, kNumConnectionEnds> ends{};
  slots_.ForEach([&](const Slot& slot) {
    for (std::size_t r = 0; r < kRouteSlots; ++r) {
      for (std::size_t s = 0; s < kNumStatusSlots; ++s) requests[r][s] += slot.requests[r][s].Get();
      for (std::size_t b = 0; b < kNumLatencyBuckets; ++b)
        latency[r][b] += slot.latency[r][b].Get();
      latency_sum_ns[r] += slot.latency_sum_ns[r].Get();
    }
    opened += slot.opened.Get();
    closed += slot.closed.Get();
    paused += slot.accept_paused.Get();
    for (std::size_t e = 0; e < kNumConnectionEnds; ++e) ends[e] += slot.ends[e].Get();
  });

  AppendPromHeader(out, "csml_http_requests_total", "counter",
                   "HTTP requests answered, by route and status code.");
  for (std::size_t r = 0; r < kRouteSlots; ++r) {
    for (std::size_t s = 0; s < kNumStatusSlots; ++s) {
      if (requests[r][s] == 0) continue;
      const std::string status = StatusLabel(s);
      AppendPromSample(out, "csml_http_requests_total",
                       {{"route", RouteLabel(r)}, {"status", status}}, requests[r][s]);
    }
  }
  AppendPromHeader(out, "csml_http_request_duration_seconds", "histogram",
                   "Time from the request's arrival in the handler to its response, by route.");
  for (std::size_t r = 0; r < kRouteSlots; ++r) {
    std::uint64_t total = 0;
    for (const std::uint64_t c : latency[r]) total += c;
    if (total == 0) continue;
    AppendPromHistogram(out, "csml_http_request_duration_seconds", {{"route", RouteLabel(r)}},
                        kLatencyBoundLabels, latency[r],
                        static_cast<double>(latency_sum_ns[r]) / 1e9);
  }
  AppendPromHeader(out, "csml_http_connections_open", "gauge", "Client connections open now.");
  AppendPromSample(out, "csml_http_connections_open", {}, opened >= closed ? opened - closed : 0);
  AppendPromHeader(out, "csml_http_connections_accepted_total", "counter",
                   "Client connections accepted.");
  AppendPromSample(out, "csml_http_connections_accepted_total", {}, opened);
  AppendPromHeader(out, "csml_http_connections_closed_by_server_total", "counter",
                   "Connections the server closed itself, by reason.");
  for (std::size_t e = 0; e < kNumConnectionEnds; ++e) {
    AppendPromSample(out, "csml_http_connections_closed_by_server_total",
                     {{"reason", ConnectionEndName(static_cast<ConnectionEnd>(e))}}, ends[e]);
  }
  AppendPromHeader(out, "csml_http_accept_paused_total", "counter",
                   "Times the connection cap was reached with no idle connection to evict.");
  AppendPromSample(out, "csml_http_accept_paused_total", {}, paused);
}

}  // namespace csml::server
