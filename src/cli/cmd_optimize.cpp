// tenpak optimize MODEL [--max-ppl-delta PCT] [--max-latency-ms MS] [--max-ttft-ms MS]
// [--min-compression X] [--min-throughput TPS] [--hardware NAME,...|any] [--hardware-file FILE]
// [--candidates LIST] [--eval-text FILE] [--prompt-tokens N] [--output-tokens N] [--json] [-o REPORT_DIR]
#include <cstdio>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/engine/perplexity.h"
#include "tenpak/optimize/candidate_cache.h"
#include "tenpak/optimize/optimizer.h"
#include "tenpak/optimize/report.h"

namespace tenpak::cli {
namespace {

struct OptimizeArgs {
    std::string model;
    std::optional<double> max_ppl_delta, max_latency_ms, max_ttft_ms, min_compression, min_throughput;
    std::string hardware = "any";
    std::string hardware_file;
    std::vector<std::string> candidates;
    std::string eval_text;
    int64_t ctx = 512;
    int64_t eval_windows = 0;
    int64_t prompt_tokens = 128;
    int64_t output_tokens = 128;
    std::string calib;
    int64_t calib_samples = 128;
    int64_t calib_seqlen = 512;
    uint64_t seed = 0;
    int max_gpus = 8;
    std::string cache;
    bool refresh = false;
    size_t threads = 0;
    bool json = false;
    std::string report_dir;
};

// Every flag checked before any work starts.
Result<optimize::OptimizeRequest> BuildRequest(const OptimizeArgs& args) {
    optimize::OptimizeRequest r;
    r.model = args.model;
    r.constraints = {args.max_ppl_delta, args.max_latency_ms, args.max_ttft_ms, args.min_compression, args.min_throughput};
    r.presets = args.candidates;
    std::vector<optimize::GpuProfile> gpus = optimize::BuiltinGpus();
    if (!args.hardware_file.empty()) {
        TP_ASSIGN_OR_RETURN(gpus, optimize::ApplyHardwareFile(std::move(gpus), args.hardware_file));
    }
    TP_ASSIGN_OR_RETURN(r.hardware, optimize::ChooseHardware(gpus, args.hardware));
    r.workload = {args.prompt_tokens, args.output_tokens};
    r.measure.eval_text = args.eval_text.empty() ? engine::DefaultEvalText() : args.eval_text;
    r.measure.ctx = args.ctx;
    r.measure.max_windows = args.eval_windows;
    r.measure.threads = args.threads;
    r.calibration.text_path = args.calib;
    r.calibration.samples = args.calib_samples;
    r.calibration.seqlen = args.calib_seqlen;
    r.calibration.seed = args.seed;
    if (args.max_gpus < 1) return Status::InvalidArgument("--max-gpus must be at least 1");
    r.assumptions.max_gpus = args.max_gpus;
    r.cache_dir = args.cache.empty() ? optimize::DefaultCacheDir() : args.cache;
    r.refresh = args.refresh;
    r.progress = !args.json;
    r.on_stage = [](const std::string& stage) { std::fprintf(stderr, "optimize %s\n", stage.c_str()); };
    // The presets, the constraints and the texts, checked now rather than after an hour of quantizing.
    TP_RETURN_IF_ERROR(optimize::CheckOptimizeRequest(r));
    if (!args.report_dir.empty()) TP_RETURN_IF_ERROR(optimize::CheckReportFolder(args.report_dir));
    return r;
}

Status RunOptimize(const OptimizeArgs& args, CliContext& ctx) {
    TP_ASSIGN_OR_RETURN(optimize::OptimizeRequest request, BuildRequest(args));
    TP_ASSIGN_OR_RETURN(optimize::OptimizeResult result, optimize::Optimize(request));
    if (!args.report_dir.empty()) TP_RETURN_IF_ERROR(optimize::WriteReportFolder(args.report_dir, result));
    if (args.json) {
        PrintJson(optimize::ReportJson(result));
    } else {
        std::fputs(optimize::TerminalSummary(result).c_str(), stdout);
        if (!args.report_dir.empty()) {
            std::printf("report: %s/report.md, report.json, quality_vs_cost.svg\n", args.report_dir.c_str());
        }
    }
    if (!result.selection.winner) {
        std::fprintf(stderr, "tenpak: no candidate meets every constraint (the closest misses are listed)\n");
        ctx.exit_code = 1;
    }
    return Status::Ok();
}

}  // namespace

void AddOptimizeCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<OptimizeArgs>();
    CLI::App* cmd = app.add_subcommand(
        "optimize", "Quantize with each preset, measure, project onto GPUs and pick the cheapest that meets the constraints");
    cmd->add_option("MODEL", args->model, "HF folder, .gguf, llama2.c .bin, or org/name in the local HF cache")->required();
    cmd->add_option("--max-ppl-delta", args->max_ppl_delta, "Largest perplexity increase, percent of the unquantized model's");
    cmd->add_option("--max-latency-ms", args->max_latency_ms, "Largest p95 per-token decode latency on the GPU, ms");
    cmd->add_option("--max-ttft-ms", args->max_ttft_ms, "Largest time to first token on the GPU, ms");
    cmd->add_option("--min-compression", args->min_compression, "Smallest size ratio unquantized / candidate");
    cmd->add_option("--min-throughput", args->min_throughput, "Smallest decode tokens/s of one request on the GPU(s)");
    cmd->add_option("--hardware", args->hardware,
                    "GPUs to consider, comma-separated: T4, L4, A10G, A100-40GB, A100-80GB, H100, or any (default)");
    cmd->add_option("--hardware-file", args->hardware_file,
                    "JSON amending the GPU table (prices, new GPUs): {\"gpus\": {\"T4\": {\"price_per_hour\": 0.35}}}");
    cmd->add_option("--candidates", args->candidates,
                    "Presets, comma-separated (default: gptq_quality, gptq_aggressive, awq_balanced, awq_fast, "
                    "bnb_nf4, bnb_fp4, bnb_int8, fp16)")
        ->delimiter(',');
    cmd->add_option("--eval-text", args->eval_text, "Perplexity text (default: the bundled TinyStories sample)");
    cmd->add_option("--ctx", args->ctx, "Perplexity window, tokens (default 512, capped by the model's context)");
    cmd->add_option("--eval-windows", args->eval_windows, "Score at most this many windows of the text (default: all)");
    cmd->add_option("--prompt-tokens", args->prompt_tokens, "Request shape: prompt tokens (default 128)");
    cmd->add_option("--output-tokens", args->output_tokens, "Request shape: output tokens (default 128)");
    cmd->add_option("--calib", args->calib, "gptq, awq: calibration text (default: the bundled TinyStories sample)");
    cmd->add_option("--calib-samples", args->calib_samples, "gptq, awq: calibration windows (default 128)");
    cmd->add_option("--calib-seqlen", args->calib_seqlen, "gptq, awq: tokens per window (default 512)");
    cmd->add_option("--seed", args->seed, "gptq, awq: seed of the window choice (default 0)");
    cmd->add_option("--max-gpus", args->max_gpus, "Tensor parallel up to this many GPUs: 1, 2, 4 ... (default 8)");
    cmd->add_option("--cache", args->cache, "Cache folder (default ~/.cache/tenpak/optimize, or $TENPAK_CACHE/optimize)");
    cmd->add_flag("--refresh", args->refresh, "Quantize and measure again, replacing cached results");
    cmd->add_option("--threads", args->threads, "Threads (default: every core)");
    cmd->add_flag("--json", args->json, "Print the report as JSON (the same as report.json)");
    cmd->add_option("-o,--output", args->report_dir, "Report folder: report.md, report.json, quality_vs_cost.svg");
    cmd->callback([&ctx, args]() { ctx.action = [&ctx, args]() { return RunOptimize(*args, ctx); }; });
}

}  // namespace tenpak::cli
