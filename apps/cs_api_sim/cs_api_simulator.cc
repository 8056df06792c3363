#include "cs_api_simulator.h"

#include <charconv>
#include <chrono>
#include <cmath>
#include <utility>

#include <fmt/format.h>

#include "csml/core/json_writer.h"
#include "csml/data/snapshot_writer.h"
#include "csml/validation/source_window.h"

namespace csml::cs_api_sim {
namespace {

constexpr int kMaxDays = 3'650'000;

// splitmix64: a fixed mixing function, so a seed picks the same failing requests everywhere.
std::uint64_t Mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

// The value of `name` in a query string ("days=90&x=1"), or nullopt when absent.
std::optional<std::string_view> QueryParam(std::string_view query, std::string_view name) {
  while (!query.empty()) {
    const auto amp = query.find('&');
    const std::string_view pair = query.substr(0, amp);
    const auto eq = pair.find('=');
    if (pair.substr(0, eq) == name) {
      return eq == std::string_view::npos ? std::string_view() : pair.substr(eq + 1);
    }
    if (amp == std::string_view::npos) break;
    query.remove_prefix(amp + 1);
  }
  return std::nullopt;
}

}  // namespace

Status FaultOptions::Validate() const {
  if (latency_ms < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("fault latency: expected >= 0 ms, got {}", latency_ms));
  }
  if (fail_first < 0) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("fault fail-first: expected >= 0, got {}", fail_first));
  }
  if (!(fail_rate >= 0.0 && fail_rate <= 1.0)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("fault fail-rate: expected a share in [0, 1], got {}", fail_rate));
  }
  if (fail_status < 400 || fail_status > 599) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("fault status: expected 400-599, got {}", fail_status));
  }
  return {};
}

Status SimulatorOptions::Validate() const {
  if (tenant_id.empty()) {
    return MakeError(ErrorCode::kInvalidArgument,
                     "tenant: expected the tenant id the simulator accepts, got nothing");
  }
  return faults.Validate();
}

CsApiSimulator::CsApiSimulator(std::vector<Snapshot> records, SimulatorOptions options,
                               UnixSeconds as_of)
    : records_(std::move(records)), options_(std::move(options)), as_of_(as_of) {}

Result<std::unique_ptr<CsApiSimulator>> CsApiSimulator::Create(std::vector<Snapshot> records,
                                                               SimulatorOptions options) {
  if (Status valid = options.Validate(); !valid) return tl::unexpected(valid.error());
  // No records carry no label_ts to date the window by: the clock stands in, as for the real
  // API (an empty answer is what a client then gets, not a window ending in 1970).
  std::optional<UnixSeconds> as_of_wanted = options.as_of;
  if (!as_of_wanted && records.empty()) as_of_wanted = NowUtc();
  Result<SourceWindow> window = MakeSourceWindow(records, 1, as_of_wanted);
  if (!window) return tl::unexpected(window.error());
  const UnixSeconds as_of = window->as_of;
  return std::unique_ptr<CsApiSimulator>(
      new CsApiSimulator(std::move(records), std::move(options), as_of));
}

void CsApiSimulator::AddRoutes(server::Router& router) {
  router.Add("GET", std::string(kFeaturesPath),
             [this](const server::Request& request) { return Handle(request); });
}

void CsApiSimulator::ReleaseWaits() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
  }
  released_cv_.notify_all();
}

bool CsApiSimulator::Wait(std::optional<std::int64_t> ms) {
  std::unique_lock<std::mutex> lock(mutex_);
  if (!ms) {
    released_cv_.wait(lock, [this] { return released_; });
    return false;
  }
  return !released_cv_.wait_for(lock, std::chrono::milliseconds(*ms), [this] { return released_; });
}

bool CsApiSimulator::ShouldFail(std::uint64_t request_number) const {
  const FaultOptions& f = options_.faults;
  if (request_number < static_cast<std::uint64_t>(f.fail_first)) return true;
  if (f.fail_rate <= 0.0) return false;
  // The top 53 bits as a uniform double in [0, 1).
  const double u = static_cast<double>(Mix(f.seed ^ Mix(request_number)) >> 11) * 0x1.0p-53;
  return u < f.fail_rate;
}

server::Response CsApiSimulator::Handle(const server::Request& request) {
  const std::uint64_t number = requests_.fetch_add(1);
  const FaultOptions& faults = options_.faults;
  if (faults.hang) {
    Wait(std::nullopt);
    return server::DetailResponse(503, "the simulator is stopping");
  }
  if (faults.latency_ms > 0 && !Wait(faults.latency_ms)) {
    return server::DetailResponse(503, "the simulator is stopping");
  }
  if (ShouldFail(number)) {
    return server::DetailResponse(faults.fail_status,
                                  fmt::format("injected fault: status {}", faults.fail_status));
  }

  const std::optional<std::string_view> tenant = request.Header("x-tenant-id");
  if (!tenant || tenant->empty()) {
    return server::DetailResponse(401, "X-Tenant-Id header required");
  }
  if (*tenant != options_.tenant_id) {
    return server::DetailResponse(403, "tenant may not read these features");
  }

  const std::optional<std::string_view> days_text = QueryParam(request.query, "days");
  int days = 0;
  if (!days_text) return server::DetailResponse(400, "days: query parameter required");
  const char* end = days_text->data() + days_text->size();
  const auto [ptr, ec] = std::from_chars(days_text->data(), end, days);
  if (days_text->empty() || ec != std::errc() || ptr != end || days < 1 || days > kMaxDays) {
    return server::DetailResponse(
        400, fmt::format("days: expected a whole number of days in [1, {}], got '{}'", kMaxDays,
                         days_text->substr(0, 32)));
  }

  // MakeSourceWindow only fails on days, checked above.
  const SourceWindow window = MakeSourceWindow({}, days, as_of_).value();
  server::Response response;
  JsonWriter writer(&response.body);
  writer.BeginArray();
  for (const Snapshot& s : records_) {
    if (window.Contains(s)) WriteSnapshotJson(s, &writer);
  }
  writer.EndArray();
  if (faults.truncate) response.body.resize(response.body.size() / 2);
  return response;
}

}  // namespace csml::cs_api_sim
