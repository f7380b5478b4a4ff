// GPT-2's block (transformers' GPT2Block): pre-LayerNorm, fused q/k/v, learned positions, no rotary.
//   h = x + c_proj(attention(split(c_attn(ln_1(x)))))
//   y = h + mlp.c_proj(gelu_tanh(mlp.c_fc(ln_2(h))))
#include "architecture.h"

namespace tenpak::engine::internal {
namespace {

class Gpt2 final : public Architecture {
public:
    Gpt2(const model::ModelConfig& config, const ModelWeights& weights, ThreadPool& pool)
        : c_(config), w_(weights), pool_(pool), row_(static_cast<size_t>(config.hidden_size)) {}

    void Embed(std::span<const int32_t> tokens, int64_t first_position, float* x) const override {
        const int64_t hidden = c_.hidden_size;
        for (size_t t = 0; t < tokens.size(); ++t) {
            float* out = x + static_cast<int64_t>(t) * hidden;
            ReadRow(w_.embed, tokens[t], out);
            ReadRow(w_.positions, first_position + static_cast<int64_t>(t), row_.data());
            AddInPlace(out, row_.data(), hidden);
        }
    }

    int64_t hidden_size() const override { return c_.hidden_size; }

    void AttentionNorm(int64_t layer, const float* x, int64_t tokens, float* y) const override {
        LayerNorm(x, Layer(layer).attn_norm, static_cast<float>(c_.norm_eps), tokens, c_.hidden_size, y);
    }

    void MlpNorm(int64_t layer, const float* x, int64_t tokens, float* y) const override {
        LayerNorm(x, Layer(layer).mlp_norm, static_cast<float>(c_.norm_eps), tokens, c_.hidden_size, y);
    }

    void AttentionPart(int64_t layer, const float* normed, int64_t tokens, int64_t first_position, KvCache& cache,
                       Scratch& s, float* out) const override {
        const LayerWeights& lw = Layer(layer);
        const int64_t hidden = c_.hidden_size;
        if (!TapContinues(s, TapPoint::kAttentionInput, normed, tokens)) return;
        ApplyLinear(lw.qkv, normed, tokens, s.mlp_a.data(), pool_);  // [tokens, 3 * hidden]
        for (int64_t t = 0; t < tokens; ++t) {
            const float* row = s.mlp_a.data() + t * 3 * hidden;
            std::copy(row, row + hidden, s.q.data() + t * hidden);
            std::copy(row + hidden, row + 2 * hidden, cache.k.data() + (first_position + t) * hidden);
            std::copy(row + 2 * hidden, row + 3 * hidden, cache.v.data() + (first_position + t) * hidden);
        }
        Attention(s.q.data(), cache.k.data(), cache.v.data(), tokens, first_position, c_.num_heads, c_.num_heads,
                  c_.head_dim, s.attention.data(), s.scores);
        if (!TapContinues(s, TapPoint::kAttentionOutput, s.attention.data(), tokens)) return;
        ApplyLinear(lw.o, s.attention.data(), tokens, out, pool_);
    }

    void MlpPart(int64_t layer, const float* normed, int64_t tokens, Scratch& s, float* out) const override {
        const LayerWeights& lw = Layer(layer);
        if (!TapContinues(s, TapPoint::kMlpInput, normed, tokens)) return;
        ApplyLinear(lw.up, normed, tokens, s.mlp_a.data(), pool_);
        GeluTanh(s.mlp_a.data(), tokens * c_.intermediate_size);
        if (!TapContinues(s, TapPoint::kMlpHidden, s.mlp_a.data(), tokens)) return;
        ApplyLinear(lw.down, s.mlp_a.data(), tokens, out, pool_);
    }

    void FinalNorm(const float* x, int64_t rows, float* y) const override {
        LayerNorm(x, w_.final_norm, static_cast<float>(c_.norm_eps), rows, c_.hidden_size, y);
    }

private:
    const LayerWeights& Layer(int64_t layer) const { return w_.layers[static_cast<size_t>(layer)]; }

    const model::ModelConfig& c_;
    const ModelWeights& w_;
    ThreadPool& pool_;
    mutable std::vector<float> row_;  // one position row; Embed runs on the engine's thread only
};

}  // namespace

std::unique_ptr<Architecture> MakeGpt2Architecture(const model::ModelConfig& config, const ModelWeights& weights,
                                                   int64_t, ThreadPool& pool) {
    return std::make_unique<Gpt2>(config, weights, pool);
}

}  // namespace tenpak::engine::internal
