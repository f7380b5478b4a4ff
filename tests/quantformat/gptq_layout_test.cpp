// GPTQ layout: the expected words below were worked out by hand from shared/formats.md B.1-B.4 (each
// comment shows how), then Pack must produce them and Unpack must give the tensor back.
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

// F16 bits of 0.25, 0.5, ... 2.0 (sign 0, exponent 13..16, mantissa 0/256/512/768).
constexpr uint16_t kF16Quarters[8] = {0x3400, 0x3800, 0x3A00, 0x3C00, 0x3D00, 0x3E00, 0x3F00, 0x4000};

QuantizedTensor Affine(int64_t rows, int64_t cols, int bits, int64_t group_size) {
    QuantizedTensor q;
    q.rows = rows;
    q.cols = cols;
    q.bits = bits;
    q.group_size = group_size;
    q.scheme = Scheme::kAffine;
    q.codes.assign(static_cast<size_t>(rows * cols), 0);
    q.scales.assign(static_cast<size_t>(rows * (cols / group_size)), 1.0f);
    q.zeros.assign(q.scales.size(), static_cast<float>(1 << (bits - 1)));  // GPTQ's symmetric zero
    return q;
}

LayoutParams Params(int bits, int64_t group_size, bool symmetric = true) {
    LayoutParams params;
    params.bits = bits;
    params.group_size = group_size;
    params.symmetric = symmetric;
    return params;
}

// 4-bit, N = 8, K = 32, one group; code (n, k) = (n + k) % 16, scale (n + 1) / 4, symmetric zero 8.
TEST(GptqLayoutTest, FourBitSymmetricByHand) {
    QuantizedTensor q = Affine(8, 32, 4, 32);
    for (int64_t n = 0; n < 8; ++n) {
        for (int64_t k = 0; k < 32; ++k) q.codes[static_cast<size_t>(n * 32 + k)] = static_cast<uint8_t>((n + k) % 16);
        q.scales[static_cast<size_t>(n)] = 0.25f * static_cast<float>(n + 1);
    }
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    ASSERT_EQ(packed->size(), 4u);
    EXPECT_EQ((*packed)[0].suffix, "qweight");
    EXPECT_EQ((*packed)[1].suffix, "qzeros");
    EXPECT_EQ((*packed)[2].suffix, "scales");
    EXPECT_EQ((*packed)[3].suffix, "g_idx");

    // qweight[r, n] holds k = 8r .. 8r + 7 of column n, lowest k in the lowest nibble; with code
    // (n + k) % 16 the nibbles count up from (8r + n) % 16: 0x76543210 for 0, 0x87654321 for 1 ...
    const PackedTensor& qweight = Find(*packed, "qweight");
    EXPECT_EQ(qweight.dtype, DType::kI32);
    EXPECT_EQ(qweight.shape, (std::vector<int64_t>{4, 8}));
    const std::vector<uint32_t> even_row = {0x76543210, 0x87654321, 0x98765432, 0xA9876543,
                                            0xBA987654, 0xCBA98765, 0xDCBA9876, 0xEDCBA987};
    const std::vector<uint32_t> odd_row = {0xFEDCBA98, 0x0FEDCBA9, 0x10FEDCBA, 0x210FEDCB,
                                           0x3210FEDC, 0x43210FED, 0x543210FE, 0x6543210F};
    std::vector<uint32_t> expected;
    for (const auto* row : {&even_row, &odd_row, &even_row, &odd_row})
        expected.insert(expected.end(), row->begin(), row->end());
    EXPECT_EQ(Words(qweight), expected);

    // v1 stores zero - 1 = 7 in all eight fields of the one qzeros word.
    const PackedTensor& qzeros = Find(*packed, "qzeros");
    EXPECT_EQ(qzeros.shape, (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(Words(qzeros), (std::vector<uint32_t>{0x77777777}));

    const PackedTensor& scales = Find(*packed, "scales");
    EXPECT_EQ(scales.dtype, DType::kF16);
    EXPECT_EQ(scales.shape, (std::vector<int64_t>{1, 8}));
    EXPECT_EQ(Halves(scales), std::vector<uint16_t>(std::begin(kF16Quarters), std::end(kF16Quarters)));

    const PackedTensor& g_idx = Find(*packed, "g_idx");
    EXPECT_EQ(g_idx.shape, (std::vector<int64_t>{32}));
    EXPECT_EQ(Words(g_idx), std::vector<uint32_t>(32, 0));

    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 8, 32, Params(4, 32), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
    // group_size -1 (per channel) reads the same single group.
    back = Unpack(Layout::kGptq, 8, 32, Params(4, -1), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// Asymmetric 4-bit with two groups of 16: zero (n, g) = n + 8g + 1 in v1, stored as n + 8g; the
// largest, 16, is the v1 "overflow" value that loaders read back as 16.
TEST(GptqLayoutTest, FourBitAsymmetricV1TwoGroups) {
    QuantizedTensor q = Affine(8, 32, 4, 16);
    q.symmetric = false;
    for (int64_t n = 0; n < 8; ++n) {
        for (int64_t g = 0; g < 2; ++g) q.zeros[static_cast<size_t>(n * 2 + g)] = static_cast<float>(n + 8 * g + 1);
    }
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    const PackedTensor& qzeros = Find(*packed, "qzeros");
    EXPECT_EQ(qzeros.shape, (std::vector<int64_t>{2, 1}));
    EXPECT_EQ(Words(qzeros), (std::vector<uint32_t>{0x76543210, 0xFEDCBA98}));
    // g_idx = k / 16.
    std::vector<uint32_t> g_idx(32, 0);
    std::fill(g_idx.begin() + 16, g_idx.end(), 1u);
    EXPECT_EQ(Words(Find(*packed, "g_idx")), g_idx);
    EXPECT_EQ(Find(*packed, "scales").shape, (std::vector<int64_t>{2, 8}));

    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 8, 32, Params(4, 16, false), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// v2 stores the zero itself: zeros n + 8g give the same words as above, and a zero of 0 is fine.
TEST(GptqLayoutTest, FourBitV2StoresZerosAsTheyAre) {
    QuantizedTensor q = Affine(8, 32, 4, 16);
    q.symmetric = false;
    for (int64_t n = 0; n < 8; ++n) {
        for (int64_t g = 0; g < 2; ++g) q.zeros[static_cast<size_t>(n * 2 + g)] = static_cast<float>(n + 8 * g);
    }
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptqV2, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    EXPECT_EQ(Words(Find(*packed, "qzeros")), (std::vector<uint32_t>{0x76543210, 0xFEDCBA98}));
    Result<QuantizedTensor> back = Unpack(Layout::kGptqV2, 8, 32, Params(4, 16, false), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);

    // The same tensor cannot be written as v1: zero 0 would wrap to 15 and load as 16.
    Result<std::vector<PackedTensor>> v1 = Pack(Layout::kGptq, q);
    ASSERT_FALSE(v1.ok());
    EXPECT_EQ(v1.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(v1.status().message().find("zero point 0 (row 0, group 0)"), std::string::npos) << v1.status().message();
    EXPECT_NE(v1.status().message().find("clamps zero points to >= 1"), std::string::npos) << v1.status().message();
}

// 2-bit, N = 16, K = 32: 16 codes per word. Code (n, k) = (n + k) % 4: a byte holds four codes
// c, c+1, c+2, c+3 (mod 4) from the low bits up, 0xE4 for c = 0, 0x39, 0x4E, 0x93 for 1, 2, 3.
TEST(GptqLayoutTest, TwoBitByHand) {
    QuantizedTensor q = Affine(16, 32, 2, 32);
    for (int64_t n = 0; n < 16; ++n) {
        for (int64_t k = 0; k < 32; ++k) q.codes[static_cast<size_t>(n * 32 + k)] = static_cast<uint8_t>((n + k) % 4);
    }
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    const PackedTensor& qweight = Find(*packed, "qweight");
    EXPECT_EQ(qweight.shape, (std::vector<int64_t>{2, 16}));
    const uint32_t by_phase[4] = {0xE4E4E4E4, 0x39393939, 0x4E4E4E4E, 0x93939393};
    std::vector<uint32_t> expected;
    for (int r = 0; r < 2; ++r) {
        for (int n = 0; n < 16; ++n) expected.push_back(by_phase[n % 4]);
    }
    EXPECT_EQ(Words(qweight), expected);
    // Symmetric zero 2, stored as 1 in all 16 fields.
    EXPECT_EQ(Find(*packed, "qzeros").shape, (std::vector<int64_t>{1, 1}));
    EXPECT_EQ(Words(Find(*packed, "qzeros")), (std::vector<uint32_t>{0x55555555}));
    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 16, 32, Params(2, 32), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// 8-bit, N = 4, K = 32: four codes per word. Code (n, k) = 4k + n, so word (r, n) holds the bytes
// 16r + n, 16r + n + 4, 16r + n + 8, 16r + n + 12: 0x{r}{n+12}{r}{n+8}{r}{n+4}{r}{n} in hex digits.
TEST(GptqLayoutTest, EightBitByHand) {
    QuantizedTensor q = Affine(4, 32, 8, 32);
    for (int64_t n = 0; n < 4; ++n) {
        for (int64_t k = 0; k < 32; ++k) q.codes[static_cast<size_t>(n * 32 + k)] = static_cast<uint8_t>(4 * k + n);
    }
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    const PackedTensor& qweight = Find(*packed, "qweight");
    EXPECT_EQ(qweight.shape, (std::vector<int64_t>{8, 4}));
    const std::vector<uint32_t> expected = {
        0x0C080400, 0x0D090501, 0x0E0A0602, 0x0F0B0703, 0x1C181410, 0x1D191511, 0x1E1A1612, 0x1F1B1713,
        0x2C282420, 0x2D292521, 0x2E2A2622, 0x2F2B2723, 0x3C383430, 0x3D393531, 0x3E3A3632, 0x3F3B3733,
        0x4C484440, 0x4D494541, 0x4E4A4642, 0x4F4B4743, 0x5C585450, 0x5D595551, 0x5E5A5652, 0x5F5B5753,
        0x6C686460, 0x6D696561, 0x6E6A6662, 0x6F6B6763, 0x7C787470, 0x7D797571, 0x7E7A7672, 0x7F7B7773,
    };
    EXPECT_EQ(Words(qweight), expected);
    // Symmetric zero 128, stored as 127 = 0x7F in all four bytes.
    EXPECT_EQ(Words(Find(*packed, "qzeros")), (std::vector<uint32_t>{0x7F7F7F7F}));
    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 4, 32, Params(8, 32), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

// 3-bit, N = 32, K = 32: 32 rows fill 3 words as one 96-bit string, row i at bits 3i..3i+2.
// Column 0 has code 1 at k = 0 (bit 0), 5 = 0b101 at k = 10 (bits 30 and 32: word 0 bit 30, word 1
// bit 0), 2 = 0b010 at k = 11 (bit 34: word 1 bit 2), 3 = 0b011 at k = 21 (bits 63 and 64: word 1
// bit 31, word 2 bit 0) and 4 = 0b100 at k = 31 (bit 95: word 2 bit 31). Column 1 is all 7s.
TEST(GptqLayoutTest, ThreeBitSplitFieldsByHand) {
    QuantizedTensor q = Affine(32, 32, 3, 32);
    q.codes[0] = 1;
    q.codes[10] = 5;
    q.codes[11] = 2;
    q.codes[21] = 3;
    q.codes[31] = 4;
    for (int64_t k = 0; k < 32; ++k) q.codes[static_cast<size_t>(32 + k)] = 7;
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    const PackedTensor& qweight = Find(*packed, "qweight");
    EXPECT_EQ(qweight.shape, (std::vector<int64_t>{3, 32}));
    const std::vector<uint32_t> words = Words(qweight);
    const uint32_t column0[3] = {0x40000001, 0x80000005, 0x80000001};
    for (int w = 0; w < 3; ++w) {
        EXPECT_EQ(words[static_cast<size_t>(w * 32)], column0[w]) << "word " << w;
        EXPECT_EQ(words[static_cast<size_t>(w * 32 + 1)], 0xFFFFFFFFu) << "word " << w;
        for (int n = 2; n < 32; ++n) EXPECT_EQ(words[static_cast<size_t>(w * 32 + n)], 0u);
    }
    // Symmetric zero 4 stored as 3 = 0b011 in 32 fields: bits b with b % 3 != 2 are set, which
    // repeats with period 3 words: nibbles B, D, 6 from bit 0.
    const PackedTensor& qzeros = Find(*packed, "qzeros");
    EXPECT_EQ(qzeros.shape, (std::vector<int64_t>{1, 3}));
    EXPECT_EQ(Words(qzeros), (std::vector<uint32_t>{0xDB6DB6DB, 0xB6DB6DB6, 0x6DB6DB6D}));
    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 32, 32, Params(3, 32), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);

    // v2 stores 4 = 0b100: bits b with b % 3 == 2, nibbles 4, 2, 9 from bit 0.
    Result<std::vector<PackedTensor>> v2 = Pack(Layout::kGptqV2, q);
    ASSERT_TRUE(v2.ok()) << v2.status().ToString();
    EXPECT_EQ(Words(Find(*v2, "qzeros")), (std::vector<uint32_t>{0x24924924, 0x49249249, 0x92492492}));
}

TEST(GptqLayoutTest, ActOrderGIdxIsWrittenAndKept) {
    QuantizedTensor q = Affine(8, 32, 4, 16);
    q.g_idx.resize(32);
    for (int k = 0; k < 32; ++k) q.g_idx[static_cast<size_t>(k)] = k % 2;  // interleaved groups
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok()) << packed.status().ToString();
    std::vector<uint32_t> expected(32);
    for (int k = 0; k < 32; ++k) expected[static_cast<size_t>(k)] = static_cast<uint32_t>(k % 2);
    EXPECT_EQ(Words(Find(*packed, "g_idx")), expected);
    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 8, 32, Params(4, 16), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

TEST(GptqLayoutTest, MissingGIdxMeansTrivialGroups) {
    QuantizedTensor q = Affine(8, 32, 4, 16);
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_TRUE(packed.ok());
    testing::Remove(*packed, "g_idx");
    Result<QuantizedTensor> back = Unpack(Layout::kGptq, 8, 32, Params(4, 16), LookupOf(*packed));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    testing::ExpectSameTensor(q, *back);
}

TEST(GptqLayoutTest, RandomRoundTrips) {
    std::mt19937 rng(1234);
    for (Layout layout : {Layout::kGptq, Layout::kGptqV2}) {
        for (int bits : {2, 3, 4, 8}) {
            for (int64_t group : {32, 64, 128}) {
                for (bool act_order : {false, true}) {
                    const int64_t rows = 64;
                    const int64_t cols = 256;
                    const QuantizedTensor q = testing::RandomTensor(layout, rows, cols, bits, group, rng, act_order);
                    const LayoutParams params = Params(bits, group, q.symmetric);
                    const QuantizedTensor back = testing::RoundTrip(layout, q, params);
                    SCOPED_TRACE(std::string(LayoutName(layout)) + " " + std::to_string(bits) + "-bit g" +
                                 std::to_string(group));
                    testing::ExpectSameTensor(q, back);
                }
            }
        }
    }
}

TEST(GptqLayoutTest, CanHoldListsTheRules) {
    EXPECT_TRUE(CanHold(Layout::kGptq, 64, 256, 4, 128, Scheme::kAffine).ok());
    EXPECT_TRUE(CanHold(Layout::kGptq, 64, 256, 4, -1, Scheme::kAffine).ok());
    const Status k = CanHold(Layout::kGptq, 64, 4100, 4, -1, Scheme::kAffine);
    EXPECT_EQ(k.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(k.message().find("input size 4100 to be a multiple of 32"), std::string::npos) << k.message();
    const Status n4 = CanHold(Layout::kGptq, 12, 256, 4, 128, Scheme::kAffine);
    EXPECT_NE(n4.message().find("output size 12 to be a multiple of 8"), std::string::npos) << n4.message();
    const Status n3 = CanHold(Layout::kGptq, 48, 256, 3, 128, Scheme::kAffine);
    EXPECT_NE(n3.message().find("multiple of 32"), std::string::npos) << n3.message();
    const Status bits = CanHold(Layout::kGptq, 64, 256, 5, 128, Scheme::kAffine);
    EXPECT_NE(bits.message().find("2, 3, 4 or 8-bit"), std::string::npos) << bits.message();
    const Status group = CanHold(Layout::kGptq, 64, 256, 4, 96, Scheme::kAffine);
    EXPECT_NE(group.message().find("divide the input size 256"), std::string::npos) << group.message();
    EXPECT_FALSE(CanHold(Layout::kGptq, 64, 256, 4, 128, Scheme::kNf4).ok());
}

TEST(GptqLayoutTest, PackRejectsFractionalZeros) {
    QuantizedTensor q = Affine(8, 32, 4, 32);
    q.zeros[3] = 7.5f;
    Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptqV2, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("zero point 7.5 (row 3, group 0)"), std::string::npos)
        << packed.status().message();
}

class GptqBadInputTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::mt19937 rng(7);
        q_ = testing::RandomTensor(Layout::kGptq, 8, 64, 4, 32, rng);
        Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q_);
        ASSERT_TRUE(packed.ok());
        packed_ = std::move(packed).value();
    }
    Status UnpackStatus(const LayoutParams& params = Params(4, 32)) {
        return Unpack(Layout::kGptq, 8, 64, params, LookupOf(packed_)).status();
    }
    QuantizedTensor q_;
    std::vector<PackedTensor> packed_;
};

TEST_F(GptqBadInputTest, MissingTensorIsNamed) {
    testing::Remove(packed_, "qzeros");
    const Status status = UnpackStatus();
    EXPECT_EQ(status.code(), StatusCode::kNotFound);
    EXPECT_NE(status.message().find("gptq tensor 'qzeros'"), std::string::npos) << status.message();
}

TEST_F(GptqBadInputTest, WrongDTypeIsNamed) {
    FindMutable(packed_, "qweight").dtype = DType::kF32;
    const Status status = UnpackStatus();
    EXPECT_EQ(status.code(), StatusCode::kCorruption);
    EXPECT_NE(status.message().find("'qweight': dtype F32, expected I32"), std::string::npos) << status.message();
}

TEST_F(GptqBadInputTest, UnknownDTypeValueIsNamed) {
    FindMutable(packed_, "scales").dtype = static_cast<DType>(200);
    const Status status = UnpackStatus();
    EXPECT_NE(status.message().find("'scales': dtype unknown dtype #200, expected F16"), std::string::npos)
        << status.message();
}

TEST_F(GptqBadInputTest, WrongShapeIsNamed) {
    FindMutable(packed_, "scales").shape = {8, 2};
    const Status status = UnpackStatus();
    EXPECT_NE(status.message().find("'scales': shape [8, 2], expected [2, 8]"), std::string::npos) << status.message();
}

TEST_F(GptqBadInputTest, WrongByteCountIsNamed) {
    FindMutable(packed_, "qweight").bytes.pop_back();
    const Status status = UnpackStatus();
    EXPECT_NE(status.message().find("'qweight': 255 bytes, expected 256"), std::string::npos) << status.message();
}

TEST_F(GptqBadInputTest, ParamsThatDisagreeWithTheTensors) {
    // 8-bit params: qweight should be (16, 8).
    Status status = UnpackStatus(Params(8, 32));
    EXPECT_NE(status.message().find("'qweight': shape [8, 8], expected [16, 8]"), std::string::npos)
        << status.message();
    status = UnpackStatus(Params(4, 16));
    EXPECT_NE(status.message().find("'qzeros'"), std::string::npos) << status.message();
    status = UnpackStatus(Params(6, 32));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    status = UnpackStatus(Params(4, 0));
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
}

TEST_F(GptqBadInputTest, GIdxOutOfRangeIsNamed) {
    PackedTensor& g_idx = FindMutable(packed_, "g_idx");
    g_idx.bytes[4 * 5] = std::byte{2};  // entry 5 -> group 2 of 0..1
    Status status = UnpackStatus();
    EXPECT_NE(status.message().find("'g_idx': entry 5 is 2, expected a group in 0..1"), std::string::npos)
        << status.message();
    g_idx.bytes[4 * 5 + 3] = std::byte{0x80};  // negative
    status = UnpackStatus();
    EXPECT_NE(status.message().find("'g_idx': entry 5"), std::string::npos) << status.message();
}

TEST_F(GptqBadInputTest, LookupErrorsPassThrough) {
    const TensorLookup failing = [](std::string_view) -> Result<StoredTensor> {
        return Status::IOError("disk on fire");
    };
    const Status status = Unpack(Layout::kGptq, 8, 64, Params(4, 32), failing).status();
    EXPECT_EQ(status.code(), StatusCode::kIOError);
    EXPECT_NE(status.message().find("gptq tensor 'qweight': disk on fire"), std::string::npos) << status.message();
}

}  // namespace
}  // namespace tenpak::quantformat
