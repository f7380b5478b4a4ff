// What `tenpak optimize` measures of one model on this machine with TenPak's engine: perplexity on
// the eval text, prefill and decode speed, per-token latency, and the weight bytes a decode step reads.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tenpak/core/result.h"
#include "tenpak/engine/latency.h"

namespace tenpak::optimize {

struct MeasureOptions {
    std::string eval_text;    // path of the eval text
    int64_t ctx = 512;        // perplexity window (capped by the model's context)
    int64_t max_windows = 0;  // 0: every window of the text
    engine::LatencyOptions latency;
    size_t threads = 0;       // 0: every core
};

struct Measurement {
    double ppl = 0;
    int64_t ctx = 0;
    int64_t windows = 0;
    int64_t tokens_scored = 0;
    double prefill_tokens_per_s = 0;
    double decode_tokens_per_s = 0;
    double ttft_ms = 0;
    double latency_p50_ms = 0;
    double latency_p95_ms = 0;
    uint64_t decode_bytes_per_token = 0;  // weight bytes one decode step reads
    double seconds = 0;                   // time the measurement took

    nlohmann::ordered_json ToJson() const;
    static Result<Measurement> FromJson(const nlohmann::json& json);
};

// Opens `model_path` (any model TenPak reads) and measures it.
Result<Measurement> MeasureModel(const std::string& model_path, const MeasureOptions& options);

}  // namespace tenpak::optimize
