#include "tenpak/model/model_spec.h"

#include <gtest/gtest.h>

#include <numeric>

#include "tenpak/model/tensor_layout.h"

namespace tenpak::model {
namespace {

const ModelSpec& Spec(std::string_view model_type) {
    const ModelSpec* spec = FindSpecByModelType(model_type, nullptr);
    EXPECT_NE(spec, nullptr) << model_type;
    return *spec;
}

TEST(ModelSpecTest, NamesMapBetweenConventions) {
    const ModelSpec& llama = Spec("llama");
    const struct {
        const char* hf;
        const char* gguf;
        const char* meta;
    } cases[] = {
        {"model.embed_tokens.weight", "token_embd.weight", "tok_embeddings.weight"},
        {"lm_head.weight", "output.weight", "output.weight"},
        {"model.layers.0.self_attn.q_proj.weight", "blk.0.attn_q.weight", "layers.0.attention.wq.weight"},
        {"model.layers.17.mlp.gate_proj.weight", "blk.17.ffn_gate.weight", "layers.17.feed_forward.w1.weight"},
        {"model.layers.3.mlp.down_proj.weight", "blk.3.ffn_down.weight", "layers.3.feed_forward.w2.weight"},
        {"model.layers.3.mlp.up_proj.weight", "blk.3.ffn_up.weight", "layers.3.feed_forward.w3.weight"},
        {"model.layers.2.post_attention_layernorm.weight", "blk.2.ffn_norm.weight", "layers.2.ffn_norm.weight"},
    };
    for (const auto& c : cases) {
        for (const auto& [from, name] : {std::pair{Naming::kHuggingFace, c.hf}, std::pair{Naming::kGguf, c.gguf},
                                         std::pair{Naming::kMeta, c.meta}}) {
            const std::optional<RoleMatch> m = MatchName(llama, name, from);
            ASSERT_TRUE(m.has_value()) << name;
            EXPECT_EQ(RoleName(*m->role, Naming::kHuggingFace, m->layer), c.hf);
            EXPECT_EQ(RoleName(*m->role, Naming::kGguf, m->layer), c.gguf);
            EXPECT_EQ(RoleName(*m->role, Naming::kMeta, m->layer), c.meta);
        }
    }
    EXPECT_FALSE(MatchName(llama, "model.layers.01.self_attn.q_proj.weight", Naming::kHuggingFace));
    EXPECT_FALSE(MatchName(llama, "model.layers.x.self_attn.q_proj.weight", Naming::kHuggingFace));
    EXPECT_FALSE(MatchName(llama, "model.layers..self_attn.q_proj.weight", Naming::kHuggingFace));
    EXPECT_FALSE(MatchName(llama, "rope_freqs.weight", Naming::kGguf));
}

TEST(ModelSpecTest, Gpt2AcceptsNamesWithoutTransformerPrefix) {
    const ModelSpec& gpt2 = Spec("gpt2");
    const std::optional<RoleMatch> m = MatchName(gpt2, "h.4.attn.c_attn.weight", Naming::kHuggingFace);
    ASSERT_TRUE(m.has_value());
    EXPECT_EQ(RoleName(*m->role, Naming::kHuggingFace, m->layer), "transformer.h.4.attn.c_attn.weight");
    EXPECT_TRUE(m->role->conv1d);
    EXPECT_EQ(RoleName(*m->role, Naming::kGguf, m->layer), "blk.4.attn_qkv.weight");
}

TEST(ModelSpecTest, LinearLayersInExecutionOrder) {
    const ModelSpec& llama = Spec("llama");
    std::vector<std::pair<int, std::string>> linear;
    for (const TensorRole& role : llama.roles) {
        if (role.is_linear()) linear.emplace_back(role.sequential_group, std::string(role.hf));
    }
    ASSERT_EQ(linear.size(), 7u);
    EXPECT_EQ(linear[0].first, 0);
    EXPECT_EQ(linear[3], (std::pair<int, std::string>{1, "model.layers.{i}.self_attn.o_proj.weight"}));
    EXPECT_EQ(linear[6], (std::pair<int, std::string>{3, "model.layers.{i}.mlp.down_proj.weight"}));
}

TEST(ModelSpecTest, ParameterCountOfStories260K) {
    ModelConfig c;
    c.vocab_size = 512;
    c.hidden_size = 64;
    c.intermediate_size = 172;
    c.num_layers = 5;
    c.num_heads = 8;
    c.num_kv_heads = 4;
    c.head_dim = 8;
    c.max_position_embeddings = 512;
    c.tie_word_embeddings = true;
    EXPECT_EQ(ExpectedParameterCount(Spec("llama"), c), 260032u);
    c.tie_word_embeddings = false;
    EXPECT_EQ(ExpectedParameterCount(Spec("llama"), c), 260032u + 512u * 64u);
}

TEST(ModelSpecTest, UnknownModelTypesAreListed) {
    EXPECT_EQ(FindSpecByModelType("falcon", nullptr), nullptr);
    EXPECT_EQ(SupportedModelTypes(), "llama, mistral, qwen2, gpt2");
}

TEST(TensorLayoutTest, RotaryPermutationMatchesConvertHfToGguf) {
    // One head of 4 rows, one byte per row: HF rows [a0 a1 | b0 b1] become [a0 b0 a1 b1].
    const std::vector<std::byte> hf = {std::byte{0}, std::byte{1}, std::byte{2}, std::byte{3}};
    std::vector<std::byte> inter(4);
    PermuteRotaryRows(hf, inter, 1, 1, RotaryDirection::kHfToInterleaved);
    EXPECT_EQ(inter, (std::vector<std::byte>{std::byte{0}, std::byte{2}, std::byte{1}, std::byte{3}}));
    // Inverse on a larger, multi-head, multi-byte case.
    std::vector<std::byte> src(6 * 8 * 3);
    std::iota(reinterpret_cast<uint8_t*>(src.data()), reinterpret_cast<uint8_t*>(src.data()) + src.size(), 0);
    std::vector<std::byte> mid(src.size()), back(src.size());
    PermuteRotaryRows(src, mid, 6, 3, RotaryDirection::kHfToInterleaved);
    EXPECT_NE(mid, src);
    PermuteRotaryRows(mid, back, 6, 3, RotaryDirection::kInterleavedToHf);
    EXPECT_EQ(back, src);
}

TEST(TensorLayoutTest, TransposeTwiceIsIdentity) {
    std::vector<float> m(7 * 45);
    std::iota(m.begin(), m.end(), 0.0f);
    std::vector<float> t(m.size()), back(m.size());
    auto bytes = [](std::vector<float>& v) { return std::span(reinterpret_cast<std::byte*>(v.data()), v.size() * 4); };
    Transpose2d(bytes(m), bytes(t), 7, 45, 4);
    EXPECT_EQ(t[1], 45.0f);                  // t[0][1] = m[1][0]
    EXPECT_EQ(t[7 * 3 + 2], 2 * 45.0f + 3);  // t[3][2] = m[2][3]
    Transpose2d(bytes(t), bytes(back), 45, 7, 4);
    EXPECT_EQ(back, m);
}

}  // namespace
}  // namespace tenpak::model
