// How subcommands plug into the `tenpak` executable: each cmd_<name>.cpp adds its CLI11
// subcommand and, when chosen, sets ctx.action. main() parses, runs the action and maps its Status
// to an exit code (exit_code.cpp). Subcommands only parse, call the library and print.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>

#include "tenpak/core/status.h"

namespace tenpak::cli {

struct CliContext {
    std::function<Status()> action;
    // The exit code of an action that ran fine but answers "no" (optimize with nothing feasible: 1).
    int exit_code = 0;
};

void AddInspectCommand(CLI::App& app, CliContext& ctx);
void AddConvertCommand(CLI::App& app, CliContext& ctx);
void AddEvalCommand(CLI::App& app, CliContext& ctx);
void AddGenerateCommand(CLI::App& app, CliContext& ctx);
void AddBenchCommand(CLI::App& app, CliContext& ctx);
void AddQuantizeCommand(CLI::App& app, CliContext& ctx);
void AddQuantizeLayerCommand(CLI::App& app, CliContext& ctx);
void AddPackCommand(CLI::App& app, CliContext& ctx);
void AddUnpackCommand(CLI::App& app, CliContext& ctx);
void AddVerifyCommand(CLI::App& app, CliContext& ctx);
void AddKeygenCommand(CLI::App& app, CliContext& ctx);
void AddPullCommand(CLI::App& app, CliContext& ctx);
void AddStreamCommand(CLI::App& app, CliContext& ctx);
void AddDeltaCommand(CLI::App& app, CliContext& ctx);
void AddServeArtifactsCommand(CLI::App& app, CliContext& ctx);
void AddOptimizeCommand(CLI::App& app, CliContext& ctx);

// 0 for OK, 2 for bad usage or input (kInvalidArgument, kNotFound, kCorruption, kUnsupported,
// kIntegrity), 1 for a job that failed (I/O, network, resources, internal).
int ExitCodeFor(const Status& status);

}  // namespace tenpak::cli
