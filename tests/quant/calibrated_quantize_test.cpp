// GPTQ and AWQ through the calibration pipeline on the bundled model (stories260K: hidden 64, so
// groups of 32; the MLP's 172 fits no packing word and stays F16): the folders carry the layouts'
// keys and tensors, AWQ's scales are folded into the norms, the same seed gives the same bytes, bad
// input is named, and (Slow, Release only) both beat round-to-nearest on perplexity.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "engine_fixture.h"
#include "model_factory.h"
#include "tenpak/core/cast.h"
#include "tenpak/io/safetensors.h"
#include "tenpak/quant/quantize_model.h"
#include "test_util.h"

namespace tenpak::quant {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

std::string BundledModel() {
    return testing::BundledModel();
}

model::Model Open(const std::string& path) {
    auto opened = model::OpenModel(path);
    if (!opened.ok()) throw std::runtime_error(opened.status().ToString());
    return std::move(opened).value();
}

// A small calibration (4 windows of 64 tokens) keeps the fast tests fast, under the sanitizers too.
QuantizeRequest Calibrated(Method method, int bits, int64_t samples = 4, int64_t seqlen = 64) {
    QuantizeRequest r;
    r.options = DefaultOptions(method);
    r.options.bits = bits;
    r.options.group_size = 32;
    r.format = method == Method::kAwq ? OutputFormat::kAwq : OutputFormat::kGptq;
    r.calibration.samples = samples;
    r.calibration.seqlen = seqlen;
    r.progress = false;
    return r;
}

nlohmann::json Config(const std::string& dir) {
    std::ifstream in(dir + "/config.json");
    return nlohmann::json::parse(in);
}

std::vector<float> F32Values(const model::Model& m, const std::string& name) {
    const io::TensorInfo* info = m.tensors->Find(name);
    if (info == nullptr) throw std::runtime_error("no tensor " + name);
    auto data = m.tensors->Read(*info);
    if (!data.ok()) throw std::runtime_error(data.status().ToString());
    std::vector<float> out(info->NumElements());
    const Status s = CastTensor(info->dtype, data->bytes(), DType::kF32,
                                {reinterpret_cast<std::byte*>(out.data()), out.size() * 4}, out.size());
    if (!s.ok()) throw std::runtime_error(s.ToString());
    return out;
}

std::string FileBytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

// Perplexity on the first `chars` of the validation sample (a fifth by default), through the engine
// on the packed codes.
double ShortPerplexity(const std::string& path, size_t chars = 160000) {
    const std::string text = testing::SampleText("tinystories_val.txt").substr(0, chars);
    testing::LoadedModel l = testing::LoadForInference(path, 256);
    engine::PerplexityOptions options;
    options.ctx = 256;
    auto r = engine::Perplexity(*l.engine, *l.tokenizer, text, options);
    if (!r.ok()) throw std::runtime_error(r.status().ToString());
    return r->ppl;
}

TEST(CalibratedQuantizeTest, GptqWithActOrderWritesDescActAndAPermutedGIdx) {
    TempDir dir;
    QuantizeRequest request = Calibrated(Method::kGptq, 4);
    request.options.act_order = true;
    const model::Model source = Open(BundledModel());
    auto report = QuantizeModel(source, request, dir.File("out"));
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    EXPECT_EQ(report->quantized_layers, 20);  // q, k, v, o of 5 blocks
    EXPECT_EQ(report->calibration_tokens, 4 * 64);
    EXPECT_EQ(report->layer_seconds.size(), 5u);

    const nlohmann::json q = Config(dir.File("out"))["quantization_config"];
    EXPECT_EQ(q["quant_method"], "gptq");
    EXPECT_EQ(q["desc_act"], true);
    EXPECT_EQ(q["bits"], 4);
    EXPECT_EQ(q["group_size"], 32);
    EXPECT_TRUE(fs::exists(dir.File("out/quantize_config.json")));

    // g_idx follows the processing order: not the trivial c / 32 for at least one layer.
    const model::Model out = Open(dir.File("out"));
    ASSERT_TRUE(out.config.quantization.has_value());
    const io::TensorInfo* g_idx = out.tensors->Find("model.layers.0.self_attn.q_proj.g_idx");
    ASSERT_NE(g_idx, nullptr);
    auto bytes = out.tensors->Read(*g_idx);
    ASSERT_TRUE(bytes.ok());
    std::vector<int32_t> groups(64);
    std::memcpy(groups.data(), bytes->data(), 64 * sizeof(int32_t));
    bool trivial = true;
    for (int c = 0; c < 64; ++c) trivial = trivial && groups[c] == c / 32;
    EXPECT_FALSE(trivial);
    // The engine runs it on the packed codes.
    EXPECT_LT(ShortPerplexity(dir.File("out"), 8000), 10.0);
}

TEST(CalibratedQuantizeTest, AwqFoldsItsScalesIntoTheNormsAndWritesGemm) {
    TempDir dir;
    const model::Model source = Open(BundledModel());
    auto report = QuantizeModel(source, Calibrated(Method::kAwq, 4), dir.File("out"));
    ASSERT_TRUE(report.ok()) << report.status().ToString();
    const nlohmann::json q = Config(dir.File("out"))["quantization_config"];
    EXPECT_EQ(q["quant_method"], "awq");
    EXPECT_EQ(q["version"], "gemm");
    EXPECT_EQ(q["zero_point"], true);

    const model::Model out = Open(dir.File("out"));
    EXPECT_NE(out.tensors->Find("model.layers.2.self_attn.q_proj.qweight"), nullptr);
    // The input norm absorbed 1/s (q/k/v are quantized); the MLP's norm did not (gate/up stay F16).
    const std::vector<float> before = F32Values(source, "model.layers.2.input_layernorm.weight");
    const std::vector<float> after = F32Values(out, "model.layers.2.input_layernorm.weight");
    ASSERT_EQ(before.size(), after.size());
    int changed = 0;
    for (size_t i = 0; i < before.size(); ++i) changed += std::abs(after[i] - before[i]) > 1e-3f * std::abs(before[i]);
    EXPECT_GT(changed, 32);
    const std::vector<float> mlp_before = F32Values(source, "model.layers.2.post_attention_layernorm.weight");
    const std::vector<float> mlp_after = F32Values(out, "model.layers.2.post_attention_layernorm.weight");
    for (size_t i = 0; i < mlp_before.size(); ++i) EXPECT_NEAR(mlp_after[i], mlp_before[i], 1e-3f * std::abs(mlp_before[i]));
    // Scaled norm and scaled weights together still compute the model: perplexity stays near F32's.
    EXPECT_LT(ShortPerplexity(dir.File("out"), 8000), 1.1 * ShortPerplexity(BundledModel(), 8000));
}

TEST(CalibratedQuantizeTest, TheSameSeedGivesTheSameBytes) {
    TempDir dir;
    const model::Model source = Open(BundledModel());
    ASSERT_TRUE(QuantizeModel(source, Calibrated(Method::kGptq, 3), dir.File("a")).ok());
    ASSERT_TRUE(QuantizeModel(source, Calibrated(Method::kGptq, 3), dir.File("b")).ok());
    EXPECT_EQ(FileBytes(dir.File("a/model.safetensors")), FileBytes(dir.File("b/model.safetensors")));
    QuantizeRequest other_seed = Calibrated(Method::kGptq, 3);
    other_seed.calibration.seed = 1;
    ASSERT_TRUE(QuantizeModel(source, other_seed, dir.File("c")).ok());
    EXPECT_NE(FileBytes(dir.File("a/model.safetensors")), FileBytes(dir.File("c/model.safetensors")));
}

TEST(CalibratedQuantizeTest, BadRequestsAreRefusedBeforeAnythingIsWritten) {
    TempDir dir;
    const model::Model source = Open(BundledModel());
    const auto refused = [&](const QuantizeRequest& r, const std::string& expected) {
        auto report = QuantizeModel(source, r, dir.File("out"));
        ASSERT_FALSE(report.ok()) << expected;
        EXPECT_NE(report.status().message().find(expected), std::string::npos) << report.status().ToString();
        EXPECT_FALSE(fs::exists(dir.File("out")));
    };
    QuantizeRequest three_bit_awq = Calibrated(Method::kAwq, 3);
    refused(three_bit_awq, "awq quantizes to 4 bits only");
    QuantizeRequest awq_g48 = Calibrated(Method::kAwq, 4);
    awq_g48.options.group_size = 48;
    refused(awq_g48, "32, 64 or 128");
    QuantizeRequest long_windows = Calibrated(Method::kGptq, 4, 4, 1024);
    refused(long_windows, "exceeds");
    QuantizeRequest too_many = Calibrated(Method::kGptq, 4, 100000, 256);
    refused(too_many, "100000 samples of 256 tokens need");
    QuantizeRequest missing = Calibrated(Method::kGptq, 4);
    missing.calibration.text_path = dir.File("nothing.txt");
    refused(missing, "nothing.txt");
    QuantizeRequest gptq_in_awq = Calibrated(Method::kGptq, 4);
    gptq_in_awq.format = OutputFormat::kAwq;
    refused(gptq_in_awq, "AWQ format stores awq or rtn codes");
}

// The bundled model with one weight or norm value replaced, and its tokenizer.
std::string PatchedModel(const TempDir& dir, const std::string& tensor, float value) {
    const std::string out = dir.File("patched");
    fs::create_directories(out);
    for (const char* f : {"config.json", "tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                          "special_tokens_map.json", "generation_config.json"}) {
        fs::copy_file(BundledModel() + "/" + f, out + "/" + f);
    }
    const model::Model source = Open(BundledModel());
    std::vector<io::TensorInfo> plan = source.tensors->tensors();
    auto writer = io::SafetensorsWriter::Create(out + "/model.safetensors", {{"format", "pt"}});
    if (!writer.ok() || !(*writer)->Begin(plan).ok()) throw std::runtime_error("cannot write");
    for (const io::TensorInfo& info : plan) {
        auto data = source.tensors->Read(info);
        std::vector<std::byte> bytes(data->bytes().begin(), data->bytes().end());
        if (info.name == tensor) std::memcpy(bytes.data() + 4 * 5, &value, sizeof(float));  // element 5
        if (!(*writer)->Write(info.name, bytes).ok()) throw std::runtime_error("cannot write");
    }
    if (!(*writer)->Finish().ok()) throw std::runtime_error("cannot finish");
    return out;
}

TEST(CalibratedQuantizeTest, NanInWeightsOrActivationsNamesTheLayerAndTensor) {
    {
        TempDir dir;
        const model::Model m = Open(PatchedModel(dir, "model.layers.1.self_attn.k_proj.weight", std::nanf("")));
        auto report = QuantizeModel(m, Calibrated(Method::kGptq, 4), dir.File("out"));
        ASSERT_FALSE(report.ok());
        const std::string msg = report.status().message();
        EXPECT_NE(msg.find("layer 1"), std::string::npos) << msg;
        EXPECT_NE(msg.find("model.layers.1.self_attn.k_proj.weight"), std::string::npos) << msg;
        EXPECT_FALSE(fs::exists(dir.File("out")));
    }
    {
        TempDir dir;
        const float inf = std::numeric_limits<float>::infinity();
        const model::Model m = Open(PatchedModel(dir, "model.layers.2.input_layernorm.weight", inf));
        auto report = QuantizeModel(m, Calibrated(Method::kAwq, 4), dir.File("out"));
        ASSERT_FALSE(report.ok());
        const std::string msg = report.status().message();
        EXPECT_NE(msg.find("layer 2"), std::string::npos) << msg;
        EXPECT_NE(msg.find("q_proj"), std::string::npos) << msg;
    }
}

TEST(CalibratedQuantizeTest, Gpt2RunsThroughGptqAndAwqRefusesIt) {
    TempDir dir;
    testing::TinyGpt2 spec;
    spec.vocab = 512;  // the bundled tokenizer's, copied in
    spec.context = 64;
    const std::string path = dir.File("gpt2");
    testing::WriteTinyGpt2(path, spec);
    for (const char* f : {"tokenizer.json", "tokenizer_config.json"}) {
        fs::copy_file(BundledModel() + "/" + f, path + "/" + f);
    }
    const model::Model m = Open(path);
    auto awq = QuantizeModel(m, Calibrated(Method::kAwq, 4, 2, 16), dir.File("awq"));
    ASSERT_FALSE(awq.ok());
    EXPECT_NE(awq.status().message().find("llama-family"), std::string::npos) << awq.status().ToString();

    // GPT-2's Conv1D weights are [in, out]: calibrated and written as [out, in] codes like any other.
    // At 8 bits the quantized model's logits stay close to the float model's: a transposition gone
    // wrong anywhere (calibration inputs, codes, packing) would scramble them.
    auto gptq = QuantizeModel(m, Calibrated(Method::kGptq, 8, 2, 16), dir.File("gptq"));
    ASSERT_TRUE(gptq.ok()) << gptq.status().ToString();
    EXPECT_EQ(gptq->quantized_layers, 8);  // c_attn, attn.c_proj, c_fc, mlp.c_proj of 2 blocks
    const double error = testing::RelativeLogitError(dir.File("gptq"), path, {1, 2, 3, 4, 5, 6, 7, 8});
    std::printf("[ gpt2 gptq 8-bit ] relative logit error %.5f\n", error);
    EXPECT_LT(error, 0.05);  // measured 0.014; 4 bits give 0.28
}

// ---- Quality (Release only): calibration pays on the bundled model ------------------------------
// With the default calibration size of the reference runs (128 x 512 would take a minute
// under AWQ's 20-point search; 32 x 256 measures the same ordering). Measured 2026-11-27 on the
// full sample (docs/quantization.md): F32 4.8701; 4-bit g32: RTN 5.1070, GPTQ 5.0022, GPTQ
// act-order 4.9882, RTN asym 5.0470, AWQ 4.9812; 3-bit g32: RTN 6.0791, GPTQ 5.6415.

double Increase(double ppl, double base) {
    return ppl / base - 1.0;
}

TEST(SlowCalibratedQuantizeTest, GptqAndAwqBeatRoundToNearest) {
    TempDir dir;
    const model::Model source = Open(BundledModel());
    const auto ppl_of = [&](const QuantizeRequest& r, const std::string& name) {
        auto report = QuantizeModel(source, r, dir.File(name));
        if (!report.ok()) throw std::runtime_error(report.status().ToString());
        return ShortPerplexity(dir.File(name));
    };
    const auto rtn = [](int bits, bool sym, OutputFormat format) {
        QuantizeRequest r;
        r.options = DefaultOptions(Method::kRtn);
        r.options.bits = bits;
        r.options.group_size = 32;
        r.options.symmetric = sym;
        r.format = format;
        r.progress = false;
        return r;
    };
    const double base = ShortPerplexity(BundledModel());
    const double rtn4 = ppl_of(rtn(4, true, OutputFormat::kGptq), "rtn4");
    const double rtn3 = ppl_of(rtn(3, true, OutputFormat::kGptq), "rtn3");
    const double rtn4_asym = ppl_of(rtn(4, false, OutputFormat::kAwq), "rtn4a");
    const double gptq4 = ppl_of(Calibrated(Method::kGptq, 4, 32, 256), "gptq4");
    const double gptq3 = ppl_of(Calibrated(Method::kGptq, 3, 32, 256), "gptq3");
    const double awq4 = ppl_of(Calibrated(Method::kAwq, 4, 32, 256), "awq4");
    std::printf("[ ppl ] F32 %.4f | 4-bit: rtn %.4f gptq %.4f, rtn asym %.4f awq %.4f | 3-bit: rtn %.4f gptq %.4f\n",
                base, rtn4, gptq4, rtn4_asym, awq4, rtn3, gptq3);
    EXPECT_LT(gptq4, rtn4);
    EXPECT_LT(awq4, rtn4_asym);
    // "By a clear margin": GPTQ's 3-bit loss is at most 3/4 of RTN's (measured about 0.64).
    EXPECT_LT(Increase(gptq3, base), 0.75 * Increase(rtn3, base));
}

}  // namespace
}  // namespace tenpak::quant
