// GGUF k-quant layouts (Q4_K, Q6_K): block bytes worked out by hand from the bit orders of
// tenpak/core/ggml_blocks.h (ggml's get_scale_min_k4 and dequantize_row_q6_K), agreement with
// core's DequantizeToF32 (the reader written independently from shared/formats.md E.2), and the
// values Pack refuses.
#include <gtest/gtest.h>

#include <bit>
#include <random>

#include "layout_test_util.h"
#include "tenpak/core/dequantize.h"
#include "tenpak/core/half.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quantformat {
namespace {

using testing::Bytes;
using testing::LookupOf;

// One 256-wide row: Q4_K with the given 6-bit scale and minimum codes and d, dmin.
QuantizedTensor Q4K(const std::vector<int8_t>& sc, const std::vector<uint8_t>& m, float d, float dmin) {
    QuantizedTensor q;
    q.rows = 1;
    q.cols = 256;
    q.bits = 4;
    q.scheme = Scheme::kAffineMin;
    q.symmetric = false;
    q.group_size = 32;
    q.codes.resize(256);
    SuperBlocks sb;
    sb.groups_per_super_block = 8;
    sb.d = {d};
    sb.dmin = {dmin};
    sb.scale_codes = sc;
    sb.min_codes = m;
    for (size_t j = 0; j < 8; ++j) {
        q.scales.push_back(d * static_cast<float>(sc[j]));
        q.zeros.push_back(-(dmin * static_cast<float>(m[j])));
    }
    q.super_blocks = std::move(sb);
    return q;
}

QuantizedTensor Q6K(const std::vector<int8_t>& sc, float d) {
    QuantizedTensor q;
    q.rows = 1;
    q.cols = 256;
    q.bits = 8;
    q.scheme = Scheme::kAffine;
    q.symmetric = true;
    q.group_size = 16;
    q.codes.resize(256);
    SuperBlocks sb;
    sb.groups_per_super_block = 16;
    sb.d = {d};
    sb.scale_codes = sc;
    for (size_t j = 0; j < 16; ++j) {
        q.scales.push_back(d * static_cast<float>(sc[j]));
        q.zeros.push_back(32.0f);
    }
    q.super_blocks = std::move(sb);
    return q;
}

void ExpectRoundTrip(Layout layout, const QuantizedTensor& q, const std::vector<uint8_t>& expected, DType dtype) {
    Result<std::vector<PackedTensor>> packed = Pack(layout, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 1u);
    EXPECT_EQ((*packed)[0].suffix, "weight");
    EXPECT_EQ((*packed)[0].dtype, dtype);
    EXPECT_EQ((*packed)[0].shape, (std::vector<int64_t>{q.rows, q.cols}));
    EXPECT_EQ(Bytes((*packed)[0]), expected);
    Result<QuantizedTensor> back = Unpack(layout, q.rows, q.cols, LayoutParams{}, LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
    // And core's reader (llama.cpp's dequantize_row_q*_K, transcribed separately) agrees with the
    // values the tensor stands for, bit for bit.
    std::vector<float> ours(q.codes.size());
    std::vector<float> core(q.codes.size());
    Dequantize(q, ours);
    ASSERT_TRUE(DequantizeToF32(dtype, (*packed)[0].bytes, core).ok());
    for (size_t i = 0; i < ours.size(); ++i) ASSERT_EQ(std::bit_cast<uint32_t>(ours[i]), std::bit_cast<uint32_t>(core[i])) << i;
}

// d = 0.5 (F16 00 38), dmin = 0.25 (00 34). Scales 1, 2, 3, 4, 17, 34, 51, 63 and minimums 5, 6, 7,
// 8, 20, 40, 60, 33: groups 0-3 keep theirs whole in bytes 0-3 and 4-7; groups 4-7 put their low
// nibbles in bytes 8-11 (scale low, minimum high) and their top two bits in bits 6-7 of bytes 0-3
// (scale) and 4-7 (minimum): e.g. group 7, scale 63 = 0x3F and minimum 33 = 0x21, gives byte 11 =
// 0x1F, byte 3 = 4 | 3 << 6 = 0xC4, byte 7 = 8 | 2 << 6 = 0x88. Code i is i % 16, so each qs byte
// (codes l and l + 32 of a 64-wide chunk) is (l % 16) * 0x11.
TEST(GgmlKQuantLayoutTest, Q4_KByHand) {
    QuantizedTensor q = Q4K({1, 2, 3, 4, 17, 34, 51, 63}, {5, 6, 7, 8, 20, 40, 60, 33}, 0.5f, 0.25f);
    for (size_t i = 0; i < 256; ++i) q.codes[i] = static_cast<uint8_t>(i % 16);
    std::vector<uint8_t> expected = {0x00, 0x38, 0x00, 0x34,                          // d, dmin
                                     0x41, 0x82, 0xC3, 0xC4, 0x45, 0x86, 0xC7, 0x88,  // scales 0-7
                                     0x41, 0x82, 0xC3, 0x1F};
    for (size_t k = 0; k < 128; ++k) expected.push_back(static_cast<uint8_t>((k % 16) * 0x11));
    ExpectRoundTrip(Layout::kGgufQ4_K, q, expected, DType::kQ4_K);
}

// First half: codes 17 (0x11), 34 (0x22), 51 (0x33) and 4 in its four quarters of 32; second half:
// all 63. ql[l] holds the low nibbles of quarters 1 and 3 (1 | 3 << 4 = 0x31), ql[l + 32] those of
// quarters 2 and 4 (2 | 4 << 4 = 0x42), qh[l] the top two bits of all four (1 | 2 << 2 | 3 << 4 |
// 0 << 6 = 0x39); the second half is all ones. Scales -8..7 (bytes F8..FF, 00..07), d = 0.5.
TEST(GgmlKQuantLayoutTest, Q6_KByHand) {
    std::vector<int8_t> sc;
    for (int j = 0; j < 16; ++j) sc.push_back(static_cast<int8_t>(j - 8));
    QuantizedTensor q = Q6K(sc, 0.5f);
    const uint8_t quarters[4] = {17, 34, 51, 4};
    for (size_t i = 0; i < 128; ++i) q.codes[i] = quarters[i / 32];
    for (size_t i = 128; i < 256; ++i) q.codes[i] = 63;
    std::vector<uint8_t> expected;
    for (int l = 0; l < 32; ++l) expected.push_back(0x31);  // ql, first half
    for (int l = 0; l < 32; ++l) expected.push_back(0x42);
    for (int l = 0; l < 64; ++l) expected.push_back(0xFF);  // ql, second half
    for (int l = 0; l < 32; ++l) expected.push_back(0x39);  // qh
    for (int l = 0; l < 32; ++l) expected.push_back(0xFF);
    for (int j = 0; j < 16; ++j) expected.push_back(static_cast<uint8_t>(j - 8));
    expected.push_back(0x00);  // d
    expected.push_back(0x38);
    ExpectRoundTrip(Layout::kGgufQ6_K, q, expected, DType::kQ6_K);
}

TEST(GgmlKQuantLayoutTest, RandomSuperBlocksRoundTripAndAgreeWithCore) {
    std::mt19937 rng(21);
    std::uniform_int_distribution<int> code16(0, 15);
    std::uniform_int_distribution<int> code64(0, 63);
    std::uniform_int_distribution<int> signed8(-128, 127);
    std::uniform_real_distribution<float> factor(1e-4f, 0.05f);
    for (int trial = 0; trial < 5; ++trial) {
        std::vector<int8_t> sc(8);
        std::vector<uint8_t> m(8);
        for (size_t j = 0; j < 8; ++j) {
            sc[j] = static_cast<int8_t>(code64(rng));
            m[j] = static_cast<uint8_t>(code64(rng));
        }
        QuantizedTensor q4 = Q4K(sc, m, F16ToF32Ref(F32ToF16Ref(factor(rng))), F16ToF32Ref(F32ToF16Ref(factor(rng))));
        for (uint8_t& c : q4.codes) c = static_cast<uint8_t>(code16(rng));
        Result<std::vector<PackedTensor>> packed = Pack(Layout::kGgufQ4_K, q4);
        ASSERT_TRUE(packed.ok()) << packed.status().ToString();
        ExpectRoundTrip(Layout::kGgufQ4_K, q4, Bytes((*packed)[0]), DType::kQ4_K);

        std::vector<int8_t> sc6(16);
        for (int8_t& s : sc6) s = static_cast<int8_t>(signed8(rng));
        QuantizedTensor q6 = Q6K(sc6, F16ToF32Ref(F32ToF16Ref(factor(rng))));
        for (uint8_t& c : q6.codes) c = static_cast<uint8_t>(code64(rng));
        packed = Pack(Layout::kGgufQ6_K, q6);
        ASSERT_TRUE(packed.ok()) << packed.status().ToString();
        ExpectRoundTrip(Layout::kGgufQ6_K, q6, Bytes((*packed)[0]), DType::kQ6_K);
    }
}

TEST(GgmlKQuantLayoutTest, CanHoldAndPackRefuseWhatTheBlocksCannotHold) {
    EXPECT_TRUE(CanHold(Layout::kGgufQ4_K, 2, 512, 4, 32, Scheme::kAffineMin).ok());
    EXPECT_TRUE(CanHold(Layout::kGgufQ6_K, 2, 256, 8, 16, Scheme::kAffine).ok());
    const Status cols = CanHold(Layout::kGgufQ4_K, 2, 384, 4, 32, Scheme::kAffineMin);
    EXPECT_NE(cols.message().find("needs the input size 384 to be a multiple of its super-block of 256"),
              std::string::npos)
        << cols.message();
    EXPECT_FALSE(CanHold(Layout::kGgufQ6_K, 2, 256, 4, 32, Scheme::kAffine).ok());

    QuantizedTensor q = Q4K({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 1, 1, 1, 1, 1, 1}, 0.5f, 0.25f);
    q.scales[3] = 1.75f;  // not 0.5 x 4
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGgufQ4_K, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("scale 1.75 of group 3 is not the stored product 2"), std::string::npos)
        << packed.status().message();

    q = Q4K({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 1, 1, 1, 1, 1, 1}, 0.1f, 0.25f);  // 0.1 is no F16 value
    packed = Pack(Layout::kGgufQ4_K, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("is not an F16 value"), std::string::npos) << packed.status().message();

    q = Q4K({1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 1, 1, 1, 1, 1, 1}, 0.5f, 0.25f);
    q.super_blocks.reset();
    packed = Pack(Layout::kGgufQ4_K, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("needs super-block scales"), std::string::npos)
        << packed.status().message();

    QuantizedTensor q6 = Q6K(std::vector<int8_t>(16, 1), 0.5f);
    q6.codes[5] = 64;
    packed = Pack(Layout::kGgufQ6_K, q6);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("code 64 of super-block 0 does not fit in 6 bits"), std::string::npos)
        << packed.status().message();

    // A super-block structure whose sizes disagree with the groups is refused by Validate.
    q6 = Q6K(std::vector<int8_t>(16, 1), 0.5f);
    q6.super_blocks->d.push_back(1.0f);
    EXPECT_FALSE(Validate(q6).ok());
}

}  // namespace
}  // namespace tenpak::quantformat
