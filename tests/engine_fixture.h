// A model opened with its tokenizer and an engine, and the bundled sample texts: what the engine,
// quantization and CLI tests that measure perplexity share.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "tenpak/engine/engine.h"
#include "tenpak/engine/perplexity.h"
#include "tenpak/model/model.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::testing {

struct LoadedModel {
    std::unique_ptr<model::Model> model;
    std::unique_ptr<tokenizer::Tokenizer> tokenizer;
    std::unique_ptr<engine::Engine> engine;
};

// Opens `path` with an engine of `context` positions; throws std::runtime_error with the status.
LoadedModel LoadForInference(const std::string& path, int64_t context);

// models/text/<name>: the bundled TinyStories samples.
std::string SampleText(const std::string& name);

// sqrt(sum (a - b)^2 / sum b^2) over the logits of `tokens` (positions 0 ..) from the models at
// `path` and `reference_path`: how far a quantized model's outputs are from the float model's.
double RelativeLogitError(const std::string& path, const std::string& reference_path,
                          const std::vector<int32_t>& tokens);

// Perplexity of `path` on the TinyStories validation sample, ctx 256 (llama.cpp's protocol).
engine::PerplexityResult ValidationPerplexity(const std::string& path);

}  // namespace tenpak::testing
