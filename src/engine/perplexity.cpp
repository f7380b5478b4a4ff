#include "tenpak/engine/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <vector>

namespace tenpak::engine {

std::string DefaultEvalText() {
    if (const char* env = std::getenv("TENPAK_EVAL_TEXT"); env != nullptr && *env != '\0') return env;
    return TENPAK_DEFAULT_EVAL_TEXT;
}

int64_t PerplexityWindow(int64_t requested, int64_t trained) {
    return trained > 0 ? std::min(requested, trained) : requested;
}

Result<PerplexityResult> PerplexityOfTokens(Engine& engine, std::span<const int32_t> tokens, int32_t bos_id,
                                            const PerplexityOptions& options) {
    const int64_t ctx = options.ctx;
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (ctx < 4) return Status::InvalidArgument("--ctx must be at least 4, not " + std::to_string(ctx));
    if (ctx > engine.context()) {
        return Status::InvalidArgument("--ctx " + std::to_string(ctx) + " is longer than the model's context of " +
                                       std::to_string(engine.context()) + " tokens");
    }
    if (n < ctx) {
        return Status::InvalidArgument("the text has " + std::to_string(n) + " tokens but one window of --ctx " +
                                       std::to_string(ctx) + " needs " + std::to_string(ctx) +
                                       " (use a longer text or a smaller --ctx)");
    }
    const auto start = std::chrono::steady_clock::now();
    const int64_t windows = options.max_windows > 0 ? std::min(n / ctx, options.max_windows) : n / ctx;
    const int64_t first = ctx / 2;  // logits from here on are scored
    const int64_t vocab = engine.vocab_size();
    std::vector<int32_t> window(static_cast<size_t>(ctx));
    std::vector<float> logits;
    double sum = 0;
    double sum_sq = 0;
    int64_t count = 0;
    for (int64_t w = 0; w < windows; ++w) {
        std::copy(tokens.begin() + w * ctx, tokens.begin() + (w + 1) * ctx, window.begin());
        window[0] = bos_id;
        engine.Reset();
        TP_RETURN_IF_ERROR(engine.Forward(window, first, logits));
        for (int64_t i = first; i < ctx - 1; ++i) {
            const float* row = logits.data() + (i - first) * vocab;
            // log-softmax in double: log sum exp(l - max) + max - l[target]
            float max_logit = row[0];
            for (int64_t v = 1; v < vocab; ++v) max_logit = std::max(max_logit, row[v]);
            double denom = 0;
            for (int64_t v = 0; v < vocab; ++v) denom += std::exp(static_cast<double>(row[v] - max_logit));
            const double nll = std::log(denom) + max_logit - row[window[static_cast<size_t>(i + 1)]];
            sum += nll;
            sum_sq += nll * nll;
            ++count;
        }
        if (options.on_window) options.on_window(w + 1, windows);
    }
    engine.Reset();
    PerplexityResult r;
    r.windows = windows;
    r.text_tokens = n;
    r.tokens_scored = count;
    r.mean_nll = sum / static_cast<double>(count);
    const double variance = std::max(0.0, sum_sq / static_cast<double>(count) - r.mean_nll * r.mean_nll);
    r.nll_stderr = count > 1 ? std::sqrt(variance / static_cast<double>(count - 1)) : 0.0;
    r.ppl = std::exp(r.mean_nll);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.tokens_per_second = r.seconds > 0 ? static_cast<double>(windows * ctx) / r.seconds : 0;
    return r;
}

Result<PerplexityResult> Perplexity(Engine& engine, const tokenizer::Tokenizer& tokenizer, std::string_view text,
                                    const PerplexityOptions& options) {
    if (!text.empty() && text.back() == '\n') text.remove_suffix(1);  // as llama.cpp's file reading does
    if (!tokenizer.bos_id()) return Status::Unsupported("the tokenizer has no BOS token, which the protocol needs");
    const std::vector<int32_t> tokens = tokenizer.Encode(text, /*add_bos=*/true);
    return PerplexityOfTokens(engine, tokens, *tokenizer.bos_id(), options);
}

}  // namespace tenpak::engine
