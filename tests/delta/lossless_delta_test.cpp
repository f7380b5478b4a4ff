// Lossless deltas: the real partial fine-tune of the bundled model (fp32 and bf16), an untouched model,
// a resized vocabulary with a new head, and the wrong base.
#include <gtest/gtest.h>

#include <filesystem>

#include "model_factory.h"
#include "tenpak/delta/delta.h"
#include "test_util.h"

namespace tenpak {
namespace {
namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;

delta::DeltaOptions Quiet() {
    delta::DeltaOptions options;
    options.pack.progress = false;
    options.pack.threads = 2;
    return options;
}

delta::ApplyOptions QuietApply() {
    delta::ApplyOptions options;
    options.progress = false;
    return options;
}

void ExpectSameFiles(const std::string& want, const std::string& got) {
    ASSERT_EQ(testing::ListDir(want), testing::ListDir(got));
    for (const std::string& name : testing::ListDir(want)) {
        EXPECT_TRUE(ReadFile(want + "/" + name) == ReadFile(got + "/" + name)) << name;
    }
}

class RealPairTest : public ::testing::TestWithParam<std::string> {};

TEST_P(RealPairTest, RebuildsTheFineTuneBitExactAndStoresOnlyWhatChanged) {
    TempDir dir;
    const std::string base = testing::SharedData("finetunes/base/" + GetParam());
    const std::string fine = testing::SharedData("finetunes/ft_partial/" + GetParam());
    Result<delta::DeltaReport> report = delta::WriteDelta(fine, base, dir.File("d.tnpk"), Quiet());
    ASSERT_TRUE(report.ok()) << report.status().message();
    // The README: layers 3 and 4 and the final norm were trained; the other 28 of 47 tensors are identical.
    EXPECT_EQ(report->identical, 28u);
    EXPECT_EQ(report->differenced, 19u);
    EXPECT_EQ(report->whole, 0u);
    EXPECT_TRUE(report->added.empty());
    EXPECT_TRUE(report->removed.empty());
    EXPECT_LT(report->delta_bytes, report->fine_bytes / 2);
    Result<delta::ApplyReport> applied = delta::ApplyDelta(dir.File("d.tnpk"), base, dir.File("out"), QuietApply());
    ASSERT_TRUE(applied.ok()) << applied.status().message();
    EXPECT_EQ(applied->base_tensors_checked, 47u);
    ExpectSameFiles(fine, dir.File("out"));
}

TEST_P(RealPairTest, TheWrongBaseIsNamedBeforeAnythingIsWritten) {
    TempDir dir;
    const std::string base = testing::SharedData("finetunes/base/" + GetParam());
    const std::string fine = testing::SharedData("finetunes/ft_partial/" + GetParam());
    ASSERT_TRUE(delta::WriteDelta(fine, base, dir.File("d.tnpk"), Quiet()).ok());
    Result<delta::ApplyReport> applied = delta::ApplyDelta(dir.File("d.tnpk"), fine, dir.File("out"), QuietApply());
    ASSERT_FALSE(applied.ok());
    EXPECT_EQ(applied.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(applied.status().message().find("model.layers.3."), std::string::npos) << applied.status().message();
    EXPECT_FALSE(fs::exists(dir.File("out")));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, RealPairTest, ::testing::Values("fp32", "bf16"));

TEST(LosslessDeltaTest, AnUntouchedModelIsAllReferences) {
    TempDir dir;
    const std::string base = testing::SharedData("finetunes/base/fp32");
    Result<delta::DeltaReport> report = delta::WriteDelta(base, base, dir.File("d.tnpk"), Quiet());
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->identical, 47u);
    EXPECT_LT(report->delta_bytes, report->fine_bytes / 20);  // headers and config only
    ASSERT_TRUE(delta::ApplyDelta(dir.File("d.tnpk"), base, dir.File("out"), QuietApply()).ok());
    ExpectSameFiles(base, dir.File("out"));
}

TEST(LosslessDeltaTest, AResizedVocabularyAndANewHeadAreStoredWholeAndListed) {
    TempDir dir;
    testing::TinyLlama spec;
    spec.dtype = DType::kF16;
    spec.tied = true;
    testing::WriteTinyLlama(dir.File("base"), spec);
    spec.vocab = 72;  // resized embedding
    spec.tied = false;  // and a head of its own
    testing::WriteTinyLlama(dir.File("fine"), spec);
    Result<delta::DeltaReport> report = delta::WriteDelta(dir.File("fine"), dir.File("base"), dir.File("d.tnpk"), Quiet());
    ASSERT_TRUE(report.ok()) << report.status().message();
    EXPECT_EQ(report->added, std::vector<std::string>{"lm_head.weight"});
    EXPECT_EQ(report->whole, 2u);  // the resized embedding and the new head
    ASSERT_TRUE(delta::ApplyDelta(dir.File("d.tnpk"), dir.File("base"), dir.File("out"), QuietApply()).ok());
    ExpectSameFiles(dir.File("fine"), dir.File("out"));
}

}  // namespace
}  // namespace tenpak
