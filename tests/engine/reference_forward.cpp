#include "reference_forward.h"

#include <cmath>
#include <numbers>
#include <stdexcept>
#include <string>

#include "tenpak/core/cast.h"

namespace tenpak::testing {
namespace {

using Matrix = std::vector<std::vector<double>>;  // [rows][cols]

std::vector<double> Load(const model::Model& m, const std::string& name) {
    const io::TensorInfo* info = m.tensors->Find(name);
    if (info == nullptr) throw std::runtime_error("reference: missing " + name);
    auto data = m.tensors->Read(*info);
    std::vector<float> f(info->NumElements());
    if (!CastTensor(info->dtype, data->bytes(), DType::kF32, {reinterpret_cast<std::byte*>(f.data()), f.size() * 4},
                    f.size())
             .ok()) {
        throw std::runtime_error("reference: cannot read " + name);
    }
    return {f.begin(), f.end()};
}

bool Has(const model::Model& m, const std::string& name) {
    return m.tensors->Find(name) != nullptr;
}

// y = W x with W [out][in] stored row-major (nn.Linear).
std::vector<double> Linear(const std::vector<double>& w, const std::vector<double>& x, size_t out) {
    const size_t in = x.size();
    std::vector<double> y(out, 0.0);
    for (size_t o = 0; o < out; ++o) {
        for (size_t i = 0; i < in; ++i) y[o] += w[o * in + i] * x[i];
    }
    return y;
}

// y = x W with W [in][out] (Conv1D).
std::vector<double> Conv1D(const std::vector<double>& w, const std::vector<double>& x, size_t out) {
    std::vector<double> y(out, 0.0);
    for (size_t i = 0; i < x.size(); ++i) {
        for (size_t o = 0; o < out; ++o) y[o] += x[i] * w[i * out + o];
    }
    return y;
}

void Add(std::vector<double>& y, const std::vector<double>& x) {
    for (size_t i = 0; i < y.size(); ++i) y[i] += x[i];
}

std::vector<double> RmsNorm(const std::vector<double>& x, const std::vector<double>& w, double eps) {
    double ms = 0;
    for (double v : x) ms += v * v;
    ms /= static_cast<double>(x.size());
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] / std::sqrt(ms + eps) * w[i];
    return y;
}

std::vector<double> LayerNorm(const std::vector<double>& x, const std::vector<double>& w, const std::vector<double>& b,
                              double eps) {
    double mean = 0;
    for (double v : x) mean += v;
    mean /= static_cast<double>(x.size());
    double var = 0;
    for (double v : x) var += (v - mean) * (v - mean);
    var /= static_cast<double>(x.size());
    std::vector<double> y(x.size());
    for (size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + eps) * w[i] + b[i];
    return y;
}

// transformers' apply_rotary_pos_emb: x * cos + rotate_half(x) * sin, per head.
void Rotate(std::vector<double>& x, size_t heads, size_t head_dim, size_t pos, double theta) {
    const size_t half = head_dim / 2;
    for (size_t h = 0; h < heads; ++h) {
        double* v = x.data() + h * head_dim;
        for (size_t i = 0; i < half; ++i) {
            const double angle = static_cast<double>(pos) * std::pow(theta, -2.0 * i / static_cast<double>(head_dim));
            const double a = v[i], b = v[i + half];
            v[i] = a * std::cos(angle) - b * std::sin(angle);
            v[i + half] = b * std::cos(angle) + a * std::sin(angle);
        }
    }
}

// softmax(q k^T / sqrt(d)) v over positions 0..t for every head; kv heads shared in groups.
std::vector<double> Attend(const std::vector<double>& q, const Matrix& keys, const Matrix& values, size_t heads,
                           size_t kv_heads, size_t head_dim) {
    std::vector<double> out(heads * head_dim, 0.0);
    const size_t group = heads / kv_heads;
    for (size_t h = 0; h < heads; ++h) {
        const size_t g = h / group;
        std::vector<double> scores(keys.size());
        double max_score = -1e300;
        for (size_t j = 0; j < keys.size(); ++j) {
            double s = 0;
            for (size_t i = 0; i < head_dim; ++i) s += q[h * head_dim + i] * keys[j][g * head_dim + i];
            scores[j] = s / std::sqrt(static_cast<double>(head_dim));
            max_score = std::max(max_score, scores[j]);
        }
        double sum = 0;
        for (double& s : scores) sum += (s = std::exp(s - max_score));
        for (size_t j = 0; j < keys.size(); ++j) {
            for (size_t i = 0; i < head_dim; ++i)
                out[h * head_dim + i] += scores[j] / sum * values[j][g * head_dim + i];
        }
    }
    return out;
}

Matrix LlamaLogits(const model::Model& m, const std::vector<int32_t>& tokens) {
    const model::ModelConfig& c = m.config;
    const size_t hidden = c.hidden_size, hd = c.head_dim, heads = c.num_heads, kvh = c.num_kv_heads;
    const std::vector<double> embed = Load(m, "model.embed_tokens.weight");
    const std::vector<double> head = Has(m, "lm_head.weight") ? Load(m, "lm_head.weight") : embed;
    std::vector<Matrix> keys(c.num_layers), values(c.num_layers);
    Matrix logits;
    for (size_t t = 0; t < tokens.size(); ++t) {
        std::vector<double> x(embed.begin() + tokens[t] * hidden, embed.begin() + (tokens[t] + 1) * hidden);
        for (int64_t l = 0; l < c.num_layers; ++l) {
            const std::string p = "model.layers." + std::to_string(l) + ".";
            const std::vector<double> n = RmsNorm(x, Load(m, p + "input_layernorm.weight"), c.norm_eps);
            std::vector<double> q = Linear(Load(m, p + "self_attn.q_proj.weight"), n, heads * hd);
            std::vector<double> k = Linear(Load(m, p + "self_attn.k_proj.weight"), n, kvh * hd);
            std::vector<double> v = Linear(Load(m, p + "self_attn.v_proj.weight"), n, kvh * hd);
            if (c.qkv_bias) {
                Add(q, Load(m, p + "self_attn.q_proj.bias"));
                Add(k, Load(m, p + "self_attn.k_proj.bias"));
                Add(v, Load(m, p + "self_attn.v_proj.bias"));
            }
            Rotate(q, heads, hd, t, c.rope_theta);
            Rotate(k, kvh, hd, t, c.rope_theta);
            keys[l].push_back(k);
            values[l].push_back(v);
            Add(x,
                Linear(Load(m, p + "self_attn.o_proj.weight"), Attend(q, keys[l], values[l], heads, kvh, hd), hidden));
            const std::vector<double> n2 = RmsNorm(x, Load(m, p + "post_attention_layernorm.weight"), c.norm_eps);
            std::vector<double> g = Linear(Load(m, p + "mlp.gate_proj.weight"), n2, c.intermediate_size);
            const std::vector<double> u = Linear(Load(m, p + "mlp.up_proj.weight"), n2, c.intermediate_size);
            for (size_t i = 0; i < g.size(); ++i) g[i] = g[i] / (1 + std::exp(-g[i])) * u[i];
            Add(x, Linear(Load(m, p + "mlp.down_proj.weight"), g, hidden));
        }
        logits.push_back(Linear(head, RmsNorm(x, Load(m, "model.norm.weight"), c.norm_eps), c.vocab_size));
    }
    return logits;
}

Matrix Gpt2Logits(const model::Model& m, const std::vector<int32_t>& tokens) {
    const model::ModelConfig& c = m.config;
    const size_t hidden = c.hidden_size, hd = c.head_dim, heads = c.num_heads;
    const std::vector<double> wte = Load(m, "transformer.wte.weight");
    const std::vector<double> wpe = Load(m, "transformer.wpe.weight");
    std::vector<Matrix> keys(c.num_layers), values(c.num_layers);
    Matrix logits;
    for (size_t t = 0; t < tokens.size(); ++t) {
        std::vector<double> x(hidden);
        for (size_t i = 0; i < hidden; ++i) x[i] = wte[tokens[t] * hidden + i] + wpe[t * hidden + i];
        for (int64_t l = 0; l < c.num_layers; ++l) {
            const std::string p = "transformer.h." + std::to_string(l) + ".";
            const std::vector<double> n =
                LayerNorm(x, Load(m, p + "ln_1.weight"), Load(m, p + "ln_1.bias"), c.norm_eps);
            std::vector<double> qkv = Conv1D(Load(m, p + "attn.c_attn.weight"), n, 3 * hidden);
            Add(qkv, Load(m, p + "attn.c_attn.bias"));
            const std::vector<double> q(qkv.begin(), qkv.begin() + hidden);
            keys[l].emplace_back(qkv.begin() + hidden, qkv.begin() + 2 * hidden);
            values[l].emplace_back(qkv.begin() + 2 * hidden, qkv.end());
            std::vector<double> a =
                Conv1D(Load(m, p + "attn.c_proj.weight"), Attend(q, keys[l], values[l], heads, heads, hd), hidden);
            Add(a, Load(m, p + "attn.c_proj.bias"));
            Add(x, a);
            const std::vector<double> n2 =
                LayerNorm(x, Load(m, p + "ln_2.weight"), Load(m, p + "ln_2.bias"), c.norm_eps);
            std::vector<double> h = Conv1D(Load(m, p + "mlp.c_fc.weight"), n2, c.intermediate_size);
            Add(h, Load(m, p + "mlp.c_fc.bias"));
            for (double& v : h) {
                v = 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
            }
            std::vector<double> o = Conv1D(Load(m, p + "mlp.c_proj.weight"), h, hidden);
            Add(o, Load(m, p + "mlp.c_proj.bias"));
            Add(x, o);
        }
        const std::vector<double> f =
            LayerNorm(x, Load(m, "transformer.ln_f.weight"), Load(m, "transformer.ln_f.bias"), c.norm_eps);
        logits.push_back(Linear(wte, f, c.vocab_size));
    }
    return logits;
}

}  // namespace

std::vector<std::vector<double>> ReferenceLogits(const model::Model& model, const std::vector<int32_t>& tokens) {
    return model.config.architecture == "gpt2" ? Gpt2Logits(model, tokens) : LlamaLogits(model, tokens);
}

}  // namespace tenpak::testing
