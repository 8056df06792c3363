// csml: one executable, one subcommand per seed script (docs/COMMANDS.md).
//
// main() only parses the command line, runs the chosen command once inside one catch-all and
// maps its outcome to an exit code; the commands themselves are thin wrappers over the domain
// library. stdout carries a command's output only: every log line goes to stderr.
#include <array>
#include <cstdio>
#include <exception>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>
#include <vector>

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/core/error.h"
#include "csml_version.h"
#include "environment.h"
#include "usage_error.h"

namespace {

// Exit codes (docs/COMMANDS.md): a command's own verdict (0 ok, 1 "data or model failed the
// check") passes through; bad usage and every Error are 2 ("could not do the work": bad
// arguments, unreadable input, unreachable source); a bug is 70.
constexpr int kExitError = 2;
constexpr int kExitInternal = 70;

constexpr char kFooter[] =
    "Exit status: 0 ok; 1 a check failed (validate: the data blocks training; test: the model "
    "failed its gate; monitor: a check failed); 2 could not run (bad usage, unreadable input, "
    "unreachable source).\n"
    "Environment: MODEL_DIR, CS_FEATURES_URL, TENANT_ID, CSML_LOG_LEVEL (trace, debug, info, "
    "warn, error, off). Logs go to stderr, a command's output to stdout.";

constexpr std::array<std::pair<std::string_view, spdlog::level::level_enum>, 6> kLogLevels = {{
    {"trace", spdlog::level::trace},
    {"debug", spdlog::level::debug},
    {"info", spdlog::level::info},
    {"warn", spdlog::level::warn},
    {"error", spdlog::level::err},
    {"off", spdlog::level::off},
}};

// spdlog's own from_str turns any unknown name into "off": a typo would silence every log.
std::optional<spdlog::level::level_enum> LogLevelNamed(std::string_view name) {
  for (const auto& [text, level] : kLogLevels) {
    if (text == name) return level;
  }
  return std::nullopt;
}

// The default logger writes to stderr, so that logs never mix with a command's output.
void LogToStderr() {
  auto logger =
      std::make_shared<spdlog::logger>("", std::make_shared<spdlog::sinks::stderr_color_sink_mt>());
  spdlog::set_default_logger(std::move(logger));
}

int ExitCodeFor(const csml::Error& error) {
  return error.code == csml::ErrorCode::kInternal ? kExitInternal : kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  LogToStderr();
  const csml::cli::Environment env = csml::cli::ReadEnvironment();

  CLI::App app{"csml: churn-risk models for the Customer Success platform", "csml"};
  app.require_subcommand(1);
  app.footer(kFooter);  // before the subcommands, which inherit it
  app.set_version_flag("--version", "csml " CSML_VERSION);

  csml::cli::CommandSlot slot;
  csml::cli::AddSimulateCommand(app, slot);
  csml::cli::AddTrainCommand(app, slot);
  csml::cli::AddModelsCommand(app, slot);
  csml::cli::AddServeCommand(app, slot);
  csml::cli::AddCsApiCommand(app, slot);
  csml::cli::AddValidateCommand(app, slot);
  csml::cli::AddPredictCommand(app, slot);
  csml::cli::AddTestCommand(app, slot);
  csml::cli::AddMonitorCommand(app, slot);
  csml::cli::RefuseNegativeUnsigned(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    // --help and --version are "errors" with exit code 0.
    if (e.get_exit_code() == 0) return app.exit(e);
    return csml::cli::ReportParseError(app, e);
  }

  const std::optional<spdlog::level::level_enum> level = LogLevelNamed(env.log_level);
  if (!level) {
    std::vector<std::string_view> names;
    names.reserve(kLogLevels.size());
    for (const auto& entry : kLogLevels) names.push_back(entry.first);
    std::fputs(fmt::format("csml: CSML_LOG_LEVEL: expected one of {}, got '{}'\n",
                           fmt::join(names, ", "), env.log_level)
                   .c_str(),
               stderr);
    return kExitError;
  }
  spdlog::set_level(*level);

  if (!slot.run) {
    std::fputs("csml: no command selected; see csml --help\n", stderr);
    return kExitError;
  }
  try {
    const csml::Result<int> outcome = slot.run();
    if (outcome) return *outcome;
    std::fprintf(stderr, "csml %s: error: %s\n", slot.name.c_str(),
                 outcome.error().message.c_str());
    return ExitCodeFor(outcome.error());
  } catch (const std::exception& e) {
    std::fprintf(stderr, "csml %s: internal error: %s\n", slot.name.c_str(), e.what());
    return kExitInternal;
  }
}
