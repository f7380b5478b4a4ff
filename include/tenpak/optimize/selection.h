// Which (candidate, GPU, count) triples meet the user's constraints, which one is cheapest, and why
// each other candidate lost. Pure logic over measured and projected figures: tested on synthetic ones.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "tenpak/core/status.h"

namespace tenpak::optimize {

// Unset: no constraint.
struct Constraints {
    std::optional<double> max_ppl_delta_pct;  // perplexity change against the unquantized model, percent
    std::optional<double> max_latency_ms;     // p95 per-token decode latency on the GPU
    std::optional<double> max_ttft_ms;        // time to first token on the GPU
    std::optional<double> min_compression;    // unquantized bytes / candidate bytes
    std::optional<double> min_throughput;     // decode tokens/s of one request on the GPU(s)
};

// Refuses negative or zero limits (and a compression below 1 is allowed: a candidate may be larger).
Status ValidateConstraints(const Constraints& constraints);

// One (candidate, GPU, count) triple with its figures. `missed` holds constraint names as the flags
// spell them ("max-ppl-delta", "max-latency-ms", "max-ttft-ms", "min-compression", "min-throughput")
// and "memory" when the model and its KV cache do not fit.
struct Entry {
    std::string preset;
    std::string hardware;
    int gpu_count = 1;
    double ppl = 0;
    double ppl_delta_pct = 0;
    uint64_t bytes = 0;
    double compression = 0;
    double tokens_per_s = 0;
    double latency_p50_ms = 0;
    double latency_p95_ms = 0;
    double ttft_ms = 0;
    double cost_per_1m_tokens = 0;
    double memory_needed_gb = 0;  // per GPU
    double memory_usable_gb = 0;  // per GPU
    bool fits = true;
    bool feasible = false;
    bool winner = false;
    std::vector<std::string> missed;
    double memory_ratio() const { return memory_usable_gb > 0 ? memory_needed_gb / memory_usable_gb : 0; }
};

// For one constraint nobody met: the entry that came nearest, and its figure.
struct ClosestMiss {
    std::string constraint;
    double limit = 0;
    double value = 0;
    size_t entry = 0;
};

struct Selection {
    std::optional<size_t> winner;       // index into the entries
    std::vector<ClosestMiss> closest;   // filled when there is no winner: one per constraint missed by all
};

// Fills each entry's `missed`, `feasible` and `winner`, and picks the cheapest feasible entry. Ties
// (equal cost) go to the smaller perplexity change, then fewer bytes, fewer GPUs, and the preset and
// hardware names in order, so the choice never depends on the order of the entries.
Selection Select(std::vector<Entry>& entries, const Constraints& constraints);

// "ppl change 2.31% > 1%": why `entry` misses `constraint`, with its figure and the limit.
std::string DescribeMiss(const Entry& entry, const std::string& constraint, const Constraints& constraints);

// For each preset, one sentence: the winner; or how much more its cheapest feasible triple costs; or
// which constraints its best attempt misses. In the order presets first appear in `entries`.
std::vector<std::pair<std::string, std::string>> ExplainPresets(const std::vector<Entry>& entries,
                                                                const Selection& selection,
                                                                const Constraints& constraints);

}  // namespace tenpak::optimize
