// The hyper-parameters of a transformer, normalised across the ways files spell them
// (config.json of each architecture, GGUF `<arch>.*` keys, the llama2.c header).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/status.h"
#include "tenpak/model/quantization_config.h"

namespace tenpak::model {

struct ModelConfig {
    std::string model_type;    // config.json "model_type": "llama", "mistral", "qwen2", "gpt2"
    std::string architecture;  // the ModelSpec family that runs it: "llama" or "gpt2"
    int64_t vocab_size = 0;
    int64_t hidden_size = 0;
    int64_t intermediate_size = 0;
    int64_t num_layers = 0;
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    int64_t head_dim = 0;
    int64_t max_position_embeddings = 0;
    double norm_eps = 1e-5;
    double rope_theta = 10000.0;
    bool tie_word_embeddings = false;
    bool qkv_bias = false;  // Qwen2 (and llama's attention_bias)
    std::optional<int64_t> bos_token_id;
    std::optional<int64_t> eos_token_id;
    std::string torch_dtype = "float32";
    // Set for a pre-quantized HF folder (GPTQ, AWQ, bitsandbytes): its linear layers are stored in
    // that layout instead of as `<prefix>.weight` (GGUF block types need nothing here: they are dtypes).
    std::optional<QuantizationConfig> quantization;
    // config.json as read (or as built for a model that had none); keys TenPak does not model are
    // carried over unchanged when the config is written back.
    nlohmann::json raw = nlohmann::json::object();
};

}  // namespace tenpak::model

namespace tenpak::model {
// Checks sizes that must agree: positive dimensions, num_heads a multiple of num_kv_heads,
// head_dim even (rotary pairs). Messages name the config key.
Status ValidateConfig(const ModelConfig& config);
}  // namespace tenpak::model
