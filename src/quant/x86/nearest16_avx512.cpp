// The AVX-512 twin of EncodeNearestOf16Scalar, 16 weights at a time. With a table whose buckets are
// exact (Nearest16Table; NF4's are) the code is one bucket lookup and one compare; otherwise the
// scalar code's binary search, with the midpoint of each step looked up by a permute. The products
// x * inv and the compares against midpoints are the scalar code's IEEE operations, so the codes
// are the same bytes.

// GCC 12's AVX-512 headers build "undefined" vectors in a way that trips -Wmaybe-uninitialized
// (GCC bug 105593, fixed in GCC 13); see kernels/x86/vec_avx512.cpp.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include "quant/nearest16.h"

namespace tenpak::quant {
namespace {

constexpr __mmask16 kAll = 0xFFFF;

struct Tables {
    __m512i base_low, base_high;            // bucket_base[0..15], [16..31]
    __m512 threshold_low, threshold_high;   // bucket_threshold[0..15], [16..31]
    __m512 mid;                             // the 15 midpoints and a +Inf pad
};

inline __m512i BucketCodes(__m512 v, const Tables& t) {
    const __m512 clamped = _mm512_min_ps(_mm512_max_ps(v, _mm512_set1_ps(-1.0f)), _mm512_set1_ps(1.0f));
    const __m512 scaled = _mm512_mul_ps(_mm512_add_ps(clamped, _mm512_set1_ps(1.0f)), _mm512_set1_ps(16.0f));
    const __m512i bucket =
        _mm512_min_epi32(_mm512_cvttps_epi32(scaled), _mm512_set1_epi32(31));  // x = 1 is bucket 32
    const __m512i base = _mm512_permutex2var_epi32(t.base_low, bucket, t.base_high);
    const __m512 threshold = _mm512_permutex2var_ps(t.threshold_low, bucket, t.threshold_high);
    const __mmask16 above = _mm512_cmp_ps_mask(v, threshold, _CMP_GT_OQ);
    return _mm512_mask_add_epi32(base, above, base, _mm512_set1_epi32(1));
}

inline __m512i SearchCodes(__m512 v, const Tables& t) {
    __m512i index = _mm512_setzero_si512();
    for (int step = 8; step > 0; step /= 2) {
        // The midpoint between the two halves of the range [index, index + 2 * step).
        const __m512i probe = _mm512_add_epi32(index, _mm512_set1_epi32(step - 1));
        const __mmask16 above = _mm512_cmp_ps_mask(v, _mm512_permutexvar_ps(probe, t.mid), _CMP_GT_OQ);
        index = _mm512_mask_add_epi32(index, above, index, _mm512_set1_epi32(step));
    }
    return index;
}

template <bool kBuckets>
void Encode(const float* x, size_t n, float inv, const Tables& t, uint8_t* codes) {
    const __m512 scale = _mm512_set1_ps(inv);
    // The codes are narrowed in a register and stored with a plain 16-byte store: vpmovdb straight to
    // memory under a mask is microcoded on Zen 4 and was the loop's slowest instruction. Only the
    // tail uses a masked (byte-granular, AVX512BW) store.
    auto codes_of = [&](__mmask16 lanes, size_t i) {
        const __m512 v = _mm512_mul_ps(_mm512_maskz_loadu_ps(lanes, x + i), scale);
        return _mm512_cvtepi32_epi8(kBuckets ? BucketCodes(v, t) : SearchCodes(v, t));
    };
    size_t i = 0;
    for (; i + 16 <= n; i += 16) _mm_storeu_si128(reinterpret_cast<__m128i*>(codes + i), codes_of(kAll, i));
    if (i < n) {
        const auto lanes = static_cast<__mmask16>((1u << (n - i)) - 1u);
        _mm_mask_storeu_epi8(codes + i, lanes, codes_of(lanes, i));
    }
}

}  // namespace

void EncodeNearestOf16Avx512(const float* x, size_t n, float inv, const Nearest16Table& table, uint8_t* codes) {
    Tables t;
    t.base_low = _mm512_load_si512(table.bucket_base);
    t.base_high = _mm512_load_si512(table.bucket_base + 16);
    t.threshold_low = _mm512_load_ps(table.bucket_threshold);
    t.threshold_high = _mm512_load_ps(table.bucket_threshold + 16);
    if (table.buckets_exact) {
        Encode<true>(x, n, inv, t, codes);
    } else {
        alignas(64) float padded[16];
        for (int i = 0; i < 15; ++i) padded[i] = table.mid[i];
        padded[15] = __builtin_inff();  // never probed: the last probe is index 14
        t.mid = _mm512_load_ps(padded);
        Encode<false>(x, n, inv, t, codes);
    }
}

}  // namespace tenpak::quant
