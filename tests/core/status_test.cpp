#include "tenpak/core/status.h"

#include <gtest/gtest.h>

#include "tenpak/core/result.h"

namespace tenpak {
namespace {

Result<int> ParsePositive(int v) {
    if (v <= 0) return Status::InvalidArgument("value " + std::to_string(v) + " is not positive");
    return v;
}

Result<int> Doubled(int v) {
    TP_ASSIGN_OR_RETURN(int x, ParsePositive(v));
    return 2 * x;
}

Status CheckBoth(int a, int b) {
    TP_RETURN_IF_ERROR(ParsePositive(a).status());
    TP_RETURN_IF_ERROR(ParsePositive(b).status());
    return Status::Ok();
}

TEST(StatusTest, OkByDefault) {
    Status s;
    EXPECT_TRUE(s.ok());
    EXPECT_EQ(s.ToString(), "ok");
}

TEST(StatusTest, CarriesCodeMessageAndContext) {
    Status s = Status::Corruption("tensor 'x' ends past the file").WithContext("model.safetensors");
    EXPECT_EQ(s.code(), StatusCode::kCorruption);
    EXPECT_EQ(s.message(), "model.safetensors: tensor 'x' ends past the file");
    EXPECT_EQ(s.ToString(), "corruption: model.safetensors: tensor 'x' ends past the file");
    EXPECT_TRUE(Status::Ok().WithContext("ignored").ok());
}

TEST(ResultTest, ValueOrErrorPropagates) {
    Result<int> good = Doubled(21);
    ASSERT_TRUE(good.ok());
    EXPECT_EQ(*good, 42);
    Result<int> bad = Doubled(-1);
    ASSERT_FALSE(bad.ok());
    EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(bad.status().message(), "value -1 is not positive");
    EXPECT_TRUE(CheckBoth(1, 2).ok());
    EXPECT_EQ(CheckBoth(1, 0).message(), "value 0 is not positive");
}

TEST(ResultTest, ValueOfErrorAborts) {
    Result<int> bad = Status::NotFound("nothing");
    EXPECT_DEATH({ (void)bad.value(); }, "internal check failed");
}

}  // namespace
}  // namespace tenpak
