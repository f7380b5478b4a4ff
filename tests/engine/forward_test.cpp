// The engine's logits against the plain double-precision reference forward pass, on generated
// models of every family, weight dtype and attention shape, in prefill and decode.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

#include "model_factory.h"
#include "reference_forward.h"
#include "tenpak/engine/engine.h"
#include "tenpak/io/safetensors.h"
#include "test_util.h"

namespace tenpak::engine {
namespace {
using testing::TempDir;

model::Model Open(const std::string& path) {
    Result<model::Model> m = model::OpenModel(path);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    return std::move(m).value();
}

struct Case {
    std::string name;
    std::function<void(const std::string&)> write;
};

std::vector<Case> Cases() {
    using testing::TinyGpt2;
    using testing::TinyLlama;
    auto llama = [](auto edit) {
        return [edit](const std::string& dir) {
            TinyLlama s;
            s.vocab = 96;
            s.hidden = 64;
            s.intermediate = 80;
            s.heads = 8;
            s.kv_heads = 2;
            s.layers = 3;
            edit(s);
            testing::WriteTinyLlama(dir, s);
        };
    };
    return {
        {"llama_gqa_untied", llama([](TinyLlama&) {})},
        {"llama_mha_tied", llama([](TinyLlama& s) {
             s.kv_heads = 8;
             s.tied = true;
         })},
        {"llama_f16", llama([](TinyLlama& s) { s.dtype = DType::kF16; })},
        {"llama_bf16_mqa", llama([](TinyLlama& s) {
             s.dtype = DType::kBF16;
             s.kv_heads = 1;
         })},
        {"qwen2_bias", llama([](TinyLlama& s) { s.model_type = "qwen2"; })},
        {"gpt2", [](const std::string& dir) { testing::WriteTinyGpt2(dir, TinyGpt2{}); }},
        {"gpt2_f16",
         [](const std::string& dir) {
             TinyGpt2 s;
             s.dtype = DType::kF16;
             testing::WriteTinyGpt2(dir, s);
         }},
    };
}

// Max |a - b| over every logit, relative to the largest reference logit.
double RelativeError(const std::vector<float>& engine, const std::vector<std::vector<double>>& reference,
                     size_t first_row) {
    double max_diff = 0, scale = 0;
    const size_t vocab = reference[0].size();
    for (size_t r = first_row; r < reference.size(); ++r) {
        for (size_t v = 0; v < vocab; ++v) {
            max_diff = std::max(max_diff, std::fabs(engine[(r - first_row) * vocab + v] - reference[r][v]));
            scale = std::max(scale, std::fabs(reference[r][v]));
        }
    }
    return max_diff / scale;
}

class ForwardTest : public ::testing::TestWithParam<std::tuple<int, size_t>> {};

// F32 arithmetic with different summation orders than the double reference: errors of a few
// 1e-6 relative per operation, compounded over 3 layers; 1e-4 leaves room and still catches any
// real mistake (a wrong rotary pair, a missing bias or scale changes logits by O(1)).
constexpr double kTolerance = 1e-4;

TEST_P(ForwardTest, LogitsMatchReferenceInPrefillAndDecode) {
    const Case c = Cases()[static_cast<size_t>(std::get<0>(GetParam()))];
    const size_t threads = std::get<1>(GetParam());
    TempDir dir;
    c.write(dir.File("m"));
    const model::Model m = Open(dir.File("m"));
    std::vector<int32_t> tokens = {1, 5, 17, 42, 8, 63, 2, 30, 11, 7};
    const std::vector<std::vector<double>> reference = testing::ReferenceLogits(m, tokens);

    auto engine = Engine::Create(m, EngineOptions{threads, 32, true});
    ASSERT_TRUE(engine.ok()) << engine.status().ToString();
    // All at once (prefill), every position's logits.
    std::vector<float> logits;
    ASSERT_TRUE((*engine)->Forward(tokens, 0, logits).ok());
    EXPECT_LT(RelativeError(logits, reference, 0), kTolerance) << c.name;

    // 6 tokens of prefill, then one at a time (decode through the KV cache).
    (*engine)->Reset();
    ASSERT_TRUE((*engine)->Forward(std::span(tokens).first(6), 5, logits).ok());
    EXPECT_LT(RelativeError(logits, {reference.begin(), reference.begin() + 6}, 5), kTolerance);
    for (size_t t = 6; t < tokens.size(); ++t) {
        ASSERT_TRUE((*engine)->Forward(std::span(tokens).subspan(t, 1), 0, logits).ok());
        EXPECT_LT(RelativeError(logits, {reference.begin(), reference.begin() + t + 1}, t), kTolerance)
            << c.name << " position " << t;
    }
    EXPECT_EQ((*engine)->position(), 10);
}

INSTANTIATE_TEST_SUITE_P(Models, ForwardTest, ::testing::Combine(::testing::Range(0, 7), ::testing::Values(1, 3)),
                         [](const ::testing::TestParamInfo<std::tuple<int, size_t>>& p) {
                             return Cases()[static_cast<size_t>(std::get<0>(p.param))].name + "_threads" +
                                    std::to_string(std::get<1>(p.param));
                         });

TEST(EngineTest, RejectsOverflowAndBadTokens) {
    TempDir dir;
    testing::WriteTinyLlama(dir.File("m"), testing::TinyLlama{});
    const model::Model m = Open(dir.File("m"));
    auto engine = Engine::Create(m, EngineOptions{1, 8, false});
    ASSERT_TRUE(engine.ok());
    std::vector<float> logits;
    std::vector<int32_t> nine(9, 3);
    Status s = (*engine)->Forward(nine, 8, logits);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("holds 8 tokens"), std::string::npos) << s.message();
    std::vector<int32_t> bad = {1, 64};
    s = (*engine)->Forward(bad, 1, logits);
    EXPECT_NE(s.message().find("token id 64 is outside the vocabulary (64)"), std::string::npos) << s.message();
}

TEST(EngineTest, CheckNumericsNamesTheLayer) {
    TempDir dir;
    testing::WriteTinyLlama(dir.File("m"), testing::TinyLlama{});
    // Poison layer 1's post-attention norm weight with NaN, in the file itself.
    const std::string path = dir.File("m/model.safetensors");
    std::string bytes = testing::ReadFile(path);
    auto header =
        io::ParseSafetensorsHeader(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()), path);
    ASSERT_TRUE(header.ok());
    for (size_t i = 0; i < header->tensors.size(); ++i) {
        if (header->tensors[i].name != "model.layers.1.post_attention_layernorm.weight") continue;
        const float nan = NAN;
        std::memcpy(bytes.data() + header->offsets[i] + 8, &nan, 4);
    }
    testing::WriteFile(path, bytes);
    const model::Model m = Open(dir.File("m"));
    auto engine = Engine::Create(m, EngineOptions{1, 16, true});
    ASSERT_TRUE(engine.ok());
    std::vector<float> logits;
    std::vector<int32_t> tokens = {1, 2, 3};
    Status s = (*engine)->Forward(tokens, 2, logits);
    EXPECT_EQ(s.code(), StatusCode::kInternal);
    EXPECT_NE(s.message().find("after layer 1"), std::string::npos) << s.message();
    auto unchecked = Engine::Create(m, EngineOptions{1, 16, false});
    ASSERT_TRUE(unchecked.ok());
    EXPECT_TRUE((*unchecked)->Forward(tokens, 2, logits).ok());
}

TEST(EngineTest, UnsupportedArchitectureIsNamed) {
    TempDir dir;
    testing::WriteTinyLlama(dir.File("m"), testing::TinyLlama{});
    model::Model m = Open(dir.File("m"));
    m.config.architecture = "mamba";
    auto engine = Engine::Create(m, EngineOptions{});
    ASSERT_FALSE(engine.ok());
    EXPECT_EQ(engine.status().code(), StatusCode::kUnsupported);
    EXPECT_NE(engine.status().message().find("'mamba' (supported: llama, mistral, qwen2, gpt2)"), std::string::npos);
}

}  // namespace
}  // namespace tenpak::engine
