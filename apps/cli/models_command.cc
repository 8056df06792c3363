#include "command.h"

namespace csml::cli {

void AddModelsCommand(CLI::App& app, CommandSlot& slot) {
  auto* cmd = app.add_subcommand("models", "(being built)");
  cmd->callback([&slot] {
    slot.name = "models";
    slot.run = []() -> Result<int> {
      return MakeError(ErrorCode::kInternal, "'models' is being built in this change");
    };
  });
}

}  // namespace csml::cli
