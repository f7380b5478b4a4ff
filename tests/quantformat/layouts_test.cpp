// The dispatcher (src/quantformat/layouts.cpp): names, suffixes, the checks every layout shares,
// and the bit-string packer GPTQ and AWQ share.
#include "tenpak/quantformat/layouts.h"

#include <gtest/gtest.h>

#include <random>

#include "layout_test_util.h"
#include "quantformat/bit_packing_internal.h"

namespace tenpak::quantformat {
namespace {

constexpr Layout kAllLayouts[] = {Layout::kGptq, Layout::kGptqV2,   Layout::kAwqGemm,  Layout::kBnb4,
                                  Layout::kBnb8, Layout::kGgufQ8_0, Layout::kGgufQ4_0, Layout::kGgufQ4_1};

TEST(LayoutsTest, NamesAreStableAndInvertible) {
    const char* names[] = {"gptq", "gptq_v2", "awq", "bnb4", "bnb8", "Q8_0", "Q4_0", "Q4_1"};
    for (size_t i = 0; i < std::size(kAllLayouts); ++i) {
        EXPECT_EQ(LayoutName(kAllLayouts[i]), names[i]);
        EXPECT_EQ(LayoutFromName(names[i]), kAllLayouts[i]);
        EXPECT_EQ(static_cast<int>(kAllLayouts[i]), static_cast<int>(i));  // stored ids never change
    }
    EXPECT_EQ(LayoutFromName("GPTQ"), std::nullopt);
    EXPECT_EQ(LayoutName(static_cast<Layout>(99)), "unknown");
}

TEST(LayoutsTest, Suffixes) {
    EXPECT_EQ(LayoutSuffixes(Layout::kGptq), (std::vector<std::string>{"qweight", "qzeros", "scales", "g_idx"}));
    EXPECT_EQ(LayoutSuffixes(Layout::kGptqV2), LayoutSuffixes(Layout::kGptq));
    EXPECT_EQ(LayoutSuffixes(Layout::kAwqGemm), (std::vector<std::string>{"qweight", "qzeros", "scales"}));
    EXPECT_EQ(LayoutSuffixes(Layout::kBnb4),
              (std::vector<std::string>{"weight", "weight.absmax", "weight.quant_map", "weight.nested_absmax",
                                        "weight.nested_quant_map", "weight.quant_state.bitsandbytes__nf4"}));
    EXPECT_EQ(LayoutSuffixes(Layout::kBnb8), (std::vector<std::string>{"weight", "SCB", "weight_format"}));
    for (Layout layout : {Layout::kGgufQ8_0, Layout::kGgufQ4_0, Layout::kGgufQ4_1}) {
        EXPECT_EQ(LayoutSuffixes(layout), (std::vector<std::string>{"weight"}));
    }
    EXPECT_TRUE(LayoutSuffixes(static_cast<Layout>(42)).empty());
}

TEST(LayoutsTest, UnknownLayoutIsAnError) {
    const Layout bogus = static_cast<Layout>(42);
    EXPECT_EQ(CanHold(bogus, 8, 32, 4, 32, Scheme::kAffine).code(), StatusCode::kInvalidArgument);
    QuantizedTensor q;
    EXPECT_FALSE(Pack(bogus, q).ok());
    const Status status = Unpack(bogus, 8, 32, LayoutParams{}, testing::LookupOf({})).status();
    EXPECT_NE(status.message().find("unknown quantized layout #42"), std::string::npos) << status.message();
}

TEST(LayoutsTest, EveryLayoutRefusesEmptyAndHugeShapes) {
    const std::vector<PackedTensor> none;
    for (Layout layout : kAllLayouts) {
        SCOPED_TRACE(std::string(LayoutName(layout)));
        for (auto [rows, cols] : {std::pair<int64_t, int64_t>{0, 32}, {8, -32}, {int64_t{1} << 40, int64_t{1} << 40}}) {
            const Status status = Unpack(layout, rows, cols, LayoutParams{}, testing::LookupOf(none)).status();
            EXPECT_EQ(status.code(), StatusCode::kInvalidArgument) << status.ToString();
            EXPECT_FALSE(CanHold(layout, rows, cols, 4, 32, Scheme::kAffine).ok());
        }
    }
}

TEST(LayoutsTest, PackValidatesFirst) {
    std::mt19937 rng(1);
    QuantizedTensor q = testing::RandomTensor(Layout::kGptq, 8, 32, 4, 32, rng);
    q.codes[3] = 16;
    const Result<std::vector<PackedTensor>> packed = Pack(Layout::kGptq, q);
    ASSERT_FALSE(packed.ok());
    EXPECT_NE(packed.status().message().find("gptq: quantized tensor: code 16"), std::string::npos)
        << packed.status().message();
}

TEST(LayoutsTest, PackChecksTheSchemeOfEveryLayout) {
    std::mt19937 rng(2);
    const QuantizedTensor affine = testing::RandomTensor(Layout::kGptqV2, 8, 64, 4, 32, rng);
    for (Layout layout : {Layout::kBnb4, Layout::kBnb8, Layout::kGgufQ4_1}) {
        const Result<std::vector<PackedTensor>> packed = Pack(layout, affine);
        ASSERT_FALSE(packed.ok()) << LayoutName(layout);
        EXPECT_EQ(packed.status().code(), StatusCode::kInvalidArgument);
        EXPECT_NE(packed.status().message().find("affine"), std::string::npos) << packed.status().message();
    }
}

TEST(LayoutsTest, UnpackedTensorsValidate) {
    std::mt19937 rng(3);
    struct Case {
        Layout layout;
        int bits;
        int64_t group;
    };
    const Case cases[] = {{Layout::kGptq, 3, 64},     {Layout::kGptqV2, 2, 32},  {Layout::kAwqGemm, 4, 64},
                          {Layout::kBnb4, 4, 64},     {Layout::kBnb8, 8, 128},   {Layout::kGgufQ8_0, 8, 32},
                          {Layout::kGgufQ4_0, 4, 32}, {Layout::kGgufQ4_1, 4, 32}};
    for (const Case& c : cases) {
        const QuantizedTensor q = testing::RandomTensor(c.layout, 32, 128, c.bits, c.group, rng);
        LayoutParams params;
        params.bits = c.bits;
        params.group_size = c.group;
        params.symmetric = q.symmetric;
        const QuantizedTensor back = testing::RoundTrip(c.layout, q, params);
        EXPECT_TRUE(Validate(back).ok()) << LayoutName(c.layout);
        // Dequantized values agree too (the representation is the same, so they must be identical).
        std::vector<float> a(q.codes.size());
        std::vector<float> b(back.codes.size());
        Dequantize(q, a);
        Dequantize(back, b);
        EXPECT_EQ(a, b) << LayoutName(c.layout);
    }
}

// The shared packer on its own: any width, the 96-bit 3-bit scheme and AWQ's permutation.
TEST(BitPackingTest, BitStringAcrossWords) {
    const std::vector<uint8_t> codes = {7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 0, 0,
                                        0, 0, 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4};
    std::vector<uint32_t> words(3);
    internal::PackBitString(codes, 3, words);
    EXPECT_EQ(words, (std::vector<uint32_t>{0x40000007, 0x80000001, 0x80000001}));
    std::vector<uint8_t> back(32);
    internal::UnpackBitString(words, 3, back);
    EXPECT_EQ(back, codes);
}

TEST(BitPackingTest, RowsWithOrder) {
    const int order[8] = {0, 2, 4, 6, 1, 3, 5, 7};
    const std::vector<uint8_t> codes = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
    const std::vector<uint32_t> words = internal::PackRows(codes, 1, 16, 4, order);
    EXPECT_EQ(words, (std::vector<uint32_t>{0x75316420, 0xFDB9ECA8}));
    EXPECT_EQ(internal::UnpackRows(words, 1, 16, 4, order), codes);
    // Natural order, two rows of 8 two-bit codes: 16 bits each -> half a word: widths must fill words.
    const std::vector<uint8_t> two_bit(32, 3);
    EXPECT_EQ(internal::PackRows(two_bit, 2, 16, 2), (std::vector<uint32_t>{0xFFFFFFFF, 0xFFFFFFFF}));
}

TEST(BitPackingTest, RowsTransposedMatchPackRowsThenTranspose) {
    // GPTQ's qweight path for 1, 2, 4 and 8 bits: packing and transposing in one pass must give the
    // words of PackRows + Transpose, stored little-endian. Row counts off the 16-row tile, and codes
    // with bits above the width (which both ignore).
    std::mt19937 rng(9);
    for (int bits : {1, 2, 4, 8}) {
        for (int64_t rows : {1, 15, 16, 33}) {
            for (int64_t width : {32, 96, 256}) {
                std::vector<uint8_t> codes(static_cast<size_t>(rows * width));
                for (uint8_t& c : codes) c = static_cast<uint8_t>(rng());
                const std::vector<uint32_t> words = internal::Transpose<uint32_t>(
                    internal::PackRows(codes, rows, width, bits), rows, width * bits / 32);
                std::vector<std::byte> out(words.size() * 4, std::byte{0xAA});
                internal::PackRowsTransposedLE(codes, rows, width, bits, out);
                for (size_t i = 0; i < words.size(); ++i) {
                    uint32_t stored = 0;
                    for (size_t b = 0; b < 4; ++b) stored |= std::to_integer<uint32_t>(out[i * 4 + b]) << (8 * b);
                    ASSERT_EQ(stored, words[i]) << "bits " << bits << ", rows " << rows << ", width " << width
                                                << ", word " << i;
                }
            }
        }
    }
}

TEST(BitPackingTest, RandomRoundTripsEveryWidth) {
    std::mt19937 rng(6);
    for (int bits = 1; bits <= 8; ++bits) {
        std::vector<uint8_t> codes(32 * 5);
        for (uint8_t& c : codes) c = static_cast<uint8_t>(rng() & ((1u << bits) - 1));
        std::vector<uint32_t> words(codes.size() * static_cast<size_t>(bits) / 32);
        internal::PackBitString(codes, bits, words);
        std::vector<uint8_t> back(codes.size());
        internal::UnpackBitString(words, bits, back);
        EXPECT_EQ(back, codes) << bits << " bits";
    }
}

}  // namespace
}  // namespace tenpak::quantformat
