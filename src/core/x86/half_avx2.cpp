// F16/BF16 <-> F32 with AVX2 + F16C, bit-identical to the reference in half.h.
//
// F16 uses the F16C instructions: vcvtph2ps is exact (and ignores MXCSR.DAZ), vcvtps2ph rounds by
// its immediate (nearest even; MXCSR.RC and FTZ are not consulted), so the results do not depend
// on the caller's MXCSR. BF16 is integer work: widening is a 16-bit shift, narrowing rounds to
// nearest even with (bits + 0x7FFF + lsb) >> 16 and quiets NaNs as the reference does.
//
// The main loops convert two vectors per iteration; what is left over (fewer than 8 or 16
// elements) goes through the scalar loops. Conversions of kHalfStreamMinBytes or more write
// with streaming stores once the destination is 32-byte aligned.
#include <immintrin.h>

#include "core/half_kernels_internal.h"

namespace tenpak {
namespace {

constexpr size_t kVectorBytes = 32;

template <bool kStream>
void StoreF32(float* dst, __m256 v) {
    if constexpr (kStream) {
        _mm256_stream_ps(dst, v);
    } else {
        _mm256_storeu_ps(dst, v);
    }
}

template <bool kStream>
void StoreI16x8(uint16_t* dst, __m128i v) {
    if constexpr (kStream) {
        _mm_stream_si128(reinterpret_cast<__m128i*>(dst), v);
    } else {
        _mm_storeu_si128(reinterpret_cast<__m128i*>(dst), v);
    }
}

template <bool kStream>
void StoreI16x16(uint16_t* dst, __m256i v) {
    if constexpr (kStream) {
        _mm256_stream_si256(reinterpret_cast<__m256i*>(dst), v);
    } else {
        _mm256_storeu_si256(reinterpret_cast<__m256i*>(dst), v);
    }
}

__m128i LoadI16x8(const uint16_t* src) {
    return _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
}

// Eight F32 bit patterns to BF16, each in the low half of its 32-bit lane.
__m256i RoundToBF16(__m256i bits) {
    const __m256i lsb = _mm256_and_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(1));
    const __m256i rounded =
        _mm256_srli_epi32(_mm256_add_epi32(_mm256_add_epi32(bits, _mm256_set1_epi32(0x7FFF)), lsb), 16);
    const __m256i quiet_nan = _mm256_or_si256(_mm256_srli_epi32(bits, 16), _mm256_set1_epi32(0x0040));
    const __m256i abs = _mm256_and_si256(bits, _mm256_set1_epi32(0x7FFFFFFF));
    const __m256i is_nan = _mm256_cmpgt_epi32(abs, _mm256_set1_epi32(0x7F800000));
    return _mm256_blendv_epi8(rounded, quiet_nan, is_nan);
}

// Sixteen F32 to sixteen BF16. packus works per 128-bit lane, so the 64-bit quarters come out
// as (a.lo, b.lo, a.hi, b.hi) and the permute puts them back in order. The values are < 2^16,
// so the unsigned saturation never changes one.
__m256i F32x16ToBF16(const float* src) {
    const __m256i a = RoundToBF16(_mm256_castps_si256(_mm256_loadu_ps(src)));
    const __m256i b = RoundToBF16(_mm256_castps_si256(_mm256_loadu_ps(src + 8)));
    return _mm256_permute4x64_epi64(_mm256_packus_epi32(a, b), 0xD8);
}

__m256 BF16x8ToF32(const uint16_t* src) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(LoadI16x8(src)), 16));
}

// The main loops: convert the largest multiple of 16 (32 for F32 -> BF16) elements, return it.
template <bool kStream>
size_t F16ToF32Body(const uint16_t* src, float* dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 lo = _mm256_cvtph_ps(LoadI16x8(src + i));
        const __m256 hi = _mm256_cvtph_ps(LoadI16x8(src + i + 8));
        StoreF32<kStream>(dst + i, lo);
        StoreF32<kStream>(dst + i + 8, hi);
    }
    return i;
}

template <bool kStream>
size_t F32ToF16Body(const float* src, uint16_t* dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m128i lo = _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT);
        const __m128i hi = _mm256_cvtps_ph(_mm256_loadu_ps(src + i + 8), _MM_FROUND_TO_NEAREST_INT);
        StoreI16x16<kStream>(dst + i, _mm256_setr_m128i(lo, hi));
    }
    return i;
}

template <bool kStream>
size_t BF16ToF32Body(const uint16_t* src, float* dst, size_t n) {
    size_t i = 0;
    for (; i + 16 <= n; i += 16) {
        const __m256 lo = BF16x8ToF32(src + i);
        const __m256 hi = BF16x8ToF32(src + i + 8);
        StoreF32<kStream>(dst + i, lo);
        StoreF32<kStream>(dst + i + 8, hi);
    }
    return i;
}

template <bool kStream>
size_t F32ToBF16Body(const float* src, uint16_t* dst, size_t n) {
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        const __m256i lo = F32x16ToBF16(src + i);
        const __m256i hi = F32x16ToBF16(src + i + 16);
        StoreI16x16<kStream>(dst + i, lo);
        StoreI16x16<kStream>(dst + i + 16, hi);
    }
    return i;
}

// The walk every conversion shares: an unaligned scalar head when streaming, the vector body,
// then the scalar loop for the rest.
template <typename Src, typename Dst>
void Convert(const Src* src, Dst* dst, size_t n, size_t (*body)(const Src*, Dst*, size_t),
             size_t (*stream_body)(const Src*, Dst*, size_t), void (*scalar)(const Src*, Dst*, size_t)) {
    size_t i = 0;
    if (HalfUseStreamingStores<Src>(dst, n)) {
        const size_t head = HalfElementsToAlignment(dst, kVectorBytes);
        scalar(src, dst, head);
        i = head + stream_body(src + head, dst + head, n - head);
        _mm_sfence();  // order the streaming stores before anything this thread stores next
    } else {
        i = body(src, dst, n);
    }
    scalar(src + i, dst + i, n - i);
}

void F16ToF32Avx2(const uint16_t* src, float* dst, size_t n) {
    Convert(src, dst, n, F16ToF32Body<false>, F16ToF32Body<true>, F16ToF32Scalar);
}
void F32ToF16Avx2(const float* src, uint16_t* dst, size_t n) {
    Convert(src, dst, n, F32ToF16Body<false>, F32ToF16Body<true>, F32ToF16Scalar);
}
void BF16ToF32Avx2(const uint16_t* src, float* dst, size_t n) {
    Convert(src, dst, n, BF16ToF32Body<false>, BF16ToF32Body<true>, BF16ToF32Scalar);
}
void F32ToBF16Avx2(const float* src, uint16_t* dst, size_t n) {
    Convert(src, dst, n, F32ToBF16Body<false>, F32ToBF16Body<true>, F32ToBF16Scalar);
}

}  // namespace

const HalfKernels kHalfKernelsAvx2 = {F16ToF32Avx2, F32ToF16Avx2, BF16ToF32Avx2, F32ToBF16Avx2};

}  // namespace tenpak
