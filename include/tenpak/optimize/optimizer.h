// `tenpak optimize` as a library call: quantize the model with each candidate preset (cached), measure
// each on this machine, project every (candidate, GPU, count) onto the target GPUs, and pick the
// cheapest that meets the constraints.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/optimize/hardware.h"
#include "tenpak/optimize/measure.h"
#include "tenpak/optimize/projection.h"
#include "tenpak/optimize/selection.h"
#include "tenpak/quant/quantize_model.h"

namespace tenpak::optimize {

struct OptimizeRequest {
    std::string model;
    std::vector<std::string> presets;  // empty: all eight
    Constraints constraints;
    std::vector<GpuProfile> hardware;  // empty: BuiltinGpus()
    ServingAssumptions assumptions;
    Workload workload;
    MeasureOptions measure;            // eval text, ctx, windows, threads (latency comes from `workload`)
    quant::CalibrationOptions calibration;
    std::string cache_dir;             // empty: DefaultCacheDir()
    bool refresh = false;              // redo every quantization and measurement (and refresh the cache)
    bool progress = true;              // per-layer progress bars while quantizing
    // Called as each stage starts ("[2/8] bnb_nf4: quantizing"): what is running now.
    std::function<void(const std::string&)> on_stage;
};

struct CandidateResult {
    std::string preset;
    std::string family;   // the serving kernel family (projection.h)
    std::string format;   // "gptq", "awq", "bnb", "hf"
    std::string method;
    std::string path;     // the quantized checkpoint, in the cache
    std::string error;    // set when the candidate could not be quantized or measured
    uint64_t tensor_bytes = 0;
    uint64_t disk_bytes = 0;
    double compression = 0;  // unquantized tensor bytes / tensor bytes
    int64_t kept_layers = 0; // linear layers the format could not hold (left in F16)
    Measurement measured;
    double ppl_delta_pct = 0;
    bool quantize_cached = false;
    bool measure_cached = false;
    double quantize_seconds = 0;
    std::vector<std::string> notes;
};

struct OptimizeResult {
    OptimizeRequest request;   // as run: presets and hardware filled in
    std::string model;
    std::string model_digest;  // hex
    ModelShape shape;
    Measurement reference;     // the unquantized model
    uint64_t reference_bytes = 0;
    bool reference_cached = false;
    std::vector<CandidateResult> candidates;
    std::vector<Entry> entries;
    Selection selection;
    std::vector<std::pair<std::string, std::string>> explanations;  // preset -> why
    double seconds = 0;
};

// Everything a run would refuse, checked before any work: constraints, presets, workload, options.
Status CheckOptimizeRequest(const OptimizeRequest& request);

// The serving family of a preset's request: fp16, gptq4, gptq3, awq4, bnb4, bnb8.
std::string FamilyOf(const quant::QuantizeRequest& request);

// A candidate failing (a format that cannot hold the model, say) is recorded in its result, not an
// error; the call fails only when the model cannot be read or measured at all.
Result<OptimizeResult> Optimize(const OptimizeRequest& request);

}  // namespace tenpak::optimize
