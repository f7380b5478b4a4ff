// Latency and throughput of the engine on one model: prefill of a prompt, then token-by-token
// decode, repeated after a warm-up. Reported as prefill tokens/s, decode tokens/s, time to first
// token (prefill + the first sampled token), and per-token decode latency percentiles.
#pragma once

#include <cstdint>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/engine/engine.h"

namespace tenpak::engine {

struct LatencyOptions {
    int64_t prompt_tokens = 128;
    int64_t gen_tokens = 64;
    int64_t repetitions = 3;
    int64_t warmup = 1;
    uint64_t seed = 1;  // the prompt is random token ids (content does not change the cost)
};

struct LatencyResult {
    double prefill_tokens_per_s = 0;  // median over repetitions
    double decode_tokens_per_s = 0;   // 1 / mean per-token latency
    double ttft_ms = 0;               // median time to first token
    double latency_p50_ms = 0;        // per decoded token, over every repetition
    double latency_p95_ms = 0;
    double latency_mean_ms = 0;
    double decode_bytes_per_s = 0;  // weight bytes read per second in decode
    int64_t prompt_tokens = 0;
    int64_t gen_tokens = 0;
    int64_t repetitions = 0;
    size_t threads = 0;
};

Result<LatencyResult> MeasureLatency(Engine& engine, const LatencyOptions& options);

// The p-th percentile (0..100) of `values` by linear interpolation between closest ranks.
double Percentile(std::vector<double> values, double p);

}  // namespace tenpak::engine
