// csml serve: the churn-risk HTTP API (docs/API.md), the seed's
// `uvicorn app.main:app --host 0.0.0.0 --port 8000`, with hot reload and operations
// endpoints (docs/OPERATIONS.md).
//
// It loads the version the registry says to serve and listens: the served-version rule
// (csml/serving/served_version.h), so a pointer at a version that fails its checks falls back
// to the version promoted before it, as `csml models list` shows. With no model (an empty or
// missing registry, or no version that passes) it still starts: /healthz, /readyz
// and /score answer 503 until a model is there. A reload thread then follows the registry:
// every --reload-interval-ms, on SIGHUP and on POST /admin/reload it loads a newly promoted
// version off the request path and swaps it in; a version that fails a check is refused and
// the old one keeps serving. SIGINT or SIGTERM stop it cleanly (exit 0): /readyz turns 503,
// after --drain-delay-ms no new connections are taken, requests already read are answered.
//
// Secrets come from the environment only (a flag would show in `ps`): CSML_SCORE_TOKEN and
// CSML_ADMIN_TOKEN. CSML_ACCESS_LOG, CSML_ACCESS_LOG_SAMPLE, CSML_PREDICTION_LOG and
// CSML_REASONS set the flags' defaults.
#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <charconv>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "access_log.h"
#include "command.h"
#include "csml/monitoring/prediction_log.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/model_manager.h"
#include "csml/serving/model_reloader.h"
#include "csml/serving/model_router.h"
#include "csml/serving/model_source.h"
#include "csml/serving/served_version.h"
#include "csml/serving/shadow_scorer.h"
#include "environment.h"
#include "flag_names.h"
#include "http_metrics.h"
#include "http_server.h"
#include "serve_routes.h"

namespace csml::cli {
namespace {

struct ServeFlags {
  server::ServerOptions server;
  server::ServeRoutesOptions routes;
  server::AccessLogOptions access_log;
  ModelReloaderOptions reload;
  ModelRouterOptions router;
  std::string model_dir;
  std::string access_log_destination = "stdout";
  std::string prediction_log = "off";  // a directory, or off
  std::string reasons = "meta";        // rules, model, or meta (each version's own setting)
  std::uint64_t prediction_log_retention_mb = 1024;
  // Outcomes mature 30 days after a score: `csml monitor` needs the log kept longer than that.
  std::uint64_t prediction_log_retention_days = 90;
  int drain_delay_ms = 0;
};

// The serve-only environment, read where it is used: the tokens are secrets that no other
// command needs. Unset or empty variables keep the defaults.
std::string EnvOr(const char* name, std::string fallback) {
  const char* v = std::getenv(name);  // NOLINT(concurrency-mt-unsafe): read once at start-up
  return v != nullptr && *v != '\0' ? std::string(v) : std::move(fallback);
}

Result<int> ParseIntEnv(const char* name, int fallback) {
  const std::string text = EnvOr(name, "");
  if (text.empty()) return fallback;
  int value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size()) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("{}: expected a whole number, got '{}'", name, text.substr(0, 40)));
  }
  return value;
}

std::string Ms(std::chrono::microseconds d) {
  return fmt::format("{:.1f} ms", static_cast<double>(d.count()) / 1000.0);
}

// The reload thread's reports, in the log (the domain does not log).
void LogReload(const ReloadReport& report, const std::string& model_dir) {
  const std::string_view trigger = ReloadTriggerName(report.trigger);
  switch (report.outcome) {
    case ReloadOutcome::kLoaded:
      if (report.previous_version.empty()) {
        spdlog::info("serving model {} from {} ({}, loaded and checked in {})", report.version,
                     model_dir, trigger, Ms(report.load_duration));
      } else {
        spdlog::info("reload ({}): now serving {} instead of {} (loaded and checked in {})",
                     trigger, report.version, report.previous_version, Ms(report.load_duration));
      }
      return;
    case ReloadOutcome::kFailed:
      spdlog::error("reload ({}): refused: {}; {}", trigger, report.error,
                    !report.fallback_version.empty()
                        ? fmt::format("serving {} instead (fallback)", report.fallback_version)
                    : report.previous_version.empty()
                        ? std::string("serving without a model (503)")
                        : fmt::format("still serving {}", report.previous_version));
      if (!report.fallback_version.empty()) {
        spdlog::warn("serving model {} from {}: {}", report.fallback_version, model_dir,
                     report.fallback_reason);
      }
      return;
    case ReloadOutcome::kUnchanged:
      spdlog::info("reload ({}): {} is already serving", trigger, report.version);
      return;
    case ReloadOutcome::kNoVersion:
      // The source says why: the directory does not exist, or holds no version yet.
      spdlog::warn("{}{}",
                   report.error.empty() ? fmt::format("model dir {} holds no model", model_dir)
                                        : report.error,
                   report.previous_version.empty()
                       ? std::string("; serving without a model (503) until one is published")
                       : fmt::format("; still serving {}", report.previous_version));
      return;
  }
}

// The registry as a reload source. The directory may not exist yet (a fresh deployment
// whose first model is published later), so it is opened on first use.
ModelReloader::Source MakeSource(const std::string& model_dir) {
  auto source = std::make_shared<std::optional<ModelSource>>();
  return [source, model_dir]() -> Result<ServableId> {
    if (!source->has_value()) {
      if (!std::filesystem::is_directory(model_dir)) {
        return MakeError(
            ErrorCode::kNotFound,
            fmt::format("model dir {} does not exist (--model-dir or MODEL_DIR)", model_dir));
      }
      Result<Registry> registry = Registry::Open(model_dir, RegistryOpenMode::kReadOnly);
      if (!registry) return tl::unexpected(registry.error());
      source->emplace(std::move(*registry));
    }
    return (*source)->Poll();
  };
}

ModelReloader::Loader MakeLoader(const std::string& model_dir, const LoadOptions& options) {
  return [model_dir, options](const ServableId& id) -> Result<std::shared_ptr<const ServingModel>> {
    Result<Registry> registry = Registry::Open(model_dir, RegistryOpenMode::kReadOnly);
    if (!registry) return tl::unexpected(registry.error());
    Result<std::shared_ptr<const ServingModel>> model =
        LoadServingModel(*registry, id.version, options);
    if (model) {
      const ServingModel& m = **model;
      if (m.reason_mode() == ReasonMode::kModel) {
        spdlog::info("model {}: reasons from the model (catalog {})", m.version(),
                     m.reason_catalog_version());
      } else if (options.reasons == ReasonMode::kModel) {
        spdlog::warn(
            "model {}: --reasons model, but the model has no node covers to explain "
            "with: reasons from the rules",
            m.version());
      }
    }
    return model;
  };
}

// The served-version rule's fallback, for a server that has no model yet.
ModelReloader::Fallback MakeFallback(const std::string& model_dir, const LoadOptions& options) {
  return [model_dir, options]() -> Result<ModelReloader::FallbackModel> {
    CSML_ASSIGN_OR_RETURN(auto registry, Registry::Open(model_dir, RegistryOpenMode::kReadOnly));
    CSML_ASSIGN_OR_RETURN(auto served, ResolveServedVersion(registry, options));
    return ModelReloader::FallbackModel{std::move(served.loaded.model),
                                        std::move(served.choice.reason)};
  };
}

// One log line per router event (tenant loads, unloads, failures, canary and shadow moves).
void LogRouterEvent(const RouterEvent& event) {
  const std::string where =
      event.tenant.empty() ? std::string("global") : fmt::format("tenant {}", event.tenant);
  switch (event.kind) {
    case RouterEvent::Kind::kLoaded:
      spdlog::info("{}: loaded {} in {:.1f} ms ({})", where, event.version,
                   static_cast<double>(event.load_duration.count()) / 1000.0, event.detail);
      break;
    case RouterEvent::Kind::kUnloaded:
      spdlog::info("{}: unloaded {} (least recently used, {})", where, event.version, event.detail);
      break;
    case RouterEvent::Kind::kFailed:
      spdlog::error("{}: failed to load {}: {}; {}", where,
                    event.version.empty() ? std::string("its model") : event.version, event.detail,
                    event.tenant.empty() ? "the side version is not used"
                                         : "the previous model (or the global one) answers");
      break;
    case RouterEvent::Kind::kSideChanged:
      spdlog::info("{}: now {}", where, event.detail);
      break;
  }
}

// Waits for a signal in `set` for up to `timeout` (forever when nullopt); 0 on timeout.
int WaitForSignal(const sigset_t& set, std::optional<std::chrono::milliseconds> timeout) {
  while (true) {
    int number = 0;
    if (!timeout) {
      if (sigwait(&set, &number) == 0) return number;
      continue;
    }
    const timespec ts{static_cast<time_t>(timeout->count() / 1000),
                      static_cast<long>((timeout->count() % 1000) * 1'000'000)};
    number = sigtimedwait(&set, nullptr, &ts);
    if (number > 0) return number;
    if (errno == EAGAIN) return 0;
  }
}

const char* SignalName(int number) {
  switch (number) {
    case SIGINT:
      return "SIGINT";
    case SIGTERM:
      return "SIGTERM";
    case SIGHUP:
      return "SIGHUP";
    default:
      return "a signal";
  }
}

// The prediction log (docs/MONITORING.md), or null when it is off. Its writer thread's
// reports go to the log here (the domain does not log).
Result<std::unique_ptr<PredictionLog>> OpenPredictionLog(const ServeFlags& flags) {
  if (flags.prediction_log == "off" || flags.prediction_log.empty()) {
    return std::unique_ptr<PredictionLog>();
  }
  PredictionLogOptions options;
  options.dir = flags.prediction_log;
  if (flags.prediction_log_retention_mb < 64 || flags.prediction_log_retention_mb > (1u << 22)) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--prediction-log-retention-mb: expected 64 to 4194304, got {}",
                                 flags.prediction_log_retention_mb));
  }
  options.retention_bytes = flags.prediction_log_retention_mb << 20;
  if (flags.prediction_log_retention_days < 1 || flags.prediction_log_retention_days > 3650) {
    return MakeError(ErrorCode::kInvalidArgument,
                     fmt::format("--prediction-log-retention-days: expected 1 to 3650, got {}",
                                 flags.prediction_log_retention_days));
  }
  options.retention_age =
      std::chrono::seconds(static_cast<std::int64_t>(flags.prediction_log_retention_days) * 86400);
  Result<std::unique_ptr<PredictionLog>> log =
      PredictionLog::Create(options, [](const PredictionLogEvent& event) {
        if (event.kind == PredictionLogEvent::Kind::kResumed) {
          spdlog::info("{}", event.message);
        } else {
          spdlog::warn("{}", event.message);
        }
      });
  if (!log) {
    return tl::unexpected(log.error().WithContext("--prediction-log (or CSML_PREDICTION_LOG)"));
  }
  return log;
}

Result<int> RunServe(ServeFlags flags) {
  flags.routes.score_token = EnvOr("CSML_SCORE_TOKEN", "");
  flags.routes.admin_token = EnvOr("CSML_ADMIN_TOKEN", "");
  Result<server::AccessLogDestination> destination =
      server::ParseAccessLogDestination(flags.access_log_destination);
  if (!destination) {
    return tl::unexpected(
        NameFlags(destination.error(), {{"access log", "--access-log (or CSML_ACCESS_LOG)"}}));
  }
  flags.access_log.destination = *destination;
  if (Status valid = NameFlags(flags.server.Validate(), kServerOptionFlags); !valid) {
    return tl::unexpected(valid.error());
  }
  if (Status valid = NameFlags(flags.routes.Validate(), {{"max batch items", "--max-batch-items"},
                                                         {"cors origin", "--cors-origin"},
                                                         {"drift window", "--drift-window"}});
      !valid) {
    return tl::unexpected(valid.error());
  }
  if (Status valid =
          NameFlags(flags.access_log.Validate(),
                    {{"access log sampling", "--access-log-sample (or CSML_ACCESS_LOG_SAMPLE)"}});
      !valid) {
    return tl::unexpected(valid.error());
  }
  if (Status valid =
          NameFlags(flags.reload.Validate(), {{"reload poll interval", "--reload-interval-ms"}});
      !valid) {
    return tl::unexpected(valid.error());
  }
  if (flags.drain_delay_ms < 0 || flags.drain_delay_ms > 600'000) {
    return MakeError(
        ErrorCode::kInvalidArgument,
        fmt::format("--drain-delay-ms: expected 0 to 600000, got {}", flags.drain_delay_ms));
  }

  // Block the signals before any thread exists, so every thread inherits the mask and only
  // this thread receives them, by sigwait (no work ever runs in a signal handler).
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  if (const int rc = pthread_sigmask(SIG_BLOCK, &signals, nullptr); rc != 0) {
    return MakeError(ErrorCode::kInternal, fmt::format("pthread_sigmask: {}", std::strerror(rc)));
  }

  LoadOptions load;
  if (flags.reasons != "meta") {
    load.reasons = ParseReasonMode(flags.reasons);
    if (!load.reasons) {
      return MakeError(ErrorCode::kInvalidArgument,
                       fmt::format("--reasons (or CSML_REASONS): expected rules, model or meta, "
                                   "got '{}'",
                                   flags.reasons.substr(0, 40)));
    }
  }

  ModelManager models;
  const std::string model_dir = flags.model_dir;
  server::ReloadHistory reload_history;  // for GET /monitor
  Result<std::unique_ptr<ModelReloader>> reloader = ModelReloader::Create(
      flags.reload, MakeSource(model_dir), MakeLoader(model_dir, load), models,
      [model_dir, &reload_history](const ReloadReport& report) {
        LogReload(report, model_dir);
        reload_history.Add(report);
      },
      MakeFallback(model_dir, load));
  if (!reloader) return tl::unexpected(reloader.error());
  (*reloader)->ReloadNow(ReloadTrigger::kStartup);

  Result<std::unique_ptr<server::AccessLog>> access_log =
      server::AccessLog::Create(flags.access_log);
  if (!access_log) return tl::unexpected(access_log.error());
  Result<std::unique_ptr<PredictionLog>> prediction_log = OpenPredictionLog(flags);
  if (!prediction_log) return tl::unexpected(prediction_log.error());

  // Tenants, canary and shadow versions (docs/OPERATIONS.md §12): the router's own thread
  // loads them beside the global reloader; shadow scores go to the prediction log.
  ModelRouterOptions router_options = flags.router;
  router_options.poll_interval_ms = flags.reload.poll_interval_ms;
  router_options.load = load;
  Result<std::unique_ptr<ModelRouter>> model_router = ModelRouter::Create(
      router_options, model_dir, models, [](const RouterEvent& event) { LogRouterEvent(event); });
  if (!model_router) return tl::unexpected(model_router.error());
  (*model_router)->Refresh();
  Result<std::unique_ptr<ShadowScorer>> shadow =
      ShadowScorer::Create(ShadowScorerOptions{}, prediction_log->get());
  if (!shadow) return tl::unexpected(shadow.error());

  server::HttpMetrics http_metrics;
  server::ServeRoutesDeps deps{&models,           reloader->get(),       &http_metrics,
                               access_log->get(), prediction_log->get(), &reload_history};
  deps.router = model_router->get();
  deps.shadow = shadow->get();
  Result<std::unique_ptr<server::ServeRoutes>> routes =
      server::ServeRoutes::Create(flags.routes, deps);
  if (!routes) return tl::unexpected(routes.error());
  server::Router router;
  (*routes)->AddTo(router);
  Result<std::unique_ptr<server::HttpServer>> http = server::HttpServer::Start(
      flags.server, std::move(router), server::ServerObservers{&http_metrics, access_log->get()});
  if (!http) return tl::unexpected(http.error());
  (*reloader)->Start();
  (*model_router)->Start();
  spdlog::info(
      "hot reload: {}, SIGHUP{}; scoring {}; access log {}",
      flags.reload.poll_interval_ms > 0
          ? fmt::format("registry polled every {} ms", flags.reload.poll_interval_ms)
          : std::string("polling off"),
      flags.routes.admin_token.empty() ? "" : ", POST /admin/reload",
      flags.routes.score_token.empty() ? "open (CSML_SCORE_TOKEN not set)" : "needs the token",
      flags.access_log_destination == "off"
          ? std::string("off")
          : fmt::format("to {} (1 in {} successes)", flags.access_log_destination,
                        flags.access_log.sample_every));
  if (*prediction_log != nullptr) {
    spdlog::info("prediction log: {} (retention {} MiB)", flags.prediction_log,
                 flags.prediction_log_retention_mb);
  }

  if (!flags.routes.cors_origins.empty()) {
    std::string origins;
    for (const std::string& origin : flags.routes.cors_origins) {
      origins += origins.empty() ? origin : ", " + origin;
    }
    spdlog::info("CORS on the score and docs routes for {}", origins);
  }

  int signal_number = 0;
  while (true) {
    signal_number = WaitForSignal(signals, std::nullopt);
    if (signal_number != SIGHUP) break;
    spdlog::info("received SIGHUP; reloading");
    (*reloader)->RequestReload();
    (*model_router)->RequestRefresh();
  }
  spdlog::info("received {}; stopping", SignalName(signal_number));
  (*routes)->SetDraining();
  if (flags.drain_delay_ms > 0) {
    // Load balancers see /readyz fail and stop sending; a second stop signal cuts this short.
    spdlog::info("draining for {} ms before closing the listeners", flags.drain_delay_ms);
    const auto until =
        std::chrono::steady_clock::now() + std::chrono::milliseconds(flags.drain_delay_ms);
    while (true) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          until - std::chrono::steady_clock::now());
      if (left.count() <= 0) break;
      const int again = WaitForSignal(signals, left);
      if (again == SIGINT || again == SIGTERM) break;
    }
  }
  (*http)->Stop();
  (*http)->Wait();
  http->reset();
  (*model_router)->Stop();
  (*reloader)->Stop();
  (*shadow)->Stop();  // scores what is queued into the log before the log closes
  const server::ScoreTotals totals = (*routes)->Totals();
  spdlog::info(
      "stopped: {} requests answered; {} scored, {} rejected, {} without a model, {} failed, {} "
      "unauthorized, {} unknown feature keys",
      http_metrics.TotalRequests(), totals.scored, totals.rejected, totals.unavailable,
      totals.failed, totals.unauthorized, totals.unknown_feature_keys);
  if (*prediction_log != nullptr) {
    const PredictionLogStats before = (*prediction_log)->Stats();
    prediction_log->reset();  // writes out what is queued, closes and compresses the segment
    spdlog::info("prediction log {}: {} records taken, {} dropped (queue full), {} dropped (disk)",
                 flags.prediction_log, before.appended, before.dropped_queue_full,
                 before.dropped_disk);
  }
  access_log->reset();  // writes out every line still buffered
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<ServeFlags>();
  flags->model_dir = env.model_dir;
  flags->access_log_destination = EnvOr("CSML_ACCESS_LOG", "stdout");
  flags->prediction_log = EnvOr("CSML_PREDICTION_LOG", "off");
  flags->reasons = EnvOr("CSML_REASONS", "meta");
  auto* cmd = app.add_subcommand("serve", "Serve churn-risk scores over HTTP (POST /score)");
  cmd->add_option("--host", flags->server.host, "Address to listen on")->capture_default_str();
  cmd->add_option("--port", flags->server.port, "Port to listen on (0 = any free port)")
      ->capture_default_str();
  cmd->add_option("--model-dir", flags->model_dir, "Model registry directory (env MODEL_DIR)")
      ->capture_default_str();
  cmd->add_option("--threads", flags->server.threads, "Event-loop threads (0 = one per core)")
      ->capture_default_str();
  cmd->add_option("--max-body-bytes", flags->server.max_body_bytes,
                  "Largest request body accepted; larger ones get 413")
      ->capture_default_str();
  cmd->add_option("--max-batch-items", flags->routes.max_batch_items,
                  "Most items one POST /score/batch may hold")
      ->capture_default_str();
  cmd->add_option("--cors-origin", flags->routes.cors_origins,
                  "Answer CORS preflights and add CORS headers on the score and docs routes for "
                  "this browser origin (scheme://host[:port], or * for any); repeatable. Off by "
                  "default; admin routes never get CORS");
  cmd->add_option("--reload-interval-ms", flags->reload.poll_interval_ms,
                  "How often the registry pointer is checked for a new version (0 = only on "
                  "SIGHUP or POST /admin/reload)")
      ->capture_default_str();
  cmd->add_option("--header-timeout-ms", flags->server.header_timeout_ms,
                  "Time a client has to send a request's headers (and a new connection its "
                  "first byte)")
      ->capture_default_str();
  cmd->add_option("--body-timeout-ms", flags->server.body_timeout_ms,
                  "Time a client has to send a whole request body")
      ->capture_default_str();
  cmd->add_option("--idle-timeout-ms", flags->server.idle_timeout_ms,
                  "Time a kept-alive connection may stay idle between requests")
      ->capture_default_str();
  cmd->add_option("--write-timeout-ms", flags->server.write_timeout_ms,
                  "Time a response may make no progress (a client that stopped reading)")
      ->capture_default_str();
  cmd->add_option("--max-connections", flags->server.max_connections,
                  "Open connections over all threads; at the cap the longest-idle one is closed")
      ->capture_default_str();
  cmd->add_option("--shutdown-grace-ms", flags->server.shutdown_grace_ms,
                  "On SIGTERM: time left to requests in progress")
      ->capture_default_str();
  cmd->add_option("--drain-delay-ms", flags->drain_delay_ms,
                  "On SIGTERM: time /readyz answers 503 while still serving, before the "
                  "listeners close")
      ->capture_default_str();
  cmd->add_option("--access-log", flags->access_log_destination,
                  "JSON access log: stdout, stderr or off (env CSML_ACCESS_LOG)")
      ->capture_default_str();
  cmd->add_option("--prediction-log", flags->prediction_log,
                  "Log every score to JSON Lines segments in this directory, or off (env "
                  "CSML_PREDICTION_LOG; docs/MONITORING.md)")
      ->capture_default_str();
  cmd->add_option("--reasons", flags->reasons,
                  "How `reasons` are chosen: rules (the seed's fixed rules), model (the codes of "
                  "the features whose TreeSHAP contribution raised the risk, "
                  "docs/EXPLANATIONS.md), or meta (each version's setting from `csml train "
                  "--reasons`; rules unless it was trained with model) (env CSML_REASONS)")
      ->capture_default_str();
  cmd->add_option("--prediction-log-retention-mb", flags->prediction_log_retention_mb,
                  "Most MiB the prediction log directory may hold; the oldest segments go first")
      ->capture_default_str();
  cmd->add_option("--prediction-log-retention-days", flags->prediction_log_retention_days,
                  "Segments older than this are removed (keep more than the 30-day label horizon "
                  "for csml monitor)")
      ->capture_default_str();
  cmd->add_option("--max-tenant-models", flags->router.max_loaded_tenants,
                  "Tenant models kept loaded at once; past it the least recently used is "
                  "unloaded and loads again on its next request (docs/OPERATIONS.md §12)")
      ->capture_default_str();
  cmd->add_option("--drift-window", flags->routes.drift_window,
                  "Live drift on /metrics and /monitor over the last N scores (100 to "
                  "10000000; 0 = off; docs/MONITORING.md)")
      ->capture_default_str();
  CLI::Option* sample =
      cmd->add_option("--access-log-sample", flags->access_log.sample_every,
                      "Log 1 in N requests answered below 400; 4xx and 5xx always (env "
                      "CSML_ACCESS_LOG_SAMPLE)")
          ->capture_default_str();
  cmd->callback([&slot, flags, sample] {
    slot.name = "serve";
    const bool sample_given = sample->count() > 0;
    slot.run = [flags, sample_given]() -> Result<int> {
      if (!sample_given) {
        Result<int> from_env =
            ParseIntEnv("CSML_ACCESS_LOG_SAMPLE", flags->access_log.sample_every);
        if (!from_env) return tl::unexpected(from_env.error());
        flags->access_log.sample_every = *from_env;
      }
      return RunServe(*flags);
    };
  });
}

}  // namespace csml::cli
