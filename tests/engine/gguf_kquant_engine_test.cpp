// GGUF Q4_K / Q6_K files written by `QuantizeModel` and run by the engine: on a generated Llama whose
// rows are multiples of 256, every 2-D weight takes the type (the output head Q6_K under Q4_K, as
// llama-quantize does), Q4_K layers run on packed codes and Q6_K layers are dequantized at load (their
// groups of 16 are too small for the packed kernels), and the logits equal those of the same file's
// weights dequantized by core's reader into an F32 folder (float rounding only); every weight stays
// within the error the encoders are measured to have.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "model_factory.h"
#include "tenpak/engine/engine.h"
#include "tenpak/model/model.h"
#include "tenpak/model/model_writer.h"
#include "tenpak/quant/quantize_model.h"
#include "test_util.h"

namespace tenpak::engine {
namespace {

std::map<std::string, DType> TypesOf(const model::Model& m) {
    std::map<std::string, DType> types;
    for (const io::TensorInfo& t : m.tensors->tensors()) types[t.name] = t.dtype;
    return types;
}

std::vector<float> Logits(const model::Model& m, std::vector<std::string>* notes = nullptr) {
    auto engine = Engine::Create(m, EngineOptions{0, 32, false});
    if (!engine.ok()) throw std::runtime_error(engine.status().ToString());
    if (notes != nullptr) *notes = (*engine)->notes();
    std::vector<float> logits;
    const std::vector<int32_t> tokens = {1, 5, 9, 33, 2, 17, 40, 63};
    if (!(*engine)->Forward(tokens, 0, logits).ok()) throw std::runtime_error("forward failed");
    return logits;
}

bool HasNote(const std::vector<std::string>& notes, const std::string& text) {
    return std::any_of(notes.begin(), notes.end(), [&](const std::string& n) { return n.find(text) != std::string::npos; });
}

TEST(GgufKQuantEngineTest, FilesRunAndMatchTheirDequantizedWeights) {
    testing::TempDir dir;
    testing::TinyLlama spec;
    spec.hidden = 256;
    spec.intermediate = 512;
    spec.heads = 4;
    spec.kv_heads = 2;
    testing::WriteTinyLlama(dir.File("base"), spec);
    auto base = model::OpenModel(dir.File("base"));
    ASSERT_TRUE(base.ok()) << base.status().ToString();

    for (DType type : {DType::kQ4_K, DType::kQ6_K}) {
        SCOPED_TRACE(std::string(DTypeName(type)));
        quant::QuantizeRequest request;
        request.format = quant::OutputFormat::kGguf;
        request.gguf_type = type;
        request.progress = false;
        const std::string gguf = dir.File(std::string(DTypeName(type)) + ".gguf");
        auto report = quant::QuantizeModel(*base, request, gguf);
        ASSERT_TRUE(report.ok()) << report.status().ToString();
        EXPECT_TRUE(report->kept.empty());
        EXPECT_EQ(report->quantized_layers, 2 * 7 + 2);  // every linear, the embedding and the head

        auto quantized = model::OpenModel(gguf);
        ASSERT_TRUE(quantized.ok()) << quantized.status().ToString();
        const std::map<std::string, DType> types = TypesOf(*quantized);
        EXPECT_EQ(types.at("model.layers.1.mlp.down_proj.weight"), type);
        EXPECT_EQ(types.at("model.embed_tokens.weight"), type);
        EXPECT_EQ(types.at("lm_head.weight"), DType::kQ6_K);  // Q4_K's head, as llama-quantize chooses it
        EXPECT_EQ(types.at("model.norm.weight"), DType::kF32);

        std::vector<std::string> notes;
        const std::vector<float> ours = Logits(*quantized, &notes);
        EXPECT_TRUE(HasNote(notes, "Q6_K layers dequantized to F32 at load")) << ::testing::PrintToString(notes);
        if (type == DType::kQ4_K) {
            EXPECT_TRUE(HasNote(notes, "Q4_K layers run on packed codes")) << ::testing::PrintToString(notes);
        }

        // The same weights through core's dequantizer, written as an F32 folder.
        model::WriteOptions options;
        options.dtype = DType::kF32;
        options.progress = false;
        const std::string dense_dir = dir.File(std::string(DTypeName(type)) + "-f32");
        ASSERT_TRUE(model::WriteHfFolder(*quantized, dense_dir, options).ok());
        auto dense = model::OpenModel(dense_dir);
        ASSERT_TRUE(dense.ok()) << dense.status().ToString();
        const std::vector<float> want = Logits(*dense);
        ASSERT_EQ(ours.size(), want.size());
        float scale = 0.0f;
        float diff = 0.0f;
        for (size_t i = 0; i < ours.size(); ++i) {
            scale = std::max(scale, std::abs(want[i]));
            diff = std::max(diff, std::abs(ours[i] - want[i]));
        }
        EXPECT_LE(diff, 1e-4f * scale) << "max |logit| " << scale;

        // And every weight is near the original: relative RMSE per tensor (measured: 0.071 for Q4_K,
        // 0.018 for Q6_K and for Q4_K's Q6_K head; these are N(0, s) random weights).
        for (const io::TensorInfo& t : dense->tensors->tensors()) {
            if (t.shape.size() != 2) continue;
            const io::TensorInfo* original = base->tensors->Find(t.name);
            ASSERT_NE(original, nullptr) << t.name;
            auto got = dense->tensors->Read(t);
            auto was = base->tensors->Read(*original);
            ASSERT_TRUE(got.ok() && was.ok());
            const std::span<const float> a = got->as<float>();
            const std::span<const float> b = was->as<float>();
            ASSERT_EQ(a.size(), b.size());
            double err = 0.0;
            double ref = 0.0;
            for (size_t i = 0; i < a.size(); ++i) {
                err += (a[i] - b[i]) * static_cast<double>(a[i] - b[i]);
                ref += b[i] * static_cast<double>(b[i]);
            }
            const bool six_bit = type == DType::kQ6_K || t.name == "lm_head.weight";
            EXPECT_LT(std::sqrt(err / ref), six_bit ? 0.022 : 0.089) << t.name;
        }
    }
}

}  // namespace
}  // namespace tenpak::engine
