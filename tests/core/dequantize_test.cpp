// DequantizeToF32 on hand-made blocks whose values are known. The expected values are written from
// the layouts in shared/formats.md section E.2, by packing codes into blocks here (the inverse of
// the dequantizer), so a mistake in the nibble or bit order of either side shows up.
// Comparisons against llama.cpp's real files are in tests/io/gguf_test.cpp.
#include "tenpak/core/dequantize.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstring>
#include <vector>

#include "tenpak/core/ggml_blocks.h"
#include "tenpak/core/half.h"

namespace tenpak {
namespace {

// f16 bit patterns of exact values.
constexpr uint16_t kF16One = 0x3C00;
constexpr uint16_t kF16Half = 0x3800;
constexpr uint16_t kF16Quarter = 0x3400;
constexpr uint16_t kF16Eighth = 0x3000;
constexpr uint16_t kF16Two = 0x4000;
constexpr uint16_t kF16MinusOne = 0xBC00;

template <typename T>
std::vector<std::byte> ToBytes(const std::vector<T>& items) {
    std::vector<std::byte> bytes(items.size() * sizeof(T));
    std::memcpy(bytes.data(), items.data(), bytes.size());
    return bytes;
}

std::vector<float> Dequant(DType dtype, const std::vector<std::byte>& bytes, size_t n) {
    std::vector<float> out(n, -12345.0f);
    const Status status = DequantizeToF32(dtype, bytes, out);
    EXPECT_TRUE(status.ok()) << status.ToString();
    return out;
}

TEST(DequantizeTest, BlockStructsMatchDTypeTraits) {
    struct Expect {
        DType dtype;
        size_t bytes;
        size_t elems;
    };
    const std::array<Expect, 7> expected = {{
        {DType::kQ4_0, sizeof(BlockQ4_0), kGgmlBlockElems},
        {DType::kQ4_1, sizeof(BlockQ4_1), kGgmlBlockElems},
        {DType::kQ5_0, sizeof(BlockQ5_0), kGgmlBlockElems},
        {DType::kQ5_1, sizeof(BlockQ5_1), kGgmlBlockElems},
        {DType::kQ8_0, sizeof(BlockQ8_0), kGgmlBlockElems},
        {DType::kQ4_K, sizeof(BlockQ4_K), kGgmlSuperBlockElems},
        {DType::kQ6_K, sizeof(BlockQ6_K), kGgmlSuperBlockElems},
    }};
    for (const Expect& e : expected) {
        EXPECT_EQ(Traits(e.dtype).block_bytes, e.bytes) << DTypeName(e.dtype);
        EXPECT_EQ(Traits(e.dtype).block_elems, e.elems) << DTypeName(e.dtype);
    }
}

TEST(DequantizeTest, CanDequantizeExactlyTheListedTypes) {
    const std::vector<DType> supported = {DType::kF32,  DType::kF64,  DType::kF16,  DType::kBF16,
                                          DType::kQ4_0, DType::kQ4_1, DType::kQ5_0, DType::kQ5_1,
                                          DType::kQ8_0, DType::kQ4_K, DType::kQ6_K};
    for (const DTypeTraits& t : AllDTypes()) {
        const bool expected = std::find(supported.begin(), supported.end(), t.dtype) != supported.end();
        EXPECT_EQ(CanDequantize(t.dtype), expected) << t.name;
    }
}

TEST(DequantizeTest, RejectsWrongSizesAndUnsupportedTypes) {
    std::vector<std::byte> one_block(sizeof(BlockQ8_0));
    std::vector<float> out(kGgmlBlockElems);
    EXPECT_TRUE(DequantizeToF32(DType::kQ8_0, one_block, out).ok());

    std::vector<float> too_small(kGgmlBlockElems - 1);
    Status status = DequantizeToF32(DType::kQ8_0, one_block, too_small);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("Q8_0"), std::string::npos) << status.message();

    std::vector<std::byte> partial(sizeof(BlockQ8_0) + 1);
    std::vector<float> two_blocks(2 * kGgmlBlockElems);
    status = DequantizeToF32(DType::kQ8_0, partial, two_blocks);
    EXPECT_EQ(status.code(), StatusCode::kInvalidArgument);
    EXPECT_NE(status.message().find("35 bytes"), std::string::npos) << status.message();

    std::vector<std::byte> odd_f16(3);
    std::vector<float> one(1);
    EXPECT_EQ(DequantizeToF32(DType::kF16, odd_f16, one).code(), StatusCode::kInvalidArgument);

    std::vector<std::byte> q2k(Traits(DType::kQ2_K).block_bytes);
    std::vector<float> q2k_out(kGgmlSuperBlockElems);
    status = DequantizeToF32(DType::kQ2_K, q2k, q2k_out);
    EXPECT_EQ(status.code(), StatusCode::kUnsupported);
    EXPECT_NE(status.message().find("Q2_K"), std::string::npos) << status.message();
    EXPECT_EQ(DequantizeToF32(DType::kI8, std::vector<std::byte>(4), one).code(), StatusCode::kUnsupported);

    // Empty input is a valid empty tensor.
    EXPECT_TRUE(DequantizeToF32(DType::kQ4_0, {}, {}).ok());
}

TEST(DequantizeTest, PlainFloatTypes) {
    const std::vector<float> f32 = {1.5f, -0.0f, 3.25e-39f, INFINITY, -7.0f};
    EXPECT_EQ(Dequant(DType::kF32, ToBytes(f32), f32.size()), f32);

    const std::vector<double> f64 = {0.1, -2.5, 1e300, 1e-50};
    const std::vector<float> f64_out = Dequant(DType::kF64, ToBytes(f64), f64.size());
    EXPECT_EQ(f64_out[0], 0.1f);
    EXPECT_EQ(f64_out[1], -2.5f);
    EXPECT_EQ(f64_out[2], INFINITY);
    EXPECT_EQ(f64_out[3], 0.0f);

    // 1, -2, smallest subnormal 2^-24, largest 65504, -0, +Inf, -Inf, NaN.
    const std::vector<uint16_t> f16 = {kF16One, 0xC000, 0x0001, 0x7BFF, 0x8000, 0x7C00, 0xFC00, 0x7E00};
    const std::vector<float> f16_out = Dequant(DType::kF16, ToBytes(f16), f16.size());
    EXPECT_EQ(f16_out[0], 1.0f);
    EXPECT_EQ(f16_out[1], -2.0f);
    EXPECT_EQ(f16_out[2], std::ldexp(1.0f, -24));
    EXPECT_EQ(f16_out[3], 65504.0f);
    EXPECT_TRUE(std::signbit(f16_out[4]) && f16_out[4] == 0.0f);
    EXPECT_EQ(f16_out[5], INFINITY);
    EXPECT_EQ(f16_out[6], -INFINITY);
    EXPECT_TRUE(std::isnan(f16_out[7]));

    // bf16 is the top half of an f32: 1.0, -3.0, 2^-133 (a subnormal).
    const std::vector<uint16_t> bf16 = {0x3F80, 0xC040, 0x0001};
    const std::vector<float> bf16_out = Dequant(DType::kBF16, ToBytes(bf16), bf16.size());
    EXPECT_EQ(bf16_out[0], 1.0f);
    EXPECT_EQ(bf16_out[1], -3.0f);
    EXPECT_EQ(bf16_out[2], std::ldexp(1.0f, -133));
}

TEST(DequantizeTest, F16FromUnalignedBytes) {
    // 3000 values starting at an odd address: exercises the chunked copy of misaligned input.
    constexpr size_t kCount = 3000;
    std::vector<uint16_t> halves(kCount);
    for (size_t i = 0; i < kCount; ++i) halves[i] = static_cast<uint16_t>(i * 13);  // includes subnormals
    std::vector<std::byte> storage(kCount * 2 + 1);
    std::memcpy(storage.data() + 1, halves.data(), kCount * 2);
    std::vector<float> out(kCount);
    ASSERT_TRUE(DequantizeToF32(DType::kF16, std::span<const std::byte>(storage).subspan(1), out).ok());
    for (size_t i = 0; i < kCount; ++i) {
        // Bits, not values: the pattern includes NaNs, and the kernels must keep their payload.
        ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(F16ToF32Ref(halves[i]))) << i;
    }
}

TEST(DequantizeTest, Q4_0NibbleOrder) {
    BlockQ4_0 block{};
    block.d = kF16Half;
    // Low nibble of qs[j] is element j, high nibble element j + 16.
    for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    const std::vector<float> out = Dequant(DType::kQ4_0, ToBytes(std::vector<BlockQ4_0>{block}), 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(out[j], (j - 8) * 0.5f) << j;
        EXPECT_EQ(out[j + 16], (7 - j) * 0.5f) << j + 16;
    }
    EXPECT_EQ(out[0], -4.0f);  // code 0 is the extreme: -8 * d
    EXPECT_EQ(out[16], 3.5f);  // code 15 in the high nibble of qs[0]
}

TEST(DequantizeTest, Q4_1ScaleAndMin) {
    BlockQ4_1 block{};
    block.d = kF16Quarter;
    block.m = kF16MinusOne;
    for (int j = 0; j < 16; ++j) block.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    const std::vector<float> out = Dequant(DType::kQ4_1, ToBytes(std::vector<BlockQ4_1>{block}), 32);
    for (int j = 0; j < 16; ++j) {
        EXPECT_EQ(out[j], j * 0.25f - 1.0f) << j;
        EXPECT_EQ(out[j + 16], (15 - j) * 0.25f - 1.0f) << j + 16;
    }
}

// 5-bit codes for a Q5 block, all 32 values reached in a scrambled order.
std::array<int, 32> Q5Codes() {
    std::array<int, 32> codes{};
    for (int e = 0; e < 32; ++e) codes[e] = (e * 7 + 3) % 32;
    return codes;
}

// Element e's low 4 bits go to qs[e % 16] (low nibble for e < 16), its fifth bit to bit e of qh.
template <typename Block>
void PackQ5(const std::array<int, 32>& codes, Block* block) {
    uint32_t qh = 0;
    for (int e = 0; e < 32; ++e) {
        const int low = codes[e] & 0xF;
        if (e < 16) {
            block->qs[e] = static_cast<uint8_t>((block->qs[e] & 0xF0) | low);
        } else {
            block->qs[e - 16] = static_cast<uint8_t>((block->qs[e - 16] & 0x0F) | (low << 4));
        }
        qh |= static_cast<uint32_t>(codes[e] >> 4) << e;
    }
    for (int b = 0; b < 4; ++b) block->qh[b] = static_cast<uint8_t>(qh >> (8 * b));
}

TEST(DequantizeTest, Q5_0FifthBitFromQh) {
    BlockQ5_0 block{};
    block.d = kF16One;
    const std::array<int, 32> codes = Q5Codes();
    PackQ5(codes, &block);
    const std::vector<float> out = Dequant(DType::kQ5_0, ToBytes(std::vector<BlockQ5_0>{block}), 32);
    for (int e = 0; e < 32; ++e) EXPECT_EQ(out[e], static_cast<float>(codes[e] - 16)) << e;

    // By hand: only element 17's fifth bit set, everything else code 0.
    BlockQ5_0 single{};
    single.d = kF16Two;
    single.qh[2] = 0x02;  // bit 17 of the little-endian u32
    const std::vector<float> one = Dequant(DType::kQ5_0, ToBytes(std::vector<BlockQ5_0>{single}), 32);
    for (int e = 0; e < 32; ++e) EXPECT_EQ(one[e], e == 17 ? 0.0f : -32.0f) << e;
}

TEST(DequantizeTest, Q5_1ScaleAndMin) {
    BlockQ5_1 block{};
    block.d = kF16Half;
    block.m = kF16Two;
    const std::array<int, 32> codes = Q5Codes();
    PackQ5(codes, &block);
    const std::vector<float> out = Dequant(DType::kQ5_1, ToBytes(std::vector<BlockQ5_1>{block}), 32);
    for (int e = 0; e < 32; ++e) EXPECT_EQ(out[e], codes[e] * 0.5f + 2.0f) << e;
}

TEST(DequantizeTest, Q8_0TwoBlocks) {
    std::vector<BlockQ8_0> blocks(2);
    blocks[0].d = kF16Eighth;
    blocks[1].d = kF16MinusOne;
    for (int j = 0; j < 32; ++j) {
        blocks[0].qs[j] = static_cast<int8_t>(j * 8 - 128);  // -128 .. 120
        blocks[1].qs[j] = static_cast<int8_t>(127 - j);
    }
    const std::vector<float> out = Dequant(DType::kQ8_0, ToBytes(blocks), 64);
    for (int j = 0; j < 32; ++j) {
        EXPECT_EQ(out[j], (j * 8 - 128) * 0.125f) << j;
        EXPECT_EQ(out[32 + j], -(127.0f - j)) << j;
    }
}

// Packs eight 6-bit scales and mins the way Q4_K stores them (inverse of ggml's get_scale_min_k4).
void PackQ4KScales(const std::array<int, 8>& sc, const std::array<int, 8>& m, uint8_t* scales) {
    for (int j = 0; j < 4; ++j) {
        scales[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
        scales[j + 4] = static_cast<uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
        scales[j + 8] = static_cast<uint8_t>((sc[j + 4] & 0xF) | ((m[j + 4] & 0xF) << 4));
    }
}

TEST(DequantizeTest, Q4_KSubBlockScalesAndNibbles) {
    BlockQ4_K block{};
    block.d = kF16Half;
    block.dmin = kF16Quarter;
    // Values past 15 and 31 exercise the high bits stored in the top of scales[0..7].
    const std::array<int, 8> sc = {1, 63, 17, 32, 48, 5, 33, 62};
    const std::array<int, 8> m = {0, 2, 63, 31, 16, 47, 1, 60};
    PackQ4KScales(sc, m, block.scales);
    std::array<int, 256> codes{};
    for (int e = 0; e < 256; ++e) codes[e] = (e * 5 + e / 32) % 16;
    // Element 64c + l: low nibble of qs[32c + l]; element 64c + 32 + l: high nibble.
    for (int c = 0; c < 4; ++c) {
        for (int l = 0; l < 32; ++l) {
            block.qs[32 * c + l] = static_cast<uint8_t>(codes[64 * c + l] | (codes[64 * c + 32 + l] << 4));
        }
    }
    const std::vector<float> out = Dequant(DType::kQ4_K, ToBytes(std::vector<BlockQ4_K>{block}), 256);
    for (int e = 0; e < 256; ++e) {
        const int sub = e / 32;
        const float expected =
            0.5f * static_cast<float>(sc[sub]) * static_cast<float>(codes[e]) - 0.25f * static_cast<float>(m[sub]);
        EXPECT_EQ(out[e], expected) << e;
    }
}

TEST(DequantizeTest, Q6_KCodesAndSignedScales) {
    BlockQ6_K block{};
    block.d = kF16Half;
    std::array<int, 16> sc{};
    for (int i = 0; i < 16; ++i) {
        sc[i] = (i * 37) % 256 - 128;  // includes -128 and positive scales
        block.scales[i] = static_cast<int8_t>(sc[i]);
    }
    std::array<int, 256> codes{};
    for (int e = 0; e < 256; ++e) codes[e] = (e * 11 + 7) % 64;
    // Element 128h + 32g + l takes a nibble of ql[64h + l + 32(g & 1)] (high for g >= 2), two bits
    // 2g..2g+1 of qh[32h + l], and scale 8h + l / 16 + 2g.
    for (int h = 0; h < 2; ++h) {
        for (int g = 0; g < 4; ++g) {
            for (int l = 0; l < 32; ++l) {
                const int code = codes[128 * h + 32 * g + l];
                uint8_t& ql = block.ql[64 * h + l + 32 * (g & 1)];
                ql = static_cast<uint8_t>(g < 2 ? (ql & 0xF0) | (code & 0xF) : (ql & 0x0F) | ((code & 0xF) << 4));
                block.qh[32 * h + l] = static_cast<uint8_t>(block.qh[32 * h + l] | ((code >> 4) << (2 * g)));
            }
        }
    }
    const std::vector<float> out = Dequant(DType::kQ6_K, ToBytes(std::vector<BlockQ6_K>{block}), 256);
    for (int e = 0; e < 256; ++e) {
        const int h = e / 128;
        const int g = (e % 128) / 32;
        const int l = e % 32;
        const int scale = sc[8 * h + l / 16 + 2 * g];
        EXPECT_EQ(out[e], 0.5f * static_cast<float>(scale) * static_cast<float>(codes[e] - 32)) << e;
    }
}

}  // namespace
}  // namespace tenpak
