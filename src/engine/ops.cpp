#include "ops.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <cblas.h>

#include "tenpak/kernels/kernels.h"

namespace tenpak::engine::internal {

void RmsNorm(const float* x, const Norm& norm, float eps, int64_t rows, int64_t dim, float* y) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* in = x + r * dim;
        float* out = y + r * dim;
        float sum = 0;
        for (int64_t i = 0; i < dim; ++i) sum += in[i] * in[i];
        const float scale = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
        for (int64_t i = 0; i < dim; ++i) out[i] = in[i] * scale * norm.weight[static_cast<size_t>(i)];
    }
}

void LayerNorm(const float* x, const Norm& norm, float eps, int64_t rows, int64_t dim, float* y) {
    for (int64_t r = 0; r < rows; ++r) {
        const float* in = x + r * dim;
        float* out = y + r * dim;
        float mean = 0;
        for (int64_t i = 0; i < dim; ++i) mean += in[i];
        mean /= static_cast<float>(dim);
        float var = 0;
        for (int64_t i = 0; i < dim; ++i) var += (in[i] - mean) * (in[i] - mean);
        const float scale = 1.0f / std::sqrt(var / static_cast<float>(dim) + eps);
        for (int64_t i = 0; i < dim; ++i) {
            out[i] = (in[i] - mean) * scale * norm.weight[static_cast<size_t>(i)] + norm.bias[static_cast<size_t>(i)];
        }
    }
}

namespace {

// Llama 3.1's frequency-dependent rescaling (transformers' _compute_llama3_parameters).
double Llama3Scaled(double inv_freq, const nlohmann::json& s) {
    const double factor = s.value("factor", 8.0);
    const double low = s.value("low_freq_factor", 1.0);
    const double high = s.value("high_freq_factor", 4.0);
    const double original = s.value("original_max_position_embeddings", 8192.0);
    const double wavelen = 2 * std::numbers::pi / inv_freq;
    if (wavelen < original / high) return inv_freq;
    if (wavelen > original / low) return inv_freq / factor;
    const double smooth = (original / wavelen - low) / (high - low);
    return (1 - smooth) * inv_freq / factor + smooth * inv_freq;
}

}  // namespace

Rope::Rope(int64_t head_dim, double theta, int64_t context, const nlohmann::json& rope_scaling) : half_(head_dim / 2) {
    std::vector<double> inv_freq(static_cast<size_t>(half_));
    const std::string type = rope_scaling.is_object()
                                 ? rope_scaling.value("rope_type", rope_scaling.value("type", std::string("default")))
                                 : "default";
    for (int64_t i = 0; i < half_; ++i) {
        double f = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(head_dim));
        if (type == "linear") f /= rope_scaling.value("factor", 1.0);
        if (type == "llama3") f = Llama3Scaled(f, rope_scaling);
        inv_freq[static_cast<size_t>(i)] = f;
    }
    cos_.resize(static_cast<size_t>(context * half_));
    sin_.resize(cos_.size());
    for (int64_t p = 0; p < context; ++p) {
        for (int64_t i = 0; i < half_; ++i) {
            const double angle = static_cast<double>(p) * inv_freq[static_cast<size_t>(i)];
            cos_[static_cast<size_t>(p * half_ + i)] = static_cast<float>(std::cos(angle));
            sin_[static_cast<size_t>(p * half_ + i)] = static_cast<float>(std::sin(angle));
        }
    }
}

void Rope::Apply(float* x, int64_t tokens, int64_t heads, int64_t first_position) const {
    const int64_t head_dim = 2 * half_;
    for (int64_t t = 0; t < tokens; ++t) {
        const float* c = cos_.data() + (first_position + t) * half_;
        const float* s = sin_.data() + (first_position + t) * half_;
        for (int64_t h = 0; h < heads; ++h) {
            float* v = x + (t * heads + h) * head_dim;
            for (int64_t i = 0; i < half_; ++i) {
                const float a = v[i];
                const float b = v[i + half_];
                v[i] = a * c[i] - b * s[i];
                v[i + half_] = b * c[i] + a * s[i];
            }
        }
    }
}

void Attention(const float* q, const float* k_cache, const float* v_cache, int64_t tokens, int64_t first_position,
               int64_t heads, int64_t kv_heads, int64_t head_dim, float* out, std::vector<float>& scores) {
    // Per head, two sgemm calls over the cache rows [0, len): S = scale * Q_h K_g^T, then causal
    // mask and softmax of each row, then O_h = S V_g. The caches hold the kv heads side by side, so
    // a head's keys are a strided sub-matrix (ld = kv_dim) that sgemm reads in place. Heads run one
    // after another; OpenBLAS spreads each product over its threads.
    const int64_t group = heads / kv_heads;
    const int64_t kv_dim = kv_heads * head_dim;
    const int64_t q_dim = heads * head_dim;
    const int64_t len = first_position + tokens;
    const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
    scores.resize(static_cast<size_t>(tokens * len));
    const auto softmax = kernels::SelectedKernels().softmax_f32;
    for (int64_t h = 0; h < heads; ++h) {
        const float* k = k_cache + (h / group) * head_dim;
        const float* v = v_cache + (h / group) * head_dim;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(tokens), static_cast<int>(len),
                    static_cast<int>(head_dim), scale, q + h * head_dim, static_cast<int>(q_dim), k,
                    static_cast<int>(kv_dim), 0.0f, scores.data(), static_cast<int>(len));
        for (int64_t t = 0; t < tokens; ++t) {
            float* row = scores.data() + t * len;
            const int64_t visible = first_position + t + 1;  // causal: positions 0 .. own
            softmax(row, static_cast<size_t>(visible));
            std::fill(row + visible, row + len, 0.0f);
        }
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(tokens), static_cast<int>(head_dim),
                    static_cast<int>(len), 1.0f, scores.data(), static_cast<int>(len), v, static_cast<int>(kv_dim), 0.0f,
                    out + h * head_dim, static_cast<int>(q_dim));
    }
}

void SiluMul(float* a, const float* b, int64_t n) {
    for (int64_t i = 0; i < n; ++i) a[i] = a[i] / (1.0f + std::exp(-a[i])) * b[i];
}

void GeluTanh(float* a, int64_t n) {
    const float c = std::sqrt(2.0f / std::numbers::pi_v<float>);
    for (int64_t i = 0; i < n; ++i) {
        const float x = a[i];
        a[i] = 0.5f * x * (1.0f + std::tanh(c * (x + 0.044715f * x * x * x)));
    }
}

void AddInPlace(float* y, const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) y[i] += x[i];
}

void AddBias(float* y, const std::vector<float>& bias, int64_t rows) {
    const int64_t n = static_cast<int64_t>(bias.size());
    for (int64_t r = 0; r < rows; ++r) AddInPlace(y + r * n, bias.data(), n);
}

int64_t FirstNonFinite(const float* x, int64_t n) {
    for (int64_t i = 0; i < n; ++i) {
        if (!std::isfinite(x[i])) return i;
    }
    return -1;
}

}  // namespace tenpak::engine::internal
