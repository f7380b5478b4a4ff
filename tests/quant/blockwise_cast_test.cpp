// RunBlockwiseCast and BlockwiseRecipe (blockwise.h), which `tenpak quantize` uses for weights
// stored [out, in]: quantizing F16 / BF16 / F32 weights as they are cast, group by group, must give
// exactly what Quantizer::Quantize gives on the F32 cast of the whole matrix, for every
// calibration-free method and any thread count; and DoubleQuantize's branch-free search of the
// 8-bit dynamic map must choose what std::lower_bound over the midpoints chooses.
#include "quant/blockwise.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

#include "quantizer_test_util.h"
#include "tenpak/core/cast.h"

namespace tenpak::quant {
namespace {

using quantformat::QuantizedTensor;

struct Case {
    std::string name;
    QuantOptions options;
};

std::vector<Case> Cases() {
    using testing::Options;
    return {
        {"rtn4_g128_sym", Options(Method::kRtn, 4, 128, true)},
        {"rtn4_g32_asym", Options(Method::kRtn, 4, 32, false)},
        {"rtn3_g64_asym", Options(Method::kRtn, 3, 64, false)},
        {"rtn2_g32_sym", Options(Method::kRtn, 2, 32, true)},
        {"rtn8_perrow_sym", Options(Method::kRtn, 8, -1, true)},
        {"nf4_b64", Options(Method::kNf4, 4, 64)},
        {"nf4_b64_double", Options(Method::kNf4, 4, 64, true, true)},
        {"fp4_b128_double", Options(Method::kFp4, 4, 128, true, true)},
        {"int8", Options(Method::kInt8, 8, 128)},
        {"gguf_q8_0", Options(Method::kGgufQ8_0, 8, 32)},
        {"gguf_q4_0", Options(Method::kGgufQ4_0, 4, 32)},
        {"gguf_q4_1", Options(Method::kGgufQ4_1, 4, 32, false)},
    };
}

std::vector<std::byte> CastTo(DType dtype, const std::vector<float>& w) {
    std::vector<std::byte> out(w.size() * Traits(dtype).block_bytes);
    const Status s = CastTensor(DType::kF32, {reinterpret_cast<const std::byte*>(w.data()), w.size() * sizeof(float)},
                                dtype, out, w.size());
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
}

std::vector<float> ToF32(DType dtype, const std::vector<std::byte>& stored, size_t count) {
    std::vector<float> out(count);
    const Status s =
        CastTensor(dtype, stored, DType::kF32, {reinterpret_cast<std::byte*>(out.data()), count * sizeof(float)}, count);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return out;
}

void ExpectSame(const QuantizedTensor& a, const QuantizedTensor& b) {
    EXPECT_EQ(a.rows, b.rows);
    EXPECT_EQ(a.cols, b.cols);
    EXPECT_EQ(a.bits, b.bits);
    EXPECT_EQ(a.scheme, b.scheme);
    EXPECT_EQ(a.group_size, b.group_size);
    EXPECT_TRUE(a.codes == b.codes);
    EXPECT_EQ(a.scales, b.scales);
    EXPECT_EQ(a.zeros, b.zeros);
    ASSERT_EQ(a.double_quant.has_value(), b.double_quant.has_value());
    if (a.double_quant) {
        EXPECT_EQ(a.double_quant->codes, b.double_quant->codes);
        EXPECT_EQ(a.double_quant->nested_absmax, b.double_quant->nested_absmax);
        EXPECT_EQ(a.double_quant->offset, b.double_quant->offset);
    }
}

TEST(BlockwiseCastTest, MatchesTheQuantizerOnTheCastWeightsForEveryMethodDTypeAndThreadCount) {
    // 96 x 160: 160 inputs take groups of 32 and the per-row ones; bnb's 64- and 128-blocks straddle rows.
    constexpr int64_t kRows = 96;
    constexpr int64_t kCols = 160;
    const std::vector<float> w = testing::TroubleMatrix(kRows, kCols, 7);
    for (const Case& c : Cases()) {
        const bool groups_fit = c.options.group_size < 0 || kCols % c.options.group_size == 0 ||
                                c.options.method == Method::kNf4 || c.options.method == Method::kFp4;
        const int64_t cols = groups_fit ? kCols : 128;
        const std::vector<float> weights(w.begin(), w.begin() + kRows * cols);
        Result<BlockwiseRecipe> recipe = MakeBlockwiseRecipe(c.options);
        ASSERT_TRUE(recipe.ok()) << c.name << ": " << recipe.status().ToString();
        for (DType dtype : {DType::kF16, DType::kBF16, DType::kF32}) {
            const std::vector<std::byte> stored = CastTo(dtype, weights);
            const std::vector<float> cast = ToF32(dtype, stored, weights.size());
            const QuantizedTensor expected = testing::QuantizeOrDie(c.options, cast, kRows, cols);
            for (size_t threads : {1, 2, 3}) {
                SCOPED_TRACE(c.name + " " + std::string(DTypeName(dtype)) + " threads " + std::to_string(threads));
                ThreadPool pool(threads);
                Result<QuantizedTensor> q = recipe->QuantizeStored(dtype, stored, kRows, cols, pool);
                ASSERT_TRUE(q.ok()) << q.status().ToString();
                ExpectSame(*q, expected);
            }
        }
    }
}

TEST(BlockwiseCastTest, ARecycledCodesBufferChangesNothing) {
    // The rewriter hands the last layer's codes back as the next one's buffer: bigger, smaller or
    // empty, and full of old codes, the result is the same.
    constexpr int64_t kRows = 48;
    constexpr int64_t kCols = 128;
    const std::vector<float> w = testing::TroubleMatrix(kRows, kCols, 13);
    const std::vector<std::byte> stored = CastTo(DType::kF16, w);
    for (const Case& c : Cases()) {
        Result<BlockwiseRecipe> recipe = MakeBlockwiseRecipe(c.options);
        ASSERT_TRUE(recipe.ok());
        ThreadPool pool(2);
        Result<QuantizedTensor> expected = recipe->QuantizeStored(DType::kF16, stored, kRows, kCols, pool);
        ASSERT_TRUE(expected.ok()) << c.name;
        for (size_t size : {size_t{0}, size_t{100}, static_cast<size_t>(kRows * kCols), size_t{3 * kRows * kCols}}) {
            std::vector<uint8_t> recycled(size, 0xEE);
            Result<QuantizedTensor> q = recipe->QuantizeStored(DType::kF16, stored, kRows, kCols, pool, &recycled);
            ASSERT_TRUE(q.ok()) << c.name;
            SCOPED_TRACE(c.name + ", recycled " + std::to_string(size));
            ExpectSame(*q, *expected);
        }
    }
}

TEST(BlockwiseCastTest, UnalignedF32IsCastNotReadInPlace) {
    constexpr int64_t kRows = 8;
    constexpr int64_t kCols = 64;
    const std::vector<float> w = testing::TroubleMatrix(kRows, kCols, 3);
    std::vector<std::byte> shifted(w.size() * sizeof(float) + 1);
    std::memcpy(shifted.data() + 1, w.data(), w.size() * sizeof(float));
    const QuantOptions o = testing::Options(Method::kRtn, 4, 32, false);
    Result<BlockwiseRecipe> recipe = MakeBlockwiseRecipe(o);
    ASSERT_TRUE(recipe.ok());
    ThreadPool pool(2);
    Result<QuantizedTensor> q =
        recipe->QuantizeStored(DType::kF32, std::span<const std::byte>(shifted).subspan(1), kRows, kCols, pool);
    ASSERT_TRUE(q.ok()) << q.status().ToString();
    ExpectSame(*q, testing::QuantizeOrDie(o, w, kRows, kCols));
}

TEST(BlockwiseCastTest, NaNIsNamedAsRunBlockwiseNamesIt) {
    constexpr int64_t kRows = 40;
    constexpr int64_t kCols = 128;
    std::vector<float> w = testing::TroubleMatrix(kRows, kCols, 5);
    w[static_cast<size_t>(33 * kCols + 77)] = std::numeric_limits<float>::quiet_NaN();
    w[static_cast<size_t>(35 * kCols + 1)] = std::numeric_limits<float>::infinity();
    const std::vector<std::byte> stored = CastTo(DType::kF16, w);
    for (const Case& c : Cases()) {
        Result<BlockwiseRecipe> recipe = MakeBlockwiseRecipe(c.options);
        ASSERT_TRUE(recipe.ok());
        for (size_t threads : {1, 3}) {
            ThreadPool pool(threads);
            Result<QuantizedTensor> q = recipe->QuantizeStored(DType::kF16, stored, kRows, kCols, pool);
            ASSERT_FALSE(q.ok()) << c.name;
            EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument);
            EXPECT_NE(q.status().message().find("NaN at row 33, column 77"), std::string::npos)
                << c.name << ": " << q.status().message();
        }
    }
}

TEST(BlockwiseCastTest, RefusesOtherDTypesAndWrongSizes) {
    Result<BlockwiseRecipe> recipe = MakeBlockwiseRecipe(testing::Options(Method::kRtn, 4, 32));
    ASSERT_TRUE(recipe.ok());
    ThreadPool pool(1);
    const std::vector<std::byte> bytes(64 * 2);
    EXPECT_FALSE(recipe->QuantizeStored(DType::kI8, bytes, 2, 64, pool).ok());
    EXPECT_FALSE(recipe->QuantizeStored(DType::kF16, bytes, 2, 96, pool).ok());
    EXPECT_FALSE(recipe->QuantizeStored(DType::kF16, std::span<const std::byte>(bytes).subspan(1), 2, 32, pool).ok());
    EXPECT_FALSE(MakeBlockwiseRecipe(testing::Options(Method::kGptq, 4, 128)).ok());
}

// The double quantization DoubleQuantize did before its search was made branch-free.
void ReferenceDoubleQuantize(QuantizedTensor& q) {
    constexpr size_t kNested = 256;
    const std::array<float, 256>& map = quantformat::DynamicMap8();
    std::array<float, 255> mid{};
    for (size_t i = 0; i < mid.size(); ++i) mid[i] = (map[i] + map[i + 1]) / 2.0f;
    double sum = 0.0;
    for (float a : q.scales) sum += a;
    quantformat::DoubleQuant dq;
    dq.offset = static_cast<float>(sum / static_cast<double>(q.scales.size()));
    dq.nested_block = kNested;
    dq.codes.resize(q.scales.size());
    for (size_t begin = 0; begin < q.scales.size(); begin += kNested) {
        const size_t count = std::min(kNested, q.scales.size() - begin);
        float absmax = 0.0f;
        for (size_t i = 0; i < count; ++i) absmax = std::max(absmax, std::fabs(q.scales[begin + i] - dq.offset));
        const float inv = absmax > 0.0f ? 1.0f / absmax : 0.0f;
        dq.nested_absmax.push_back(absmax);
        for (size_t i = 0; i < count; ++i) {
            const float x = (q.scales[begin + i] - dq.offset) * inv;
            const auto code = static_cast<uint8_t>(std::lower_bound(mid.begin(), mid.end(), x) - mid.begin());
            dq.codes[begin + i] = code;
            q.scales[begin + i] = map[code] * absmax + dq.offset;
        }
    }
    q.double_quant = std::move(dq);
}

TEST(BlockwiseCastTest, DoubleQuantizeChoosesWhatLowerBoundChooses) {
    // Absmax values spread over the whole map, including the midpoints themselves and the ends.
    std::vector<float> scales;
    std::mt19937 rng(11);
    std::uniform_real_distribution<float> uniform(0.0f, 1.0f);
    for (int i = 0; i < 3000; ++i) scales.push_back(uniform(rng) * uniform(rng));
    scales.push_back(0.0f);
    scales.push_back(1.0f);
    const std::array<float, 256>& map = quantformat::DynamicMap8();
    for (size_t i = 0; i + 1 < map.size(); ++i) scales.push_back(0.5f + (map[i] + map[i + 1]) / 4.0f);
    QuantizedTensor q;
    q.scales = scales;
    QuantizedTensor expected;
    expected.scales = scales;
    DoubleQuantize(q);
    ReferenceDoubleQuantize(expected);
    ASSERT_TRUE(q.double_quant.has_value());
    EXPECT_EQ(q.double_quant->codes, expected.double_quant->codes);
    EXPECT_EQ(q.double_quant->nested_absmax, expected.double_quant->nested_absmax);
    EXPECT_EQ(q.scales, expected.scales);
}

}  // namespace
}  // namespace tenpak::quant
