// The client for the CS platform's snapshot API (docs/DATA_CONTRACT.md), over libcurl.
//
// GET <url>?days=N with the X-Tenant-Id header. The API belongs to another team and is not
// always well-behaved, so every fetch has connect and total timeouts, retries with exponential
// backoff and full jitter on timeouts, connection failures, truncated bodies, 429 and 5xx
// (never on other 4xx), and a cap on the response size. The body is parsed while it arrives
// (SnapshotStreamParser), so memory follows the parsed records, not the text.
//
// Errors name the URL, the HTTP status and what to check. The tenant id is a credential: it
// is sent, never logged or put in an error. One client per thread (it owns a curl handle).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "csml/core/error.h"
#include "csml/data/snapshot_reader.h"

namespace csml::cs_client {

struct CsApiClientOptions {
  std::string url = "http://localhost:3000/customers/features/public";  // CS_FEATURES_URL
  std::string tenant_id;                                                // TENANT_ID
  std::int64_t connect_timeout_ms = 3'000;                              // per attempt, TCP connect
  std::int64_t total_timeout_ms = 120'000;    // per attempt, whole transfer
  std::int64_t low_speed_window_s = 20;       // abort an attempt that sends < 1 byte/s this long
  int max_attempts = 4;                       // 1 = no retry
  std::int64_t backoff_initial_ms = 250;      // first retry waits up to this (full jitter)
  double backoff_multiplier = 2.0;            // growth per retry
  std::int64_t backoff_max_ms = 8'000;        // cap of one wait, Retry-After included
  std::size_t max_response_bytes = 1u << 30;  // larger bodies are refused (bytes)
  std::uint64_t jitter_seed = 0;              // 0 = seeded from the clock

  // Refuses empty or non-http(s) URLs, a blank tenant or one with control characters, and
  // non-positive limits.
  [[nodiscard]] Status Validate() const;
};

// What happened on one attempt, for callers that report or test the retry policy.
struct FetchAttempt {
  int attempt = 0;             // 1-based
  long http_status = 0;        // 0 when no HTTP answer came
  std::string outcome;         // "ok", or what went wrong
  std::int64_t waited_ms = 0;  // backoff slept before this attempt
};

struct FetchResult {
  SnapshotBatch batch;
  std::vector<FetchAttempt> attempts;
  std::size_t body_bytes = 0;
};

class CsApiClient {
 public:
  static Result<CsApiClient> Create(CsApiClientOptions options);

  CsApiClient(CsApiClient&&) noexcept;
  CsApiClient& operator=(CsApiClient&&) noexcept;
  ~CsApiClient();

  // Fetches the labeled snapshots of the last `days` days. `on_attempt` (optional) is told
  // about every failed attempt before the client backs off, so adapters can log it.
  Result<FetchResult> FetchSnapshots(
      int days, const SnapshotReadOptions& read_options,
      const std::function<void(const FetchAttempt&)>& on_attempt = nullptr);

  // The URL of a request for `days`, as it appears in errors (no credentials in it).
  std::string RequestUrl(int days) const;

 private:
  struct Impl;
  explicit CsApiClient(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace csml::cs_client
