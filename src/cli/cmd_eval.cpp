// tenpak eval MODEL --text FILE [--ctx N] [--json]: perplexity as llama.cpp's llama-perplexity
// computes it (docs/perplexity.md).
#include <cstdio>

#include "cli/command.h"
#include "cli/inference_setup.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/engine/perplexity.h"
#include "tenpak/io/mapped_file.h"

namespace tenpak::cli {
namespace {

struct EvalArgs {
    InferenceArgs inference;
    std::string text;
    int64_t ctx = 512;
    bool json = false;
};

Status RunEval(const EvalArgs& args) {
    if (args.ctx < 4) return Status::InvalidArgument("--ctx must be at least 4, not " + std::to_string(args.ctx));
    TP_ASSIGN_OR_RETURN(std::string text, io::ReadFileToString(args.text));
    TP_ASSIGN_OR_RETURN(Inference inf, OpenForInference(args.inference, args.ctx, /*need_tokenizer=*/true));
    std::optional<Progress> bar;
    engine::PerplexityOptions options;
    options.ctx = args.ctx;
    options.on_window = [&](int64_t done, int64_t total) {
        if (args.json) return;
        if (!bar) bar.emplace("perplexity", static_cast<uint64_t>(total));
        bar->Advance(1);
        (void)done;
    };
    Result<engine::PerplexityResult> r = engine::Perplexity(*inf.engine, *inf.tokenizer, text, options);
    if (bar) bar->Finish();
    if (!r.ok()) return r.status().WithContext(args.text);
    if (args.json) {
        PrintJson({{"model", inf.model->origin},
                   {"text", args.text},
                   {"ctx", args.ctx},
                   {"ppl", r->ppl},
                   {"mean_nll", r->mean_nll},
                   {"nll_stderr", r->nll_stderr},
                   {"tokens_scored", r->tokens_scored},
                   {"text_tokens", r->text_tokens},
                   {"windows", r->windows},
                   {"seconds", r->seconds},
                   {"tokens_per_s", r->tokens_per_second},
                   {"threads", inf.engine->threads()}});
        return Status::Ok();
    }
    std::printf(
        "perplexity %.4f (mean NLL %.5f +- %.5f) over %lld tokens in %lld windows of %lld; %.2f s, %.0f tokens/s\n",
        r->ppl, r->mean_nll, r->nll_stderr, static_cast<long long>(r->tokens_scored),
        static_cast<long long>(r->windows), static_cast<long long>(args.ctx), r->seconds, r->tokens_per_second);
    return Status::Ok();
}

}  // namespace

void AddEvalCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<EvalArgs>();
    CLI::App* cmd = app.add_subcommand("eval", "Perplexity of a model on a text (llama.cpp's protocol)");
    AddInferenceOptions(*cmd, args->inference);
    cmd->add_option("--text", args->text, "Plain-text file to evaluate on")->required();
    cmd->add_option("--ctx", args->ctx, "Window size in tokens (default 512)");
    cmd->add_flag("--json", args->json, "Print JSON for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunEval(*args); }; });
}

}  // namespace tenpak::cli
