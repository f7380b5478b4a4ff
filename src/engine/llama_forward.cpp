// The llama family's block (transformers' LlamaDecoderLayer, Qwen2's adds q/k/v biases):
//   h = x + o_proj(attention(rope(q_proj(n)), rope(k_proj(n)), v_proj(n))),  n = rms_norm(x)
//   y = h + down_proj(silu(gate_proj(m)) * up_proj(m)),                      m = rms_norm(h)
#include "architecture.h"

namespace tenpak::engine::internal {
namespace {

class Llama final : public Architecture {
public:
    Llama(const model::ModelConfig& config, const ModelWeights& weights, int64_t context, ThreadPool& pool)
        : c_(config),
          w_(weights),
          pool_(pool),
          rope_(config.head_dim, config.rope_theta, context,
                config.raw.is_object() && config.raw.contains("rope_scaling") ? config.raw["rope_scaling"]
                                                                              : nlohmann::json()) {}

    void Embed(std::span<const int32_t> tokens, int64_t, float* x) const override {
        for (size_t t = 0; t < tokens.size(); ++t) ReadRow(w_.embed, tokens[t], x + t * c_.hidden_size);
    }

    int64_t hidden_size() const override { return c_.hidden_size; }

    void AttentionNorm(int64_t layer, const float* x, int64_t tokens, float* y) const override {
        RmsNorm(x, Layer(layer).attn_norm, static_cast<float>(c_.norm_eps), tokens, c_.hidden_size, y);
    }

    void MlpNorm(int64_t layer, const float* x, int64_t tokens, float* y) const override {
        RmsNorm(x, Layer(layer).mlp_norm, static_cast<float>(c_.norm_eps), tokens, c_.hidden_size, y);
    }

    void AttentionPart(int64_t layer, const float* normed, int64_t tokens, int64_t first_position, KvCache& cache,
                       Scratch& s, float* out) const override {
        const LayerWeights& lw = Layer(layer);
        const int64_t kv_dim = c_.num_kv_heads * c_.head_dim;
        if (!TapContinues(s, TapPoint::kAttentionInput, normed, tokens)) return;
        ApplyLinear(lw.q, normed, tokens, s.q.data(), pool_);
        // K and V go straight into the cache rows of the new positions.
        float* k_rows = cache.k.data() + first_position * kv_dim;
        float* v_rows = cache.v.data() + first_position * kv_dim;
        ApplyLinear(lw.k, normed, tokens, k_rows, pool_);
        ApplyLinear(lw.v, normed, tokens, v_rows, pool_);
        rope_.Apply(s.q.data(), tokens, c_.num_heads, first_position);
        rope_.Apply(k_rows, tokens, c_.num_kv_heads, first_position);
        Attention(s.q.data(), cache.k.data(), cache.v.data(), tokens, first_position, c_.num_heads, c_.num_kv_heads,
                  c_.head_dim, s.attention.data(), s.scores);
        if (!TapContinues(s, TapPoint::kAttentionOutput, s.attention.data(), tokens)) return;
        ApplyLinear(lw.o, s.attention.data(), tokens, out, pool_);
    }

    void MlpPart(int64_t layer, const float* normed, int64_t tokens, Scratch& s, float* out) const override {
        const LayerWeights& lw = Layer(layer);
        if (!TapContinues(s, TapPoint::kMlpInput, normed, tokens)) return;
        ApplyLinear(lw.gate, normed, tokens, s.mlp_a.data(), pool_);
        ApplyLinear(lw.up, normed, tokens, s.mlp_b.data(), pool_);
        SiluMul(s.mlp_a.data(), s.mlp_b.data(), tokens * c_.intermediate_size);
        if (!TapContinues(s, TapPoint::kMlpHidden, s.mlp_a.data(), tokens)) return;
        ApplyLinear(lw.down, s.mlp_a.data(), tokens, out, pool_);
    }

    void FinalNorm(const float* x, int64_t rows, float* y) const override {
        RmsNorm(x, w_.final_norm, static_cast<float>(c_.norm_eps), rows, c_.hidden_size, y);
    }

private:
    const LayerWeights& Layer(int64_t layer) const { return w_.layers[static_cast<size_t>(layer)]; }

    const model::ModelConfig& c_;
    const ModelWeights& w_;
    ThreadPool& pool_;
    Rope rope_;
};

}  // namespace

std::unique_ptr<Architecture> MakeLlamaArchitecture(const model::ModelConfig& config, const ModelWeights& weights,
                                                    int64_t context, ThreadPool& pool) {
    return std::make_unique<Llama>(config, weights, context, pool);
}

}  // namespace tenpak::engine::internal
