#include "tenpak/engine/latency.h"

#include <algorithm>
#include <chrono>
#include <numeric>
#include <random>

#include "tenpak/engine/generate.h"

namespace tenpak::engine {

double Percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const double rank = std::clamp(p, 0.0, 100.0) / 100.0 * static_cast<double>(values.size() - 1);
    const size_t lo = static_cast<size_t>(rank);
    const size_t hi = std::min(lo + 1, values.size() - 1);
    return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

Result<LatencyResult> MeasureLatency(Engine& engine, const LatencyOptions& options) {
    if (options.prompt_tokens < 1 || options.gen_tokens < 1 || options.repetitions < 1) {
        return Status::InvalidArgument("--prompt-tokens, --gen-tokens and --repetitions must be at least 1");
    }
    if (options.prompt_tokens + options.gen_tokens > engine.context()) {
        return Status::InvalidArgument(
            "--prompt-tokens + --gen-tokens = " + std::to_string(options.prompt_tokens + options.gen_tokens) +
            " exceeds the context of " + std::to_string(engine.context()) + " tokens");
    }
    using Clock = std::chrono::steady_clock;
    std::mt19937_64 rng(options.seed);
    std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(engine.vocab_size() - 1));
    std::vector<int32_t> prompt(static_cast<size_t>(options.prompt_tokens));
    for (int32_t& t : prompt) t = token(rng);

    Sampler sampler(SamplingOptions{0.0f, 1.0f, options.seed});
    std::vector<float> logits;
    std::vector<double> prefill_rates, ttfts, per_token;
    for (int64_t rep = 0; rep < options.warmup + options.repetitions; ++rep) {
        const bool measured = rep >= options.warmup;
        engine.Reset();
        const auto start = Clock::now();
        TP_RETURN_IF_ERROR(engine.Forward(prompt, options.prompt_tokens - 1, logits));
        const auto prefilled = Clock::now();
        int32_t next = sampler.Sample(logits);
        const auto first = Clock::now();
        if (measured) {
            const double prefill_s = std::chrono::duration<double>(prefilled - start).count();
            prefill_rates.push_back(static_cast<double>(options.prompt_tokens) / prefill_s);
            ttfts.push_back(std::chrono::duration<double, std::milli>(first - start).count());
        }
        for (int64_t i = 1; i < options.gen_tokens; ++i) {
            const auto t0 = Clock::now();
            TP_RETURN_IF_ERROR(engine.Forward(std::span<const int32_t>(&next, 1), 0, logits));
            next = sampler.Sample(logits);
            if (measured) per_token.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
        }
    }
    engine.Reset();
    LatencyResult r;
    r.prompt_tokens = options.prompt_tokens;
    r.gen_tokens = options.gen_tokens;
    r.repetitions = options.repetitions;
    r.threads = engine.threads();
    r.prefill_tokens_per_s = Percentile(prefill_rates, 50);
    r.ttft_ms = Percentile(ttfts, 50);
    if (!per_token.empty()) {
        r.latency_mean_ms = std::accumulate(per_token.begin(), per_token.end(), 0.0) / per_token.size();
        r.latency_p50_ms = Percentile(per_token, 50);
        r.latency_p95_ms = Percentile(per_token, 95);
        r.decode_tokens_per_s = 1000.0 / r.latency_mean_ms;
        r.decode_bytes_per_s = static_cast<double>(engine.weight_bytes_per_token()) * r.decode_tokens_per_s;
    }
    return r;
}

}  // namespace tenpak::engine
