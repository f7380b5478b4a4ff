// Llama-shaped models for the benchmarks: the tensors transformers' LlamaForCausalLM saves (untied
// lm_head), in its state_dict order, and the config.json that describes them. Used by
// bench/io/open_bench.cpp (a sparse Llama-2-7B) and bench/tools/make_model.cpp (random weights).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/dtype.h"
#include "tenpak/io/tensor_source.h"

namespace tenpak::bench {

struct LlamaDims {
    int64_t vocab = 32000;
    int64_t hidden = 4096;
    int64_t intermediate = 11008;
    int64_t layers = 32;
    int64_t heads = 32;
    int64_t kv_heads = 32;
    int64_t context = 4096;

    int64_t head_dim() const { return hidden / heads; }
};

// meta-llama/Llama-2-7b-hf: 291 tensors, 6.74e9 parameters.
inline constexpr LlamaDims kLlama2_7B{};

inline uint64_t LlamaParameterCount(const LlamaDims& d) {
    const auto h = static_cast<uint64_t>(d.hidden);
    const auto kv = static_cast<uint64_t>(d.kv_heads * d.head_dim());
    const uint64_t per_layer = 2 * h * h + 2 * kv * h + 3 * h * static_cast<uint64_t>(d.intermediate) + 2 * h;
    return 2 * static_cast<uint64_t>(d.vocab) * h + static_cast<uint64_t>(d.layers) * per_layer + h;
}

// Every tensor in state_dict order: embeddings, then per layer q k v o, gate up down, the two
// norms, then the final norm and lm_head. Norms are stored in `dtype` too, as transformers does.
inline std::vector<io::TensorInfo> LlamaTensorPlan(const LlamaDims& d, DType dtype) {
    std::vector<io::TensorInfo> plan;
    auto add = [&](std::string name, std::vector<int64_t> shape) {
        uint64_t elements = 1;
        for (int64_t dim : shape) elements *= static_cast<uint64_t>(dim);
        plan.push_back({std::move(name), dtype, std::move(shape), elements * Traits(dtype).block_bytes});
    };
    const int64_t kv_dim = d.kv_heads * d.head_dim();
    add("model.embed_tokens.weight", {d.vocab, d.hidden});
    for (int64_t layer = 0; layer < d.layers; ++layer) {
        const std::string p = "model.layers." + std::to_string(layer) + ".";
        add(p + "self_attn.q_proj.weight", {d.hidden, d.hidden});
        add(p + "self_attn.k_proj.weight", {kv_dim, d.hidden});
        add(p + "self_attn.v_proj.weight", {kv_dim, d.hidden});
        add(p + "self_attn.o_proj.weight", {d.hidden, d.hidden});
        add(p + "mlp.gate_proj.weight", {d.intermediate, d.hidden});
        add(p + "mlp.up_proj.weight", {d.intermediate, d.hidden});
        add(p + "mlp.down_proj.weight", {d.hidden, d.intermediate});
        add(p + "input_layernorm.weight", {d.hidden});
        add(p + "post_attention_layernorm.weight", {d.hidden});
    }
    add("model.norm.weight", {d.hidden});
    add("lm_head.weight", {d.vocab, d.hidden});
    return plan;
}

inline const char* TorchDTypeName(DType dtype) {
    switch (dtype) {
        case DType::kF16:
            return "float16";
        case DType::kBF16:
            return "bfloat16";
        default:
            return "float32";
    }
}

// config.json as transformers writes it for LlamaForCausalLM (Llama-2's values for the rest).
inline nlohmann::ordered_json LlamaConfigJson(const LlamaDims& d, DType dtype) {
    return {{"architectures", {"LlamaForCausalLM"}},
            {"model_type", "llama"},
            {"hidden_size", d.hidden},
            {"intermediate_size", d.intermediate},
            {"num_hidden_layers", d.layers},
            {"num_attention_heads", d.heads},
            {"num_key_value_heads", d.kv_heads},
            {"vocab_size", d.vocab},
            {"max_position_embeddings", d.context},
            {"hidden_act", "silu"},
            {"rms_norm_eps", 1e-5},
            {"rope_theta", 10000.0},
            {"rope_scaling", nullptr},
            {"attention_bias", false},
            {"tie_word_embeddings", false},
            {"bos_token_id", 1},
            {"eos_token_id", 2},
            {"initializer_range", 0.02},
            {"torch_dtype", TorchDTypeName(dtype)}};
}

}  // namespace tenpak::bench
