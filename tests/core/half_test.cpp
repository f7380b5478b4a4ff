// Tests of the F16/BF16 <-> F32 reference (half.h) and of every kernel table the CPU can run.
//
// The reference is checked against values worked out by hand. Each table is then checked bit for
// bit against the reference: widening on all 65536 patterns, narrowing on every value where
// rounding can go wrong (each F16/BF16 value, each halfway point between neighbours and one F32
// ulp either side, the subnormal range, the overflow boundary, NaNs, infinities, zeros) plus
// random F32 bit patterns, and on every length 0..70 and alignment, with guard values after the
// output to catch overruns. Because the AVX2/AVX-512 F16 kernels are the F16C instructions, the
// known values double as a check of the reference against the CPU.
#include "tenpak/core/half.h"

#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <ostream>
#include <random>
#include <string>
#include <vector>

#include "core/half_kernels_internal.h"
#include "tenpak/core/cpu_features.h"

// How many random F32 bit patterns each narrowing test converts (~0.2 s per ISA in a Release
// build, ~0.4 s under ASan). Override with -DTENPAK_HALF_TEST_RANDOM_COUNT=... for a longer soak.
#ifndef TENPAK_HALF_TEST_RANDOM_COUNT
#define TENPAK_HALF_TEST_RANDOM_COUNT 10000000
#endif

namespace tenpak {

// Lets GoogleTest print "avx2" rather than "1-byte object <01>" for a failing parameter. Static:
// internal linkage, so no other test file's PrintTo can clash with it.
[[maybe_unused]] static void PrintTo(Isa isa, std::ostream* os) {
    *os << IsaName(isa);
}

namespace {

constexpr size_t kRandomCount = TENPAK_HALF_TEST_RANDOM_COUNT;
constexpr uint32_t kRandomSeed = 20240611;  // any fixed value: std::mt19937's output is specified
constexpr size_t kMaxReported = 10;         // mismatches printed per failing check

uint32_t Bits(float f) {
    return std::bit_cast<uint32_t>(f);
}
uint16_t Bits(uint16_t h) {
    return h;
}
float FromBits(uint32_t bits) {
    return std::bit_cast<float>(bits);
}

std::string Hex(uint32_t v, int digits) {
    char buf[16];
    std::snprintf(buf, sizeof(buf), "0x%0*X", digits, v);
    return buf;
}
std::string Hex(float f) {
    return Hex(Bits(f), 8);
}
std::string Hex(uint16_t h) {
    return Hex(h, 4);
}

// Converts `src` with `kernel` and compares every output's bits with `ref` applied to its input.
template <typename Src, typename Dst, typename Ref>
::testing::AssertionResult MatchesReference(void (*kernel)(const Src*, Dst*, size_t), Ref ref,
                                            const std::vector<Src>& src) {
    std::vector<Dst> got(src.size());
    kernel(src.data(), got.data(), src.size());
    size_t mismatches = 0;
    std::string report;
    for (size_t i = 0; i < src.size(); ++i) {
        const Dst want = ref(src[i]);
        if (Bits(got[i]) == Bits(want)) continue;
        if (++mismatches <= kMaxReported) {
            report += "\n  [" + std::to_string(i) + "] " + Hex(src[i]) + " -> " + Hex(got[i]) + ", want " + Hex(want);
        }
    }
    if (mismatches == 0) return ::testing::AssertionSuccess();
    return ::testing::AssertionFailure() << mismatches << " of " << src.size() << " differ:" << report;
}

// ---------------------------------------------------------------------------------------------
// Test inputs.

std::vector<uint16_t> AllPatterns() {
    std::vector<uint16_t> out(65536);
    for (uint32_t i = 0; i < 65536; ++i) out[i] = static_cast<uint16_t>(i);
    return out;
}

void PushBothSigns(std::vector<float>& out, uint32_t magnitude_bits) {
    out.push_back(FromBits(magnitude_bits));
    out.push_back(FromBits(magnitude_bits | 0x80000000u));
}

// A value and the F32 values one ulp below and above it (by magnitude), both signs.
void PushWithNeighbours(std::vector<float>& out, uint32_t magnitude_bits) {
    PushBothSigns(out, magnitude_bits - 1);
    PushBothSigns(out, magnitude_bits);
    PushBothSigns(out, magnitude_bits + 1);
}

void PushNaNs(std::vector<float>& out) {
    // Quiet and signalling, each payload bit alone, all of them, and only the bits F16 drops.
    PushBothSigns(out, 0x7FC00000u);
    PushBothSigns(out, 0x7F800001u);
    PushBothSigns(out, 0x7FFFFFFFu);
    PushBothSigns(out, 0x7F801FFFu);
    PushBothSigns(out, 0x7FC01FFFu);
    PushBothSigns(out, 0x7F80FFFFu);
    for (int bit = 0; bit < 23; ++bit) {
        PushBothSigns(out, 0x7F800000u | (1u << bit));
        PushBothSigns(out, 0x7FC00000u | (1u << bit));
    }
}

// Every F32 where F32 -> F16 or F32 -> BF16 rounding has a decision to make, and more.
std::vector<float> MakeSpecialF32() {
    std::vector<float> out;
    // Every F16 and BF16 value, widened (NaNs included: they widen to F32 NaNs).
    for (uint32_t h = 0; h < 65536; ++h) {
        out.push_back(F16ToF32Ref(static_cast<uint16_t>(h)));
        out.push_back(BF16ToF32Ref(static_cast<uint16_t>(h)));
    }
    // Halfway between neighbouring finite F16 magnitudes (0x0000..0x7BFF and the next one up;
    // above 65504 the next step would be 65536, so that halfway point is 65520). Exact in F32.
    for (uint32_t h = 0; h < 0x7C00; ++h) {
        const double lo = F16ToF32Ref(static_cast<uint16_t>(h));
        const double hi = h + 1 < 0x7C00 ? F16ToF32Ref(static_cast<uint16_t>(h + 1)) : 65536.0;
        const float mid = static_cast<float>((lo + hi) / 2);
        if (static_cast<double>(mid) != (lo + hi) / 2) ADD_FAILURE() << "halfway point not exact: " << h;
        PushWithNeighbours(out, Bits(mid));
    }
    // Halfway between neighbouring finite BF16 magnitudes: the low 16 bits are 0x8000.
    for (uint32_t b = 0; b < 0x7F80; ++b) PushWithNeighbours(out, (b << 16) | 0x8000u);
    // F16's subnormal range and the step up to the first normal (2^-26 .. 2^-14), sampled with a
    // stride coprime to every power of two so all low-bit patterns show up.
    for (uint32_t bits = 0x32800000u; bits <= 0x38800000u; bits += 97) PushBothSigns(out, bits);
    // F16's overflow boundary, densely: every F32 from 65504 up to 65536 (65519.99 and 65520
    // included), and a few beyond.
    for (uint32_t bits = 0x477FE000u; bits <= 0x47800000u; ++bits) PushBothSigns(out, bits);
    for (float f : {65519.99f, 65520.0f, 65536.0f, 1e5f, 1e30f, std::numeric_limits<float>::max()}) {
        PushBothSigns(out, Bits(f));
    }
    // Zeros, F32 subnormals, the smallest normal, infinities, NaNs.
    PushBothSigns(out, 0x00000000u);
    PushBothSigns(out, 0x00000001u);
    PushBothSigns(out, 0x007FFFFFu);
    PushBothSigns(out, 0x00800000u);
    PushBothSigns(out, 0x7F800000u);
    PushNaNs(out);
    return out;
}

const std::vector<float>& SpecialF32() {
    static const std::vector<float> values = MakeSpecialF32();
    return values;
}

std::vector<float> RandomF32(size_t count) {
    std::mt19937 rng(kRandomSeed);
    std::vector<float> out(count);
    for (float& f : out) f = FromBits(static_cast<uint32_t>(rng()));
    return out;
}

// ---------------------------------------------------------------------------------------------
// The reference against hand-worked values.

struct F32ToHalfCase {
    uint32_t f32_bits;
    uint16_t want;
    const char* what;
};

// F32 -> F16. 2^-24 is the smallest F16 subnormal, 65504 the largest finite F16.
constexpr F32ToHalfCase kF32ToF16Cases[] = {
    {0x3F800000u, 0x3C00, "1.0"},
    {0xBF800000u, 0xBC00, "-1.0"},
    {0x40000000u, 0x4000, "2.0"},
    {0x3EAAAAABu, 0x3555, "1/3"},
    {0x3DCCCCCDu, 0x2E66, "0.1"},
    {0x40490FDBu, 0x4248, "pi"},
    {0x477FE000u, 0x7BFF, "65504, largest finite"},
    {0x477FEFFFu, 0x7BFF, "65519.996, the F32 just below 65520"},
    {0x477FF000u, 0x7C00, "65520, halfway: ties to even = Inf"},
    {0x47800000u, 0x7C00, "65536"},
    {0x7F7FFFFFu, 0x7C00, "FLT_MAX"},
    {0xC77FF000u, 0xFC00, "-65520"},
    {0x38800000u, 0x0400, "2^-14, smallest normal"},
    {0x387FC000u, 0x03FF, "1023 * 2^-24, largest subnormal"},
    {0x33800000u, 0x0001, "2^-24, smallest subnormal"},
    {0x33000000u, 0x0000, "2^-25, halfway between 0 and 2^-24: ties to even = 0"},
    {0x33000001u, 0x0001, "just above 2^-25"},
    {0x32FFFFFFu, 0x0000, "just below 2^-25"},
    {0x33400000u, 0x0001, "3 * 2^-26 = 0.75 * 2^-24"},
    {0x33C00000u, 0x0002, "3 * 2^-25 = 1.5 * 2^-24: ties to even = 2"},
    {0x34200000u, 0x0002, "5 * 2^-25 = 2.5 * 2^-24: ties to even = 2"},
    {0x387FE000u, 0x0400, "halfway between the largest subnormal and 2^-14: ties to even = 2^-14"},
    {0x3F801000u, 0x3C00, "1 + 2^-11, halfway: ties to even = 1"},
    {0x3F803000u, 0x3C02, "1 + 3 * 2^-11, halfway: ties to even = 1 + 2^-9"},
    {0x3F801001u, 0x3C01, "just above 1 + 2^-11"},
    {0x00000000u, 0x0000, "+0"},
    {0x80000000u, 0x8000, "-0"},
    {0x00000001u, 0x0000, "smallest F32 subnormal"},
    {0x80000001u, 0x8000, "-smallest F32 subnormal keeps its sign"},
    {0x7F800000u, 0x7C00, "+Inf"},
    {0xFF800000u, 0xFC00, "-Inf"},
    {0x7FC00000u, 0x7E00, "quiet NaN"},
    {0xFFC00000u, 0xFE00, "-quiet NaN"},
    {0x7F800001u, 0x7E00, "signalling NaN, payload only in the dropped bits: quieted"},
    {0x7FA00000u, 0x7F00, "signalling NaN: quieted, top payload kept"},
    {0xFFAAA000u, 0xFF55, "-signalling NaN: quieted, top payload kept"},
    {0x7FFFFFFFu, 0x7FFF, "NaN, all payload bits"},
};

// F32 -> BF16: the top 16 bits, rounded to nearest even on the low 16.
constexpr F32ToHalfCase kF32ToBF16Cases[] = {
    {0x3F800000u, 0x3F80, "1.0"},
    {0x3F808000u, 0x3F80, "1.00390625, halfway: ties to even = 1.0"},
    {0x3F808001u, 0x3F81, "just above 1.00390625"},
    {0x3F818000u, 0x3F82, "1.01171875, halfway: ties to even = 1.015625"},
    {0x3F817FFFu, 0x3F81, "just below 1.01171875"},
    {0x40490FDBu, 0x4049, "pi"},
    {0x3EAAAAABu, 0x3EAB, "1/3"},
    {0xBF800000u, 0xBF80, "-1.0"},
    {0x7F7F7FFFu, 0x7F7F, "just below the halfway point above the largest finite BF16"},
    {0x7F7F8000u, 0x7F80, "halfway above the largest finite BF16: ties to even = Inf"},
    {0x7F7FFFFFu, 0x7F80, "FLT_MAX rounds to Inf"},
    {0xFF7FFFFFu, 0xFF80, "-FLT_MAX rounds to -Inf"},
    {0x00000001u, 0x0000, "smallest F32 subnormal"},
    {0x00008000u, 0x0000, "subnormal halfway: ties to even = 0"},
    {0x00008001u, 0x0001, "subnormal just above halfway: a BF16 subnormal, not flushed"},
    {0x00018000u, 0x0002, "subnormal halfway: ties to even = 2"},
    {0x007FFFFFu, 0x0080, "largest F32 subnormal rounds up to the smallest normal"},
    {0x80000000u, 0x8000, "-0"},
    {0x7F800000u, 0x7F80, "+Inf"},
    {0xFF800000u, 0xFF80, "-Inf"},
    {0x7FC00000u, 0x7FC0, "quiet NaN"},
    {0x7F800001u, 0x7FC0, "signalling NaN, payload only in the dropped bits: quieted, still NaN"},
    {0x7FA12345u, 0x7FE1, "signalling NaN: quieted, top payload kept"},
    {0xFFFFFFFFu, 0xFFFF, "-NaN, all payload bits: no rounding carry into the sign"},
    {0x7FBFFFFFu, 0x7FFF, "signalling NaN whose rounding would carry: quieted, not rounded"},
};

struct HalfToF32Case {
    uint16_t half;
    uint32_t want_bits;
    const char* what;
};

constexpr HalfToF32Case kF16ToF32Cases[] = {
    {0x3C00, 0x3F800000u, "1.0"},
    {0x3555, 0x3EAAA000u, "0.333251953125"},
    {0x7BFF, 0x477FE000u, "65504"},
    {0x0400, 0x38800000u, "2^-14"},
    {0x03FF, 0x387FC000u, "largest subnormal"},
    {0x0001, 0x33800000u, "2^-24"},
    {0x8001, 0xB3800000u, "-2^-24"},
    {0x0000, 0x00000000u, "+0"},
    {0x8000, 0x80000000u, "-0"},
    {0x7C00, 0x7F800000u, "+Inf"},
    {0xFC00, 0xFF800000u, "-Inf"},
    {0x7E00, 0x7FC00000u, "quiet NaN"},
    {0x7FFF, 0x7FFFE000u, "quiet NaN, all payload bits"},
    // Signalling NaNs are quieted: set the top fraction bit, as vcvtph2ps does (see half.h).
    {0x7C01, 0x7FC02000u, "signalling NaN: quieted, payload kept"},
    {0xFD55, 0xFFEAA000u, "-signalling NaN: quieted, payload kept"},
};

constexpr HalfToF32Case kBF16ToF32Cases[] = {
    {0x3F80, 0x3F800000u, "1.0"},
    {0xBF80, 0xBF800000u, "-1.0"},
    {0x0001, 0x00010000u, "a subnormal: kept"},
    {0x8000, 0x80000000u, "-0"},
    {0x7F80, 0x7F800000u, "+Inf"},
    {0x7FC0, 0x7FC00000u, "quiet NaN"},
    {0x7F81, 0x7F810000u, "signalling NaN: widening is a plain shift and keeps it signalling"},
};

TEST(HalfReferenceTest, F32ToF16KnownValues) {
    for (const auto& c : kF32ToF16Cases) {
        EXPECT_EQ(Hex(F32ToF16Ref(FromBits(c.f32_bits))), Hex(c.want)) << c.what;
    }
}

TEST(HalfReferenceTest, F32ToBF16KnownValues) {
    for (const auto& c : kF32ToBF16Cases) {
        EXPECT_EQ(Hex(F32ToBF16Ref(FromBits(c.f32_bits))), Hex(c.want)) << c.what;
    }
}

TEST(HalfReferenceTest, F16ToF32KnownValues) {
    for (const auto& c : kF16ToF32Cases) EXPECT_EQ(Hex(F16ToF32Ref(c.half)), Hex(c.want_bits, 8)) << c.what;
}

TEST(HalfReferenceTest, BF16ToF32KnownValues) {
    for (const auto& c : kBF16ToF32Cases) EXPECT_EQ(Hex(BF16ToF32Ref(c.half)), Hex(c.want_bits, 8)) << c.what;
}

// Widening is exact, so every finite F16/BF16 value comes back unchanged, and the F16 values
// agree with their decimal meaning: (-1)^s * 2^(e-15) * 1.m, or 2^-14 * 0.m for subnormals.
TEST(HalfReferenceTest, RoundTripsAndValues) {
    for (uint32_t h = 0; h < 65536; ++h) {
        const auto half = static_cast<uint16_t>(h);
        const uint32_t exp = (h >> 10) & 0x1F;
        if (exp == 0x1F) {
            EXPECT_TRUE(std::isnan(F16ToF32Ref(half)) || std::isinf(F16ToF32Ref(half)));
            continue;
        }
        const double mant = static_cast<double>(h & 0x3FF) / 1024.0;
        const double magnitude = exp == 0 ? std::ldexp(mant, -14) : std::ldexp(1.0 + mant, static_cast<int>(exp) - 15);
        const double want = (h & 0x8000) != 0 ? -magnitude : magnitude;
        ASSERT_EQ(static_cast<double>(F16ToF32Ref(half)), want) << Hex(half);
        ASSERT_EQ(F32ToF16Ref(F16ToF32Ref(half)), half) << Hex(half);
        if (((h >> 7) & 0xFF) != 0xFF) {
            ASSERT_EQ(F32ToBF16Ref(BF16ToF32Ref(half)), half) << Hex(half);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Every kernel table against the reference.

class HalfKernelTest : public ::testing::TestWithParam<Isa> {
protected:
    const HalfKernels& kernels() const { return HalfKernelsFor(GetParam()); }
};

std::string IsaTestName(const ::testing::TestParamInfo<Isa>& info) {
    return std::string(IsaName(info.param));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, HalfKernelTest, ::testing::ValuesIn(SupportedIsas()), IsaTestName);

// The hand-worked values through the kernel, alone (n = 1, the tail path) and filling whole
// vectors (n = 64, the vector path). For avx2/avx512 F16 this checks the reference against the
// CPU's own vcvtph2ps / vcvtps2ph.
TEST_P(HalfKernelTest, KnownValues) {
    constexpr size_t kFill = 64;
    for (const auto& c : kF32ToF16Cases) {
        for (size_t n : {size_t{1}, kFill}) {
            const std::vector<float> src(n, FromBits(c.f32_bits));
            std::vector<uint16_t> dst(n);
            kernels().f32_to_f16(src.data(), dst.data(), n);
            for (uint16_t got : dst) ASSERT_EQ(Hex(got), Hex(c.want)) << c.what << ", n=" << n;
        }
    }
    for (const auto& c : kF32ToBF16Cases) {
        for (size_t n : {size_t{1}, kFill}) {
            const std::vector<float> src(n, FromBits(c.f32_bits));
            std::vector<uint16_t> dst(n);
            kernels().f32_to_bf16(src.data(), dst.data(), n);
            for (uint16_t got : dst) ASSERT_EQ(Hex(got), Hex(c.want)) << c.what << ", n=" << n;
        }
    }
    for (const auto& c : kF16ToF32Cases) {
        for (size_t n : {size_t{1}, kFill}) {
            const std::vector<uint16_t> src(n, c.half);
            std::vector<float> dst(n);
            kernels().f16_to_f32(src.data(), dst.data(), n);
            for (float got : dst) ASSERT_EQ(Hex(got), Hex(c.want_bits, 8)) << c.what << ", n=" << n;
        }
    }
    for (const auto& c : kBF16ToF32Cases) {
        for (size_t n : {size_t{1}, kFill}) {
            const std::vector<uint16_t> src(n, c.half);
            std::vector<float> dst(n);
            kernels().bf16_to_f32(src.data(), dst.data(), n);
            for (float got : dst) ASSERT_EQ(Hex(got), Hex(c.want_bits, 8)) << c.what << ", n=" << n;
        }
    }
}

TEST_P(HalfKernelTest, F16ToF32AllPatterns) {
    EXPECT_TRUE(MatchesReference(kernels().f16_to_f32, F16ToF32Ref, AllPatterns()));
}

TEST_P(HalfKernelTest, BF16ToF32AllPatterns) {
    EXPECT_TRUE(MatchesReference(kernels().bf16_to_f32, BF16ToF32Ref, AllPatterns()));
}

TEST_P(HalfKernelTest, F32ToF16SpecialValues) {
    EXPECT_TRUE(MatchesReference(kernels().f32_to_f16, F32ToF16Ref, SpecialF32()));
}

TEST_P(HalfKernelTest, F32ToBF16SpecialValues) {
    EXPECT_TRUE(MatchesReference(kernels().f32_to_bf16, F32ToBF16Ref, SpecialF32()));
}

TEST_P(HalfKernelTest, F32ToF16RandomBits) {
    EXPECT_TRUE(MatchesReference(kernels().f32_to_f16, F32ToF16Ref, RandomF32(kRandomCount)));
}

TEST_P(HalfKernelTest, F32ToBF16RandomBits) {
    EXPECT_TRUE(MatchesReference(kernels().f32_to_bf16, F32ToBF16Ref, RandomF32(kRandomCount)));
}

// Every length 0..70 (all tail shapes of 8-, 16- and 32-wide loops) at several source and
// destination misalignments. The source vector holds exactly the elements converted, so a read
// past them is a heap overflow under ASan; the destination is surrounded by sentinels that must
// survive.
template <typename Src, typename Dst, typename Ref>
void CheckTails(void (*kernel)(const Src*, Dst*, size_t), Ref ref, const std::vector<Src>& values, Dst sentinel) {
    constexpr size_t kMaxLength = 70;
    constexpr size_t kGuard = 64;
    for (size_t n = 0; n <= kMaxLength; ++n) {
        for (size_t src_offset : {0, 1, 3}) {
            for (size_t dst_offset : {0, 1, 5}) {
                std::vector<Src> src(src_offset + n);
                for (size_t i = 0; i < src.size(); ++i) src[i] = values[(i * 7919 + n) % values.size()];
                std::vector<Dst> dst(dst_offset + n + kGuard, sentinel);
                kernel(src.data() + src_offset, dst.data() + dst_offset, n);
                const std::string where = "n=" + std::to_string(n) + " src_offset=" + std::to_string(src_offset) +
                                          " dst_offset=" + std::to_string(dst_offset);
                for (size_t i = 0; i < dst.size(); ++i) {
                    const bool inside = i >= dst_offset && i < dst_offset + n;
                    const Dst want = inside ? ref(src[src_offset + i - dst_offset]) : sentinel;
                    ASSERT_EQ(Hex(dst[i]), Hex(want)) << where << " i=" << i << (inside ? "" : " (guard overwritten)");
                }
            }
        }
    }
}

TEST_P(HalfKernelTest, TailsAndAlignment) {
    const std::vector<uint16_t> halves = AllPatterns();
    const std::vector<float>& floats = SpecialF32();
    const float f32_sentinel = FromBits(0xDEADBEEFu);
    constexpr uint16_t kHalfSentinel = 0xBEEF;
    CheckTails(kernels().f16_to_f32, F16ToF32Ref, halves, f32_sentinel);
    CheckTails(kernels().bf16_to_f32, BF16ToF32Ref, halves, f32_sentinel);
    CheckTails(kernels().f32_to_f16, F32ToF16Ref, floats, kHalfSentinel);
    CheckTails(kernels().f32_to_bf16, F32ToBF16Ref, floats, kHalfSentinel);
}

// half.h promises any alignment: pointers into byte buffers (tensor data in a file) may be off
// the element's alignment, here by an odd number of bytes. Under UBSan a plain dereference of such
// a pointer would be reported. Inputs and outputs go through memcpy on the test's side.
template <typename Src, typename Dst, typename Ref>
void CheckByteMisaligned(void (*kernel)(const Src*, Dst*, size_t), Ref ref, const std::vector<Src>& values) {
    for (size_t n : {1, 7, 8, 15, 16, 17, 31, 33, 100, 1000}) {
        for (size_t byte_offset : {1, 3}) {
            std::vector<unsigned char> src_bytes(byte_offset + n * sizeof(Src));
            std::vector<unsigned char> dst_bytes(byte_offset + n * sizeof(Dst));
            for (size_t i = 0; i < n; ++i) {
                const Src v = values[(i * 7919) % values.size()];
                std::memcpy(src_bytes.data() + byte_offset + i * sizeof(Src), &v, sizeof(Src));
            }
            kernel(reinterpret_cast<const Src*>(src_bytes.data() + byte_offset),
                   reinterpret_cast<Dst*>(dst_bytes.data() + byte_offset), n);
            for (size_t i = 0; i < n; ++i) {
                Src in;
                Dst got;
                std::memcpy(&in, src_bytes.data() + byte_offset + i * sizeof(Src), sizeof(Src));
                std::memcpy(&got, dst_bytes.data() + byte_offset + i * sizeof(Dst), sizeof(Dst));
                ASSERT_EQ(Hex(got), Hex(ref(in))) << "n=" << n << " byte_offset=" << byte_offset << " i=" << i;
            }
        }
    }
}

TEST_P(HalfKernelTest, ByteMisalignedPointers) {
    const std::vector<uint16_t> halves = AllPatterns();
    const std::vector<float>& floats = SpecialF32();
    CheckByteMisaligned(kernels().f16_to_f32, F16ToF32Ref, halves);
    CheckByteMisaligned(kernels().bf16_to_f32, BF16ToF32Ref, halves);
    CheckByteMisaligned(kernels().f32_to_f16, F32ToF16Ref, floats);
    CheckByteMisaligned(kernels().f32_to_bf16, F32ToBF16Ref, floats);
}

// Conversions of kHalfStreamMinBytes or more (input + output) take the streaming-store path,
// with its alignment head. Convert a bit more than that into a destination one element off
// alignment, at an odd length.
template <typename Src, typename Dst, typename Ref>
::testing::AssertionResult StreamingMatchesReference(void (*kernel)(const Src*, Dst*, size_t), Ref ref,
                                                     const std::vector<Src>& values) {
    const size_t n = kHalfStreamMinBytes / (sizeof(Src) + sizeof(Dst)) + 37;
    std::vector<Src> src(n);
    for (size_t i = 0; i < n; ++i) src[i] = values[i % values.size()];
    std::vector<Dst> dst(n + 1);
    Dst* out = dst.data() + 1;
    kernel(src.data(), out, n);
    for (size_t i = 0; i < n; ++i) {
        const Dst want = ref(src[i]);
        if (Bits(out[i]) != Bits(want)) {
            return ::testing::AssertionFailure()
                   << "[" << i << "] " << Hex(src[i]) << " -> " << Hex(out[i]) << ", want " << Hex(want);
        }
    }
    return ::testing::AssertionSuccess();
}

TEST_P(HalfKernelTest, LargeOutputsWithStreamingStores) {
    const std::vector<uint16_t> halves = AllPatterns();
    const std::vector<float>& floats = SpecialF32();
    EXPECT_TRUE(StreamingMatchesReference(kernels().f16_to_f32, F16ToF32Ref, halves));
    EXPECT_TRUE(StreamingMatchesReference(kernels().bf16_to_f32, BF16ToF32Ref, halves));
    EXPECT_TRUE(StreamingMatchesReference(kernels().f32_to_f16, F32ToF16Ref, floats));
    EXPECT_TRUE(StreamingMatchesReference(kernels().f32_to_bf16, F32ToBF16Ref, floats));
}

// ---------------------------------------------------------------------------------------------
// Dispatch.

TEST(HalfDispatchTest, SelectedTableIsTheSelectedIsas) {
    EXPECT_EQ(&SelectedHalfKernels(), &HalfKernelsFor(SelectedIsa()));
    const uint16_t one_f16 = 0x3C00;
    float out = 0;
    ConvertF16ToF32(&one_f16, &out, 1);
    EXPECT_EQ(out, 1.0f);
    const float one = 1.0f;
    uint16_t half = 0;
    ConvertF32ToBF16(&one, &half, 1);
    EXPECT_EQ(half, 0x3F80);
    std::printf("[          ] half kernels in use: %s\n", std::string(IsaName(SelectedIsa())).c_str());
}

TEST(HalfDispatchTest, EveryTableIsComplete) {
    for (Isa isa : SupportedIsas()) {
        const HalfKernels& k = HalfKernelsFor(isa);
        EXPECT_NE(k.f16_to_f32, nullptr) << IsaName(isa);
        EXPECT_NE(k.f32_to_f16, nullptr) << IsaName(isa);
        EXPECT_NE(k.bf16_to_f32, nullptr) << IsaName(isa);
        EXPECT_NE(k.f32_to_bf16, nullptr) << IsaName(isa);
    }
}

TEST(HalfDispatchDeathTest, UnsupportedIsaIsABug) {
    EXPECT_DEATH(HalfKernelsFor(static_cast<Isa>(99)), "IsaSupported");
}

}  // namespace
}  // namespace tenpak
