#include "command.h"

namespace csml::cli {

void AddTrainCommand(CLI::App& app, CommandSlot& slot) {
  auto* cmd = app.add_subcommand("train", "(being built)");
  cmd->callback([&slot] {
    slot.name = "train";
    slot.run = []() -> Result<int> {
      return MakeError(ErrorCode::kInternal, "'train' is being built in this change");
    };
  });
}

}  // namespace csml::cli
