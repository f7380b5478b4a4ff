// CastTensor against the element-wise references (half.h's *Ref functions, DequantizeToF32 for
// GGML blocks): to F32 straight into an aligned output and through the chunked path into a
// misaligned one, and F16 -> BF16 across several chunks. Every path must give the same bits.
#include "tenpak/core/cast.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <vector>

#include "tenpak/core/dequantize.h"
#include "tenpak/core/half.h"

namespace tenpak {
namespace {

// F16 bit patterns of random values, plus every special class (zeros, subnormals, Inf, NaN).
std::vector<uint16_t> F16Patterns(size_t n) {
    std::vector<uint16_t> bits(n);
    std::mt19937 rng(17);
    std::uniform_int_distribution<uint32_t> any(0, 0xFFFF);
    for (uint16_t& b : bits) b = static_cast<uint16_t>(any(rng));
    const uint16_t specials[] = {0x0000, 0x8000, 0x0001, 0x83FF, 0x7C00, 0xFC00, 0x7E00, 0x3C00};
    std::memcpy(bits.data(), specials, sizeof(specials));
    return bits;
}

std::span<const std::byte> Bytes(const std::vector<uint16_t>& v) {
    return std::as_bytes(std::span(v));
}

// `count` floats written `offset` bytes into a byte buffer (offset 1: not float-aligned).
struct FloatOutput {
    FloatOutput(size_t count, size_t byte_offset) : storage(count * sizeof(float) + byte_offset), offset(byte_offset) {}
    std::span<std::byte> span() { return std::span(storage).subspan(offset); }
    uint32_t bits(size_t i) const {
        uint32_t b;
        std::memcpy(&b, storage.data() + offset + i * sizeof(float), sizeof(b));
        return b;
    }
    std::vector<std::byte> storage;
    size_t offset;
};

uint32_t FloatBits(float f) {
    uint32_t b;
    std::memcpy(&b, &f, sizeof(b));
    return b;
}

TEST(CastTest, HalfToF32MatchesTheReferenceAlignedOrNot) {
    const size_t n = 150000;  // more than two of the chunked path's chunks
    const std::vector<uint16_t> f16 = F16Patterns(n);
    for (DType from : {DType::kF16, DType::kBF16}) {
        for (size_t offset : {0, 1}) {
            FloatOutput out(n, offset);
            ASSERT_TRUE(CastTensor(from, Bytes(f16), DType::kF32, out.span(), n).ok());
            for (size_t i = 0; i < n; ++i) {
                const float want = from == DType::kF16 ? F16ToF32Ref(f16[i]) : BF16ToF32Ref(f16[i]);
                ASSERT_EQ(out.bits(i), FloatBits(want)) << DTypeName(from) << " offset " << offset << " at " << i;
            }
        }
    }
}

TEST(CastTest, BlocksToF32MatchDequantize) {
    // 40 Q8_0 blocks of random bytes with a finite F16 scale in each.
    const size_t blocks = 40;
    const size_t n = blocks * 32;
    std::vector<std::byte> q8(blocks * 34);
    std::mt19937 rng(19);
    for (std::byte& b : q8) b = static_cast<std::byte>(rng() & 0xFF);
    for (size_t b = 0; b < blocks; ++b) {
        const uint16_t scale = F32ToF16Ref(0.01f * static_cast<float>(b + 1));
        std::memcpy(q8.data() + b * 34, &scale, sizeof(scale));
    }
    std::vector<float> want(n);
    ASSERT_TRUE(DequantizeToF32(DType::kQ8_0, q8, want).ok());
    for (size_t offset : {0, 1}) {
        FloatOutput out(n, offset);
        ASSERT_TRUE(CastTensor(DType::kQ8_0, q8, DType::kF32, out.span(), n).ok());
        for (size_t i = 0; i < n; ++i) ASSERT_EQ(out.bits(i), FloatBits(want[i])) << "offset " << offset << " at " << i;
    }
}

TEST(CastTest, F16ToBF16GoesThroughF32InChunks) {
    const size_t n = 150000;
    const std::vector<uint16_t> f16 = F16Patterns(n);
    std::vector<uint16_t> bf16(n);
    ASSERT_TRUE(CastTensor(DType::kF16, Bytes(f16), DType::kBF16, std::as_writable_bytes(std::span(bf16)), n).ok());
    for (size_t i = 0; i < n; ++i) ASSERT_EQ(bf16[i], F32ToBF16Ref(F16ToF32Ref(f16[i]))) << i;
}

TEST(CastTest, SizeMismatchIsAnError) {
    const std::vector<uint16_t> f16 = F16Patterns(10);
    std::vector<float> out(9);
    EXPECT_FALSE(CastTensor(DType::kF16, Bytes(f16), DType::kF32, std::as_writable_bytes(std::span(out)), 10).ok());
}

}  // namespace
}  // namespace tenpak
