// csml: one executable, one subcommand per seed script (DESIGN section 6).
//
// main() only parses the command line, runs the chosen command once inside one catch-all and
// maps its outcome to an exit code; the commands themselves are thin wrappers over the domain
// library.
#include <cstdio>
#include <exception>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "command.h"
#include "csml/core/error.h"
#include "csml_version.h"
#include "environment.h"

namespace {

// Exit codes: a command's own verdict (0 ok, 1 "data or model failed the check") passes
// through; every Error is 2 ("could not do the work": unreadable input, unreachable source,
// bad arguments); a bug is 70.
constexpr int kExitError = 2;
constexpr int kExitInternal = 70;

int ExitCodeFor(const csml::Error& error) {
  return error.code == csml::ErrorCode::kInternal ? kExitInternal : kExitError;
}

}  // namespace

int main(int argc, char** argv) {
  const csml::cli::Environment env = csml::cli::ReadEnvironment();
  spdlog::set_level(spdlog::level::from_str(env.log_level));

  CLI::App app{"csml: churn-risk models for the Customer Success platform", "csml"};
  app.require_subcommand(1);
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

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

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
