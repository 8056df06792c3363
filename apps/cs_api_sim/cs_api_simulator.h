// A local stand-in for the CS platform's snapshot API (docs/DATA_CONTRACT.md), for development and
// tests: `GET /customers/features/public?days=N` with `X-Tenant-Id` answers the records of a
// snapshot file that fall in the window of N days (validation/source_window.h) as a JSON
// array, written with the snapshot writer.
//
// Answers: 401 when X-Tenant-Id is missing, 403 when it is not the configured tenant, 400
// when days is missing or not a whole number in [1, 3650000], 200 with the array otherwise.
// The as-of time is the one given, else the newest label_ts of the file.
//
// Faults, for testing clients against a badly behaved API: added latency, the first K
// requests and/or a deterministic share of requests failing with a chosen status (503, 429,
// 500...), a body cut in half (a 200 whose JSON ends early), and a hang (no answer until the
// simulator is released). Latency and hang block the event-loop thread that took the request
// (HttpServer runs handlers inline), which is what a stuck upstream looks like to a client;
// run the server with a few threads so one hung request does not stall the others.
//
// Thread-safety: Handle() runs on every event-loop thread at once; the records are read-only,
// the request counter is atomic, and waits end at ReleaseWaits() (from any thread).
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "csml/core/error.h"
#include "csml/core/time.h"
#include "csml/data/snapshot.h"
#include "http_server.h"

namespace csml::cs_api_sim {

inline constexpr std::string_view kFeaturesPath = "/customers/features/public";

struct FaultOptions {
  std::int64_t latency_ms = 0;  // added before every answer (ms)
  int fail_first = 0;           // the first K requests answer fail_status
  double fail_rate = 0.0;       // then this share of requests does, chosen by seed
  int fail_status = 503;        // 400-599: 503, 429, 500 to be retried; 401, 404 not
  std::uint64_t seed = 1;       // same seed, same requests fail (by arrival order)
  bool truncate = false;        // 200 with the JSON body cut in half
  bool hang = false;            // never answer until ReleaseWaits()

  [[nodiscard]] Status Validate() const;
};

struct SimulatorOptions {
  std::string tenant_id;             // the only tenant accepted; required
  std::optional<UnixSeconds> as_of;  // default: the newest label_ts of the records (now if none)
  FaultOptions faults;

  [[nodiscard]] Status Validate() const;
};

class CsApiSimulator {
 public:
  static Result<std::unique_ptr<CsApiSimulator>> Create(std::vector<Snapshot> records,
                                                        SimulatorOptions options);

  // Routes GET kFeaturesPath to Handle(); this simulator must outlive the server.
  void AddRoutes(server::Router& router);

  server::Response Handle(const server::Request& request);

  // Ends every wait (latency, hang) now and from now on; waiting requests answer 503.
  void ReleaseWaits();

  UnixSeconds as_of() const { return as_of_; }
  std::size_t records() const { return records_.size(); }
  std::uint64_t requests() const { return requests_.load(); }

 private:
  CsApiSimulator(std::vector<Snapshot> records, SimulatorOptions options, UnixSeconds as_of);
  // Waits up to `ms` (forever when nullopt); false when released early.
  bool Wait(std::optional<std::int64_t> ms);
  bool ShouldFail(std::uint64_t request_number) const;

  const std::vector<Snapshot> records_;
  const SimulatorOptions options_;
  const UnixSeconds as_of_;
  std::atomic<std::uint64_t> requests_{0};
  std::mutex mutex_;
  std::condition_variable released_cv_;
  bool released_ = false;
};

}  // namespace csml::cs_api_sim
