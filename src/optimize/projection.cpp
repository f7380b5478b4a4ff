#include "tenpak/optimize/projection.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "tenpak/engine/latency.h"

namespace tenpak::optimize {

const std::vector<KernelEfficiency>& KernelEfficiencies() {
    // Figures and their sources: docs/hardware.md.
    static const std::vector<KernelEfficiency> table = {
        {"fp16", "vLLM, FP16 weights", 0.65, 0.50, "vLLM PR 2330 and PR 23197 (A100, H100 at batch 1)"},
        {"gptq4", "vLLM, GPTQ Marlin (exllama on T4)", 0.38, 0.30, "vLLM PR 2330, PR 2497; IST-DASLab/marlin"},
        {"gptq3", "vLLM, exllama-style GPTQ (no 3-bit Marlin)", 0.32, 0.45, "vLLM PR 2330; optimum benchmark"},
        {"awq4", "vLLM, AWQ Marlin", 0.38, 0.30, "vLLM PR 6612 (same kernel as GPTQ Marlin)"},
        {"awq4-gemm", "vLLM, AWQ GEMM (no Marlin: T4)", 0.18, 0.45, "AutoAWQ PR 320 (7B, A100-80GB, batch 1)"},
        {"bnb4", "transformers/TGI, bitsandbytes 4-bit", 0.14, 0.40,
         "HF blog overview-quantization-transformers: 0.71x FP16 tokens/s (Llama-2-13B, A100)"},
        {"bnb8", "transformers/TGI, bitsandbytes LLM.int8", 0.075, 0.20,
         "HF blog hf-bitsandbytes-integration; optimum-quanto PR 62: 0.23x FP16 tokens/s (7B, A10G)"},
    };
    return table;
}

Result<KernelEfficiency> EfficiencyOf(std::string_view family) {
    for (const KernelEfficiency& k : KernelEfficiencies()) {
        if (k.family == family) return k;
    }
    return Status::InvalidArgument("no kernel efficiency for format family '" + std::string(family) + "'");
}

Result<KernelEfficiency> EfficiencyOn(std::string_view family, const GpuProfile& gpu) {
    if (family == "awq4" && !gpu.runs_marlin) return EfficiencyOf("awq4-gemm");
    return EfficiencyOf(family);
}

ModelShape ShapeOf(const model::ModelConfig& config) {
    ModelShape shape;
    shape.layers = config.num_layers;
    shape.hidden = config.hidden_size;
    // The model loaders fill head_dim and num_kv_heads for every family (model::ValidateConfig).
    shape.kv_dim = config.num_kv_heads * config.head_dim;
    const int64_t q_dim = config.num_heads * config.head_dim;
    // q and o projections, k and v projections, and the MLP (gated: three matrices; GPT-2: two).
    const int64_t attention = config.hidden_size * (2 * q_dim + 2 * shape.kv_dim);
    const int64_t mlp_matrices = config.architecture == "gpt2" ? 2 : 3;
    const int64_t mlp = mlp_matrices * config.hidden_size * config.intermediate_size;
    shape.matmul_params = config.num_layers * (attention + mlp) + config.vocab_size * config.hidden_size;
    return shape;
}

std::vector<int> GpuCounts(const ServingAssumptions& assumptions) {
    std::vector<int> counts;
    for (int n = 1; n <= std::max(1, assumptions.max_gpus); n *= 2) counts.push_back(n);
    return counts;
}

Projection Project(const CandidateFigures& candidate, const KernelEfficiency& kernel, const ModelShape& shape,
                   const Workload& workload, const GpuProfile& gpu, int gpu_count,
                   const ServingAssumptions& assumptions) {
    Projection p;
    p.gpu_count = gpu_count;
    const double n = gpu_count;
    const double scaling = std::pow(assumptions.tp_scaling_per_doubling, std::log2(n));
    const double kv_per_token = static_cast<double>(shape.KvBytesPerToken(assumptions.kv_cache_bytes_per_value));
    const double context = static_cast<double>(workload.prompt_tokens + workload.output_tokens);

    p.memory_usable_gb = gpu.memory_gb * assumptions.memory_utilization;
    p.memory_needed_gb = (static_cast<double>(candidate.weight_bytes) + kv_per_token * context) / n / 1e9 +
                         assumptions.runtime_reserve_gb;
    p.fits = p.memory_needed_gb <= p.memory_usable_gb;

    // Decode: one step per output token, reading the weights and the KV cache so far.
    const double bytes_per_s = gpu.bandwidth_gb_s * 1e9 * kernel.decode_bandwidth_fraction * n * scaling;
    std::vector<double> step_ms;
    step_ms.reserve(static_cast<size_t>(workload.output_tokens));
    for (int64_t i = 0; i < workload.output_tokens; ++i) {
        const double cached = static_cast<double>(workload.prompt_tokens + i);
        const double bytes = static_cast<double>(candidate.decode_bytes_per_token) + kv_per_token * cached;
        step_ms.push_back(assumptions.step_overhead_ms + bytes / bytes_per_s * 1e3);
    }
    const double mean_ms = std::accumulate(step_ms.begin(), step_ms.end(), 0.0) / static_cast<double>(step_ms.size());
    p.tokens_per_s = 1e3 / mean_ms;
    p.latency_p50_ms = engine::Percentile(step_ms, 50);
    // The projection has no jitter of its own: the spread measured on this machine carries over.
    p.latency_p95_ms = engine::Percentile(step_ms, 95) * std::max(1.0, candidate.latency_spread);

    // Prefill: compute-bound unless reading the weights once takes longer.
    const double prompt = static_cast<double>(workload.prompt_tokens);
    const double flops = 2.0 * static_cast<double>(shape.matmul_params) * prompt +
                         2.0 * static_cast<double>(shape.layers * shape.hidden) * prompt * prompt;
    const double flops_per_s = gpu.fp16_tflops * 1e12 * kernel.prefill_compute_fraction * n * scaling;
    const double compute_ms = flops / flops_per_s * 1e3;
    const double read_ms = (static_cast<double>(candidate.decode_bytes_per_token) + kv_per_token * prompt) / bytes_per_s * 1e3;
    p.ttft_ms = assumptions.step_overhead_ms + std::max(compute_ms, read_ms);

    p.cost_per_1m_tokens = n * gpu.price_per_hour / (3600.0 * p.tokens_per_s) * 1e6;
    return p;
}

}  // namespace tenpak::optimize
