// A plain scalar forward pass in double precision, written from the model definitions
// (transformers' LlamaForCausalLM / Qwen2 / GPT2LMHeadModel) with no code shared with the engine:
// the reference the engine's logits are checked against.
#pragma once

#include <cstdint>
#include <vector>

#include "tenpak/model/model.h"

namespace tenpak::testing {

// Logits for every position of `tokens` (positions 0 ..), [tokens][vocab].
std::vector<std::vector<double>> ReferenceLogits(const model::Model& model, const std::vector<int32_t>& tokens);

}  // namespace tenpak::testing
