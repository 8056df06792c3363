// How the CLI is put together: each command lives in its own file and registers itself on
// the root CLI11 app with an Add*Command function. Registration binds flags to that command's
// options struct and installs a runner; main() runs the chosen runner once.
//
// A runner returns the process exit code for a completed run (0 or a verdict such as
// "validation failed" = 1) or an Error, which main() maps to an exit code in one place.
#pragma once

#include <functional>
#include <string>

#include <CLI/CLI.hpp>

#include "csml/core/error.h"

namespace csml::cli {

using Runner = std::function<Result<int>()>;

// Where the chosen command's runner is stored; filled by the subcommand that CLI11 selects.
struct CommandSlot {
  std::string name;
  Runner run;
};

void AddSimulateCommand(CLI::App& app, CommandSlot& slot);
void AddTrainCommand(CLI::App& app, CommandSlot& slot);
void AddModelsCommand(CLI::App& app, CommandSlot& slot);
void AddServeCommand(CLI::App& app, CommandSlot& slot);
void AddCsApiCommand(CLI::App& app, CommandSlot& slot);
void AddValidateCommand(CLI::App& app, CommandSlot& slot);
void AddPredictCommand(CLI::App& app, CommandSlot& slot);
void AddTestCommand(CLI::App& app, CommandSlot& slot);
void AddMonitorCommand(CLI::App& app, CommandSlot& slot);
// `csml models import`, registered by AddModelsCommand on its `models` subcommand.
void AddModelsImportSubcommand(CLI::App* models, CommandSlot& slot);

}  // namespace csml::cli
