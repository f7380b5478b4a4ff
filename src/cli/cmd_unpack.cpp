// tenpak unpack FILE.tnpk -o DIR: every packed file back, byte for byte, each chunk checked.
#include <chrono>
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/artifact/unpack.h"
#include "tenpak/core/progress.h"

namespace tenpak::cli {
namespace {

struct UnpackArgs {
    std::string artifact;
    std::string output;
    bool force = false;
    bool json = false;
};

Status RunUnpack(const UnpackArgs& args) {
    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(const std::shared_ptr<const artifact::Artifact> packed, artifact::Artifact::OpenFile(args.artifact));
    artifact::UnpackOptions options;
    options.overwrite = args.force;
    options.progress = !args.json;
    TP_ASSIGN_OR_RETURN(const artifact::UnpackReport report, artifact::Unpack(*packed, args.output, options));
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    if (args.json) {
        PrintJson({{"artifact", args.artifact},
                   {"id", packed->id()},
                   {"output", args.output},
                   {"files", report.files},
                   {"bytes", report.bytes},
                   {"seconds", seconds}});
        return Status::Ok();
    }
    std::printf("unpacked %s -> %s: %llu files, %s, %.2f s\n", args.artifact.c_str(), args.output.c_str(),
                static_cast<unsigned long long>(report.files), FormatBytes(report.bytes).c_str(), seconds);
    return Status::Ok();
}

}  // namespace

void AddUnpackCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<UnpackArgs>();
    CLI::App* cmd = app.add_subcommand("unpack", "Rebuild the files packed in a .tnpk artifact");
    cmd->add_option("FILE", args->artifact, "The .tnpk artifact")->required();
    cmd->add_option("-o,--output", args->output, "Output folder")->required();
    cmd->add_flag("--force", args->force, "Replace an existing non-empty output folder");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunUnpack(*args); }; });
}

}  // namespace tenpak::cli
