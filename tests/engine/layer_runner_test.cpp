// The calibration runner (tenpak/engine/layer_runner.h): blocks run one at a time give the
// reference forward's logits, the taps see each linear group's input in order, the halves compose
// into the block, and changed weights are what the block then uses.
#include "tenpak/engine/layer_runner.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "model_factory.h"
#include "reference_forward.h"
#include "test_util.h"

namespace tenpak::engine {
namespace {

using testing::TempDir;

struct Fixture {
    TempDir dir;
    testing::TinyLlama spec;
    std::unique_ptr<model::Model> model;
    ThreadPool pool{2};
    std::unique_ptr<LayerRunner> runner;

    explicit Fixture(int64_t window) {
        spec.vocab = 96;
        spec.hidden = 64;
        spec.intermediate = 80;
        spec.heads = 8;
        spec.kv_heads = 2;
        spec.layers = 3;
        testing::WriteTinyLlama(dir.path(), spec);
        auto m = model::OpenModel(dir.path());
        if (!m.ok()) throw std::runtime_error(m.status().ToString());
        model = std::make_unique<model::Model>(std::move(m).value());
        auto r = LayerRunner::Create(*model, window, pool);
        if (!r.ok()) throw std::runtime_error(r.status().ToString());
        runner = std::move(r).value();
    }

    std::vector<float> F32Tensor(const std::string& name) const {
        const io::TensorInfo* info = model->tensors->Find(name);
        if (info == nullptr) throw std::runtime_error("no " + name);
        auto data = model->tensors->Read(*info);
        if (!data.ok() || info->dtype != DType::kF32) throw std::runtime_error("cannot read " + name);
        std::vector<float> out(info->NumElements());
        std::memcpy(out.data(), data->data(), out.size() * sizeof(float));
        return out;
    }
};

std::vector<int32_t> Tokens(int64_t n, int64_t vocab) {
    std::vector<int32_t> t(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) t[i] = static_cast<int32_t>((i * 37 + 11) % vocab);
    return t;
}

// LlamaRMSNorm in double.
std::vector<double> RmsNorm(const float* x, const std::vector<float>& w, int64_t dim, double eps) {
    double ss = 0.0;
    for (int64_t i = 0; i < dim; ++i) ss += static_cast<double>(x[i]) * x[i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(dim) + eps);
    std::vector<double> y(static_cast<size_t>(dim));
    for (int64_t i = 0; i < dim; ++i) y[i] = x[i] * inv * w[i];
    return y;
}

TEST(LayerRunnerTest, BlocksRunOneAtATimeGiveTheReferenceLogits) {
    constexpr int64_t kWindow = 8;
    Fixture f(kWindow);
    const int64_t hidden = f.spec.hidden;
    const std::vector<int32_t> tokens = Tokens(2 * kWindow, f.spec.vocab);
    std::vector<float> x(tokens.size() * hidden);
    ASSERT_TRUE(f.runner->Embed(tokens, x.data()).ok());
    for (int64_t layer = 0; layer < f.runner->layers(); ++layer) {
        ASSERT_TRUE(f.runner->Load(layer).ok());
        f.runner->Run(x.data(), static_cast<int64_t>(tokens.size()));
    }
    const std::vector<float> norm = f.F32Tensor("model.norm.weight");
    const std::vector<float> head = f.F32Tensor("lm_head.weight");
    // Each window is its own sequence, positions from 0.
    for (int64_t w = 0; w < 2; ++w) {
        const std::vector<int32_t> window(tokens.begin() + w * kWindow, tokens.begin() + (w + 1) * kWindow);
        const auto reference = testing::ReferenceLogits(*f.model, window);
        for (int64_t t = 0; t < kWindow; ++t) {
            const std::vector<double> n = RmsNorm(x.data() + (w * kWindow + t) * hidden, norm, hidden, 1e-5);
            for (int64_t v = 0; v < f.spec.vocab; ++v) {
                double logit = 0.0;
                for (int64_t i = 0; i < hidden; ++i) logit += n[i] * head[v * hidden + i];
                ASSERT_NEAR(logit, reference[t][v], 2e-3 * (1.0 + std::abs(reference[t][v])))
                    << "window " << w << " token " << t << " vocab " << v;
            }
        }
    }
}

TEST(LayerRunnerTest, TapsSeeEachGroupsInputInOrderAndTheHalvesComposeIntoTheBlock) {
    constexpr int64_t kWindow = 8;
    Fixture f(kWindow);
    const int64_t hidden = f.spec.hidden;
    const int64_t n = 2 * kWindow;
    std::vector<float> x(n * hidden);
    ASSERT_TRUE(f.runner->Embed(Tokens(n, f.spec.vocab), x.data()).ok());
    ASSERT_TRUE(f.runner->Load(1).ok());

    const std::vector<BlockLinear> linears = f.runner->Linears();
    ASSERT_EQ(linears.size(), 7u);
    EXPECT_EQ(linears[0].name, "model.layers.1.self_attn.q_proj.weight");
    EXPECT_EQ(linears[6].name, "model.layers.1.mlp.down_proj.weight");
    EXPECT_EQ(linears[6].input, TapPoint::kMlpHidden);
    EXPECT_EQ(linears[6].cols, f.spec.intermediate);
    const std::vector<BlockNorm> norms = f.runner->Norms();
    ASSERT_EQ(norms.size(), 2u);
    EXPECT_EQ(norms[1].name, "model.layers.1.post_attention_layernorm.weight");

    // Every point, in order, with its width; x untouched.
    std::vector<std::vector<float>> seen(kTapPoints);
    std::vector<int> order;
    const std::vector<float> before = x;
    f.runner->Observe(x.data(), n, [&](TapPoint p, const float* a, int64_t tokens) {
        const int64_t width = p == TapPoint::kMlpHidden ? f.spec.intermediate : hidden;
        EXPECT_EQ(tokens, kWindow);
        seen[static_cast<int>(p)].insert(seen[static_cast<int>(p)].end(), a, a + tokens * width);
        order.push_back(static_cast<int>(p));
        return true;
    });
    EXPECT_EQ(x, before);
    EXPECT_EQ(order, (std::vector<int>{0, 1, 2, 3, 0, 1, 2, 3}));  // two windows

    // A tap that says stop ends the window there.
    order.clear();
    f.runner->Observe(x.data(), n, [&](TapPoint p, const float*, int64_t) {
        order.push_back(static_cast<int>(p));
        return p != TapPoint::kAttentionOutput;
    });
    EXPECT_EQ(order, (std::vector<int>{0, 1, 0, 1}));

    // x + attention(norm x) gives the residual whose norm the MLP reads; + mlp gives the block.
    std::vector<float> attention(n * hidden);
    f.runner->AttentionPart(seen[0].data(), n, attention.data());
    std::vector<float> h = x;
    for (size_t i = 0; i < h.size(); ++i) h[i] += attention[i];
    const std::vector<float> mlp_norm(norms[1].weight.begin(), norms[1].weight.end());
    for (int64_t t = 0; t < n; ++t) {
        const std::vector<double> expected = RmsNorm(h.data() + t * hidden, mlp_norm, hidden, 1e-5);
        for (int64_t i = 0; i < hidden; ++i) ASSERT_NEAR(seen[2][t * hidden + i], expected[i], 1e-4);
    }
    std::vector<float> mlp(n * hidden);
    f.runner->MlpPart(seen[2].data(), n, mlp.data());
    std::vector<float> block = x;
    f.runner->Run(block.data(), n);
    for (size_t i = 0; i < block.size(); ++i) ASSERT_NEAR(block[i], h[i] + mlp[i], 1e-4) << i;
}

TEST(LayerRunnerTest, ChangedWeightsAreWhatTheBlockUses) {
    constexpr int64_t kWindow = 4;
    Fixture f(kWindow);
    std::vector<float> x(kWindow * f.spec.hidden);
    ASSERT_TRUE(f.runner->Embed(Tokens(kWindow, f.spec.vocab), x.data()).ok());
    ASSERT_TRUE(f.runner->Load(0).ok());
    for (BlockLinear& l : f.runner->Linears()) {
        if (l.name.ends_with("o_proj.weight")) std::fill(l.weight.begin(), l.weight.end(), 0.0f);
    }
    std::vector<float> attention(x.size(), 1.0f);
    std::vector<float> normed(x.size(), 0.5f);
    f.runner->AttentionPart(normed.data(), kWindow, attention.data());
    for (float v : attention) ASSERT_EQ(v, 0.0f);
}

TEST(LayerRunnerTest, RefusesWindowsBadTokensAndQuantizedModels) {
    Fixture f(4);
    std::vector<float> x(8 * f.spec.hidden);
    EXPECT_FALSE(f.runner->Embed(Tokens(6, f.spec.vocab), x.data()).ok());  // not whole windows
    std::vector<int32_t> bad = Tokens(4, f.spec.vocab);
    bad[2] = static_cast<int32_t>(f.spec.vocab);
    const Status s = f.runner->Embed(bad, x.data());
    EXPECT_FALSE(s.ok());
    EXPECT_NE(s.message().find("outside the vocabulary"), std::string::npos) << s.ToString();
    EXPECT_FALSE(f.runner->Load(3).ok());
    EXPECT_FALSE(LayerRunner::Create(*f.model, 0, f.pool).ok());
}

}  // namespace
}  // namespace tenpak::engine
