// csml cs-api: a local server that speaks the CS API's snapshot contract (docs/DATA_CONTRACT.md
// and 6) from a snapshot file, so that train, test and validate work without the real CS API,
// and so the client can be tested against injected faults. SIGINT or SIGTERM stop it (exit 0).
#include <pthread.h>

#include <csignal>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "cs_api_simulator.h"
#include "csml/core/time.h"
#include "csml/data/snapshot_reader.h"
#include "environment.h"
#include "flag_names.h"
#include "http_server.h"

namespace csml::cli {
namespace {

struct CsApiFlags {
  std::string data;
  std::string as_of;  // RFC 3339; "" = newest label_ts of the file
  server::ServerOptions server;
  cs_api_sim::SimulatorOptions sim;
};

Result<int> RunCsApi(CsApiFlags flags) {
  if (!flags.as_of.empty()) {
    Result<UnixSeconds> as_of = ParseRfc3339(flags.as_of);
    if (!as_of) return tl::unexpected(as_of.error().WithContext("--as-of"));
    flags.sim.as_of = *as_of;
  }
  if (Status valid = NameFlags(flags.sim.Validate(), {{"tenant", "--tenant (or TENANT_ID)"},
                                                      {"fault latency", "--fault-latency-ms"},
                                                      {"fault fail-first", "--fault-fail-first"},
                                                      {"fault fail-rate", "--fault-fail-rate"},
                                                      {"fault status", "--fault-status"}});
      !valid) {
    return tl::unexpected(valid.error());
  }
  if (Status valid = NameFlags(flags.server.Validate(), kServerOptionFlags); !valid) {
    return tl::unexpected(valid.error());
  }

  // The simulator serves valid records only: a broken file is an error here, not a surprise
  // for every client.
  Result<SnapshotBatch> batch = ReadSnapshotFile(flags.data, SnapshotReadOptions{});
  if (!batch) return tl::unexpected(batch.error());
  Result<std::unique_ptr<cs_api_sim::CsApiSimulator>> sim =
      cs_api_sim::CsApiSimulator::Create(std::move(batch->records), flags.sim);
  if (!sim) return tl::unexpected(sim.error());

  // Block the stop signals before any server thread exists, so only sigwait() below sees them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (const int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); rc != 0) {
    return MakeError(ErrorCode::kInternal, fmt::format("pthread_sigmask: {}", std::strerror(rc)));
  }

  server::Router router;
  (*sim)->AddRoutes(router);
  spdlog::info("cs-api: {} records from {}, as-of {}, path {}", (*sim)->records(), flags.data,
               FormatRfc3339((*sim)->as_of()), cs_api_sim::kFeaturesPath);
  const cs_api_sim::FaultOptions& f = flags.sim.faults;
  if (f.latency_ms > 0 || f.fail_first > 0 || f.fail_rate > 0 || f.truncate || f.hang) {
    spdlog::warn(
        "cs-api: faults on: latency {} ms, first {} and {:.0f}% of requests answer {}, "
        "truncate {}, hang {}",
        f.latency_ms, f.fail_first, f.fail_rate * 100.0, f.fail_status, f.truncate, f.hang);
  }
  Result<std::unique_ptr<server::HttpServer>> http =
      server::HttpServer::Start(flags.server, std::move(router));
  if (!http) return tl::unexpected(http.error());

  int signal_number = 0;
  const int rc = sigwait(&stop_signals, &signal_number);
  // Hung and delayed requests must end before the loops can stop.
  (*sim)->ReleaseWaits();
  (*http)->Stop();
  (*http)->Wait();
  if (rc != 0)
    return MakeError(ErrorCode::kInternal, fmt::format("sigwait: {}", std::strerror(rc)));
  spdlog::info("cs-api: stopped after {} requests", (*sim)->requests());
  return 0;
}

}  // namespace

void AddCsApiCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<CsApiFlags>();
  flags->server.port = 3000;
  flags->server.threads = 4;
  flags->server.shutdown_grace_ms = 2'000;
  flags->sim.tenant_id = env.tenant_id;
  auto* cmd = app.add_subcommand(
      "cs-api", "Serve a snapshot file as the CS API (GET /customers/features/public?days=N)");
  cmd->add_option("--data", flags->data, "Snapshots file (JSON array or JSON Lines)")->required();
  cmd->add_option("--host", flags->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->server.port, "Port to listen on (0 = any free port)")
      ->capture_default_str();
  // No default shown: the tenant id is a credential.
  cmd->add_option("--tenant", flags->sim.tenant_id, "The tenant id accepted (env TENANT_ID)");
  cmd->add_option("--as-of", flags->as_of,
                  "As-of time of the window, RFC 3339 (default: the newest label_ts of the file)");
  cmd->add_option("--threads", flags->server.threads, "Event-loop threads")->capture_default_str();
  cmd->add_option("--fault-latency-ms", flags->sim.faults.latency_ms,
                  "Fault: delay every answer by this many ms");
  cmd->add_option("--fault-fail-first", flags->sim.faults.fail_first,
                  "Fault: the first K requests answer --fault-status");
  cmd->add_option("--fault-fail-rate", flags->sim.faults.fail_rate,
                  "Fault: this share of requests answers --fault-status (chosen by --fault-seed)");
  cmd->add_option("--fault-status", flags->sim.faults.fail_status,
                  "Fault: the status of failed requests (400-599)")
      ->capture_default_str();
  cmd->add_option("--fault-seed", flags->sim.faults.seed, "Fault: seed of --fault-fail-rate")
      ->capture_default_str();
  cmd->add_flag("--fault-truncate", flags->sim.faults.truncate,
                "Fault: answer 200 with the JSON body cut in half");
  cmd->add_flag("--fault-hang", flags->sim.faults.hang, "Fault: never answer");
  cmd->callback([&slot, flags] {
    slot.name = "cs-api";
    slot.run = [flags]() -> Result<int> { return RunCsApi(*flags); };
  });
}

}  // namespace csml::cli
