#include "tenpak/optimize/report.h"

#include <cstdio>
#include <filesystem>
#include <tuple>

#include "tenpak/core/progress.h"
#include "tenpak/io/atomic_output.h"

namespace tenpak::optimize {
namespace {

std::string Fixed(double value, int decimals) {
    char text[64];
    std::snprintf(text, sizeof(text), "%.*f", decimals, value);
    return text;
}

// Costs span orders of magnitude (a tiny model on an H100, a 70B one on a T4): three significant digits.
std::string Money(double value) {
    char text[64];
    std::snprintf(text, sizeof(text), value >= 1 ? "$%.2f" : "$%.3g", value);
    return text;
}

nlohmann::ordered_json OptionalLimit(const std::optional<double>& v) { return v ? nlohmann::ordered_json(*v) : nullptr; }

nlohmann::ordered_json EntryJson(const Entry& e) {
    return {{"preset", e.preset},
            {"hardware", e.hardware},
            {"gpu_count", e.gpu_count},
            {"ppl", e.ppl},
            {"ppl_delta_pct", e.ppl_delta_pct},
            {"bytes", e.bytes},
            {"compression", e.compression},
            {"tokens_per_s", e.tokens_per_s},
            {"latency_p50_ms", e.latency_p50_ms},
            {"latency_p95_ms", e.latency_p95_ms},
            {"ttft_ms", e.ttft_ms},
            {"cost_per_1m_tokens", e.cost_per_1m_tokens},
            {"memory_needed_gb", e.memory_needed_gb},
            {"memory_usable_gb", e.memory_usable_gb},
            {"feasible", e.feasible},
            {"missed", e.missed},
            {"winner", e.winner}};
}

nlohmann::ordered_json AssumptionsJson(const OptimizeRequest& r) {
    const ServingAssumptions& a = r.assumptions;
    nlohmann::ordered_json kernels = nlohmann::ordered_json::array();
    for (const KernelEfficiency& k : KernelEfficiencies()) {
        kernels.push_back({{"family", k.family},
                           {"kernel", k.kernel},
                           {"decode_bandwidth_fraction", k.decode_bandwidth_fraction},
                           {"prefill_compute_fraction", k.prefill_compute_fraction},
                           {"source", k.source}});
    }
    return {{"batch_size", 1},
            {"memory_utilization", a.memory_utilization},
            {"runtime_reserve_gb", a.runtime_reserve_gb},
            {"step_overhead_ms", a.step_overhead_ms},
            {"tp_scaling_per_doubling", a.tp_scaling_per_doubling},
            {"max_gpus", a.max_gpus},
            {"kv_cache_bytes_per_value", a.kv_cache_bytes_per_value},
            {"kernels", kernels},
            {"statements",
             {"Decode is memory-bound: a step reads the weight bytes the engine reads per token plus the KV cache so "
              "far, at bandwidth x the kernel's decode fraction, plus the step overhead.",
              "Prefill is compute-bound: 2 FLOPs per weight per prompt token plus causal attention, at peak FP16 x the "
              "kernel's prefill fraction (or the time to read the weights once, if longer).",
              "p95 latency on the GPU = the p95 of the projected steps x the p95/p50 spread measured on this machine.",
              "Tensor parallel over N GPUs: N x bandwidth and FLOP/s, keeping tp_scaling_per_doubling per doubling; "
              "cost is N x $/hour.",
              "A triple fits when weights / N + KV cache for prompt + output tokens / N + the runtime reserve <= "
              "memory x memory_utilization.",
              "One request at a time (batch 1): cost per 1M output tokens = N x $/hour / (3600 x tokens/s) x 1e6. "
              "Batched serving costs less per token; the ranking of formats at batch 1 is what is compared.",
              "Perplexity, sizes and the bytes read per token are measured on this machine with TenPak's engine; "
              "GPU speeds are projections, not measurements."}}};
}

nlohmann::ordered_json InputsJson(const OptimizeRequest& r) {
    const Constraints& c = r.constraints;
    return {{"presets", r.presets},
              {"max_ppl_delta_pct", OptionalLimit(c.max_ppl_delta_pct)},
              {"max_latency_ms", OptionalLimit(c.max_latency_ms)},
              {"max_ttft_ms", OptionalLimit(c.max_ttft_ms)},
              {"min_compression", OptionalLimit(c.min_compression)},
              {"min_throughput", OptionalLimit(c.min_throughput)},
              {"hardware", [&] {
                   std::vector<std::string> names;
                   for (const GpuProfile& g : r.hardware) names.push_back(g.name);
                   return names;
               }()},
              {"eval_text", r.measure.eval_text},
              {"ctx", r.measure.ctx},
              {"eval_windows", r.measure.max_windows},
              {"prompt_tokens", r.workload.prompt_tokens},
              {"output_tokens", r.workload.output_tokens},
              {"calibration_text", r.calibration.text_path.empty() ? quant::DefaultCalibrationText() : r.calibration.text_path},
              {"calibration_samples", r.calibration.samples},
              {"calibration_seqlen", r.calibration.seqlen},
              {"cache", r.cache_dir}};
}

}  // namespace

const Entry* RepresentativeEntry(const OptimizeResult& result, const std::string& preset) {
    const Entry* best = nullptr;
    auto better = [](const Entry& a, const Entry& b) {
        if (a.feasible != b.feasible) return a.feasible;
        if (!a.feasible && a.missed.size() != b.missed.size()) return a.missed.size() < b.missed.size();
        return std::make_tuple(a.cost_per_1m_tokens, a.gpu_count, a.hardware) <
               std::make_tuple(b.cost_per_1m_tokens, b.gpu_count, b.hardware);
    };
    for (const Entry& e : result.entries) {
        if (e.preset != preset) continue;
        if (e.winner) return &e;
        if (!best || better(e, *best)) best = &e;
    }
    return best;
}

nlohmann::ordered_json ReportJson(const OptimizeResult& result) {
    const OptimizeRequest& r = result.request;
    nlohmann::ordered_json hardware = nlohmann::ordered_json::array();
    for (const GpuProfile& g : r.hardware) {
        hardware.push_back({{"name", g.name},
                            {"memory_gb", g.memory_gb},
                            {"bandwidth_gb_s", g.bandwidth_gb_s},
                            {"fp16_tflops", g.fp16_tflops},
                            {"price_per_hour", g.price_per_hour},
                            {"source", g.source}});
    }
    nlohmann::ordered_json measured = nlohmann::ordered_json::array();
    for (const CandidateResult& m : result.candidates) {
        nlohmann::ordered_json j = {{"preset", m.preset},
                                    {"family", m.family},
                                    {"format", m.format},
                                    {"method", m.method},
                                    {"path", m.path},
                                    {"ok", m.error.empty()}};
        if (!m.error.empty()) j["error"] = m.error;
        j["tensor_bytes"] = m.tensor_bytes;
        j["bytes"] = m.disk_bytes;
        j["compression"] = m.compression;
        j["ppl_delta_pct"] = m.ppl_delta_pct;
        j["local"] = m.measured.ToJson();
        j["quantize_cached"] = m.quantize_cached;
        j["measure_cached"] = m.measure_cached;
        j["quantize_seconds"] = m.quantize_seconds;
        j["notes"] = m.notes;
        measured.push_back(j);
    }
    nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
    for (const Entry& e : result.entries) candidates.push_back(EntryJson(e));
    nlohmann::ordered_json closest = nlohmann::ordered_json::array();
    for (const ClosestMiss& m : result.selection.closest) {
        const Entry& e = result.entries[m.entry];
        closest.push_back({{"constraint", m.constraint},
                           {"limit", m.limit},
                           {"value", m.value},
                           {"preset", e.preset},
                           {"hardware", e.hardware},
                           {"gpu_count", e.gpu_count}});
    }
    nlohmann::ordered_json explanations = nlohmann::ordered_json::object();
    for (const auto& [preset, why] : result.explanations) explanations[preset] = why;
    return {{"model", result.model},
            {"model_sha256", result.model_digest},
            {"inputs", InputsJson(r)},
            {"assumptions", AssumptionsJson(r)},
            {"hardware", hardware},
            {"reference",
             {{"bytes", result.reference_bytes}, {"cached", result.reference_cached}, {"local", result.reference.ToJson()}}},
            {"measured", measured},
            {"candidates", candidates},
            {"winner", result.selection.winner ? EntryJson(result.entries[*result.selection.winner]) : nullptr},
            {"closest_misses", closest},
            {"explanations", explanations},
            {"seconds", result.seconds}};
}

std::string TerminalSummary(const OptimizeResult& result) {
    std::string out;
    char line[512];
    std::snprintf(line, sizeof(line), "%s: unquantized ppl %.4f, %s of weights\n\n", result.model.c_str(),
                  result.reference.ppl, FormatBytes(result.reference_bytes).c_str());
    out += line;
    std::snprintf(line, sizeof(line), "%-16s %9s %8s %9s %6s %15s %10s %9s %9s %10s  %s\n", "preset", "ppl", "dppl%",
                  "size", "ratio", "best GPU", "tokens/s", "p95 ms", "ttft ms", "$/1M tok", "verdict");
    out += line;
    for (const CandidateResult& c : result.candidates) {
        const Entry* e = c.error.empty() ? RepresentativeEntry(result, c.preset) : nullptr;
        if (!e) {
            std::snprintf(line, sizeof(line), "%-16s %s\n", c.preset.c_str(), ("failed: " + c.error).c_str());
            out += line;
            continue;
        }
        const std::string gpu = std::to_string(e->gpu_count) + " x " + e->hardware;
        const std::string verdict = e->winner ? "WINNER" : e->feasible ? "feasible" : "misses " + [&] {
            std::string m;
            for (const std::string& name : e->missed) m += (m.empty() ? "" : ",") + name;
            return m;
        }();
        std::snprintf(line, sizeof(line), "%-16s %9.4f %+8.2f %9s %5.2fx %15s %10.1f %9.3f %9.3f %10s  %s\n",
                      c.preset.c_str(), e->ppl, e->ppl_delta_pct, FormatBytes(e->bytes).c_str(), e->compression,
                      gpu.c_str(), e->tokens_per_s, e->latency_p95_ms, e->ttft_ms, Money(e->cost_per_1m_tokens).c_str(),
                      verdict.c_str());
        out += line;
    }
    out += "\n";
    if (result.selection.winner) {
        const Entry& w = result.entries[*result.selection.winner];
        out += "winner: " + w.preset + " on " + std::to_string(w.gpu_count) + " x " + w.hardware + ", " +
               Money(w.cost_per_1m_tokens) + " per 1M output tokens (ppl change " + Fixed(w.ppl_delta_pct, 2) + "%, " +
               Fixed(w.compression, 2) + "x smaller)\n";
    } else {
        out += "no (candidate, GPU, count) meets every constraint; closest to each:\n";
        for (const ClosestMiss& m : result.selection.closest) {
            const Entry& e = result.entries[m.entry];
            out += "  " + m.constraint + ": " + e.preset + " on " + std::to_string(e.gpu_count) + " x " + e.hardware +
                   ", " + DescribeMiss(e, m.constraint, result.request.constraints) + "\n";
        }
    }
    out += "why:\n";
    for (const auto& [preset, why] : result.explanations) out += "  " + preset + ": " + why + "\n";
    return out;
}

std::string ReportMarkdown(const OptimizeResult& result) {
    const OptimizeRequest& r = result.request;
    const nlohmann::ordered_json inputs = InputsJson(r);
    std::string md = "# tenpak optimize: " + result.model + "\n\n";
    if (result.selection.winner) {
        const Entry& w = result.entries[*result.selection.winner];
        md += "**Winner: `" + w.preset + "` on " + std::to_string(w.gpu_count) + " x " + w.hardware + "**, " +
              Money(w.cost_per_1m_tokens) + " per 1M output tokens; perplexity change " + Fixed(w.ppl_delta_pct, 2) +
              "%, " + Fixed(w.compression, 2) + "x smaller than the unquantized weights.\n\n";
    } else {
        md += "**No (candidate, GPU, count) meets every constraint.** Closest to each constraint:\n\n";
        for (const ClosestMiss& m : result.selection.closest) {
            const Entry& e = result.entries[m.entry];
            md += "- `" + m.constraint + "`: " + e.preset + " on " + std::to_string(e.gpu_count) + " x " + e.hardware +
                  ", " + DescribeMiss(e, m.constraint, r.constraints) + "\n";
        }
        md += "\n";
    }
    md += "![quality change against cost](quality_vs_cost.svg)\n\n## Inputs\n\n";
    for (const auto& [key, value] : inputs.items()) md += "- `" + key + "`: " + value.dump() + "\n";
    md += "\n## Candidates (each at its cheapest GPU triple that meets the constraints, else its nearest miss)\n\n";
    md += "| preset | ppl | ppl change | size | compression | GPU | tokens/s | p50 ms | p95 ms | TTFT ms | $ / 1M tokens | "
          "verdict |\n|---|---:|---:|---:|---:|---|---:|---:|---:|---:|---:|---|\n";
    for (const CandidateResult& c : result.candidates) {
        const Entry* e = c.error.empty() ? RepresentativeEntry(result, c.preset) : nullptr;
        if (!e) {
            md += "| " + c.preset + " | | | | | | | | | | | failed: " + c.error + " |\n";
            continue;
        }
        std::string verdict = e->winner ? "**winner**" : e->feasible ? "feasible" : "misses";
        for (const std::string& m : e->missed) verdict += " `" + m + "`";
        md += "| " + c.preset + " | " + Fixed(e->ppl, 4) + " | " + Fixed(e->ppl_delta_pct, 2) + "% | " +
              FormatBytes(e->bytes) + " | " + Fixed(e->compression, 2) + "x | " + std::to_string(e->gpu_count) + " x " +
              e->hardware + " | " + Fixed(e->tokens_per_s, 1) + " | " + Fixed(e->latency_p50_ms, 3) + " | " +
              Fixed(e->latency_p95_ms, 3) + " | " + Fixed(e->ttft_ms, 3) + " | " + Money(e->cost_per_1m_tokens) + " | " +
              verdict + " |\n";
    }
    md += "\n## Why each candidate won or lost\n\n";
    for (const auto& [preset, why] : result.explanations) md += "- `" + preset + "`: " + why + "\n";
    md += "\n## Measured on this machine (TenPak's CPU engine)\n\n| preset | ppl | windows | prefill tokens/s | decode "
          "tokens/s | p50 ms | p95 ms | weight bytes per token | cached |\n|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
    auto measured_row = [&](const std::string& name, const Measurement& m, bool cached) {
        md += "| " + name + " | " + Fixed(m.ppl, 4) + " | " + std::to_string(m.windows) + " | " +
              Fixed(m.prefill_tokens_per_s, 1) + " | " + Fixed(m.decode_tokens_per_s, 1) + " | " +
              Fixed(m.latency_p50_ms, 3) + " | " + Fixed(m.latency_p95_ms, 3) + " | " +
              std::to_string(m.decode_bytes_per_token) + " | " + (cached ? "yes" : "no") + " |\n";
    };
    measured_row("(unquantized)", result.reference, result.reference_cached);
    for (const CandidateResult& c : result.candidates) {
        if (c.error.empty()) measured_row(c.preset, c.measured, c.quantize_cached && c.measure_cached);
    }
    md += "\nNotes:\n\n";
    for (const CandidateResult& c : result.candidates) {
        for (const std::string& n : c.notes) md += "- `" + c.preset + "`: " + n + "\n";
    }
    md += "\n## Hardware\n\n| GPU | memory GB | bandwidth GB/s | FP16 TFLOP/s | $ / hour | source |\n|---|---:|---:|---:|---:|---|\n";
    for (const GpuProfile& g : r.hardware) {
        md += "| " + g.name + " | " + Fixed(g.memory_gb, 0) + " | " + Fixed(g.bandwidth_gb_s, 0) + " | " +
              Fixed(g.fp16_tflops, 0) + " | " + Fixed(g.price_per_hour, 2) + " | " + g.source + " |\n";
    }
    md += "\n## Assumptions\n\n";
    const nlohmann::ordered_json assumptions = AssumptionsJson(r);
    for (const auto& s : assumptions["statements"]) md += "- " + s.get<std::string>() + "\n";
    md += "- Memory utilisation " + Fixed(r.assumptions.memory_utilization, 2) + ", runtime reserve " +
          Fixed(r.assumptions.runtime_reserve_gb, 1) + " GB per GPU, step overhead " +
          Fixed(r.assumptions.step_overhead_ms, 2) + " ms, FP16 KV cache, up to " + std::to_string(r.assumptions.max_gpus) +
          " GPUs.\n\n| family | serving kernel | decode bandwidth fraction | prefill compute fraction | source |\n"
          "|---|---|---:|---:|---|\n";
    for (const KernelEfficiency& k : KernelEfficiencies()) {
        md += "| " + k.family + " | " + k.kernel + " | " + Fixed(k.decode_bandwidth_fraction, 3) + " | " +
              Fixed(k.prefill_compute_fraction, 2) + " | " + k.source + " |\n";
    }
    md += "\nEvery (preset, GPU, count) triple is in `report.json` under `candidates`.\n";
    return md;
}

Status CheckReportFolder(const std::string& dir) {
    std::error_code error;
    if (!std::filesystem::exists(dir, error)) return Status::Ok();
    if (!std::filesystem::is_directory(dir, error)) {
        return Status::InvalidArgument(dir + " is a file, not a report folder; choose another -o");
    }
    if (!std::filesystem::is_empty(dir, error) && !std::filesystem::exists(dir + "/report.json", error)) {
        return Status::InvalidArgument(dir + " exists and is not an optimize report folder; choose another -o");
    }
    return Status::Ok();
}

Status WriteReportFolder(const std::string& dir, const OptimizeResult& result) {
    TP_RETURN_IF_ERROR(CheckReportFolder(dir));
    TP_ASSIGN_OR_RETURN(io::AtomicDirectory out, io::AtomicDirectory::Create(dir, /*replace_existing=*/true));
    TP_RETURN_IF_ERROR(out.WriteFile("report.json", ReportJson(result).dump(2) + "\n"));
    TP_RETURN_IF_ERROR(out.WriteFile("report.md", ReportMarkdown(result)));
    TP_RETURN_IF_ERROR(out.WriteFile("quality_vs_cost.svg", QualityCostSvg(result)));
    return out.Commit();
}

}  // namespace tenpak::optimize
