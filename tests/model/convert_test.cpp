// Conversions between the formats, on the bundled real model and on generated ones: bit-exact
// round trips, agreement with independent references (PyTorch's HF conversion, llama.cpp's GGUF),
// and the errors bad models give.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "model_factory.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/half.h"
#include "tenpak/io/gguf.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"
#include "test_util.h"

namespace tenpak::model {
namespace {
using ::tenpak::testing::SharedData;
using ::tenpak::testing::TempDir;

Model Open(const std::string& path) {
    Result<Model> m = OpenModel(path);
    EXPECT_TRUE(m.ok()) << m.status().ToString();
    if (!m.ok()) std::abort();
    return std::move(m).value();
}

WriteOptions Quiet() {
    WriteOptions o;
    o.progress = false;
    return o;
}

std::string Bytes(const io::TensorSource& source, const std::string& name) {
    Result<io::TensorData> data = source.Read(std::string_view(name));
    EXPECT_TRUE(data.ok()) << name << ": " << data.status().ToString();
    if (!data.ok()) return {};
    return std::string(reinterpret_cast<const char*>(data->data()), data->size());
}

// A tensor's values as F32 (exact for F32, F16 and BF16).
std::vector<float> Values(const io::TensorSource& source, const io::TensorInfo& info) {
    const std::string bytes = Bytes(source, info.name);
    std::vector<float> out(info.NumElements());
    EXPECT_TRUE(CastTensor(info.dtype, std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()),
                           DType::kF32, std::span(reinterpret_cast<std::byte*>(out.data()), out.size() * 4), out.size())
                    .ok());
    return out;
}

// Same canonical tensors (names, dtypes, shapes, bytes) and the same config. 1-D tensors may
// come back widened to F32 (GGUF stores norms in F32), with the same values.
void ExpectSameModel(const Model& a, const Model& b) {
    ASSERT_EQ(a.tensors->tensors().size(), b.tensors->tensors().size());
    for (const io::TensorInfo& info : a.tensors->tensors()) {
        const io::TensorInfo* other = b.tensors->Find(info.name);
        ASSERT_NE(other, nullptr) << info.name;
        EXPECT_EQ(other->shape, info.shape) << info.name;
        if (info.shape.size() == 1 && other->dtype == DType::kF32 && info.dtype != DType::kF32) {
            EXPECT_EQ(Values(*a.tensors, info), Values(*b.tensors, *other)) << info.name;
            continue;
        }
        EXPECT_EQ(other->dtype, info.dtype) << info.name;
        EXPECT_TRUE(Bytes(*a.tensors, info.name) == Bytes(*b.tensors, info.name)) << info.name;
    }
    EXPECT_EQ(a.config.hidden_size, b.config.hidden_size);
    EXPECT_EQ(a.config.num_kv_heads, b.config.num_kv_heads);
    EXPECT_EQ(a.config.vocab_size, b.config.vocab_size);
    EXPECT_EQ(a.config.tie_word_embeddings, b.config.tie_word_embeddings);
    EXPECT_EQ(a.config.qkv_bias, b.config.qkv_bias);
    EXPECT_EQ(a.config.rope_theta, b.config.rope_theta);
}

TEST(ConvertTest, Llama2cToHfMatchesPyTorchConversionByteForByte) {
    TempDir dir;
    const Model m = Open(SharedData("stories260K/stories260K.bin"));
    EXPECT_EQ(m.ParameterCount(), 260032u);
    ASSERT_TRUE(WriteHfFolder(m, dir.File("hf"), Quiet()).ok());
    EXPECT_EQ(testing::ReadFile(dir.File("hf/model.safetensors")),
              testing::ReadFile(SharedData("finetunes/base/fp32/model.safetensors")));
    // The bundled copy under models/ is that same conversion.
    EXPECT_EQ(testing::ReadFile(dir.File("hf/model.safetensors")),
              testing::ReadFile(testing::SourcePath("models/stories260K/model.safetensors")));
    const nlohmann::json ours = nlohmann::json::parse(testing::ReadFile(dir.File("hf/config.json")));
    const nlohmann::json reference =
        nlohmann::json::parse(testing::ReadFile(SharedData("finetunes/base/fp32/config.json")));
    for (const auto& [key, value] : reference.items()) EXPECT_EQ(ours[key], value) << key;
    for (const char* file :
         {"tokenizer.model", "tokenizer_config.json", "special_tokens_map.json", "generation_config.json"}) {
        EXPECT_TRUE(std::filesystem::exists(dir.File(std::string("hf/") + file))) << file;
    }
    EXPECT_EQ(testing::ReadFile(dir.File("hf/tokenizer.model")),
              testing::ReadFile(SharedData("stories260K/tok512.model")));
}

TEST(ConvertTest, Llama2cHfGgufHfRoundTripIsBitExact) {
    TempDir dir;
    const Model original = Open(SharedData("stories260K/stories260K.bin"));
    ASSERT_TRUE(WriteHfFolder(original, dir.File("hf"), Quiet()).ok());
    const Model hf = Open(dir.File("hf"));
    ExpectSameModel(original, hf);
    ASSERT_TRUE(hf.vocab.has_value());
    ASSERT_TRUE(WriteGguf(hf, dir.File("m.gguf"), Quiet()).ok());
    const Model gguf = Open(dir.File("m.gguf"));
    ExpectSameModel(original, gguf);
    ASSERT_TRUE(WriteHfFolder(gguf, dir.File("hf2"), Quiet()).ok());
    const Model hf2 = Open(dir.File("hf2"));
    ExpectSameModel(original, hf2);
    EXPECT_EQ(testing::ReadFile(dir.File("hf/model.safetensors")),
              testing::ReadFile(dir.File("hf2/model.safetensors")));
}

TEST(ConvertTest, GgufOfBundledModelMatchesLlamaCppGoldenFile) {
    TempDir dir;
    ASSERT_TRUE(WriteGguf(Open(SharedData("stories260K/stories260K.bin")), dir.File("m.gguf"), Quiet()).ok());
    auto ours = io::GgufReader::Open(dir.File("m.gguf"));
    auto golden = io::GgufReader::Open(SharedData("stories260K/gguf/stories260K-f32.gguf"));
    ASSERT_TRUE(ours.ok() && golden.ok());
    size_t compared = 0;
    for (const io::TensorInfo& g : (*golden)->tensors()) {
        const io::TensorInfo* o = (*ours)->Find(g.name);
        if (g.name == "output.weight") {  // the copy of the tied embedding llama.cpp's converter writes
            EXPECT_EQ(o, nullptr);
            EXPECT_EQ(Bytes(**golden, "output.weight"), Bytes(**golden, "token_embd.weight"));
            continue;
        }
        ASSERT_NE(o, nullptr) << g.name;
        EXPECT_EQ(o->dtype, g.dtype) << g.name;
        EXPECT_EQ(o->shape, g.shape) << g.name;
        EXPECT_TRUE(Bytes(**ours, g.name) == Bytes(**golden, g.name)) << g.name;
        ++compared;
    }
    EXPECT_EQ(compared, 47u);
    EXPECT_EQ((*ours)->tensors().size(), 47u);
    // The vocabulary and the hyper-parameters llama.cpp reads.
    for (const char* key : {"tokenizer.ggml.tokens", "tokenizer.ggml.scores", "tokenizer.ggml.token_type",
                            "tokenizer.ggml.model", "llama.embedding_length", "llama.feed_forward_length",
                            "llama.attention.head_count", "llama.attention.head_count_kv", "llama.block_count",
                            "llama.rope.dimension_count", "llama.attention.layer_norm_rms_epsilon",
                            "tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "general.architecture"}) {
        const io::GgufValue* a = io::FindGgufKey((*ours)->metadata(), key);
        const io::GgufValue* b = io::FindGgufKey((*golden)->metadata(), key);
        ASSERT_NE(a, nullptr) << key;
        ASSERT_NE(b, nullptr) << key;
        EXPECT_EQ(a->type(), b->type()) << key;
        EXPECT_EQ(a->Describe(), b->Describe()) << key;
    }
    const io::GgufValue* tokens = io::FindGgufKey((*ours)->metadata(), "tokenizer.ggml.tokens");
    const io::GgufValue* golden_tokens = io::FindGgufKey((*golden)->metadata(), "tokenizer.ggml.tokens");
    ASSERT_EQ(tokens->AsArray()->items.size(), golden_tokens->AsArray()->items.size());
    for (size_t i = 0; i < tokens->AsArray()->items.size(); ++i) {
        EXPECT_EQ(*tokens->AsArray()->items[i].AsString(), *golden_tokens->AsArray()->items[i].AsString()) << i;
    }
}

TEST(ConvertTest, F16OutputRoundsEveryWeightToNearestEven) {
    TempDir dir;
    const Model m = Open(SharedData("stories260K/stories260K.bin"));
    WriteOptions options = Quiet();
    options.dtype = DType::kF16;
    ASSERT_TRUE(WriteGguf(m, dir.File("m16.gguf"), options).ok());
    const Model half = Open(dir.File("m16.gguf"));
    auto golden = io::GgufReader::Open(SharedData("stories260K/gguf/stories260K-f16.gguf"));
    ASSERT_TRUE(golden.ok());
    for (const io::TensorInfo& info : half.native->tensors()) {
        EXPECT_EQ(info.dtype, info.shape.size() == 1 ? DType::kF32 : DType::kF16) << info.name;
        // llama-quantize's F16 file holds the same bytes (it rounds to nearest even too).
        EXPECT_TRUE(Bytes(*half.native, info.name) == Bytes(**golden, info.name)) << info.name;
    }
    ASSERT_TRUE(WriteHfFolder(m, dir.File("hf16"), options).ok());
    const Model hf16 = Open(dir.File("hf16"));
    EXPECT_EQ(hf16.config.torch_dtype, "float16");
    for (const io::TensorInfo& info : hf16.tensors->tensors()) {
        ASSERT_EQ(info.dtype, DType::kF16);
        const std::string f32 = Bytes(*m.tensors, info.name);
        const std::string f16 = Bytes(*hf16.tensors, info.name);
        for (size_t i = 0; i < info.NumElements(); ++i) {
            float x;
            uint16_t h;
            std::memcpy(&x, f32.data() + 4 * i, 4);
            std::memcpy(&h, f16.data() + 2 * i, 2);
            ASSERT_EQ(h, F32ToF16Ref(x)) << info.name << "[" << i << "]";
        }
    }
}

TEST(ConvertTest, QuantizedGgufDequantizesIntoHf) {
    TempDir dir;
    const Model q8 = Open(SharedData("stories260K/gguf/stories260K-q8_0-mix.gguf"));
    EXPECT_FALSE(q8.config.tie_word_embeddings);  // this file carries output.weight
    WriteOptions options = Quiet();
    options.dtype = DType::kF32;
    Result<WriteReport> report = WriteHfFolder(q8, dir.File("hf"), options);
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    const Model hf = Open(dir.File("hf"));
    const Model f32 = Open(SharedData("stories260K/stories260K.bin"));
    // Q8_0 keeps every weight within half a step of the original, the step being amax / 127 rounded
    // to F16 (plus what that rounding moves the extreme codes by: 127 x the scale's rounding error).
    const std::string a = Bytes(*hf.tensors, "model.layers.2.self_attn.q_proj.weight");
    const std::string b = Bytes(*f32.tensors, "model.layers.2.self_attn.q_proj.weight");
    ASSERT_EQ(a.size(), b.size());
    const float* x = reinterpret_cast<const float*>(a.data());
    const float* y = reinterpret_cast<const float*>(b.data());
    for (size_t block = 0; block < a.size() / 4 / 32; ++block) {
        float amax = 0;
        for (size_t i = 0; i < 32; ++i) amax = std::max(amax, std::fabs(y[block * 32 + i]));
        const float d = amax / 127;
        const float d16 = F16ToF32Ref(F32ToF16Ref(d));
        const float bound = 0.5f * d16 + 127 * std::fabs(d16 - d) + 1e-7f;
        for (size_t i = 0; i < 32; ++i) EXPECT_LE(std::fabs(x[block * 32 + i] - y[block * 32 + i]), bound);
    }
}

struct GeneratedCase {
    std::string name;
    std::function<void(const std::string&)> write;
    std::string gguf_arch;
};

class GeneratedRoundTripTest : public ::testing::TestWithParam<int> {};

std::vector<GeneratedCase> GeneratedCases() {
    using testing::TinyGpt2;
    using testing::TinyLlama;
    return {
        {"llama_untied_gqa", [](const std::string& d) { testing::WriteTinyLlama(d, TinyLlama{}); }, "llama"},
        {"llama_tied_mha",
         [](const std::string& d) {
             TinyLlama s;
             s.tied = true;
             s.kv_heads = 4;
             testing::WriteTinyLlama(d, s);
         },
         "llama"},
        {"mistral",
         [](const std::string& d) {
             TinyLlama s;
             s.model_type = "mistral";
             s.kv_heads = 1;
             testing::WriteTinyLlama(d, s);
         },
         "llama"},
        {"qwen2_bias",
         [](const std::string& d) {
             TinyLlama s;
             s.model_type = "qwen2";
             s.tied = true;
             testing::WriteTinyLlama(d, s);
         },
         "qwen2"},
        {"gpt2", [](const std::string& d) { testing::WriteTinyGpt2(d, TinyGpt2{}); }, "gpt2"},
        {"gpt2_hub_names_with_buffers",
         [](const std::string& d) {
             TinyGpt2 s;
             s.with_prefix = false;
             s.with_mask_buffers = true;
             testing::WriteTinyGpt2(d, s);
         },
         "gpt2"},
        {"llama_bf16",
         [](const std::string& d) {
             TinyLlama s;
             s.dtype = DType::kBF16;
             testing::WriteTinyLlama(d, s);
         },
         "llama"},
    };
}

TEST_P(GeneratedRoundTripTest, HfGgufHfIsBitExact) {
    const GeneratedCase c = GeneratedCases()[static_cast<size_t>(GetParam())];
    SCOPED_TRACE(c.name);
    TempDir dir;
    c.write(dir.File("src"));
    const Model src = Open(dir.File("src"));
    ASSERT_TRUE(WriteGguf(src, dir.File("m.gguf"), Quiet()).ok());
    const Model gguf = Open(dir.File("m.gguf"));
    EXPECT_EQ(std::string(gguf.variant->gguf_arch), c.gguf_arch);
    ExpectSameModel(src, gguf);
    ASSERT_TRUE(WriteHfFolder(gguf, dir.File("hf"), Quiet()).ok());
    ExpectSameModel(src, Open(dir.File("hf")));
}

INSTANTIATE_TEST_SUITE_P(Families, GeneratedRoundTripTest, ::testing::Range(0, 7),
                         [](const ::testing::TestParamInfo<int>& p) {
                             return GeneratedCases()[static_cast<size_t>(p.param)].name;
                         });

TEST(ConvertTest, Gpt2ConvOneDWeightsAreTransposedInGguf) {
    TempDir dir;
    testing::WriteTinyGpt2(dir.File("src"), testing::TinyGpt2{});
    const Model src = Open(dir.File("src"));
    ASSERT_TRUE(WriteGguf(src, dir.File("m.gguf"), Quiet()).ok());
    auto gguf = io::GgufReader::Open(dir.File("m.gguf"));
    ASSERT_TRUE(gguf.ok());
    const io::TensorInfo* qkv = (*gguf)->Find("blk.0.attn_qkv.weight");
    ASSERT_NE(qkv, nullptr);
    EXPECT_EQ(qkv->shape, (std::vector<int64_t>{96, 32}));  // [out, in] as llama.cpp's converter writes it
    const std::string hf = Bytes(*src.tensors, "transformer.h.0.attn.c_attn.weight");  // [32, 96]
    const std::string gg = Bytes(**gguf, "blk.0.attn_qkv.weight");
    const float* h = reinterpret_cast<const float*>(hf.data());
    const float* g = reinterpret_cast<const float*>(gg.data());
    EXPECT_EQ(g[5 * 32 + 7], h[7 * 96 + 5]);
}

TEST(ConvertTest, ShardsLargeModels) {
    TempDir dir;
    testing::TinyLlama s;
    s.vocab = 256;
    testing::WriteTinyLlama(dir.File("src"), s);
    WriteOptions options = Quiet();
    options.max_shard_bytes = 40'000;
    ASSERT_TRUE(WriteHfFolder(Open(dir.File("src")), dir.File("hf"), options).ok());
    EXPECT_TRUE(std::filesystem::exists(dir.File("hf/model.safetensors.index.json")));
    EXPECT_FALSE(std::filesystem::exists(dir.File("hf/model.safetensors")));
    ExpectSameModel(Open(dir.File("src")), Open(dir.File("hf")));
}

TEST(ConvertTest, ResolvesHubIdsThroughTheLocalCache) {
    TempDir dir;
    const std::string repo = dir.File("hub/models--tiny-org--tiny-llama");
    const std::string commit = "0123456789abcdef0123456789abcdef01234567";
    testing::WriteTinyLlama(repo + "/snapshots/" + commit, testing::TinyLlama{});
    std::filesystem::create_directories(repo + "/refs");
    testing::WriteFile(repo + "/refs/main", commit + "\n");
    ::setenv("HF_HUB_CACHE", dir.File("hub").c_str(), 1);
    Result<Model> m = OpenModel("tiny-org/tiny-llama");
    ASSERT_TRUE(m.ok()) << m.status().ToString();
    EXPECT_EQ(m->origin, repo + "/snapshots/" + commit);
    Result<Model> by_commit = OpenModel("tiny-org/tiny-llama@" + commit);
    EXPECT_TRUE(by_commit.ok());
    Result<Model> missing = OpenModel("tiny-org/other-model");
    ASSERT_FALSE(missing.ok());
    EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
    EXPECT_NE(missing.status().message().find(dir.File("hub/models--tiny-org--other-model")), std::string::npos)
        << missing.status().message();
    Result<Model> bad_rev = OpenModel("tiny-org/tiny-llama@v9");
    ASSERT_FALSE(bad_rev.ok());
    EXPECT_NE(bad_rev.status().message().find("refs/v9"), std::string::npos) << bad_rev.status().message();
    ::setenv("HF_HUB_CACHE", "", 1);
    ::setenv("HF_HOME", dir.path().c_str(), 1);
    std::filesystem::rename(dir.File("hub"), dir.File("hub2"));
    std::filesystem::create_directories(dir.File("hub"));
    std::filesystem::rename(dir.File("hub2/models--tiny-org--tiny-llama"), repo);
    EXPECT_TRUE(OpenModel("tiny-org/tiny-llama").ok());
    ::unsetenv("HF_HOME");
    ::unsetenv("HF_HUB_CACHE");
}

Status OpenWithConfig(const std::string& dir, const nlohmann::json& config) {
    testing::WriteFile(dir + "/config.json", config.dump());
    return OpenModel(dir).status();
}

TEST(ConvertTest, BadConfigsAndTensorsNameWhatIsWrong) {
    TempDir dir;
    const std::string src = dir.File("src");
    testing::WriteTinyLlama(src, testing::TinyLlama{});
    const nlohmann::json good = testing::ConfigJson(testing::TinyLlama{});

    nlohmann::json c = good;
    c.erase("hidden_size");
    Status s = OpenWithConfig(src, c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("config.json: required key 'hidden_size' is missing"), std::string::npos) << s.message();

    c = good;
    c["model_type"] = "falcon";
    s = OpenWithConfig(src, c);
    EXPECT_EQ(s.code(), StatusCode::kUnsupported);
    EXPECT_NE(s.message().find("'falcon' is not supported (supported: llama, mistral, qwen2, gpt2)"), std::string::npos)
        << s.message();

    c = good;
    c.erase("model_type");
    EXPECT_NE(OpenWithConfig(src, c).message().find("'model_type'"), std::string::npos);

    c = good;
    c["num_key_value_heads"] = 3;
    s = OpenWithConfig(src, c);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("num_key_value_heads 3"), std::string::npos) << s.message();

    c = good;
    c["intermediate_size"] = 50;
    s = OpenWithConfig(src, c);
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
    const bool named = s.message().find(
                           "'model.layers.0.mlp.gate_proj.weight' has shape [48, 32] but the config "
                           "implies [50, 32]") != std::string::npos ||
                       s.message().find(
                           "'model.layers.0.mlp.down_proj.weight' has shape [32, 48] but the config "
                           "implies [32, 50]") != std::string::npos;
    EXPECT_TRUE(named) << s.message();

    c = good;
    c["num_hidden_layers"] = 3;
    s = OpenWithConfig(src, c);
    EXPECT_NE(s.message().find("missing tensor 'model.layers.2."), std::string::npos) << s.message();

    c = good;
    c["num_hidden_layers"] = 1;
    s = OpenWithConfig(src, c);
    EXPECT_NE(s.message().find("is for layer 1 but the config has 1 layers"), std::string::npos) << s.message();

    testing::WriteFile(src + "/config.json", "{\"model_type\": ");
    s = OpenModel(src).status();
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
    EXPECT_NE(s.message().find("config.json: not valid JSON"), std::string::npos) << s.message();

    std::filesystem::remove(src + "/config.json");
    s = OpenModel(src).status();
    EXPECT_EQ(s.code(), StatusCode::kNotFound);
    EXPECT_NE(s.message().find("no config.json"), std::string::npos);

    EXPECT_EQ(OpenModel(dir.File("nothing-here")).status().code(), StatusCode::kNotFound);
    testing::WriteFile(dir.File("random.dat"), "this is not a model at all, just some text bytes");
    s = OpenModel(dir.File("random.dat")).status();
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(s.message().find("not a recognised model"), std::string::npos) << s.message();
}

// Fails on the n-th tensor read, as a dropped connection or a bad disk would.
class FailingSource final : public io::TensorSource {
public:
    FailingSource(std::unique_ptr<io::TensorSource> inner, int fail_at) : inner_(std::move(inner)), left_(fail_at) {}
    const std::vector<io::TensorInfo>& tensors() const override { return inner_->tensors(); }
    Result<io::TensorData> Read(const io::TensorInfo& info) const override {
        if (--left_ <= 0) return Status::IOError("injected read failure");
        return inner_->Read(info);
    }
    std::string origin() const override { return inner_->origin(); }

private:
    std::unique_ptr<io::TensorSource> inner_;
    mutable int left_;
};

TEST(ConvertTest, FailedWriteLeavesNoOutput) {
    TempDir dir;
    testing::WriteTinyLlama(dir.File("src"), testing::TinyLlama{});
    for (int format = 0; format < 2; ++format) {
        Model src = Open(dir.File("src"));
        src.tensors = std::make_unique<FailingSource>(std::move(src.tensors), 5);
        const Result<WriteReport> r =
            format == 0 ? WriteGguf(src, dir.File("m.gguf"), Quiet()) : WriteHfFolder(src, dir.File("hf"), Quiet());
        ASSERT_FALSE(r.ok());
        EXPECT_NE(r.status().message().find("injected read failure"), std::string::npos);
        EXPECT_EQ(testing::ListDir(dir.path()), std::vector<std::string>{"src"});
    }
    // An existing output is left as it was when the new one fails.
    ASSERT_TRUE(WriteHfFolder(Open(dir.File("src")), dir.File("hf"), Quiet()).ok());
    // Without `overwrite` a non-empty folder is refused outright.
    const Result<WriteReport> refused = WriteHfFolder(Open(dir.File("src")), dir.File("hf"), Quiet());
    ASSERT_FALSE(refused.ok());
    EXPECT_NE(refused.status().message().find("--force"), std::string::npos) << refused.status().message();
    const std::string before = testing::ReadFile(dir.File("hf/model.safetensors"));
    Model src = Open(dir.File("src"));
    src.tensors = std::make_unique<FailingSource>(std::move(src.tensors), 3);
    WriteOptions overwrite = Quiet();
    overwrite.overwrite = true;
    const Result<WriteReport> failed = WriteHfFolder(src, dir.File("hf"), overwrite);
    ASSERT_FALSE(failed.ok());
    EXPECT_NE(failed.status().message().find("injected read failure"), std::string::npos);
    EXPECT_EQ(testing::ReadFile(dir.File("hf/model.safetensors")), before);
    EXPECT_EQ(testing::ListDir(dir.path()), (std::vector<std::string>{"hf", "src"}));
}

}  // namespace
}  // namespace tenpak::model
