// AWQ GEMM layout: expected words worked out by hand from shared/formats.md C.1 (AWQ_ORDER
// [0, 2, 4, 6, 1, 3, 5, 7]: nibble slot s of a word holds output column AWQ_ORDER[s] of its run).
#include <gtest/gtest.h>

#include <random>

#include "layout_test_util.h"
#include "tenpak/quantformat/layouts.h"

namespace tenpak::quantformat {
namespace {

using testing::Find;
using testing::FindMutable;
using testing::Halves;
using testing::LookupOf;
using testing::Words;

LayoutParams AwqParams(int64_t group_size) {
    LayoutParams params;
    params.bits = 4;
    params.group_size = group_size;
    params.symmetric = false;
    return params;
}

// N = 8, K = 4, groups of 2. Code (n, k) = n + 8 * (k % 2); zero (n, 0) = n, zero (n, 1) = 15 - n.
// Reading a word's nibbles from slot 7 down to slot 0 (hex digits left to right) gives the columns
// 7, 5, 3, 1, 6, 4, 2, 0: for k even 0x75316420, for k odd (codes 8..15) 0xFDB9ECA8; the second
// zero row (15 - n) gives 8, 10, 12, 14, 9, 11, 13, 15 = 0x8ACE9BDF.
TEST(AwqLayoutTest, InterleavedNibblesByHand) {
    QuantizedTensor q;
    q.rows = 8;
    q.cols = 4;
    q.bits = 4;
    q.group_size = 2;
    q.scheme = Scheme::kAffine;
    q.symmetric = false;
    q.codes.resize(32);
    q.scales.resize(16);
    q.zeros.resize(16);
    for (int64_t n = 0; n < 8; ++n) {
        for (int64_t k = 0; k < 4; ++k) q.codes[static_cast<size_t>(n * 4 + k)] = static_cast<uint8_t>(n + 8 * (k % 2));
        q.zeros[static_cast<size_t>(n * 2)] = static_cast<float>(n);
        q.zeros[static_cast<size_t>(n * 2 + 1)] = static_cast<float>(15 - n);
        q.scales[static_cast<size_t>(n * 2)] = 1.0f;       // F16 0x3C00
        q.scales[static_cast<size_t>(n * 2 + 1)] = -2.0f;  // F16 0xC000
    }
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kAwqGemm, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 3u);
    EXPECT_EQ((*packed)[0].suffix, "qweight");
    EXPECT_EQ((*packed)[1].suffix, "qzeros");
    EXPECT_EQ((*packed)[2].suffix, "scales");

    const PackedTensor& qweight = Find(*packed, "qweight");
    EXPECT_EQ(qweight.dtype, DType::kI32);
    EXPECT_EQ(qweight.shape, (std::vector<int64_t>{4, 1}));
    EXPECT_EQ(Words(qweight), (std::vector<uint32_t>{0x75316420, 0xFDB9ECA8, 0x75316420, 0xFDB9ECA8}));
    const PackedTensor& qzeros = Find(*packed, "qzeros");
    EXPECT_EQ(qzeros.shape, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(Words(qzeros), (std::vector<uint32_t>{0x75316420, 0x8ACE9BDF}));
    const PackedTensor& scales = Find(*packed, "scales");
    EXPECT_EQ(scales.dtype, DType::kF16);
    EXPECT_EQ(scales.shape, (std::vector<int64_t>{2, 8}));
    std::vector<uint16_t> expected(8, 0x3C00);
    expected.resize(16, 0xC000);
    EXPECT_EQ(Halves(scales), expected);

    Result<QuantizedTensor> back = Unpack(Layout::kAwqGemm, 8, 4, AwqParams(2), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// N = 16: the second word of a row holds columns 8..15 in the same interleave. Only column 9 has a
// code (5): column 9 is position 1 of run 1, which AWQ_ORDER puts in slot 4 (bits 16..19).
TEST(AwqLayoutTest, SecondRunOfEightColumns) {
    QuantizedTensor q;
    q.rows = 16;
    q.cols = 2;
    q.bits = 4;
    q.group_size = 2;
    q.scheme = Scheme::kAffine;
    q.codes.assign(32, 0);
    q.codes[9 * 2 + 1] = 5;  // (n = 9, k = 1)
    q.scales.assign(16, 0.5f);
    q.zeros.assign(16, 0.0f);
    q.zeros[2] = 3.0f;  // column 2: position 2 of run 0 -> slot 1 (bits 4..7)
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kAwqGemm, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    EXPECT_EQ(Find(*packed, "qweight").shape, (std::vector<int64_t>{2, 2}));
    EXPECT_EQ(Words(Find(*packed, "qweight")), (std::vector<uint32_t>{0, 0, 0, 0x00050000}));
    EXPECT_EQ(Words(Find(*packed, "qzeros")), (std::vector<uint32_t>{0x00000030, 0}));
    Result<QuantizedTensor> back = Unpack(Layout::kAwqGemm, 16, 2, AwqParams(2), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    q.symmetric = false;
    testing::ExpectSameTensor(q, *back);
}

TEST(AwqLayoutTest, RandomRoundTrips) {
    std::mt19937 rng(99);
    for (int64_t group : {32, 64, 128}) {
        for (int64_t rows : {8, 24, 64}) {
            const QuantizedTensor q = testing::RandomTensor(Layout::kAwqGemm, rows, 256, 4, group, rng);
            SCOPED_TRACE("rows " + std::to_string(rows) + " g" + std::to_string(group));
            testing::ExpectSameTensor(q, testing::RoundTrip(Layout::kAwqGemm, q, AwqParams(group)));
        }
    }
    // Per channel (group_size -1 in the config).
    const QuantizedTensor q = testing::RandomTensor(Layout::kAwqGemm, 16, 96, 4, 96, rng);
    testing::ExpectSameTensor(q, testing::RoundTrip(Layout::kAwqGemm, q, AwqParams(-1)));
}

TEST(AwqLayoutTest, CanHoldListsTheRules) {
    EXPECT_TRUE(CanHold(Layout::kAwqGemm, 64, 256, 4, 128, Scheme::kAffine).ok());
    const Status bits = CanHold(Layout::kAwqGemm, 64, 256, 8, 128, Scheme::kAffine);
    EXPECT_EQ(bits.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(bits.message().find("AWQ stores 4-bit codes only"), std::string::npos) << bits.message();
    const Status rows = CanHold(Layout::kAwqGemm, 12, 256, 4, 128, Scheme::kAffine);
    EXPECT_NE(rows.message().find("output size 12 to be a multiple of 8"), std::string::npos) << rows.message();
    const Status group = CanHold(Layout::kAwqGemm, 64, 200, 4, 128, Scheme::kAffine);
    EXPECT_NE(group.message().find("divide the input size 200"), std::string::npos) << group.message();
    EXPECT_FALSE(CanHold(Layout::kAwqGemm, 64, 256, 4, 128, Scheme::kAffineMin).ok());
}

TEST(AwqLayoutTest, PackRejectsWhatAwqCannotStore) {
    std::mt19937 rng(5);
    QuantizedTensor q = testing::RandomTensor(Layout::kAwqGemm, 8, 64, 4, 32, rng);
    q.g_idx.assign(64, 0);
    for (int k = 0; k < 64; ++k) q.g_idx[static_cast<size_t>(k)] = k % 2;
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kAwqGemm, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("AWQ has no g_idx"), std::string::npos) << packed.status().message();

    q.g_idx.clear();
    q.zeros[5] = 16.0f;  // fits no nibble
    packed = Pack(Layout::kAwqGemm, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("zero point 16 (row 2, group 1) is not a whole number in 0..15"),
              std::string::npos)
        << packed.status().message();
}

TEST(AwqLayoutTest, BadInputNamesTheTensor) {
    std::mt19937 rng(11);
    const QuantizedTensor q = testing::RandomTensor(Layout::kAwqGemm, 16, 64, 4, 32, rng);
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kAwqGemm, q);
    ASSERT_TRUE(packed.ok());

    std::vector<PackedTensor> copy = *packed;
    FindMutable(copy, "qweight").shape = {16, 64 / 8};  // GPTQ's orientation
    Status status = Unpack(Layout::kAwqGemm, 16, 64, AwqParams(32), LookupOf(copy)).status();
    EXPECT_EQ(status.code(), StatusCode::kCorruption);
    EXPECT_NE(status.message().find("awq tensor 'qweight': shape [16, 8], expected [64, 2] (K, N / 8)"),
              std::string::npos)
        << status.message();

    copy = *packed;
    FindMutable(copy, "scales").dtype = DType::kBF16;
    status = Unpack(Layout::kAwqGemm, 16, 64, AwqParams(32), LookupOf(copy)).status();
    EXPECT_NE(status.message().find("'scales': dtype BF16, expected F16"), std::string::npos) << status.message();

    copy = *packed;
    testing::Remove(copy, "scales");
    status = Unpack(Layout::kAwqGemm, 16, 64, AwqParams(32), LookupOf(copy)).status();
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
    EXPECT_NE(status.message().find("'scales'"), std::string::npos) << status.message();

    LayoutParams eight_bit = AwqParams(32);
    eight_bit.bits = 8;
    status = Unpack(Layout::kAwqGemm, 16, 64, eight_bit, LookupOf(*packed)).status();
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("4-bit codes only"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace tenpak::quantformat
