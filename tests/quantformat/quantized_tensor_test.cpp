// QuantizedTensor (src/quantformat/quantized_tensor.cpp): Validate's checks, Dequantize on a hand
// example per scheme, and the bitsandbytes tables against shared/formats.md D.1.
#include "tenpak/quantformat/quantized_tensor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

namespace tenpak::quantformat {
namespace {

QuantizedTensor Affine2x4() {
    QuantizedTensor q;
    q.rows = 2;
    q.cols = 4;
    q.bits = 4;
    q.group_size = 2;
    q.scheme = Scheme::kAffine;
    q.codes = {0, 1, 2, 3, 15, 8, 8, 9};
    q.scales = {1.0f, 0.5f, 2.0f, 0.25f};  // [row][group]
    q.zeros = {1.0f, 2.0f, 8.0f, 8.0f};
    return q;
}

std::vector<float> Dequant(const QuantizedTensor& q) {
    std::vector<float> out(q.codes.size());
    Dequantize(q, out);
    return out;
}

void ExpectInvalid(const QuantizedTensor& q, const std::string& fragment) {
    const Status status = Validate(q);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find(fragment), std::string::npos) << status.message();
}

TEST(QuantizedTensorTest, SchemeNames) {
    EXPECT_EQ(SchemeName(Scheme::kAffine), "affine");
    EXPECT_EQ(SchemeName(Scheme::kAffineMin), "affine-min");
    EXPECT_EQ(SchemeName(Scheme::kNf4), "nf4");
    EXPECT_EQ(SchemeName(Scheme::kFp4), "fp4");
    EXPECT_EQ(SchemeName(Scheme::kInt8Absmax), "int8-absmax");
}

TEST(QuantizedTensorTest, ValidateAcceptsAGoodTensor) {
    EXPECT_TRUE(Validate(Affine2x4()).ok());
}

TEST(QuantizedTensorTest, ValidateNamesWhatIsWrong) {
    QuantizedTensor q = Affine2x4();
    q.rows = 0;
    ExpectInvalid(q, "is empty");
    q = Affine2x4();
    q.bits = 5;
    ExpectInvalid(q, "5 bits");
    q = Affine2x4();
    q.group_size = 3;
    ExpectInvalid(q, "not a multiple of the group size 3");
    q = Affine2x4();
    q.group_size = 0;
    ExpectInvalid(q, "not positive");
    q = Affine2x4();
    q.codes.pop_back();
    ExpectInvalid(q, "7 codes for 8 weights");
    q = Affine2x4();
    q.codes[4] = 16;
    ExpectInvalid(q, "code 16 does not fit in 4 bits");
    q = Affine2x4();
    q.scales.push_back(1.0f);
    ExpectInvalid(q, "5 scales, expected 4");
    q = Affine2x4();
    q.zeros.clear();
    ExpectInvalid(q, "0 zeros");
    q = Affine2x4();
    q.g_idx = {0, 1, 1};
    ExpectInvalid(q, "g_idx has 3 entries for 4 input columns");
    q.g_idx = {0, 1, 2, 0};
    ExpectInvalid(q, "g_idx entry 2 is outside 0..1");
    q = Affine2x4();
    q.double_quant = DoubleQuant{};
    ExpectInvalid(q, "double quantization only goes with nf4/fp4");
}

TEST(QuantizedTensorTest, ValidateTableSchemes) {
    QuantizedTensor q;
    q.rows = 3;
    q.cols = 5;  // 15 elements in blocks of 4: the last block is partial
    q.bits = 4;
    q.group_size = 4;
    q.scheme = Scheme::kNf4;
    q.codes.assign(15, 0);
    q.scales.assign(4, 1.0f);
    EXPECT_EQ(q.groups(), 4);
    EXPECT_EQ(q.GroupIndex(2, 4), 3);
    EXPECT_TRUE(Validate(q).ok());
    q.zeros = {0.0f, 0.0f, 0.0f, 0.0f};
    ExpectInvalid(q, "zeros for scheme nf4");
    q.zeros.clear();
    DoubleQuant dq;
    dq.codes.assign(4, 0);
    dq.nested_absmax = {1.0f};
    q.double_quant = dq;
    EXPECT_TRUE(Validate(q).ok());
    q.double_quant->nested_absmax.push_back(1.0f);
    ExpectInvalid(q, "expected 4 and 1");
    q.bits = 8;
    q.double_quant.reset();
    ExpectInvalid(q, "nf4/fp4 codes have 4 bits");

    QuantizedTensor i8;
    i8.rows = 1;
    i8.cols = 4;
    i8.bits = 8;
    i8.scheme = Scheme::kInt8Absmax;
    i8.group_size = 2;
    i8.codes.assign(4, 128);
    i8.scales = {1.0f, 1.0f};
    ExpectInvalid(i8, "one group per row");
}

// kAffine: w = scale * (q - zero), group (r, c / 2).
TEST(QuantizedTensorTest, DequantizeAffine) {
    EXPECT_EQ(Dequant(Affine2x4()), (std::vector<float>{-1.0f, 0.0f, 0.0f, 0.5f, 14.0f, 0.0f, 0.0f, 0.25f}));
}

// With g_idx, column c takes group g_idx[c] of its row.
TEST(QuantizedTensorTest, DequantizeAffineActOrder) {
    QuantizedTensor q = Affine2x4();
    q.g_idx = {1, 0, 1, 0};
    EXPECT_EQ(q.GroupIndex(1, 2), 3);
    // Row 0: c0 group 1 (0.5, zero 2) -> -1; c1 group 0 (1, zero 1) -> 0; c2 group 1 -> 0; c3 group 0 -> 2.
    // Row 1: c0 group 3 (0.25, 8) -> 1.75; c1 group 2 (2, 8) -> 0; c2 group 3 -> 0; c3 group 2 -> 2.
    EXPECT_EQ(Dequant(q), (std::vector<float>{-1.0f, 0.0f, 0.0f, 2.0f, 1.75f, 0.0f, 0.0f, 2.0f}));
}

// kAffineMin: w = scale * q + min.
TEST(QuantizedTensorTest, DequantizeAffineMin) {
    QuantizedTensor q = Affine2x4();
    q.scheme = Scheme::kAffineMin;
    q.zeros = {-1.0f, 0.5f, 0.0f, -2.0f};
    EXPECT_EQ(Dequant(q), (std::vector<float>{-1.0f, 0.0f, 1.5f, 2.0f, 30.0f, 16.0f, 0.0f, 0.25f}));
}

// kNf4 / kFp4: w = table[q] * absmax of the element's block in the flattened tensor.
TEST(QuantizedTensorTest, DequantizeTables) {
    QuantizedTensor q;
    q.rows = 2;
    q.cols = 3;
    q.bits = 4;
    q.group_size = 4;  // blocks {0..3}, {4, 5}: the first straddles the rows
    q.scheme = Scheme::kNf4;
    q.codes = {0, 7, 15, 15, 0, 8};
    q.scales = {2.0f, 4.0f};
    EXPECT_EQ(Dequant(q), (std::vector<float>{-2.0f, 0.0f, 2.0f, 2.0f, -4.0f, 4.0f * 0.07958029955625534f}));
    q.scheme = Scheme::kFp4;
    q.codes = {3, 11, 5, 6, 1, 8};
    EXPECT_EQ(Dequant(q), (std::vector<float>{2.0f, -2.0f, 1.0f, 2.0f / 6.0f, 4.0f * (0.0625f / 12.0f), -0.0f}));
}

// kInt8Absmax: w = (q - 128) * SCB / 127.
TEST(QuantizedTensorTest, DequantizeInt8Absmax) {
    QuantizedTensor q;
    q.rows = 2;
    q.cols = 2;
    q.bits = 8;
    q.group_size = 2;
    q.scheme = Scheme::kInt8Absmax;
    q.codes = {255, 1, 128, 191};
    q.scales = {127.0f, 2.54f};
    const std::vector<float> out = Dequant(q);
    EXPECT_EQ(out[0], 127.0f);
    EXPECT_EQ(out[1], -127.0f);
    EXPECT_EQ(out[2], 0.0f);
    EXPECT_FLOAT_EQ(out[3], 63.0f * 2.54f / 127.0f);
}

TEST(QuantizedTensorTest, Nf4TableIsBitsandbytes) {
    const std::array<float, 16>& t = Nf4Table();
    EXPECT_EQ(t[0], -1.0f);
    EXPECT_EQ(t[7], 0.0f);
    EXPECT_EQ(t[15], 1.0f);
    EXPECT_EQ(t[1], -0.6961928009986877f);
    EXPECT_EQ(t[8], 0.07958029955625534f);
    EXPECT_EQ(t[14], 0.7229568362236023f);
    EXPECT_TRUE(std::is_sorted(t.begin(), t.end()));
}

TEST(QuantizedTensorTest, Fp4TableIsFormatsMd) {
    // shared/formats.md D.1, code by code.
    const float listed[16] = {0.0f,  0.005208333f,  0.6666667f,  1.0f,  0.33333334f,  0.5f,  0.16666667f,  0.25f,
                              -0.0f, -0.005208333f, -0.6666667f, -1.0f, -0.33333334f, -0.5f, -0.16666667f, -0.25f};
    const std::array<float, 16>& t = Fp4Table();
    for (int i = 0; i < 16; ++i) EXPECT_FLOAT_EQ(t[static_cast<size_t>(i)], listed[i]) << "code " << i;
    EXPECT_TRUE(std::signbit(t[8]));  // code 8 is -0
    EXPECT_EQ(t[3], 1.0f);
    EXPECT_EQ(t[11], -1.0f);
}

TEST(QuantizedTensorTest, DynamicMap8) {
    const std::array<float, 256>& map = DynamicMap8();
    EXPECT_TRUE(std::is_sorted(map.begin(), map.end()));
    EXPECT_EQ(std::adjacent_find(map.begin(), map.end()), map.end());  // strictly ascending
    // 127 negatives, 0, 127 positives, then 1.0.
    EXPECT_EQ(map[127], 0.0f);
    EXPECT_EQ(map[255], 1.0f);
    // The extremes of exponent 0: +-(midpoint of the last two of linspace(0.1, 1, 65)) = +-0.99296875;
    // the smallest magnitude is exponent -6's only midpoint, 0.55e-6.
    EXPECT_FLOAT_EQ(map[0], -0.99296875f);
    EXPECT_FLOAT_EQ(map[254], 0.99296875f);
    EXPECT_FLOAT_EQ(map[128], 0.55e-6f);
    EXPECT_FLOAT_EQ(map[126], -0.55e-6f);
    // The map is symmetric apart from the extra 1.0.
    for (int i = 0; i < 127; ++i) EXPECT_EQ(map[static_cast<size_t>(i)], -map[static_cast<size_t>(254 - i)]) << i;
    // 2^i values per decade 10^(i - 6) for i = 0..6.
    int decade_counts[7] = {};
    for (size_t i = 128; i < 255; ++i) {
        const int decade = static_cast<int>(std::floor(std::log10(map[i]))) + 7;  // [1e-7, 1e-6) -> 0
        ASSERT_GE(decade, 0);
        ASSERT_LT(decade, 7);
        ++decade_counts[decade];
    }
    for (int i = 0; i < 7; ++i) EXPECT_EQ(decade_counts[i], 1 << i) << "decade " << i;
}

}  // namespace
}  // namespace tenpak::quantformat
