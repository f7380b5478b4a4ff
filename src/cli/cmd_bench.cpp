// tenpak bench MODEL [--prompt-tokens N] [--gen-tokens N] [--repetitions R] [--json]: prefill and
// decode speed, time to first token and per-token latency percentiles, after a warm-up.
#include <cstdio>

#include "cli/command.h"
#include "cli/inference_setup.h"
#include "cli/output.h"
#include "tenpak/core/cpu_features.h"
#include "tenpak/core/progress.h"
#include "tenpak/engine/latency.h"

namespace tenpak::cli {
namespace {

struct BenchArgs {
    InferenceArgs inference;
    engine::LatencyOptions latency;
    bool json = false;
};

Status RunBench(const BenchArgs& args) {
    const int64_t context = args.latency.prompt_tokens + args.latency.gen_tokens;
    TP_ASSIGN_OR_RETURN(Inference inf, OpenForInference(args.inference, context, /*need_tokenizer=*/false));
    TP_ASSIGN_OR_RETURN(engine::LatencyResult r, engine::MeasureLatency(*inf.engine, args.latency));
    if (args.json) {
        PrintJson({{"model", inf.model->origin},
                   {"prompt_tokens", r.prompt_tokens},
                   {"gen_tokens", r.gen_tokens},
                   {"repetitions", r.repetitions},
                   {"threads", r.threads},
                   {"kernels", IsaName(SelectedIsa())},
                   {"prefill_tokens_per_s", r.prefill_tokens_per_s},
                   {"decode_tokens_per_s", r.decode_tokens_per_s},
                   {"ttft_ms", r.ttft_ms},
                   {"latency_p50_ms", r.latency_p50_ms},
                   {"latency_p95_ms", r.latency_p95_ms},
                   {"latency_mean_ms", r.latency_mean_ms},
                   {"decode_weight_bytes_per_s", r.decode_bytes_per_s}});
        return Status::Ok();
    }
    PrintField("model", inf.model->origin);
    PrintField("setup", std::to_string(r.threads) + " threads, " + std::string(IsaName(SelectedIsa())) +
                            " kernels, prompt " + std::to_string(r.prompt_tokens) + " + " +
                            std::to_string(r.gen_tokens) + " generated, " + std::to_string(r.repetitions) +
                            " repetitions after a warm-up");
    char line[160];
    std::snprintf(line, sizeof(line), "%.1f tokens/s", r.prefill_tokens_per_s);
    PrintField("prefill", line);
    std::snprintf(line, sizeof(line), "%.1f tokens/s (%s/s of weights)", r.decode_tokens_per_s,
                  FormatBytes(static_cast<uint64_t>(r.decode_bytes_per_s)).c_str());
    PrintField("decode", line);
    std::snprintf(line, sizeof(line), "%.2f ms", r.ttft_ms);
    PrintField("ttft", line);
    std::snprintf(line, sizeof(line), "p50 %.3f ms, p95 %.3f ms per token", r.latency_p50_ms, r.latency_p95_ms);
    PrintField("latency", line);
    return Status::Ok();
}

}  // namespace

void AddBenchCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<BenchArgs>();
    CLI::App* cmd = app.add_subcommand("bench", "Measure prefill/decode speed and per-token latency");
    AddInferenceOptions(*cmd, args->inference);
    cmd->add_option("--prompt-tokens", args->latency.prompt_tokens, "Prompt length (default 128)");
    cmd->add_option("--gen-tokens", args->latency.gen_tokens, "Tokens to generate (default 64)");
    cmd->add_option("--repetitions", args->latency.repetitions, "Measured repetitions (default 3)");
    cmd->add_flag("--json", args->json, "Print JSON for scripts");
    cmd->callback([&ctx, args]() { ctx.action = [args]() { return RunBench(*args); }; });
}

}  // namespace tenpak::cli
