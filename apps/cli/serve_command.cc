// csml serve: the churn-risk HTTP API (DESIGN section 3), the seed's
// `uvicorn app.main:app --host 0.0.0.0 --port 8000`.
//
// It loads the version the registry says to serve and listens. With no model (an empty or
// missing registry, or a version that fails to load) it still starts: /healthz and /score
// answer 503 until a model is there. SIGINT or SIGTERM stop it cleanly (exit 0): no new
// connections, responses in progress finish.
#include <pthread.h>

#include <csignal>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>

#include <fmt/format.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/registry/registry.h"
#include "csml/serving/model_loader.h"
#include "csml/serving/model_manager.h"
#include "environment.h"
#include "http_server.h"
#include "score_routes.h"

namespace csml::cli {
namespace {

struct ServeFlags {
  server::ServerOptions server;
  std::string model_dir;
};

// Loads the served version into the manager, or explains why there is none.
void LoadInitialModel(const std::string& model_dir, ModelManager& models) {
  if (!std::filesystem::is_directory(model_dir)) {
    spdlog::warn("model dir {} does not exist; serving without a model (503)", model_dir);
    return;
  }
  Result<Registry> registry = Registry::Open(model_dir, RegistryOpenMode::kReadOnly);
  if (!registry) {
    spdlog::error("model dir {}: {}; serving without a model (503)", model_dir,
                  registry.error().message);
    return;
  }
  const Status loaded = models.Load([&] { return LoadServedModel(*registry); });
  if (!loaded) {
    if (loaded.error().code == ErrorCode::kNotFound) {
      spdlog::warn("model dir {} holds no model; serving without one (503)", model_dir);
    } else {
      spdlog::error("{}; serving without a model (503)", loaded.error().message);
    }
    return;
  }
  spdlog::info("serving model {} from {}", models.Current()->version(), model_dir);
}

Result<int> RunServe(const ServeFlags& flags) {
  if (Status valid = flags.server.Validate(); !valid) return tl::unexpected(valid.error());

  // Block the stop signals before any server thread exists, so every thread inherits the
  // mask and only sigwait() below receives them.
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  if (const int rc = pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr); rc != 0) {
    return MakeError(ErrorCode::kInternal, fmt::format("pthread_sigmask: {}", std::strerror(rc)));
  }

  ModelManager models;
  LoadInitialModel(flags.model_dir, models);

  server::ScoreRouteStats stats;
  server::Router router;
  server::AddScoreRoutes(router, models, stats);
  Result<std::unique_ptr<server::HttpServer>> http =
      server::HttpServer::Start(flags.server, std::move(router));
  if (!http) return tl::unexpected(http.error());

  int signal_number = 0;
  if (const int rc = sigwait(&stop_signals, &signal_number); rc != 0) {
    (*http)->Stop();
    (*http)->Wait();
    return MakeError(ErrorCode::kInternal, fmt::format("sigwait: {}", std::strerror(rc)));
  }
  spdlog::info("received {}; stopping", signal_number == SIGINT ? "SIGINT" : "SIGTERM");
  (*http)->Stop();
  (*http)->Wait();
  spdlog::info(
      "stopped: {} scored, {} rejected, {} without a model, {} failed, {} unknown "
      "feature keys",
      stats.scored.load(), stats.rejected.load(), stats.unavailable.load(), stats.failed.load(),
      stats.unknown_feature_keys.load());
  return 0;
}

}  // namespace

void AddServeCommand(CLI::App& app, CommandSlot& slot) {
  const Environment env = ReadEnvironment();
  auto flags = std::make_shared<ServeFlags>();
  flags->model_dir = env.model_dir;
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
  cmd->callback([&slot, flags] {
    slot.name = "serve";
    slot.run = [flags]() -> Result<int> { return RunServe(*flags); };
  });
}

}  // namespace csml::cli
