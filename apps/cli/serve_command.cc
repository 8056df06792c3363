#include "command.h"

namespace csml::cli {

void AddServeCommand(CLI::App& app, CommandSlot& slot) {
  auto* cmd = app.add_subcommand("serve", "(being built)");
  cmd->callback([&slot] {
    slot.name = "serve";
    slot.run = []() -> Result<int> {
      return MakeError(ErrorCode::kInternal, "'serve' is being built in this change");
    };
  });
}

}  // namespace csml::cli
