// GGUF block layouts: block bytes worked out by hand from shared/formats.md E.2, and agreement with
// core's DequantizeToF32 (the reader the engine uses for GGUF files).
#include <gtest/gtest.h>

#include <random>

#include "layout_test_util.h"
#include "tenpak/core/dequantize.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quantformat {
namespace {

using testing::Bytes;
using testing::FindMutable;
using testing::LookupOf;

QuantizedTensor Block32(Scheme scheme, int bits, float scale, float zero) {
    QuantizedTensor q;
    q.rows = 1;
    q.cols = 32;
    q.bits = bits;
    q.scheme = scheme;
    q.symmetric = scheme == Scheme::kAffine;
    q.group_size = 32;
    q.codes.assign(32, 0);
    q.scales = {scale};
    q.zeros = {zero};
    return q;
}

void ExpectRoundTrip(Layout layout, const QuantizedTensor& q, const std::vector<uint8_t>& expected_bytes, DType dtype) {
    Result<std::vector<PackedTensor>> packed = Pack(layout, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 1u);
    const PackedTensor& weight = (*packed)[0];
    EXPECT_EQ(weight.suffix, "weight");
    EXPECT_EQ(weight.dtype, dtype);
    EXPECT_EQ(weight.shape, (std::vector<int64_t>{q.rows, q.cols}));
    EXPECT_EQ(Bytes(weight), expected_bytes);
    Result<QuantizedTensor> back = Unpack(layout, q.rows, q.cols, LayoutParams{}, LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// Codes 100..131 are stored as qs = code - 128 = -28..3; d = 0.5 is F16 0x3800 (little-endian 00 38).
TEST(GgmlLayoutTest, Q8_0ByHand) {
    QuantizedTensor q = Block32(Scheme::kAffine, 8, 0.5f, 128.0f);
    for (size_t j = 0; j < 32; ++j) q.codes[j] = static_cast<uint8_t>(100 + j);
    const std::vector<uint8_t> expected = {
        0x00, 0x38,                                                                                      // d
        0xE4, 0xE5, 0xE6, 0xE7, 0xE8, 0xE9, 0xEA, 0xEB, 0xEC, 0xED, 0xEE, 0xEF, 0xF0, 0xF1, 0xF2, 0xF3,  // -28..-13
        0xF4, 0xF5, 0xF6, 0xF7, 0xF8, 0xF9, 0xFA, 0xFB, 0xFC, 0xFD, 0xFE, 0xFF, 0x00, 0x01, 0x02, 0x03,  // -12..3
    };
    ExpectRoundTrip(Layout::kGgufQ8_0, q, expected, DType::kQ8_0);
}

// Codes j (j < 16) and 15 - j (the element j + 16): qs[j] = j | (15 - j) << 4 = 0xF0, 0xE1, ... 0x0F.
// d = 0.25 is F16 0x3400.
TEST(GgmlLayoutTest, Q4_0ByHand) {
    QuantizedTensor q = Block32(Scheme::kAffine, 4, 0.25f, 8.0f);
    for (size_t j = 0; j < 16; ++j) {
        q.codes[j] = static_cast<uint8_t>(j);
        q.codes[j + 16] = static_cast<uint8_t>(15 - j);
    }
    const std::vector<uint8_t> expected = {0x00, 0x34, 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5, 0x96,
                                           0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F};
    ExpectRoundTrip(Layout::kGgufQ4_0, q, expected, DType::kQ4_0);
}

// Same codes with d = 1.0 (0x3C00) and m = -2.0 (0xC000).
TEST(GgmlLayoutTest, Q4_1ByHand) {
    QuantizedTensor q = Block32(Scheme::kAffineMin, 4, 1.0f, -2.0f);
    for (size_t j = 0; j < 16; ++j) {
        q.codes[j] = static_cast<uint8_t>(j);
        q.codes[j + 16] = static_cast<uint8_t>(15 - j);
    }
    const std::vector<uint8_t> expected = {0x00, 0x3C, 0x00, 0xC0, 0xF0, 0xE1, 0xD2, 0xC3, 0xB4, 0xA5,
                                           0x96, 0x87, 0x78, 0x69, 0x5A, 0x4B, 0x3C, 0x2D, 0x1E, 0x0F};
    ExpectRoundTrip(Layout::kGgufQ4_1, q, expected, DType::kQ4_1);
}

TEST(GgmlLayoutTest, RandomRoundTripsAgreeWithCoreDequantize) {
    std::mt19937 rng(77);
    const struct {
        Layout layout;
        int bits;
    } cases[] = {{Layout::kGgufQ8_0, 8}, {Layout::kGgufQ4_0, 4}, {Layout::kGgufQ4_1, 4}};
    for (const auto& c : cases) {
        const QuantizedTensor q = testing::RandomTensor(c.layout, 6, 96, c.bits, 32, rng);
        SCOPED_TRACE(std::string(LayoutName(c.layout)));
        testing::ExpectSameTensor(q, testing::RoundTrip(c.layout, q, LayoutParams{}));
        Result<std::vector<PackedTensor>> packed = Pack(c.layout, q);
        ASSERT_TRUE(packed.ok());
        std::vector<float> ours(q.codes.size());
        std::vector<float> core(q.codes.size());
        Dequantize(q, ours);
        ASSERT_TRUE(DequantizeToF32((*packed)[0].dtype, (*packed)[0].bytes, core).ok());
        for (size_t i = 0; i < ours.size(); ++i) ASSERT_FLOAT_EQ(ours[i], core[i]) << "element " << i;
    }
}

TEST(GgmlLayoutTest, CanHoldListsTheRules) {
    EXPECT_TRUE(CanHold(Layout::kGgufQ8_0, 4, 64, 8, 32, Scheme::kAffine).ok());
    EXPECT_TRUE(CanHold(Layout::kGgufQ4_1, 4, 64, 4, 32, Scheme::kAffineMin).ok());
    const Status cols = CanHold(Layout::kGgufQ4_0, 4, 48, 4, 32, Scheme::kAffine);
    EXPECT_EQ(cols.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(cols.message().find("GGUF Q4_0 needs the input size 48 to be a multiple of 32"), std::string::npos)
        << cols.message();
    const Status group = CanHold(Layout::kGgufQ4_0, 4, 64, 4, 64, Scheme::kAffine);
    EXPECT_NE(group.message().find("blocks of 32 inputs"), std::string::npos) << group.message();
    const Status scheme = CanHold(Layout::kGgufQ4_1, 4, 64, 4, 32, Scheme::kAffine);
    EXPECT_NE(scheme.message().find("stores 4-bit affine-min codes"), std::string::npos) << scheme.message();
    EXPECT_FALSE(CanHold(Layout::kGgufQ8_0, 4, 64, 4, 32, Scheme::kAffine).ok());
}

TEST(GgmlLayoutTest, PackRefusesValuesTheBlocksCannotHold) {
    QuantizedTensor q = Block32(Scheme::kAffine, 8, 0.1f, 128.0f);  // 0.1 is not an F16 value
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGgufQ8_0, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("scale 0.1 of block 0 is not an F16 value"), std::string::npos)
        << packed.status().message();

    q.scales = {0.5f};
    q.zeros = {127.0f};
    packed = Pack(Layout::kGgufQ8_0, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("zero point 127 of block 0 must be 128"), std::string::npos)
        << packed.status().message();

    QuantizedTensor q41 = Block32(Scheme::kAffineMin, 4, 0.5f, 0.3f);
    packed = Pack(Layout::kGgufQ4_1, q41);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("minimum 0.3 of block 0"), std::string::npos) << packed.status().message();
}

TEST(GgmlLayoutTest, BadInputNamesTheTensor) {
    std::mt19937 rng(4);
    const QuantizedTensor q = testing::RandomTensor(Layout::kGgufQ4_0, 2, 64, 4, 32, rng);
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGgufQ4_0, q);
    ASSERT_TRUE(packed.ok());
    // The file holds Q4_0 but the manifest says Q8_0.
    Status status = Unpack(Layout::kGgufQ8_0, 2, 64, LayoutParams{}, LookupOf(*packed)).status();
    EXPECT_NE(status.message().find("Q8_0 tensor 'weight': dtype Q4_0, expected Q8_0"), std::string::npos)
        << status.message();
    // GGUF's own order (ne = [K, N]) instead of TenPak's.
    std::vector<PackedTensor> copy = *packed;
    FindMutable(copy, "weight").shape = {64, 2};
    status = Unpack(Layout::kGgufQ4_0, 2, 64, LayoutParams{}, LookupOf(copy)).status();
    EXPECT_NE(status.message().find("'weight': shape [64, 2], expected [2, 64]"), std::string::npos)
        << status.message();
    copy = *packed;
    FindMutable(copy, "weight").bytes.resize(35);
    status = Unpack(Layout::kGgufQ4_0, 2, 64, LayoutParams{}, LookupOf(copy)).status();
    EXPECT_NE(status.message().find("'weight': 35 bytes, expected 72"), std::string::npos) << status.message();
    status = Unpack(Layout::kGgufQ4_0, 2, 64, LayoutParams{}, LookupOf({})).status();
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
    // A row that is no whole number of blocks.
    status = Unpack(Layout::kGgufQ4_0, 2, 40, LayoutParams{}, LookupOf(*packed)).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace tenpak::quantformat
