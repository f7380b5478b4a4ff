// The arithmetic the blockwise quantizers share: rounding as torch and F16 storage do it, the
// statistics a group's parameters come from, and nearest-value search in a sorted code table.
//
// The loops here run over every weight of a model, so they are written for the auto-vectoriser
// (no -ffast-math): integer reductions instead of float min/max (which GCC will not vectorise
// without -ffinite-math-only), and rounding by adding a constant instead of a call to nearbyint (a
// libm call on baseline x86-64). Each function is exact: it returns what the obvious scalar code
// would, bit for bit, for every finite input.
#pragma once

#include <bit>
#include <cmath>
#include <cstddef>
#include <cstdint>

#include "tenpak/core/half.h"

namespace tenpak::quant {

// |x| below this is rounded exactly by RoundHalfEven.
constexpr float kRoundHalfEvenLimit = 4194304.0f;  // 2^22

// Round half to even (torch.round, numpy.rint), REQUIRES |x| < kRoundHalfEvenLimit. Adding
// 1.5 * 2^23 moves x into [2^23, 2^24), where a float has no fraction bits, so the addition itself
// rounds x to an integer with the FPU's round-to-nearest-even; subtracting the constant is exact.
// IEEE arithmetic (no -ffast-math) keeps the compiler from folding the two away.
inline float RoundHalfEven(float x) {
    constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
    return (x + kShift) - kShift;
}

// The F16 value nearest to x (ties to even), as a float: what a loader reading an F16 scale sees.
inline float RoundToF16(float x) {
    return F16ToF32Ref(F32ToF16Ref(x));
}

// Hot loops over every weight are compiled for several ISAs and picked when the program loads
// (GCC/Clang function multi-versioning: one clone per target and an ifunc resolver), so that the
// auto-vectoriser can use 256-bit vectors on CPUs that have them while the library stays built for
// baseline x86-64. The targets add no FMA: every clone computes the same IEEE operations in the same
// order, so results are bit-identical whichever clone runs (the tests compare them with the
// scalar expressions).
#if defined(__x86_64__) && defined(__GNUC__)
#define TP_QUANT_MULTIVERSION __attribute__((target_clones("default", "avx2", "avx512f")))
#else
#define TP_QUANT_MULTIVERSION
#endif

// The smallest and largest value of a group; a NaN or Inf anywhere makes one of them non-finite.
struct GroupStats {
    float min = 0.0f;
    float max = 0.0f;

    bool finite() const { return std::isfinite(min) && std::isfinite(max); }
    // max |x|, exactly.
    float absmax() const { return std::fabs(min) > std::fabs(max) ? std::fabs(min) : std::fabs(max); }
};

// Maps a float's bits to an int32 with the same order as the floats (-0.0 sorts just below +0.0; a
// NaN sorts beyond the infinity of its sign). Negative floats have their magnitude bits flipped so
// that larger magnitudes sort lower. The map is its own inverse.
inline int32_t OrderedBits(int32_t bits) {
    return bits ^ ((bits >> 31) & 0x7FFFFFFF);
}

// Min and max of n > 0 values in one pass, as integer min/max of OrderedBits (which vectorise
// where float min/max would not): exact for finite values, and a NaN or Inf shows up as a
// non-finite min or max.
GroupStats FindGroupStats(const float* x, size_t n);

// Nearest-value search in a sorted table of 16 (or 8) values, given the 15 (7) midpoints between
// neighbours, mid[i] = (t[i] + t[i + 1]) / 2: the index is the number of midpoints below x, and an
// x exactly on a midpoint goes to the lower index (bitsandbytes' CUDA kernels decide `x > threshold`
// the same way). Found by a binary search whose steps pick the next midpoint with selects instead
// of branches or loads: 4 (3) compares per value, and the caller's loop vectorises with blends
// (twice as fast as counting all 15 midpoints). The selects are on floats, as is the index, so
// that every lane stays 32-bit. REQUIRES: `mid` is a local copy in the caller's loop (a table the
// output pointer might alias keeps GCC from vectorising).
inline float NearestOf16(const float (&mid)[15], float x) {
    const float b3 = x > mid[7] ? 1.0f : 0.0f;
    const float b2 = x > (b3 > 0.5f ? mid[11] : mid[3]) ? 1.0f : 0.0f;
    const float t1_low = b2 > 0.5f ? mid[5] : mid[1];
    const float t1_high = b2 > 0.5f ? mid[13] : mid[9];
    const float b1 = x > (b3 > 0.5f ? t1_high : t1_low) ? 1.0f : 0.0f;
    const float t0_a = b1 > 0.5f ? mid[2] : mid[0];
    const float t0_b = b1 > 0.5f ? mid[6] : mid[4];
    const float t0_c = b1 > 0.5f ? mid[10] : mid[8];
    const float t0_d = b1 > 0.5f ? mid[14] : mid[12];
    const float t0_low = b2 > 0.5f ? t0_b : t0_a;
    const float t0_high = b2 > 0.5f ? t0_d : t0_c;
    const float b0 = x > (b3 > 0.5f ? t0_high : t0_low) ? 1.0f : 0.0f;
    return b3 * 8.0f + b2 * 4.0f + b1 * 2.0f + b0;
}

// The same for 8 values; returns the three bits of the index separately (b2 is the top one).
struct Index8Bits {
    float b2;
    float b1;
    float b0;
};
inline Index8Bits NearestOf8(const float (&mid)[7], float x) {
    const float b2 = x > mid[3] ? 1.0f : 0.0f;
    const float b1 = x > (b2 > 0.5f ? mid[5] : mid[1]) ? 1.0f : 0.0f;
    const float t0_low = b1 > 0.5f ? mid[2] : mid[0];
    const float t0_high = b1 > 0.5f ? mid[6] : mid[4];
    const float b0 = x > (b2 > 0.5f ? t0_high : t0_low) ? 1.0f : 0.0f;
    return {b2, b1, b0};
}

}  // namespace tenpak::quant
