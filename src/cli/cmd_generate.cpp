// tenpak generate MODEL --prompt TEXT [-n N] [--temperature T] [--top-p P] [--seed S]: streams
// the continuation to stdout as it is generated.
#include <cstdio>

#include "cli/command.h"
#include "cli/inference_setup.h"
#include "cli/output.h"
#include "tenpak/engine/generate.h"

namespace tenpak::cli {
namespace {

struct GenerateArgs {
    InferenceArgs inference;
    std::string prompt;
    int64_t tokens = 128;
    float temperature = 0.8f;
    float top_p = 0.95f;
    uint64_t seed = 0;
    int64_t context = 0;
    bool truncate = false;
    bool json = false;
};

Status RunGenerate(const GenerateArgs& args) {
    if (args.tokens < 1) return Status::InvalidArgument("-n must be at least 1");
    if (args.temperature < 0) return Status::InvalidArgument("--temperature must not be negative");
    if (args.top_p <= 0 || args.top_p > 1) return Status::InvalidArgument("--top-p must be in (0, 1]");
    TP_ASSIGN_OR_RETURN(Inference inf, OpenForInference(args.inference, args.context, /*need_tokenizer=*/true));
    engine::GenerateOptions options;
    options.max_tokens = args.tokens;
    options.sampling = {args.temperature, args.top_p, args.seed};
    options.truncate = args.truncate;
    if (!args.json) {
        std::fputs(args.prompt.c_str(), stdout);
        std::fflush(stdout);
    }
    const auto print = [&](std::string_view piece) {
        if (args.json) return;
        std::fwrite(piece.data(), 1, piece.size(), stdout);
        std::fflush(stdout);
    };
    TP_ASSIGN_OR_RETURN(engine::GenerateResult r,
                        engine::Generate(*inf.engine, *inf.tokenizer, args.prompt, options, print));
    if (r.truncated) {
        std::fprintf(stderr, "tenpak: warning: the prompt was cut to its last %zu tokens to fit the context\n",
                     r.prompt_tokens.size());
    }
    const double tokens_per_s = r.generate_seconds > 0 ? r.tokens.size() / r.generate_seconds : 0;
    if (args.json) {
        PrintJson({{"prompt", args.prompt},
                   {"text", r.text},
                   {"prompt_tokens", r.prompt_tokens.size()},
                   {"generated_tokens", r.tokens.size()},
                   {"tokens", r.tokens},
                   {"stop_reason", r.stop_reason},
                   {"prompt_seconds", r.prompt_seconds},
                   {"generate_seconds", r.generate_seconds},
                   {"tokens_per_s", tokens_per_s}});
        return Status::Ok();
    }
    std::printf("\n");
    std::fflush(stdout);
    std::fprintf(stderr, "[%zu tokens, %.1f tokens/s, stopped: %s]\n", r.tokens.size(), tokens_per_s,
                 r.stop_reason.c_str());
    return Status::Ok();
}

}  // namespace

void AddGenerateCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<GenerateArgs>();
    CLI::App* cmd = app.add_subcommand("generate", "Generate text after a prompt, streaming it as it comes");
    AddInferenceOptions(*cmd, args->inference);
    cmd->add_option("--prompt", args->prompt, "The prompt text")->required();
    cmd->add_option("-n,--tokens", args->tokens, "Tokens to generate (default 128)");
    cmd->add_option("--temperature", args->temperature, "Sampling temperature; 0 is greedy (default 0.8)");
    cmd->add_option("--top-p", args->top_p, "Nucleus sampling mass (default 0.95)");
    cmd->add_option("--seed", args->seed, "Random seed (default 0)");
    cmd->add_option("--ctx", args->context, "Context window (default: the model's)");
    cmd->add_flag("--truncate", args->truncate, "Keep the end of a prompt longer than the context");
    cmd->add_flag("--json", args->json, "Print one JSON result instead of streaming");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunGenerate(*args); }; });
}

}  // namespace tenpak::cli
