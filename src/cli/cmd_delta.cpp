// tenpak delta FINETUNED --base BASE -o OUT.tnpk [--lossless | --rel-error E | --max-ppl-delta PCT
// [--eval-text FILE]] and tenpak delta apply
// DELTA --base BASE -o OUT: fine-tunes stored as deltas against their base model.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include "cli/command.h"
#include "cli/output.h"
#include "tenpak/core/progress.h"
#include "tenpak/delta/delta.h"

namespace tenpak::cli {
namespace {

struct DeltaArgs {
    std::string fine;
    std::string base;
    std::string output;
    bool lossless = false;
    double rel_error = 0;
    double max_ppl_delta = 0;
    std::string eval_text;
    int64_t ctx = 512;
    int64_t eval_windows = 0;
    int zstd_level = 3;
    std::string format;  // delta apply: hf or tnpk
    size_t threads = 0;
    bool force = false;
    bool json = false;
};

// 0.05 -> "0.05", 0.0123456 -> "0.0123"
std::string Short(double value) {
    char text[32];
    std::snprintf(text, sizeof text, "%.3g", value);
    return text;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

Status RunDelta(const DeltaArgs& args) {
    delta::DeltaOptions options;
    options.pack.zstd_level = args.zstd_level;
    options.pack.threads = args.threads;
    options.pack.progress = !args.json;
    options.max_relative_error = args.rel_error;
    const auto start = std::chrono::steady_clock::now();
    delta::TargetedDeltaReport targeted;
    if (args.max_ppl_delta > 0) {
        delta::PerplexityTarget target;
        target.max_ppl_delta_pct = args.max_ppl_delta;
        target.eval_text = args.eval_text;
        target.ctx = args.ctx;
        target.max_windows = args.eval_windows;
        target.threads = args.threads;
        TP_ASSIGN_OR_RETURN(targeted, delta::WriteDeltaWithinPerplexity(args.fine, args.base, args.output, options, target));
    } else {
        TP_ASSIGN_OR_RETURN(targeted.delta, delta::WriteDelta(args.fine, args.base, args.output, options));
    }
    const delta::DeltaReport& report = targeted.delta;
    const double budget = args.max_ppl_delta > 0 ? targeted.chosen_relative_error : args.rel_error;
    const std::string mode = budget > 0 ? "budgeted" : "lossless";
    const double seconds = SecondsSince(start);
    const double ratio =
        report.delta_bytes == 0 ? 0.0 : static_cast<double>(report.fine_bytes) / static_cast<double>(report.delta_bytes);
    std::map<std::string, uint64_t> by_encoder;
    double worst = 0;
    for (const delta::TensorChoice& t : report.tensors) {
        if (t.mode != "approx") continue;
        ++by_encoder[t.encoder];
        worst = std::max(worst, t.relative_error);
    }
    if (args.json) {
        nlohmann::ordered_json tensors = nlohmann::ordered_json::array();
        for (const delta::TensorChoice& t : report.tensors) {
            nlohmann::ordered_json entry = {{"name", t.name}, {"mode", t.mode}, {"stored_bytes", t.stored_bytes}};
            if (t.mode == "approx") {
                entry["encoder"] = t.encoder;
                entry["params"] = t.params;
                entry["relative_error"] = t.relative_error;
            }
            tensors.push_back(std::move(entry));
        }
        nlohmann::ordered_json trials = nlohmann::ordered_json::array();
        for (const delta::BudgetTrial& t : targeted.trials) {
            trials.push_back({{"relative_error", t.relative_error},
                              {"delta_bytes", t.delta_bytes},
                              {"ppl", t.ppl},
                              {"ppl_delta_pct", t.ppl_delta_pct},
                              {"fits", t.fits}});
        }
        nlohmann::ordered_json out = {{"finetuned", args.fine},
                   {"base", args.base},
                   {"output", args.output},
                   {"mode", mode},
                   {"max_relative_error", budget},
                   {"approximated_tensors", report.approximated},
                   {"approximated_by_encoder", by_encoder},
                   {"worst_relative_error", worst},
                   {"tensors", tensors},
                   {"id", report.id},
                   {"finetuned_bytes", report.fine_bytes},
                   {"delta_bytes", report.delta_bytes},
                   {"compression_ratio", ratio},
                   {"identical_tensors", report.identical},
                   {"differenced_tensors", report.differenced},
                   {"whole_tensors", report.whole},
                   {"added", report.added},
                   {"removed", report.removed},
                   {"seconds", seconds}};
        if (args.max_ppl_delta > 0) {
            out["max_ppl_delta_pct"] = args.max_ppl_delta;
            out["finetuned_ppl"] = targeted.fine_ppl;
            out["trials"] = trials;
        }
        PrintJson(out);
        return Status::Ok();
    }
    std::printf("delta of %s against %s -> %s (%s)\n", args.fine.c_str(), args.base.c_str(), args.output.c_str(),
                budget > 0 ? ("relative error <= " + Short(budget) + " per tensor").c_str() : "lossless");
    for (const delta::BudgetTrial& t : targeted.trials) {
        char trial[160];
        std::snprintf(trial, sizeof trial, "budget %s: %s, ppl %.4f (%+.2f%% of the fine-tune's %.4f): %s",
                      Short(t.relative_error).c_str(), FormatBytes(t.delta_bytes).c_str(), t.ppl, t.ppl_delta_pct,
                      targeted.fine_ppl, t.fits ? "fits" : "too far");
        PrintField("tried", trial);
    }
    char line[96];
    std::snprintf(line, sizeof line, " (ratio %.2f), %.2f s", ratio, seconds);
    PrintField("size", FormatBytes(report.fine_bytes) + " -> " + FormatBytes(report.delta_bytes) + line);
    PrintField("tensors", WithThousands(report.identical) + " identical to the base, " +
                              WithThousands(report.differenced) + " as differences, " + WithThousands(report.whole) +
                              " whole" +
                              (report.approximated > 0 ? ", " + WithThousands(report.approximated) + " approximated" : ""));
    if (!by_encoder.empty()) {
        std::string encoders;
        for (const auto& [name, count] : by_encoder) {
            encoders += (encoders.empty() ? "" : ", ") + WithThousands(count) + " " + name;
        }
        PrintField("approximated", encoders + " (largest relative error " + Short(worst) + ")");
    }
    for (const std::string& name : report.added) PrintField("added", name);
    for (const std::string& name : report.removed) PrintField("removed", name);
    return Status::Ok();
}

Status RunApply(const DeltaArgs& args) {
    delta::ApplyOptions options;
    options.overwrite = args.force;
    options.progress = !args.json;
    options.pack.zstd_level = args.zstd_level;
    options.pack.threads = args.threads;
    const std::string format = !args.format.empty() ? args.format : args.output.ends_with(".tnpk") ? "tnpk" : "hf";
    if (format == "tnpk") {
        options.format = delta::ApplyFormat::kTnpk;
    } else if (format != "hf") {
        return Status::InvalidArgument("unknown --format '" + args.format + "' (supported: hf, tnpk)");
    }
    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(const delta::ApplyReport report, delta::ApplyDelta(args.fine, args.base, args.output, options));
    const double seconds = SecondsSince(start);
    if (args.json) {
        nlohmann::ordered_json out = {{"delta", args.fine},
                   {"base", args.base},
                   {"output", args.output},
                   {"format", format},
                   {"files", report.files},
                   {"bytes", report.bytes},
                   {"base_tensors_checked", report.base_tensors_checked},
                   {"seconds", seconds}};
        if (options.format == delta::ApplyFormat::kTnpk) {
            out["artifact_id"] = report.artifact_id;
            out["artifact_bytes"] = report.artifact_bytes;
        }
        PrintJson(out);
        return Status::Ok();
    }
    std::printf("applied %s to %s -> %s: %llu files, %s, %.2f s (%llu base tensors checked)\n", args.fine.c_str(),
                args.base.c_str(), args.output.c_str(), static_cast<unsigned long long>(report.files),
                FormatBytes(report.bytes).c_str(), seconds, static_cast<unsigned long long>(report.base_tensors_checked));
    if (options.format == delta::ApplyFormat::kTnpk) {
        std::printf("packed as %s (%s)\n", report.artifact_id.c_str(), FormatBytes(report.artifact_bytes).c_str());
    }
    return Status::Ok();
}

struct EstimateArgs {
    std::string fine;
    std::string base;
    std::vector<double> budgets = {0.05, 0.1, 0.2, 0.5};
    double sample_fraction = 0.25;
    int zstd_level = 3;
    bool json = false;
};

Status RunEstimate(const EstimateArgs& args) {
    delta::EstimateOptions options;
    options.budgets = args.budgets;
    options.sample_fraction = args.sample_fraction;
    options.zstd_level = args.zstd_level;
    const auto start = std::chrono::steady_clock::now();
    TP_ASSIGN_OR_RETURN(const delta::DeltaEstimate estimate, delta::EstimateDelta(args.fine, args.base, options));
    const double seconds = SecondsSince(start);
    auto ratio = [&](uint64_t bytes) {
        return bytes == 0 ? 0.0 : static_cast<double>(estimate.fine_bytes) / static_cast<double>(bytes);
    };
    if (args.json) {
        nlohmann::ordered_json modes = nlohmann::ordered_json::array();
        for (const delta::ModeEstimate& m : estimate.modes) {
            modes.push_back({{"mode", m.mode},
                             {"max_relative_error", m.relative_error},
                             {"estimated_bytes", m.bytes},
                             {"compression_ratio", ratio(m.bytes)}});
        }
        PrintJson({{"finetuned", args.fine},
                   {"base", args.base},
                   {"finetuned_bytes", estimate.fine_bytes},
                   {"identical_tensors", estimate.identical},
                   {"changed_tensors", estimate.changed},
                   {"whole_tensors", estimate.whole},
                   {"added", estimate.added},
                   {"removed", estimate.removed},
                   {"changed_bytes", estimate.changed_bytes},
                   {"sampled_tensors", estimate.sampled},
                   {"sampled_bytes", estimate.sampled_bytes},
                   {"modes", modes},
                   {"seconds", seconds}});
        return Status::Ok();
    }
    std::printf("estimate of a delta of %s against %s (nothing written)\n", args.fine.c_str(), args.base.c_str());
    PrintField("tensors", WithThousands(estimate.identical) + " identical, " + WithThousands(estimate.changed) +
                              " changed (" + WithThousands(estimate.sampled) + " encoded as a sample), " +
                              WithThousands(estimate.whole) + " whole");
    for (const delta::ModeEstimate& m : estimate.modes) {
        char line[128];
        std::snprintf(line, sizeof line, "%s (ratio %.2f)", FormatBytes(m.bytes).c_str(), ratio(m.bytes));
        PrintField(m.mode == "lossless" ? "lossless" : "--rel-error " + Short(m.relative_error), line);
    }
    for (const std::string& name : estimate.added) PrintField("added", name);
    for (const std::string& name : estimate.removed) PrintField("removed", name);
    char line[64];
    std::snprintf(line, sizeof line, "%.2f s", seconds);
    PrintField("time", line);
    return Status::Ok();
}

}  // namespace

void AddDeltaCommand(CLI::App& app, CliContext& ctx) {
    auto args = std::make_shared<DeltaArgs>();
    CLI::App* cmd = app.add_subcommand("delta", "Store a fine-tune as a delta against its base model, or apply one");
    cmd->add_option("FINETUNED", args->fine, "The fine-tuned model (HF folder)");
    // Not ->required(): CLI11 would then ask for them on `delta apply` too, which has its own.
    cmd->add_option("--base", args->base, "The base model it was fine-tuned from (required)");
    cmd->add_option("-o,--output", args->output, "The delta .tnpk to write (required)");
    CLI::Option* lossless = cmd->add_flag("--lossless", args->lossless, "Bit-exact reconstruction (the default)");
    cmd->add_option("--rel-error", args->rel_error,
                    "Budgeted: every float matrix may be rebuilt with an error up to E times the norm of its change "
                    "(0 < E < 1), stored the cheapest way that meets it: low rank, sparse, int4/int8 or sign")
        ->check(CLI::Range(0.0, 1.0))
        ->excludes(lossless);
    cmd->add_option("--max-ppl-delta", args->max_ppl_delta,
                    "Budgeted by quality: the loosest per-tensor budget whose rebuilt model's perplexity on --eval-text "
                    "stays within PCT percent of the fine-tune's (lossless when none does)")
        ->check(CLI::PositiveNumber)
        ->excludes(lossless)
        ->excludes("--rel-error");
    cmd->add_option("--eval-text", args->eval_text, "--max-ppl-delta: the text (default: the bundled TinyStories sample)");
    cmd->add_option("--ctx", args->ctx, "--max-ppl-delta: perplexity window (default 512, capped by the model's context)");
    cmd->add_option("--eval-windows", args->eval_windows, "--max-ppl-delta: score at most this many windows (default: all)");
    cmd->add_option("--zstd-level", args->zstd_level, "zstd level of the delta's chunks (default 3)");
    cmd->add_option("--threads", args->threads, "Threads for hashing and compression (default: all cores)");
    cmd->add_flag("--json", args->json, "Print a JSON summary for scripts");

    auto apply_args = std::make_shared<DeltaArgs>();
    CLI::App* apply = cmd->add_subcommand("apply", "Rebuild a fine-tune from its delta and its base");
    apply->add_option("DELTA", apply_args->fine, "The delta .tnpk")->required();
    apply->add_option("--base", apply_args->base, "The base model the delta was made against")->required();
    apply->add_option("-o,--output", apply_args->output, "Output folder, or .tnpk artifact")->required();
    apply->add_option("--format", apply_args->format,
                      "hf (a folder, the default) or tnpk (a .tnpk artifact; the default when -o ends in .tnpk)");
    apply->add_option("--zstd-level", apply_args->zstd_level, "tnpk: zstd level of the chunks (default 3)");
    apply->add_option("--threads", apply_args->threads, "tnpk: threads for hashing and compression (default: all)");
    apply->add_flag("--force", apply_args->force, "Replace an existing non-empty output folder");
    apply->add_flag("--json", apply_args->json, "Print a JSON summary for scripts");
    apply->callback([&ctx, apply_args]() { ctx.action = [apply_args]() { return RunApply(*apply_args); }; });

    auto estimate_args = std::make_shared<EstimateArgs>();
    CLI::App* estimate =
        cmd->add_subcommand("estimate", "Estimate each mode's delta size from a sample of tensors, writing nothing");
    estimate->add_option("FINETUNED", estimate_args->fine, "The fine-tuned model (HF folder)")->required();
    estimate->add_option("--base", estimate_args->base, "The base model it was fine-tuned from")->required();
    estimate->add_option("--rel-error", estimate_args->budgets, "Budgets to estimate besides lossless (default 0.05,0.1,0.2,0.5)")
        ->delimiter(',')
        ->check(CLI::Range(0.0, 1.0));
    estimate->add_option("--sample-fraction", estimate_args->sample_fraction,
                         "Share of the changed tensors encoded for real (default 0.25; 1: all, exact but slower)")
        ->check(CLI::Range(0.0, 1.0));
    estimate->add_option("--zstd-level", estimate_args->zstd_level, "zstd level the delta would use (default 3)");
    estimate->add_flag("--json", estimate_args->json, "Print JSON for scripts");
    estimate->callback([&ctx, estimate_args]() { ctx.action = [estimate_args]() { return RunEstimate(*estimate_args); }; });
    cmd->callback([&ctx, cmd, args]() {
        if (cmd->get_subcommands().empty()) {
            ctx.action = [args]() {
                if (args->fine.empty() || args->base.empty() || args->output.empty()) {
                    return Status::InvalidArgument("usage: tenpak delta FINETUNED --base BASE -o OUT.tnpk, or tenpak "
                                                   "delta apply DELTA --base BASE -o OUT");
                }
                return RunDelta(*args);
            };
        }
    });
}

}  // namespace tenpak::cli
