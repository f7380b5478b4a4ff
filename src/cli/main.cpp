// The `tenpak` executable: parses the command line, runs one subcommand, maps its Status to an
// exit code. Library code throws nothing; the one catch here turns a stray std::exception
// (bad_alloc, say) into an internal error.
#include <cstdio>
#include <exception>
#include <string>

#include "cli/command.h"

int main(int argc, char** argv) {
    using tenpak::cli::CliContext;
    try {
        CLI::App app{"tenpak: quantize, evaluate, package and serve large language models"};
        app.require_subcommand(1);
        app.set_version_flag("--version", std::string("tenpak ") + TENPAK_VERSION);
        CliContext ctx;
        tenpak::cli::AddInspectCommand(app, ctx);
        tenpak::cli::AddConvertCommand(app, ctx);
        tenpak::cli::AddEvalCommand(app, ctx);
        tenpak::cli::AddGenerateCommand(app, ctx);
        tenpak::cli::AddBenchCommand(app, ctx);
        tenpak::cli::AddQuantizeCommand(app, ctx);
        tenpak::cli::AddQuantizeLayerCommand(app, ctx);
        tenpak::cli::AddPackCommand(app, ctx);
        tenpak::cli::AddUnpackCommand(app, ctx);
        tenpak::cli::AddVerifyCommand(app, ctx);
        tenpak::cli::AddKeygenCommand(app, ctx);
        tenpak::cli::AddPullCommand(app, ctx);
        tenpak::cli::AddStreamCommand(app, ctx);
        tenpak::cli::AddDeltaCommand(app, ctx);
        tenpak::cli::AddServeArtifactsCommand(app, ctx);
        tenpak::cli::AddOptimizeCommand(app, ctx);
        try {
            app.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            if (e.get_exit_code() == 0) return app.exit(e);  // --help, --version
            std::fprintf(stderr, "tenpak: %s\nRun with --help for usage.\n", e.what());
            return 2;
        }
        if (!ctx.action) {
            std::fprintf(stderr, "tenpak: no command given. Run with --help for usage.\n");
            return 2;
        }
        const tenpak::Status status = ctx.action();
        if (!status.ok()) {
            std::fprintf(stderr, "tenpak: error: %s\n", status.message().c_str());
            return tenpak::cli::ExitCodeFor(status);
        }
        return ctx.exit_code;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "tenpak: internal error: %s (this is a bug; please report it)\n", e.what());
        return 1;
    }
}
