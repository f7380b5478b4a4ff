// Text generation: sampling (greedy at temperature 0, else temperature + nucleus/top-p) and a
// loop that streams text as tokens come, holding back incomplete UTF-8 sequences.
#pragma once

#include <cstdint>
#include <functional>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "tenpak/core/result.h"
#include "tenpak/engine/engine.h"
#include "tenpak/tokenizer/tokenizer.h"

namespace tenpak::engine {

struct SamplingOptions {
    float temperature = 0.8f;  // 0: greedy (argmax, lowest id on ties)
    float top_p = 0.95f;       // keep the smallest set of tokens whose probability reaches top_p
    uint64_t seed = 0;
};

class Sampler {
public:
    explicit Sampler(const SamplingOptions& options);
    int32_t Sample(std::span<const float> logits);

private:
    SamplingOptions options_;
    std::mt19937_64 rng_;
    std::vector<std::pair<float, int32_t>> candidates_;
};

struct GenerateOptions {
    int64_t max_tokens = 128;
    SamplingOptions sampling;
    bool stop_at_eos = true;
    // A prompt longer than the context is an error, unless truncate keeps its last tokens.
    bool truncate = false;
};

struct GenerateResult {
    std::vector<int32_t> prompt_tokens;
    std::vector<int32_t> tokens;  // generated ids
    std::string text;             // generated text
    bool truncated = false;       // the prompt was cut to fit
    std::string stop_reason;      // "eos", "max_tokens", "context"
    double prompt_seconds = 0;
    double generate_seconds = 0;
};

// Generates after `prompt` (BOS added), calling on_text with each piece of valid UTF-8 as it forms.
Result<GenerateResult> Generate(Engine& engine, const tokenizer::Tokenizer& tokenizer, std::string_view prompt,
                                const GenerateOptions& options,
                                const std::function<void(std::string_view)>& on_text = nullptr);

// The length of the longest prefix of `bytes` that ends on a UTF-8 character boundary (a
// sequence cut at the end is held back; invalid bytes are passed through).
size_t CompleteUtf8Prefix(std::string_view bytes);

}  // namespace tenpak::engine
