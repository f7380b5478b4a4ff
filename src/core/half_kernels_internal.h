// Private to src/core: the per-ISA HalfKernels tables and what the kernel files share.
//
// half_kernels.cpp holds the scalar kernels (loops over the *Ref functions of half.h) and the
// dispatch; x86/half_avx2.cpp and x86/half_avx512.cpp hold the vector kernels and use the scalar
// loops for the elements their vectors do not cover. Only those two files include immintrin.h.
#pragma once

#include <cstddef>
#include <cstdint>

#include "tenpak/core/half.h"

namespace tenpak {

extern const HalfKernels kHalfKernelsRef;
extern const HalfKernels kHalfKernelsAvx2;
extern const HalfKernels kHalfKernelsAvx512;

// Scalar loops, exact by definition (they call the reference). Also the vector kernels' tails.
void F16ToF32Scalar(const uint16_t* src, float* dst, size_t n);
void F32ToF16Scalar(const float* src, uint16_t* dst, size_t n);
void BF16ToF32Scalar(const uint16_t* src, float* dst, size_t n);
void F32ToBF16Scalar(const float* src, uint16_t* dst, size_t n);

// Conversions that move at least this many bytes (input + output) write their output with
// non-temporal (streaming) stores. Those skip reading each destination line before overwriting
// it (the "read for ownership") and keep the output from evicting the cache: at 64 MiB they take
// F32 -> F16/BF16 from ~0.6-0.8 to ~0.9-1.0 of memcpy's speed on Zen 4, and F16/BF16 -> F32 from
// ~1.25 to ~1.8. But the output then goes to DRAM instead of staying in cache for whoever reads
// it next, which for working sets that fit in the L3 costs up to 2x. Measured with
// bench/core/half_bench.cpp on Zen 4 (1 MiB L2, 32 MiB L3, a shared 2-vCPU VM, so noisy): the
// crossover lay between 9 and 12 MiB moved, in both directions.
inline constexpr size_t kHalfStreamMinBytes = size_t{12} << 20;

// Whether converting n elements into dst streams. Streaming stores need the destination aligned
// to the vector width, so dst must at least be aligned to its element; the kernels then convert
// `HalfElementsToAlignment` elements with ordinary stores first.
template <typename Src, typename Dst>
bool HalfUseStreamingStores(const Dst* dst, size_t n) {
    return n * (sizeof(Src) + sizeof(Dst)) >= kHalfStreamMinBytes &&
           reinterpret_cast<uintptr_t>(dst) % sizeof(Dst) == 0;
}
template <typename T>
size_t HalfElementsToAlignment(const T* dst, size_t alignment) {
    const size_t misalign = reinterpret_cast<uintptr_t>(dst) % alignment;
    return misalign == 0 ? 0 : (alignment - misalign) / sizeof(T);
}

}  // namespace tenpak
