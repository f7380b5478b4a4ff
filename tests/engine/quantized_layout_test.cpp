// The engine runs every quantized layout the way other tools write it, on packed codes, and gets
// the logits of the same weights held densely. The quantized folders here are made the way
// AutoGPTQ / GPTQModel / AutoAWQ / bitsandbytes lay them out, including what `tenpak quantize` never
// writes: act-order g_idx (columns of a group scattered over the input), GPTQModel's v2 zero points,
// and the legacy quantize_config.json side file instead of config.json's quantization_config.
// Each is compared with an F32 folder holding Dequantize() of the same QuantizedTensor (the
// scalar reference of every layout).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>

#include "tenpak/engine/engine.h"
#include "model_factory.h"
#include "tenpak/model/model_writer.h"
#include "tenpak/quant/quantizer.h"
#include "tenpak/quantformat/layouts.h"
#include "test_util.h"

namespace tenpak::engine {
namespace {

using quantformat::Layout;
using quantformat::QuantizedTensor;

struct LayoutCase {
    std::string name;
    Layout layout;
    quant::QuantOptions options;
    bool act_order = false;  // scatter each group's columns (GPTQ desc_act g_idx)
    bool side_file = false;  // quantize_config.json instead of config.json's quantization_config
};

void PrintTo(const LayoutCase& c, std::ostream* os) {
    *os << c.name;
}

// Act-order as GPTQ writes it: the tensor of W[:, P] for a random permutation P, each column keeping
// the group it had, so g_idx is a non-monotonic map of columns to groups.
QuantizedTensor ScatterColumns(const QuantizedTensor& q, uint32_t seed) {
    std::vector<int32_t> perm(static_cast<size_t>(q.cols));
    std::iota(perm.begin(), perm.end(), 0);
    std::mt19937 rng(seed);
    std::shuffle(perm.begin(), perm.end(), rng);
    QuantizedTensor out = q;
    out.g_idx.resize(perm.size());
    for (int64_t r = 0; r < q.rows; ++r) {
        for (int64_t c = 0; c < q.cols; ++c) {
            out.codes[static_cast<size_t>(r * q.cols + c)] = q.codes[static_cast<size_t>(r * q.cols + perm[c])];
        }
    }
    for (size_t c = 0; c < perm.size(); ++c) out.g_idx[c] = static_cast<int32_t>(perm[c] / q.group_size);
    return out;
}

// Writes each linear layer quantized (packed in `layout`, or as Dequantize() in F32 for the
// reference), everything else as it is.
class LayoutRewriter : public model::TensorRewriter {
public:
    LayoutRewriter(const model::Model& model, const LayoutCase& c, bool dense) : model_(model), case_(c), dense_(dense) {}

    Result<std::optional<std::vector<io::TensorInfo>>> Plan(const io::TensorInfo& info, bool) override {
        using Planned = std::optional<std::vector<io::TensorInfo>>;
        auto match = model::MatchName(*model_.spec, info.name, model::Naming::kHuggingFace);
        if (!match || !match->role->is_linear()) return Planned();
        TP_ASSIGN_OR_RETURN(QuantizedTensor q, Quantize(info));
        const std::string prefix = info.name.substr(0, info.name.size() - std::string(".weight").size());
        std::vector<io::TensorInfo> out;
        std::vector<quantformat::PackedTensor> packed;
        if (dense_) {
            std::vector<float> values(q.codes.size());
            quantformat::Dequantize(q, values);
            quantformat::PackedTensor t{"weight", DType::kF32, {q.rows, q.cols}, {}};
            t.bytes.resize(values.size() * 4);
            std::memcpy(t.bytes.data(), values.data(), t.bytes.size());
            packed.push_back(std::move(t));
        } else {
            TP_ASSIGN_OR_RETURN(packed, quantformat::Pack(case_.layout, q, "float32"));
        }
        for (quantformat::PackedTensor& p : packed) {
            out.push_back({prefix + "." + p.suffix, p.dtype, p.shape, p.bytes.size()});
            made_[prefix + "." + p.suffix] = std::move(p.bytes);
        }
        return Planned(std::move(out));
    }

    Result<io::TensorData> Produce(const io::TensorInfo&, const io::TensorInfo& out) override {
        return io::TensorData::Own(made_.at(out.name));
    }

    void EditConfig(nlohmann::json& config) const override {
        if (dense_) return;
        if (!case_.side_file) config["quantization_config"] = QuantizationConfig();
    }

    std::vector<io::AuxFile> ExtraFiles() const override {
        if (dense_ || !case_.side_file) return {};
        nlohmann::json q = QuantizationConfig();
        q.erase("quant_method");  // AutoGPTQ's side file has none
        return {{"quantize_config.json", q.dump()}};
    }

private:
    nlohmann::json QuantizationConfig() const {
        const quant::QuantOptions& o = case_.options;
        switch (case_.layout) {
            case Layout::kGptq:
            case Layout::kGptqV2:
                return {{"quant_method", "gptq"}, {"bits", o.bits},           {"group_size", o.group_size},
                        {"desc_act", case_.act_order}, {"sym", o.symmetric},
                        {"checkpoint_format", case_.layout == Layout::kGptq ? "gptq" : "gptq_v2"}};
            case Layout::kAwqGemm:
                return {{"quant_method", "awq"}, {"bits", 4}, {"group_size", o.group_size}, {"zero_point", true},
                        {"version", "gemm"}};
            default:
                return {{"quant_method", "bitsandbytes"},
                        {"load_in_4bit", case_.layout == Layout::kBnb4},
                        {"load_in_8bit", case_.layout == Layout::kBnb8},
                        {"bnb_4bit_use_double_quant", o.double_quant}};
        }
    }

    Result<QuantizedTensor> Quantize(const io::TensorInfo& info) {
        auto cached = quantized_.find(info.name);
        if (cached != quantized_.end()) return cached->second;
        TP_ASSIGN_OR_RETURN(io::TensorData data, model_.tensors->Read(info));
        std::vector<float> w(info.NumElements());
        std::memcpy(w.data(), data.data(), w.size() * 4);
        TP_ASSIGN_OR_RETURN(std::unique_ptr<quant::Quantizer> quantizer, quant::MakeQuantizer(case_.options));
        ThreadPool pool(1);
        TP_ASSIGN_OR_RETURN(QuantizedTensor q, quantizer->Quantize(w, info.shape[0], info.shape[1], pool));
        if (case_.act_order) q = ScatterColumns(q, static_cast<uint32_t>(quantized_.size() + 7));
        return quantized_.emplace(info.name, std::move(q)).first->second;
    }

    const model::Model& model_;
    LayoutCase case_;
    bool dense_;
    std::map<std::string, QuantizedTensor> quantized_;
    std::map<std::string, std::vector<std::byte>> made_;
};

quant::QuantOptions Options(quant::Method method, int bits, int64_t group, bool sym, bool double_quant = false) {
    quant::QuantOptions o;
    o.method = method;
    o.bits = bits;
    o.group_size = group;
    o.symmetric = sym;
    o.double_quant = double_quant;
    return o;
}

// The generated models have no tokenizer; the engine needs none.
struct Opened {
    std::unique_ptr<model::Model> model;
    std::unique_ptr<Engine> engine;
};

Opened Open(const std::string& path) {
    Opened o;
    auto m = model::OpenModel(path);
    if (!m.ok()) throw std::runtime_error(m.status().ToString());
    o.model = std::make_unique<model::Model>(std::move(m).value());
    auto e = Engine::Create(*o.model, EngineOptions{0, 32, false});
    if (!e.ok()) throw std::runtime_error(e.status().ToString());
    o.engine = std::move(e).value();
    return o;
}

class QuantizedLayoutTest : public ::testing::TestWithParam<LayoutCase> {};

TEST_P(QuantizedLayoutTest, LogitsEqualTheDequantizedModels) {
    const LayoutCase& c = GetParam();
    testing::TempDir dir;
    testing::TinyLlama spec;
    spec.hidden = 64;
    spec.intermediate = 128;
    spec.heads = 4;
    spec.kv_heads = 2;
    testing::WriteTinyLlama(dir.File("base"), spec);
    auto base = model::OpenModel(dir.File("base"));
    ASSERT_TRUE(base.ok()) << base.status().ToString();

    // The same quantized tensors written twice: packed in the layout, and dequantized in F32. Two
    // rewriters quantize independently; the quantizers are deterministic, so the tensors agree.
    model::WriteOptions options;
    options.progress = false;
    LayoutRewriter packed(*base, c, false);
    options.rewriter = &packed;
    auto written = model::WriteHfFolder(*base, dir.File("packed"), options);
    ASSERT_TRUE(written.ok()) << written.status().ToString();
    LayoutRewriter dense(*base, c, true);
    options.rewriter = &dense;
    ASSERT_TRUE(model::WriteHfFolder(*base, dir.File("dense"), options).ok());

    Opened p = Open(dir.File("packed"));
    ASSERT_TRUE(p.model->config.quantization.has_value());
    EXPECT_EQ(p.model->config.quantization->layout, c.layout);
    bool runs_packed = false;
    for (const std::string& note : p.engine->notes()) runs_packed |= note.find("run on packed codes") != std::string::npos;
    EXPECT_TRUE(runs_packed) << "the engine fell back to dense weights";
    Opened d = Open(dir.File("dense"));

    const std::vector<int32_t> tokens = {1, 5, 9, 33, 2, 17, 40, 63, 8, 12, 3, 25};
    std::vector<float> a, b;
    // Prefill (all positions' logits) and then one decode step each.
    ASSERT_TRUE(p.engine->Forward(tokens, 0, a).ok());
    ASSERT_TRUE(d.engine->Forward(tokens, 0, b).ok());
    const std::vector<int32_t> next = {7};
    std::vector<float> a1, b1;
    ASSERT_TRUE(p.engine->Forward(next, 0, a1).ok());
    ASSERT_TRUE(d.engine->Forward(next, 0, b1).ok());
    a.insert(a.end(), a1.begin(), a1.end());
    b.insert(b.end(), b1.begin(), b1.end());
    ASSERT_EQ(a.size(), b.size());
    float scale = 0, diff = 0;
    for (size_t i = 0; i < a.size(); ++i) {
        scale = std::max(scale, std::abs(b[i]));
        diff = std::max(diff, std::abs(a[i] - b[i]));
    }
    // The same weights, summed in another order (per group, then scaled): float rounding only.
    EXPECT_LE(diff, 1e-4f * scale) << c.name << ": max |logit| " << scale;
}

INSTANTIATE_TEST_SUITE_P(
    Layouts, QuantizedLayoutTest,
    ::testing::Values(
        LayoutCase{"gptq_4bit_g32_sym", Layout::kGptq, Options(quant::Method::kRtn, 4, 32, true)},
        LayoutCase{"gptq_4bit_g32_act_order", Layout::kGptq, Options(quant::Method::kRtn, 4, 32, true), true},
        LayoutCase{"gptq_v2_3bit_g32_asym_act_order", Layout::kGptqV2, Options(quant::Method::kRtn, 3, 32, false),
                   true},
        LayoutCase{"gptq_2bit_g64_asym", Layout::kGptq, Options(quant::Method::kRtn, 2, 64, false)},
        LayoutCase{"gptq_8bit_per_channel_side_file", Layout::kGptq, Options(quant::Method::kRtn, 8, -1, true),
                   false, true},
        LayoutCase{"awq_4bit_g32", Layout::kAwqGemm, Options(quant::Method::kRtn, 4, 32, false)},
        LayoutCase{"bnb_nf4_double_quant", Layout::kBnb4, Options(quant::Method::kNf4, 4, 64, true, true)},
        LayoutCase{"bnb_fp4", Layout::kBnb4, Options(quant::Method::kFp4, 4, 64, true)},
        LayoutCase{"bnb_int8", Layout::kBnb8, Options(quant::Method::kInt8, 8, -1, true)}),
    [](const ::testing::TestParamInfo<LayoutCase>& p) { return p.param.name; });

}  // namespace
}  // namespace tenpak::engine
