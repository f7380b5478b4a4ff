// IEEE binary16 (F16) and bfloat16 (BF16) <-> binary32 (F32) conversion.
//
// Narrowing rounds to nearest, ties to even, and handles every class of value: subnormals are
// produced and consumed exactly, overflow goes to +-Inf, NaN stays NaN (quieted, keeping the top
// payload bits, sign kept). For F16 this is exactly what F16C's vcvtps2ph does with round-to-nearest;
// BF16 rounds like PyTorch's `.to(torch.bfloat16)` except that a NaN keeps its sign and payload
// (PyTorch writes the canonical 0x7FC0). The vectorised kernels agree with these bit for bit.
//
// The scalar functions here are the reference (the spec); the bulk functions dispatch to the best
// kernel for the CPU (see cpu_features.h). Tests compare every kernel with the reference on every
// 16-bit pattern.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>

#include "tenpak/core/cpu_features.h"

namespace tenpak {

inline float F16ToF32Ref(uint16_t h) {
    const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
    const uint32_t exp = (h >> 10) & 0x1Fu;
    uint32_t mant = h & 0x3FFu;
    uint32_t bits;
    if (exp == 0x1F) {
        // Inf or NaN; a NaN is quieted as the hardware does.
        bits = sign | 0x7F800000u | (mant << 13) | (mant != 0 ? 0x00400000u : 0u);
    } else if (exp != 0) {
        bits = sign | ((exp + 112u) << 23) | (mant << 13);  // rebias 15 -> 127
    } else if (mant == 0) {
        bits = sign;
    } else {
        // Subnormal half: normalise. value = mant * 2^-24.
        int shift = 0;
        while ((mant & 0x400u) == 0) {
            mant <<= 1;
            ++shift;
        }
        mant &= 0x3FFu;
        bits = sign | (static_cast<uint32_t>(113 - shift) << 23) | (mant << 13);
    }
    return std::bit_cast<float>(bits);
}

inline uint16_t F32ToF16Ref(float f) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000u);
    const uint32_t abs = bits & 0x7FFFFFFFu;
    if (abs > 0x7F800000u) {
        // NaN: quiet it and keep the top 9 payload bits.
        return static_cast<uint16_t>(sign | 0x7E00u | ((abs >> 13) & 0x1FFu));
    }
    if (abs >= 0x477FF000u) {
        // >= 65520 rounds to Inf (65504 is the largest half; 65520 is the halfway point).
        return static_cast<uint16_t>(sign | 0x7C00u);
    }
    if (abs < 0x38800000u) {
        // Result is subnormal or zero: value / 2^-24, rounded to nearest even.
        if (abs < 0x33000000u) return sign;  // below half of the smallest subnormal: 0
        const uint32_t exp = abs >> 23;
        const uint32_t mant = (abs & 0x7FFFFFu) | 0x800000u;
        const uint32_t shift = 126u - exp;  // 14 + (113 - exp)
        const uint32_t q = mant >> shift;
        const uint32_t rem = mant & ((1u << shift) - 1u);
        const uint32_t half = 1u << (shift - 1u);
        const uint32_t rounded = q + ((rem > half || (rem == half && (q & 1u))) ? 1u : 0u);
        return static_cast<uint16_t>(sign | rounded);
    }
    // Normal: rebias and round the 13 dropped bits to nearest even; a carry moves into the exponent.
    const uint32_t rebased = abs - 0x38000000u;  // exponent 127 -> 15
    const uint32_t rounded = rebased + 0xFFFu + ((rebased >> 13) & 1u);
    return static_cast<uint16_t>(sign | (rounded >> 13));
}

inline float BF16ToF32Ref(uint16_t b) {
    return std::bit_cast<float>(static_cast<uint32_t>(b) << 16);
}

inline uint16_t F32ToBF16Ref(float f) {
    const uint32_t bits = std::bit_cast<uint32_t>(f);
    if ((bits & 0x7FFFFFFFu) > 0x7F800000u) {
        return static_cast<uint16_t>((bits >> 16) | 0x0040u);  // NaN: keep sign and top payload, quiet
    }
    const uint32_t rounded = bits + 0x7FFFu + ((bits >> 16) & 1u);
    return static_cast<uint16_t>(rounded >> 16);
}

// Bulk conversions of n values; src and dst must not overlap. Any alignment, any n.
struct HalfKernels {
    void (*f16_to_f32)(const uint16_t* src, float* dst, size_t n);
    void (*f32_to_f16)(const float* src, uint16_t* dst, size_t n);
    void (*bf16_to_f32)(const uint16_t* src, float* dst, size_t n);
    void (*f32_to_bf16)(const float* src, uint16_t* dst, size_t n);
};

// The kernels for one ISA (must be supported by this CPU), or for SelectedIsa().
const HalfKernels& HalfKernelsFor(Isa isa);
const HalfKernels& SelectedHalfKernels();

inline void ConvertF16ToF32(const uint16_t* src, float* dst, size_t n) {
    SelectedHalfKernels().f16_to_f32(src, dst, n);
}
inline void ConvertF32ToF16(const float* src, uint16_t* dst, size_t n) {
    SelectedHalfKernels().f32_to_f16(src, dst, n);
}
inline void ConvertBF16ToF32(const uint16_t* src, float* dst, size_t n) {
    SelectedHalfKernels().bf16_to_f32(src, dst, n);
}
inline void ConvertF32ToBF16(const float* src, uint16_t* dst, size_t n) {
    SelectedHalfKernels().f32_to_bf16(src, dst, n);
}

}  // namespace tenpak
