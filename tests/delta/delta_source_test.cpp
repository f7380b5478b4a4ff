// A delta read as the fine-tune's TensorSource: the fine-tune's tensor list, each tensor rebuilt as
// `delta apply` writes it, and the base checked before anything is read.
#include "tenpak/delta/delta_source.h"

#include <gtest/gtest.h>

#include "tenpak/delta/delta.h"
#include "tenpak/io/safetensors.h"
#include "test_util.h"

namespace tenpak {
namespace {
using testing::TempDir;

std::string Bytes(const io::TensorData& data) {
    return {reinterpret_cast<const char*>(data.data()), data.size()};
}

class DeltaSourceTest : public ::testing::TestWithParam<double> {};

TEST_P(DeltaSourceTest, ReadsEveryTensorAsApplyWritesIt) {
    TempDir dir;
    const std::string base = testing::SharedData("finetunes/base/bf16");
    const std::string fine = testing::SharedData("finetunes/ft_partial/bf16");
    delta::DeltaOptions options;
    options.pack.progress = false;
    options.max_relative_error = GetParam();
    ASSERT_TRUE(delta::WriteDelta(fine, base, dir.File("d.tnpk"), options).ok());
    delta::ApplyOptions apply;
    apply.progress = false;
    ASSERT_TRUE(delta::ApplyDelta(dir.File("d.tnpk"), base, dir.File("out"), apply).ok());

    Result<std::shared_ptr<const artifact::Artifact>> packed = artifact::Artifact::OpenFile(dir.File("d.tnpk"));
    ASSERT_TRUE(packed.ok());
    Result<std::unique_ptr<io::TensorSource>> source = delta::OpenDeltaTensorSource(*packed, base);
    ASSERT_TRUE(source.ok()) << source.status().message();
    Result<std::unique_ptr<io::SafetensorsReader>> applied = io::SafetensorsReader::Open(dir.File("out/model.safetensors"));
    Result<std::unique_ptr<io::SafetensorsReader>> original = io::SafetensorsReader::Open(fine + "/model.safetensors");
    ASSERT_TRUE(applied.ok() && original.ok());
    ASSERT_EQ((*source)->tensors().size(), (*original)->tensors().size());
    for (const io::TensorInfo& info : (*original)->tensors()) {
        const io::TensorInfo* mine = nullptr;
        for (const io::TensorInfo& t : (*source)->tensors()) {
            if (t.name == info.name) mine = &t;
        }
        ASSERT_NE(mine, nullptr) << info.name;
        EXPECT_EQ(mine->dtype, info.dtype) << info.name;
        EXPECT_EQ(mine->shape, info.shape) << info.name;
        Result<io::TensorData> read = (*source)->Read(*mine);
        ASSERT_TRUE(read.ok()) << read.status().message();
        EXPECT_TRUE(Bytes(*read) == Bytes(*(*applied)->Read(info))) << info.name;
        if (GetParam() == 0) {
            EXPECT_TRUE(Bytes(*read) == Bytes(*(*original)->Read(info))) << info.name;
        }
    }
}

INSTANTIATE_TEST_SUITE_P(LosslessAndBudgeted, DeltaSourceTest, ::testing::Values(0.0, 0.3));

TEST(DeltaSourceTest, TheWrongBaseIsNamedWhenTheSourceOpens) {
    TempDir dir;
    const std::string base = testing::SharedData("finetunes/base/bf16");
    const std::string fine = testing::SharedData("finetunes/ft_partial/bf16");
    delta::DeltaOptions options;
    options.pack.progress = false;
    ASSERT_TRUE(delta::WriteDelta(fine, base, dir.File("d.tnpk"), options).ok());
    Result<std::shared_ptr<const artifact::Artifact>> packed = artifact::Artifact::OpenFile(dir.File("d.tnpk"));
    ASSERT_TRUE(packed.ok());
    Result<std::unique_ptr<io::TensorSource>> source = delta::OpenDeltaTensorSource(*packed, fine);
    ASSERT_FALSE(source.ok());
    EXPECT_EQ(source.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(source.status().message().find("model.layers.3."), std::string::npos) << source.status().message();
}

}  // namespace
}  // namespace tenpak
