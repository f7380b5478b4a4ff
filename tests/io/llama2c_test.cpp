#include "tenpak/io/llama2c.h"

#include <gtest/gtest.h>

#include <cstring>

#include "tenpak/io/vocab.h"
#include "test_util.h"

namespace tenpak::io {
namespace {
using ::tenpak::testing::TempDir;

struct Dims {
    int32_t dim = 16, hidden = 24, layers = 2, heads = 4, kv_heads = 2, vocab = 32, seq_len = 8;
};

void AppendI32(std::string& out, int32_t v) {
    out.append(reinterpret_cast<const char*>(&v), 4);
}

// Appends `count` floats tagged with `tag` (value = tag + i / 1e4) and records the tag per tensor.
void AppendArray(std::string& out, uint64_t count, float tag) {
    for (uint64_t i = 0; i < count; ++i) {
        const float v = tag + static_cast<float>(i) / 1e4f;
        out.append(reinterpret_cast<const char*>(&v), 4);
    }
}

// Builds a checkpoint image in the given layout; each array's tag is its position in file order.
std::string MakeCheckpoint(const Dims& d, int version, bool shared, bool freq_cis) {
    std::string out;
    const int32_t head = d.dim / d.heads;
    const int64_t kv_dim = static_cast<int64_t>(d.kv_heads) * head;
    if (version == 1) {
        AppendI32(out, static_cast<int32_t>(kLlama2cMagic));
        AppendI32(out, 1);
    }
    for (int32_t v :
         {d.dim, d.hidden, d.layers, d.heads, d.kv_heads, shared || version == 1 ? d.vocab : -d.vocab, d.seq_len}) {
        AppendI32(out, v);
    }
    if (version == 1) {
        out.push_back(shared ? 1 : 0);
        out.resize(256, '\0');
    }
    const uint64_t L = static_cast<uint64_t>(d.layers), D = static_cast<uint64_t>(d.dim);
    const uint64_t H = static_cast<uint64_t>(d.hidden), V = static_cast<uint64_t>(d.vocab);
    const uint64_t K = static_cast<uint64_t>(kv_dim);
    float tag = 1;
    if (version == 0) {
        for (uint64_t n :
             {V * D, L * D, L * D * D, L * K * D, L * K * D, L * D * D, L * D, L * H * D, L * D * H, L * H * D, D}) {
            AppendArray(out, n, tag++);
        }
        if (freq_cis) AppendArray(out, static_cast<uint64_t>(d.seq_len) * head, 99);
    } else {
        for (uint64_t n :
             {L * D, L * D, D, V * D, L * D * D, L * K * D, L * K * D, L * D * D, L * H * D, L * D * H, L * H * D}) {
            AppendArray(out, n, tag++);
        }
    }
    if (!shared) AppendArray(out, V * D, 50);
    return out;
}

float FirstValue(const Llama2cReader& reader, const std::string& name) {
    auto data = reader.Read(std::string_view(name));
    EXPECT_TRUE(data.ok()) << name;
    if (!data.ok()) return -1;
    return data->as<float>()[0];
}

TEST(Llama2cTest, ReadsBundledStories260K) {
    auto reader = Llama2cReader::Open(testing::SharedData("stories260K/stories260K.bin"));
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    const Llama2cHeader& h = (*reader)->header();
    EXPECT_EQ(h.dim, 64);
    EXPECT_EQ(h.hidden_dim, 172);
    EXPECT_EQ(h.n_layers, 5);
    EXPECT_EQ(h.n_heads, 8);
    EXPECT_EQ(h.n_kv_heads, 4);
    EXPECT_EQ(h.vocab_size, 512);
    EXPECT_EQ(h.seq_len, 512);
    EXPECT_TRUE(h.shared_classifier);
    EXPECT_TRUE(h.has_freq_cis);
    EXPECT_EQ(h.version, 0);
    uint64_t params = 0;
    for (const TensorInfo& info : (*reader)->tensors()) params += info.NumElements();
    EXPECT_EQ(params, 260032u);  // the README's count
    const TensorInfo* wk = (*reader)->Find("layers.4.attention.wk.weight");
    ASSERT_NE(wk, nullptr);
    EXPECT_EQ(wk->shape, (std::vector<int64_t>{32, 64}));
}

struct LayoutCase {
    int version;
    bool shared;
    bool freq_cis;
};

class Llama2cLayoutTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(Llama2cLayoutTest, FindsEveryArray) {
    const LayoutCase c = GetParam();
    const Dims d;
    TempDir dir;
    const std::string path = dir.File("m.bin");
    testing::WriteFile(path, MakeCheckpoint(d, c.version, c.shared, c.freq_cis));
    auto reader = Llama2cReader::Open(path);
    ASSERT_TRUE(reader.ok()) << reader.status().ToString();
    EXPECT_EQ((*reader)->header().version, c.version);
    EXPECT_EQ((*reader)->header().shared_classifier, c.shared);
    EXPECT_EQ((*reader)->header().has_freq_cis, c.freq_cis);
    const Llama2cReader& r = **reader;
    // Tags follow each layout's file order; per-layer arrays continue from layer 0 to layer 1.
    if (c.version == 0) {
        EXPECT_FLOAT_EQ(FirstValue(r, "tok_embeddings.weight"), 1);
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.attention_norm.weight"), 2);
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.attention.wq.weight"), 3);
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.attention.wv.weight"), 5);
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.feed_forward.w2.weight"), 9);
        EXPECT_FLOAT_EQ(FirstValue(r, "norm.weight"), 11);
    } else {
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.attention_norm.weight"), 1);
        EXPECT_FLOAT_EQ(FirstValue(r, "norm.weight"), 3);
        EXPECT_FLOAT_EQ(FirstValue(r, "tok_embeddings.weight"), 4);
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.attention.wk.weight"), 6);
        EXPECT_FLOAT_EQ(FirstValue(r, "layers.0.feed_forward.w3.weight"), 11);
    }
    // Layer 1's wq follows layer 0's (dim x dim floats later).
    const float step = static_cast<float>(d.dim * d.dim) / 1e4f;
    EXPECT_NEAR(FirstValue(r, "layers.1.attention.wq.weight") - FirstValue(r, "layers.0.attention.wq.weight"), step,
                1e-3);
    if (c.shared) {
        EXPECT_EQ(r.Find("output.weight"), nullptr);
    } else {
        EXPECT_FLOAT_EQ(FirstValue(r, "output.weight"), 50);
    }
}

INSTANTIATE_TEST_SUITE_P(Layouts, Llama2cLayoutTest,
                         ::testing::Values(LayoutCase{0, true, true}, LayoutCase{0, true, false},
                                           LayoutCase{0, false, true}, LayoutCase{0, false, false},
                                           LayoutCase{1, true, false}, LayoutCase{1, false, false}));

Result<Llama2cHeader> ParseImage(const std::string& image) {
    return ParseLlama2cHeader(std::span(reinterpret_cast<const std::byte*>(image.data()), image.size()), "x.bin");
}

TEST(Llama2cTest, RejectsImpossibleHeaders) {
    const Dims d;
    const std::string good = MakeCheckpoint(d, 0, true, true);
    ASSERT_TRUE(ParseImage(good).ok());
    auto with_field = [&](int index, int32_t value) {
        std::string image = good;
        std::memcpy(image.data() + 4 * index, &value, 4);
        return image;
    };
    const struct {
        int field;
        int32_t value;
        const char* fragment;
    } cases[] = {
        {0, 0, "dim = 0"},        {0, -64, "dim = -64"},        {0, 1 << 30, "dim = 1073741824"},
        {2, 100000, "n_layers"},  {3, 3, "not an even head"},   {4, 3, "not a multiple of n_kv_heads"},
        {4, 0, "n_kv_heads = 0"}, {5, INT32_MIN, "vocab_size"}, {6, -1, "seq_len = -1"},
        {1, 25, "takes"},
    };
    for (const auto& c : cases) {
        Result<Llama2cHeader> r = ParseImage(with_field(c.field, c.value));
        ASSERT_FALSE(r.ok()) << c.fragment;
        EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
        EXPECT_NE(r.status().message().find("x.bin"), std::string::npos);
        EXPECT_NE(r.status().message().find(c.fragment), std::string::npos) << r.status().message();
    }
    EXPECT_FALSE(ParseImage("tiny").ok());
    for (size_t cut : {size_t{27}, size_t{28}, good.size() / 2, good.size() - 1}) {
        Result<Llama2cHeader> r = ParseImage(good.substr(0, cut));
        ASSERT_FALSE(r.ok()) << cut;
        EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
    }
    std::string v2 = MakeCheckpoint(d, 1, true, false);
    const int32_t two = 2;
    std::memcpy(v2.data() + 4, &two, 4);
    Result<Llama2cHeader> r = ParseImage(v2);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kUnsupported);
}

TEST(Llama2cTokenizerTest, MatchesSentencePieceModel) {
    auto bin = ReadLlama2cTokenizer(testing::SharedData("stories260K/tok512.bin"));
    ASSERT_TRUE(bin.ok()) << bin.status().ToString();
    const std::string model = testing::ReadFile(testing::SharedData("stories260K/tok512.model"));
    auto sp = VocabFromSentencePiece(model, "tok512.model");
    ASSERT_TRUE(sp.ok()) << sp.status().ToString();
    ASSERT_EQ(bin->size(), 512u);
    EXPECT_EQ(bin->tokens, sp->tokens);
    EXPECT_EQ(bin->scores, sp->scores);
    EXPECT_EQ(bin->types, sp->types);
    EXPECT_EQ(bin->bos_id, 1);
    EXPECT_EQ(bin->eos_id, 2);
    EXPECT_EQ(bin->unk_id, 0);
    EXPECT_EQ(sp->bos_id, 1);
    EXPECT_EQ(bin->tokens[259], "\xE2\x96\x81t");  // "▁t"
}

TEST(Llama2cTokenizerTest, RejectsTruncatedTokenizer) {
    const std::string bytes = testing::ReadFile(testing::SharedData("stories260K/tok512.bin"));
    TempDir dir;
    for (size_t cut : {size_t{2}, size_t{9}, bytes.size() - 1}) {
        testing::WriteFile(dir.File("t.bin"), bytes.substr(0, cut));
        auto r = ReadLlama2cTokenizer(dir.File("t.bin"));
        ASSERT_FALSE(r.ok()) << cut;
        EXPECT_EQ(r.status().code(), StatusCode::kCorruption);
        EXPECT_NE(r.status().message().find("t.bin"), std::string::npos);
    }
    EXPECT_FALSE(VocabFromSentencePiece("not a protobuf", "x.model").ok());
}

}  // namespace
}  // namespace tenpak::io
