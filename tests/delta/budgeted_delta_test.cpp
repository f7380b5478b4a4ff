// Deltas of generated fine-tunes with known structure, in F32, F16 and BF16: a dense small change of
// every weight, changes in one layer only, a merged rank-8 LoRA, and an untouched model; lossless
// (bit-exact) and budgeted (every tensor's error, measured on the rebuilt files, within its budget).
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <map>
#include <random>

#include "model_factory.h"
#include "tenpak/core/cast.h"
#include "tenpak/core/dequantize.h"
#include "tenpak/delta/delta.h"
#include "tenpak/io/safetensors.h"
#include "test_util.h"

namespace tenpak {
namespace {
using testing::ReadFile;
using testing::TempDir;

using Weights = std::map<std::string, std::vector<float>>;

// Every tensor of `dir`/model.safetensors in F32, by name, with its info.
Weights ReadWeights(const std::string& dir, std::map<std::string, io::TensorInfo>* infos = nullptr) {
    Result<std::unique_ptr<io::SafetensorsReader>> reader = io::SafetensorsReader::Open(dir + "/model.safetensors");
    EXPECT_TRUE(reader.ok()) << reader.status().message();
    Weights weights;
    for (const io::TensorInfo& info : (*reader)->tensors()) {
        Result<io::TensorData> data = (*reader)->Read(info);
        std::vector<float> values(info.NumElements());
        EXPECT_TRUE(DequantizeToF32(info.dtype, data->bytes(), values).ok());
        weights[info.name] = std::move(values);
        if (infos != nullptr) (*infos)[info.name] = info;
    }
    return weights;
}

// A fine-tune of the model in `base`: `change(info, weights)` edits each tensor's F32 values, which are
// then rounded to the tensor's dtype as a trainer saving in that dtype would.
void WriteFineTune(const std::string& base, const std::string& fine,
                   const std::function<void(const io::TensorInfo&, std::vector<float>&)>& change) {
    std::map<std::string, io::TensorInfo> infos;
    Weights weights = ReadWeights(base, &infos);
    std::filesystem::create_directories(fine);
    testing::WriteFile(fine + "/config.json", ReadFile(base + "/config.json"));
    auto writer = io::SafetensorsWriter::Create(fine + "/model.safetensors", {{"format", "pt"}});
    ASSERT_TRUE(writer.ok());
    std::vector<io::TensorInfo> plan;
    for (const auto& [name, info] : infos) plan.push_back(info);
    ASSERT_TRUE((*writer)->Begin(plan).ok());
    for (const io::TensorInfo& info : plan) {
        std::vector<float>& values = weights[info.name];
        change(info, values);
        std::vector<std::byte> bytes(info.nbytes);
        ASSERT_TRUE(CastTensor(DType::kF32, std::as_bytes(std::span<const float>(values)), info.dtype, bytes,
                               values.size())
                        .ok());
        ASSERT_TRUE((*writer)->Write(info.name, bytes).ok());
    }
    ASSERT_TRUE((*writer)->Finish().ok());
}

bool IsMatrix(const io::TensorInfo& info) {
    return info.shape.size() == 2 && info.name.find("embed") == std::string::npos;
}

// Square attention and MLP matrices of 512 x 512, so that rank-8 factors are small against them.
testing::TinyLlama Spec(DType dtype) {
    testing::TinyLlama spec;
    spec.hidden = 512;
    spec.intermediate = 512;
    spec.heads = 8;
    spec.kv_heads = 8;
    spec.layers = 2;
    spec.dtype = dtype;
    return spec;
}

delta::DeltaOptions Options(double max_relative_error) {
    delta::DeltaOptions options;
    options.pack.progress = false;
    options.pack.threads = 2;
    options.max_relative_error = max_relative_error;
    return options;
}

delta::ApplyOptions QuietApply() {
    delta::ApplyOptions options;
    options.progress = false;
    return options;
}

// ||rebuilt - fine|| / ||fine - base|| per changed tensor, from the files.
std::map<std::string, double> RelativeErrors(const std::string& base, const std::string& fine, const std::string& rebuilt) {
    const Weights b = ReadWeights(base), f = ReadWeights(fine), r = ReadWeights(rebuilt);
    std::map<std::string, double> errors;
    for (const auto& [name, values] : f) {
        double change = 0, error = 0;
        for (size_t i = 0; i < values.size(); ++i) {
            change += std::pow(static_cast<double>(values[i]) - b.at(name)[i], 2);
            error += std::pow(static_cast<double>(r.at(name)[i]) - values[i], 2);
        }
        if (change > 0) errors[name] = std::sqrt(error / change);
    }
    return errors;
}

class GeneratedPairTest : public ::testing::TestWithParam<DType> {
protected:
    void SetUp() override { testing::WriteTinyLlama(dir_.File("base"), Spec(GetParam())); }

    std::string base() const { return dir_.File("base"); }
    std::string fine() const { return dir_.File("fine"); }

    // A small dense change of every weight: 1% of the weights' spread.
    void WriteDenseFineTune() {
        std::mt19937 random(7);
        std::normal_distribution<float> normal(0.0f, 0.005f);
        WriteFineTune(base(), fine(), [&](const io::TensorInfo&, std::vector<float>& values) {
            for (float& v : values) v += normal(random);
        });
    }

    TempDir dir_;
};

TEST_P(GeneratedPairTest, LosslessRebuildsADenseChangeBitExact) {
    WriteDenseFineTune();
    Result<delta::DeltaReport> report = delta::WriteDelta(fine(), base(), dir_.File("d.tnpk"), Options(0));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->identical, 0u);
    EXPECT_EQ(report->approximated, 0u);
    EXPECT_LT(report->delta_bytes, report->fine_bytes);
    ASSERT_TRUE(delta::ApplyDelta(dir_.File("d.tnpk"), base(), dir_.File("out"), QuietApply()).ok());
    EXPECT_TRUE(ReadFile(fine() + "/model.safetensors") == ReadFile(dir_.File("out/model.safetensors")));
}

TEST_P(GeneratedPairTest, ChangesInOneLayerLeaveTheRestAsReferences) {
    WriteFineTune(base(), fine(), [](const io::TensorInfo& info, std::vector<float>& values) {
        if (info.name.starts_with("model.layers.1.") && IsMatrix(info)) values[3] += 0.25f;
    });
    Result<delta::DeltaReport> report = delta::WriteDelta(fine(), base(), dir_.File("d.tnpk"), Options(0.05));
    ASSERT_TRUE(report.ok()) << report.status().message();
    for (const delta::TensorChoice& t : report->tensors) {
        const bool changed = t.name.starts_with("model.layers.1.") && t.name.ends_with("proj.weight");
        EXPECT_EQ(t.mode == "ref", !changed) << t.name << " " << t.mode;
        // One changed weight: a single sparse entry is the cheapest exact-enough encoding.
        if (changed) {
            EXPECT_EQ(t.mode, "approx") << t.name;
            EXPECT_EQ(t.encoder, "sparse") << t.name;
        }
    }
    ASSERT_TRUE(delta::ApplyDelta(dir_.File("d.tnpk"), base(), dir_.File("out"), QuietApply()).ok());
    for (const auto& [name, error] : RelativeErrors(base(), fine(), dir_.File("out"))) EXPECT_LE(error, 0.05) << name;
}

TEST_P(GeneratedPairTest, AMergedRank8LoraIsFoundAndStoredInUnderFivePercent) {
    std::mt19937 random(11);
    std::normal_distribution<float> normal(0.0f, 0.06f);
    constexpr int kRank = 8;
    WriteFineTune(base(), fine(), [&](const io::TensorInfo& info, std::vector<float>& values) {
        if (!IsMatrix(info)) return;
        const int64_t rows = info.shape[0], cols = info.shape[1];
        std::vector<float> b(static_cast<size_t>(rows * kRank)), a(static_cast<size_t>(kRank * cols));
        for (float& v : b) v = normal(random);
        for (float& v : a) v = normal(random);
        for (int64_t i = 0; i < rows; ++i) {
            for (int64_t j = 0; j < cols; ++j) {
                float sum = 0;
                for (int k = 0; k < kRank; ++k) sum += b[static_cast<size_t>(i * kRank + k)] * a[static_cast<size_t>(k * cols + j)];
                values[static_cast<size_t>(i * cols + j)] += sum;
            }
        }
    });
    constexpr double kBudget = 0.1;
    Result<delta::DeltaReport> report = delta::WriteDelta(fine(), base(), dir_.File("d.tnpk"), Options(kBudget));
    ASSERT_TRUE(report.ok()) << report.status().message();
    size_t low_rank = 0;
    for (const delta::TensorChoice& t : report->tensors) {
        if (t.name.find("proj") == std::string::npos) continue;
        EXPECT_EQ(t.encoder, "lowrank") << t.name;
        if (t.encoder == "lowrank") {
            EXPECT_EQ(t.params["rank"], kRank) << t.name;
        }
        low_rank += t.encoder == "lowrank";
    }
    EXPECT_EQ(low_rank, 14u);  // 7 matrices x 2 layers
    EXPECT_LT(report->delta_bytes, report->fine_bytes / 20)
        << report->delta_bytes << " bytes of delta for " << report->fine_bytes;
    ASSERT_TRUE(delta::ApplyDelta(dir_.File("d.tnpk"), base(), dir_.File("out"), QuietApply()).ok());
    for (const auto& [name, error] : RelativeErrors(base(), fine(), dir_.File("out"))) EXPECT_LE(error, kBudget) << name;
}

TEST_P(GeneratedPairTest, EveryTensorStaysWithinItsBudgetAndLooserBudgetsCostLess) {
    WriteDenseFineTune();
    uint64_t previous = UINT64_MAX;
    for (double budget : {0.02, 0.2, 0.7}) {
        const std::string delta = dir_.File("d" + std::to_string(budget) + ".tnpk");
        const std::string out = dir_.File("out" + std::to_string(budget));
        Result<delta::DeltaReport> report = delta::WriteDelta(fine(), base(), delta, Options(budget));
        ASSERT_TRUE(report.ok()) << report.status().message();
        // At 2% the exact difference is cheaper than int8 codes in BF16 (the change is a few units in the
        // last place, which its byte planes compress well), and the delta stays exact there.
        if (budget >= 0.2 || GetParam() != DType::kBF16) {
            EXPECT_GT(report->approximated, 0u) << budget;
        }
        EXPECT_LE(report->delta_bytes, previous) << budget;
        previous = report->delta_bytes;
        for (const delta::TensorChoice& t : report->tensors) EXPECT_LE(t.relative_error, budget) << t.name;
        ASSERT_TRUE(delta::ApplyDelta(delta, base(), out, QuietApply()).ok());
        for (const auto& [name, error] : RelativeErrors(base(), fine(), out)) {
            EXPECT_LE(error, budget * (1 + 1e-6)) << name << " at budget " << budget;
        }
    }
}

TEST_P(GeneratedPairTest, AnUntouchedModelIsAllReferencesWithABudgetToo) {
    Result<delta::DeltaReport> report = delta::WriteDelta(base(), base(), dir_.File("d.tnpk"), Options(0.1));
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->identical, report->tensors.size());
    ASSERT_TRUE(delta::ApplyDelta(dir_.File("d.tnpk"), base(), dir_.File("out"), QuietApply()).ok());
    EXPECT_TRUE(ReadFile(base() + "/model.safetensors") == ReadFile(dir_.File("out/model.safetensors")));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, GeneratedPairTest, ::testing::Values(DType::kF32, DType::kF16, DType::kBF16),
                         [](const ::testing::TestParamInfo<DType>& param) { return std::string(DTypeName(param.param)); });

TEST(BudgetedDeltaTest, ABudgetOutsideZeroToOneIsRefused) {
    TempDir dir;
    testing::WriteTinyLlama(dir.File("base"), testing::TinyLlama{});
    for (double budget : {-0.1, 1.0, std::nan("")}) {
        Result<delta::DeltaReport> report = delta::WriteDelta(dir.File("base"), dir.File("base"), dir.File("d.tnpk"), Options(budget));
        ASSERT_FALSE(report.ok()) << budget;
        EXPECT_EQ(report.status().code(), StatusCode::kInvalidArgument);
    }
}

}  // namespace
}  // namespace tenpak
