// F16/BF16 <-> F32 with AVX-512 F/BW/VL/DQ, bit-identical to the reference in half.h.
//
// The same arithmetic as half_avx2.cpp on 16 lanes: vcvtph2ps / vcvtps2ph (rounding from the
// immediate, MXCSR not consulted) for F16, integer shifts and adds for BF16. We deliberately do
// not use AVX512_BF16's vcvtneps2bf16: it flushes F32 denormals to zero, which the reference (and
// PyTorch) does not. Leftover elements and the alignment head of the streaming path go through
// masked loads and stores, which never touch memory outside the mask. The main loops convert 32
// elements per iteration; at 12 MiB moved and above they write with streaming stores.

// GCC 12's AVX-512 headers build "undefined" vectors as `__m512i __Y = __Y;`, which trips
// -Wmaybe-uninitialized once inlined (GCC bug 105593, fixed in GCC 13); the warning is about the
// header, not this code.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "core/half_kernels_internal.h"

namespace tenpak {
namespace {

constexpr size_t kVectorBytes = 64;
constexpr size_t kLanes = 16;

// The first `count` lanes (count <= 16).
__mmask16 FirstLanes(size_t count) {
    return count >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << count) - 1u);
}

template <bool kStream>
void StoreF32(float* dst, __m512 v) {
    if constexpr (kStream) {
        _mm512_stream_ps(dst, v);
    } else {
        _mm512_storeu_ps(dst, v);
    }
}

template <bool kStream>
void StoreI16x32(uint16_t* dst, __m512i v) {
    if constexpr (kStream) {
        _mm512_stream_si512(reinterpret_cast<__m512i*>(dst), v);
    } else {
        _mm512_storeu_si512(dst, v);
    }
}

// Widening, sixteen lanes.
__m512 F16ToF32x16(__m256i h) {
    return _mm512_cvtph_ps(h);
}
__m512 BF16ToF32x16(__m256i b) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
}

// F32 -> BF16 rounding of sixteen lanes, leaving each result in the high half of its 32-bit lane
// (for a NaN, bits | 0x00400000 has (bits >> 16) | 0x0040 there). vfpclassps 0x81 = QNaN or
// SNaN; unlike a floating-point compare it raises no exception flags.
__m512i RoundToBF16High(__m512 f) {
    const __m512i bits = _mm512_castps_si512(f);
    const __m512i lsb = _mm512_and_si512(_mm512_srli_epi32(bits, 16), _mm512_set1_epi32(1));
    const __m512i rounded = _mm512_add_epi32(_mm512_add_epi32(bits, _mm512_set1_epi32(0x7FFF)), lsb);
    const __mmask16 is_nan = _mm512_fpclass_ps_mask(f, 0x81);
    return _mm512_mask_or_epi32(rounded, is_nan, bits, _mm512_set1_epi32(0x00400000));
}

// Narrowing, sixteen lanes (the masked tails) and thirty-two (the main loop, one 64-byte store).
__m256i F32ToF16x16(__m512 f) {
    return _mm512_cvtps_ph(f, _MM_FROUND_TO_NEAREST_INT);
}
__m512i F32ToF16x32(__m512 lo, __m512 hi) {
    return _mm512_inserti64x4(_mm512_castsi256_si512(F32ToF16x16(lo)), F32ToF16x16(hi), 1);
}
__m256i F32ToBF16x16(__m512 f) {
    return _mm512_cvtepi32_epi16(_mm512_srli_epi32(RoundToBF16High(f), 16));
}
// One vpermt2w gathers the high 16-bit words of both vectors, in order.
__m512i F32ToBF16x32(__m512 lo, __m512 hi) {
    const __m512i kHighWords = _mm512_set_epi16(63, 61, 59, 57, 55, 53, 51, 49, 47, 45, 43, 41, 39, 37, 35, 33,  //
                                                31, 29, 27, 25, 23, 21, 19, 17, 15, 13, 11, 9, 7, 5, 3, 1);
    return _mm512_permutex2var_epi16(RoundToBF16High(lo), kHighWords, RoundToBF16High(hi));
}

__m256i LoadI16x16(const uint16_t* src) {
    return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
}

// F16 and BF16 differ only in the in-register conversion, so each direction (widening 16 -> 32
// bits, narrowing 32 -> 16) has one main loop and one masked loop, parametrised by it.
template <bool kStream, __m512 (*kConvert)(__m256i)>
size_t WidenBody(const uint16_t* src, float* dst, size_t n) {
    size_t i = 0;
    for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
        const __m512 lo = kConvert(LoadI16x16(src + i));
        const __m512 hi = kConvert(LoadI16x16(src + i + kLanes));
        StoreF32<kStream>(dst + i, lo);
        StoreF32<kStream>(dst + i + kLanes, hi);
    }
    return i;
}

template <__m512 (*kConvert)(__m256i)>
void WidenMasked(const uint16_t* src, float* dst, size_t n) {
    for (size_t i = 0; i < n; i += kLanes) {
        const __mmask16 mask = FirstLanes(n - i);
        _mm512_mask_storeu_ps(dst + i, mask, kConvert(_mm256_maskz_loadu_epi16(mask, src + i)));
    }
}

template <bool kStream, __m512i (*kConvert)(__m512, __m512)>
size_t NarrowBody(const float* src, uint16_t* dst, size_t n) {
    size_t i = 0;
    for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
        StoreI16x32<kStream>(dst + i, kConvert(_mm512_loadu_ps(src + i), _mm512_loadu_ps(src + i + kLanes)));
    }
    return i;
}

template <__m256i (*kConvert)(__m512)>
void NarrowMasked(const float* src, uint16_t* dst, size_t n) {
    for (size_t i = 0; i < n; i += kLanes) {
        const __mmask16 mask = FirstLanes(n - i);
        _mm256_mask_storeu_epi16(dst + i, mask, kConvert(_mm512_maskz_loadu_ps(mask, src + i)));
    }
}

// The walk every conversion shares: a masked head up to 64-byte alignment when streaming, the
// vector body, then masked blocks for the rest (fewer than 32 elements).
template <typename Src, typename Dst>
void Convert(const Src* src, Dst* dst, size_t n, size_t (*body)(const Src*, Dst*, size_t),
             size_t (*stream_body)(const Src*, Dst*, size_t), void (*masked)(const Src*, Dst*, size_t)) {
    size_t i = 0;
    if (HalfUseStreamingStores<Src>(dst, n)) {
        const size_t head = HalfElementsToAlignment(dst, kVectorBytes);
        masked(src, dst, head);
        i = head + stream_body(src + head, dst + head, n - head);
        _mm_sfence();  // order the streaming stores before anything this thread stores next
    } else {
        i = body(src, dst, n);
    }
    masked(src + i, dst + i, n - i);
}

void F16ToF32Avx512(const uint16_t* src, float* dst, size_t n) {
    Convert(src, dst, n, WidenBody<false, F16ToF32x16>, WidenBody<true, F16ToF32x16>, WidenMasked<F16ToF32x16>);
}
void F32ToF16Avx512(const float* src, uint16_t* dst, size_t n) {
    Convert(src, dst, n, NarrowBody<false, F32ToF16x32>, NarrowBody<true, F32ToF16x32>, NarrowMasked<F32ToF16x16>);
}
void BF16ToF32Avx512(const uint16_t* src, float* dst, size_t n) {
    Convert(src, dst, n, WidenBody<false, BF16ToF32x16>, WidenBody<true, BF16ToF32x16>, WidenMasked<BF16ToF32x16>);
}
void F32ToBF16Avx512(const float* src, uint16_t* dst, size_t n) {
    Convert(src, dst, n, NarrowBody<false, F32ToBF16x32>, NarrowBody<true, F32ToBF16x32>, NarrowMasked<F32ToBF16x16>);
}

}  // namespace

const HalfKernels kHalfKernelsAvx512 = {F16ToF32Avx512, F32ToF16Avx512, BF16ToF32Avx512, F32ToBF16Avx512};

}  // namespace tenpak
