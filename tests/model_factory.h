// Generated models with known contents, for tests: HF folders of any supported family, with
// seeded random weights, written through TenPak's own safetensors writer.
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "tenpak/core/dtype.h"

namespace tenpak::testing {

struct TinyLlama {
    std::string model_type = "llama";  // llama, mistral, qwen2
    int64_t vocab = 64, hidden = 32, intermediate = 48, layers = 2, heads = 4, kv_heads = 2, context = 64;
    bool tied = false;
    DType dtype = DType::kF32;
    uint32_t seed = 1;
};

struct TinyGpt2 {
    int64_t vocab = 64, hidden = 32, layers = 2, heads = 4, context = 32;
    bool with_prefix = true;         // "transformer.h.0..." (false: "h.0...", as the Hub's gpt2 has it)
    bool with_mask_buffers = false;  // old checkpoints' attn.bias
    DType dtype = DType::kF32;
    uint32_t seed = 2;
};

nlohmann::json ConfigJson(const TinyLlama& spec);
// Writes config.json and model.safetensors into `dir` (created if needed).
void WriteTinyLlama(const std::string& dir, const TinyLlama& spec);
void WriteTinyGpt2(const std::string& dir, const TinyGpt2& spec);

}  // namespace tenpak::testing
