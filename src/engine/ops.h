// The element-wise and attention operations of the forward pass, on F32 activations laid out
// row-major [tokens, features]. Plain loops: the compiler vectorises them, and they cost little
// next to the matrix products (which live in kernels/).
#pragma once

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "tenpak/core/thread_pool.h"
#include "weights.h"

namespace tenpak::engine::internal {

// y = x / sqrt(mean(x^2) + eps) * w, per row of `dim` values (LlamaRMSNorm).
void RmsNorm(const float* x, const Norm& norm, float eps, int64_t rows, int64_t dim, float* y);
// y = (x - mean) / sqrt(var + eps) * w + b, per row (torch.nn.LayerNorm).
void LayerNorm(const float* x, const Norm& norm, float eps, int64_t rows, int64_t dim, float* y);

// Rotary embeddings in HF's rotate_half layout: within each head of `head_dim` values, pair
// (i, i + head_dim/2) is rotated by position x inv_freq[i].
class Rope {
public:
    // inv_freq[i] = theta^(-2i / head_dim), optionally rescaled (Llama 3's "llama3" rope_scaling,
    // or "linear"); angles are computed in double, as a table for positions [0, context).
    Rope(int64_t head_dim, double theta, int64_t context, const nlohmann::json& rope_scaling);
    // x is [tokens, heads * head_dim]; token t is at position first_position + t.
    void Apply(float* x, int64_t tokens, int64_t heads, int64_t first_position) const;

private:
    int64_t half_;
    std::vector<float> cos_;  // [context, head_dim / 2]
    std::vector<float> sin_;
};

// Causal attention of `tokens` queries (positions first_position ...) over the KV cache rows
// [0, first_position + t] of one layer. q and out are [tokens, heads * head_dim]; the caches are
// [context, kv_heads * head_dim]. Heads share kv heads in groups (grouped-query attention).
// `scores` is scratch, resized as needed.
void Attention(const float* q, const float* k_cache, const float* v_cache, int64_t tokens, int64_t first_position,
               int64_t heads, int64_t kv_heads, int64_t head_dim, float* out, std::vector<float>& scores);

// a[i] = silu(a[i]) * b[i]  (SwiGLU)
void SiluMul(float* a, const float* b, int64_t n);
// a[i] = gelu_tanh(a[i])  (GPT-2's "gelu_new")
void GeluTanh(float* a, int64_t n);
// y[i] += x[i]
void AddInPlace(float* y, const float* x, int64_t n);
// Adds the bias to every row.
void AddBias(float* y, const std::vector<float>& bias, int64_t rows);
// The first index of a NaN or Inf, or -1.
int64_t FirstNonFinite(const float* x, int64_t n);

}  // namespace tenpak::engine::internal
