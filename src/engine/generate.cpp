#include "tenpak/engine/generate.h"

#include <algorithm>
#include <chrono>
#include <cmath>

namespace tenpak::engine {

Sampler::Sampler(const SamplingOptions& options) : options_(options), rng_(options.seed) {}

int32_t Sampler::Sample(std::span<const float> logits) {
    if (options_.temperature <= 0) {
        return static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    }
    candidates_.clear();
    const float max_logit = *std::max_element(logits.begin(), logits.end());
    double total = 0;
    for (size_t i = 0; i < logits.size(); ++i) {
        const float p = std::exp((logits[i] - max_logit) / options_.temperature);
        candidates_.emplace_back(p, static_cast<int32_t>(i));
        total += p;
    }
    std::sort(candidates_.begin(), candidates_.end(), [](const auto& a, const auto& b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
    });
    // Nucleus: the smallest prefix whose mass reaches top_p.
    double kept = 0;
    size_t keep = 0;
    const double threshold = std::clamp(static_cast<double>(options_.top_p), 0.0, 1.0) * total;
    while (keep < candidates_.size()) {
        kept += candidates_[keep].first;
        ++keep;
        if (kept >= threshold) break;
    }
    std::uniform_real_distribution<double> uniform(0.0, kept);
    const double r = uniform(rng_);
    double acc = 0;
    for (size_t i = 0; i < keep; ++i) {
        acc += candidates_[i].first;
        if (r < acc) return candidates_[i].second;
    }
    return candidates_[keep - 1].second;
}

size_t CompleteUtf8Prefix(std::string_view bytes) {
    // Look back at most 3 bytes for the start of a multi-byte sequence that is not complete yet.
    const size_t n = bytes.size();
    for (size_t back = 1; back <= std::min<size_t>(3, n); ++back) {
        const unsigned char c = static_cast<unsigned char>(bytes[n - back]);
        if ((c & 0xC0) == 0x80) continue;  // a continuation byte: keep looking for the lead
        size_t need = 1;
        if ((c & 0xE0) == 0xC0) need = 2;
        if ((c & 0xF0) == 0xE0) need = 3;
        if ((c & 0xF8) == 0xF0) need = 4;
        return need > back ? n - back : n;
    }
    return n;
}

Result<GenerateResult> Generate(Engine& engine, const tokenizer::Tokenizer& tokenizer, std::string_view prompt,
                                const GenerateOptions& options, const std::function<void(std::string_view)>& on_text) {
    GenerateResult result;
    result.prompt_tokens = tokenizer.Encode(prompt, /*add_bos=*/true);
    const int64_t context = engine.context();
    if (static_cast<int64_t>(result.prompt_tokens.size()) >= context) {
        if (!options.truncate) {
            return Status::InvalidArgument("the prompt has " + std::to_string(result.prompt_tokens.size()) +
                                           " tokens but the context window holds " + std::to_string(context) +
                                           " (shorten it, or pass --truncate to keep its end)");
        }
        // Keep BOS and the most recent tokens, leaving room for at least one new token.
        const size_t keep = static_cast<size_t>(context - 1);
        std::vector<int32_t> cut = {result.prompt_tokens.front()};
        cut.insert(cut.end(), result.prompt_tokens.end() - static_cast<std::ptrdiff_t>(keep - 1),
                   result.prompt_tokens.end());
        result.prompt_tokens = std::move(cut);
        result.truncated = true;
    }
    engine.Reset();
    Sampler sampler(options.sampling);
    std::vector<float> logits;
    auto start = std::chrono::steady_clock::now();
    TP_RETURN_IF_ERROR(
        engine.Forward(result.prompt_tokens, static_cast<int64_t>(result.prompt_tokens.size()) - 1, logits));
    result.prompt_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    start = std::chrono::steady_clock::now();

    std::string pending;  // bytes of an incomplete UTF-8 character
    result.stop_reason = "max_tokens";
    for (int64_t i = 0; i < options.max_tokens; ++i) {
        const int32_t next = sampler.Sample(logits);
        if (options.stop_at_eos && tokenizer.eos_id() && next == *tokenizer.eos_id()) {
            result.stop_reason = "eos";
            break;
        }
        std::string piece = tokenizer.TokenBytes(next);
        // Right after BOS a piece's leading space is SentencePiece's dummy prefix, not text
        // (SentencePiece and llama2.c drop it when decoding).
        const int32_t previous = result.tokens.empty() ? result.prompt_tokens.back() : result.tokens.back();
        if (tokenizer.bos_id() && previous == *tokenizer.bos_id() && !piece.empty() && piece[0] == ' ') {
            piece.erase(0, 1);
        }
        result.tokens.push_back(next);
        pending += piece;
        const size_t ready = CompleteUtf8Prefix(pending);
        if (ready > 0) {
            if (on_text) on_text(std::string_view(pending).substr(0, ready));
            result.text += pending.substr(0, ready);
            pending.erase(0, ready);
        }
        if (engine.position() >= context) {
            result.stop_reason = "context";
            break;
        }
        if (i + 1 == options.max_tokens) break;
        const int32_t token = next;
        TP_RETURN_IF_ERROR(engine.Forward(std::span<const int32_t>(&token, 1), 0, logits));
    }
    if (!pending.empty()) {
        if (on_text) on_text(pending);
        result.text += pending;
    }
    result.generate_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

}  // namespace tenpak::engine
