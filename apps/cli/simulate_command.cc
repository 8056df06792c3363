#include "command.h"

namespace csml::cli {

void AddSimulateCommand(CLI::App& app, CommandSlot& slot) {
  auto* cmd = app.add_subcommand("simulate", "(being built)");
  cmd->callback([&slot] {
    slot.name = "simulate";
    slot.run = []() -> Result<int> {
      return MakeError(ErrorCode::kInternal, "'simulate' is being built in this change");
    };
  });
}

}  // namespace csml::cli
