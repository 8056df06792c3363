// GET /monitor: one self-contained HTML page (inline CSS, JS and SVG; no other request than
// its own GET /monitor.json every 2 s) that draws the served version, traffic, latency, tier
// mix, live drift and recent reloads (docs/MONITORING.md, "The live page"). The JSON comes
// from serve_routes.cc; this holds the page and the small state the JSON needs beyond the
// routes': the recent reloads and a once-a-second traffic sampler.
// Thread-safety: ReloadHistory and TrafficHistory from any thread.
#pragma once

#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string_view>
#include <thread>
#include <vector>

#include "csml/serving/model_reloader.h"
#include "http_metrics.h"

namespace csml::server {

std::string_view MonitorPageHtml();

// The page's script and style are inline; it may fetch only this origin, load nothing else.
inline constexpr std::string_view kMonitorContentSecurityPolicy =
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; "
    "form-action 'none'";

// The last reload attempts that loaded or failed a version (the reloader's observer adds).
class ReloadHistory {
 public:
  static constexpr std::size_t kKept = 20;
  void Add(const ReloadReport& report);
  std::vector<ReloadReport> Recent() const;  // newest first

 private:
  mutable std::mutex mu_;
  std::deque<ReloadReport> reports_;
};

// Cumulative traffic at one instant; rates are differences of two samples.
struct TrafficSample {
  std::chrono::steady_clock::time_point at;
  std::uint64_t requests = 0;         // POST /score and /score/batch answered
  std::uint64_t scores = 0;           // customers scored
  HttpMetrics::RouteLatency latency;  // of both routes
};

class TrafficHistory {
 public:
  static constexpr std::size_t kKept = 61;  // a minute of one-second samples
  void Add(const TrafficSample& sample);
  std::vector<TrafficSample> Samples() const;  // oldest first

 private:
  mutable std::mutex mu_;
  std::deque<TrafficSample> samples_;
};

// Runs tick() every `interval` on its own thread until destroyed.
class Ticker {
 public:
  Ticker(std::chrono::milliseconds interval, std::function<void()> tick);
  ~Ticker();
  Ticker(const Ticker&) = delete;
  Ticker& operator=(const Ticker&) = delete;

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace csml::server
