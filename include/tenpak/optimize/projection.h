// Projects a candidate measured on this machine onto a GPU: how fast it would decode and prefill
// there, whether it fits (with its KV cache) on N GPUs, and what a million output tokens cost.
//
// The model, every assumption of which is printed in the report (docs/optimize.md explains them):
//   - decode is memory-bound: a step reads the weights a token touches (measured by the engine) and
//     the KV cache so far, at the GPU's bandwidth times an efficiency of the format's serving kernel
//     (KernelEfficiencies(), from published measurements), plus a fixed per-step overhead;
//   - prefill is compute-bound: 2 FLOPs per weight per prompt token plus causal attention, at the
//     peak FP16 rate times the kernel's prefill efficiency (or memory-bound, if that is slower);
//   - tensor parallelism over N GPUs divides both, keeping `tp_scaling_per_doubling` per doubling;
//   - memory: weights / N + KV cache / N + a runtime reserve must fit in memory x utilisation;
//   - batch size 1: cost per 1M output tokens = N x $/hour / (3600 x tokens/s) x 1e6.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/model/model_config.h"
#include "tenpak/optimize/hardware.h"

namespace tenpak::optimize {

// How well a format's serving kernel uses the GPU at batch size 1.
struct KernelEfficiency {
    std::string family;                     // "fp16", "gptq4", "gptq3", "awq4", "bnb4", "bnb8"
    std::string kernel;                     // who serves it: "vLLM FP16", "vLLM Marlin" ...
    double decode_bandwidth_fraction = 0;   // of peak memory bandwidth, in a decode step
    double prefill_compute_fraction = 0;    // of peak FP16 FLOP/s, in prefill
    std::string source;
};
const std::vector<KernelEfficiency>& KernelEfficiencies();
Result<KernelEfficiency> EfficiencyOf(std::string_view family);
// The kernel that serves `family` on `gpu`: AWQ falls back from Marlin to vLLM's AWQ GEMM kernel on a
// GPU that cannot run Marlin (T4); GPTQ's figure was measured with the exllama kernel and stays.
Result<KernelEfficiency> EfficiencyOn(std::string_view family, const GpuProfile& gpu);

struct ServingAssumptions {
    double memory_utilization = 0.9;       // vLLM's default gpu_memory_utilization
    double runtime_reserve_gb = 1.0;       // per GPU: CUDA context, activations, graphs
    // Per decode step, beyond the bytes: the floor for tiny models. The efficiencies were fitted on whole
    // steps of 7B-13B models (overheads included), so this stays small.
    double step_overhead_ms = 0.1;
    double tp_scaling_per_doubling = 0.9;  // tensor parallel: speed kept per doubling of GPUs
    int max_gpus = 8;                      // 1, 2, 4, 8
    int kv_cache_bytes_per_value = 2;      // FP16 KV cache
};

// The sizes the projection needs, from the model's config.
struct ModelShape {
    int64_t layers = 0;
    int64_t hidden = 0;
    int64_t kv_dim = 0;          // kv heads x head dim
    int64_t matmul_params = 0;   // weights a token multiplies: attention, MLP and the output head
    uint64_t KvBytesPerToken(int bytes_per_value) const {
        return static_cast<uint64_t>(2 * layers * kv_dim * bytes_per_value);
    }
};
ModelShape ShapeOf(const model::ModelConfig& config);

struct Workload {
    int64_t prompt_tokens = 128;
    int64_t output_tokens = 128;
};

// What the projection takes from a measured candidate.
struct CandidateFigures {
    std::string family;                  // a KernelEfficiency family
    uint64_t weight_bytes = 0;           // tensor bytes of the checkpoint (held in GPU memory)
    uint64_t decode_bytes_per_token = 0; // weight bytes one decode step reads (measured by the engine)
    double latency_spread = 1.0;         // measured p95 / p50 of the per-token latency on this machine
};

struct Projection {
    int gpu_count = 1;
    bool fits = false;
    double memory_needed_gb = 0;     // per GPU
    double memory_usable_gb = 0;     // per GPU: memory x utilisation
    double tokens_per_s = 0;         // decode, one request
    double latency_p50_ms = 0;       // per output token
    double latency_p95_ms = 0;
    double ttft_ms = 0;
    double cost_per_1m_tokens = 0;   // USD per million output tokens
};

Projection Project(const CandidateFigures& candidate, const KernelEfficiency& kernel, const ModelShape& shape,
                   const Workload& workload, const GpuProfile& gpu, int gpu_count,
                   const ServingAssumptions& assumptions);

// The GPU counts tried: 1, 2, 4 ... up to assumptions.max_gpus.
std::vector<int> GpuCounts(const ServingAssumptions& assumptions);

}  // namespace tenpak::optimize
