#include "cli/command.h"

namespace tenpak::cli {
void AddConvertCommand(CLI::App& app, CliContext& ctx) {
    CLI::App* cmd = app.add_subcommand("convert", "Convert a model to an HF folder or a GGUF file");
    cmd->callback([&ctx]() { ctx.action = []() { return Status::Unsupported("convert: not implemented yet"); }; });
}
}  // namespace tenpak::cli
