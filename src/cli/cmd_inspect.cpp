#include "cli/command.h"

namespace tenpak::cli {
void AddInspectCommand(CLI::App& app, CliContext& ctx) {
    CLI::App* cmd = app.add_subcommand("inspect", "Show a model's architecture, config, parameters and tensors");
    cmd->callback([&ctx]() { ctx.action = []() { return Status::Unsupported("inspect: not implemented yet"); }; });
}
}  // namespace tenpak::cli
