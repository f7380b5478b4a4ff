// The inner kernels with AVX-512 F/BW/VL/DQ: 16 lanes, the same results as ref/vec_ref.cpp except
// for the order of the dot's additions.
//
// The same scheme as vec_avx2.cpp on twice the lanes: vcvtph2ps widens F16 (exact), a
// zero-extension and a 16-bit left shift widens BF16. The dot keeps four 16-lane partial sums (64
// elements per iteration), adds them as (acc0 + acc1) + (acc2 + acc3) and then across lanes; the
// order depends only on n. axpy computes fma(a, w[j], y[j]) per element, bit-identical to the
// reference. The elements after the last full 64 go through masked loads and stores, 16 at a time:
// a masked load reads nothing outside its mask (no fault past the end of a buffer) and zeroes the
// other lanes, which then add fma(0, 0, s) = s.

// GCC 12's AVX-512 headers build "undefined" vectors as `__m512i __Y = __Y;`, which trips
// -Wmaybe-uninitialized once inlined (GCC bug 105593, fixed in GCC 13), and plain -Wuninitialized
// for _mm512_reduce_add_ps; the warnings are about the header, not this code, and are reported at
// the header's lines, which these pragmas cover.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop

#include <cmath>

#include "kernels/vec_kernels_internal.h"

namespace tenpak::kernels {
namespace {

constexpr size_t kLanes = 16;
constexpr size_t kUnroll = 4;  // partial sums in the dot; vectors per iteration in axpy
constexpr size_t kStep = kLanes * kUnroll;

// The first `count` lanes (count <= 16).
__mmask16 FirstLanes(size_t count) {
    return count >= kLanes ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << count) - 1u);
}

__m512 LoadF32x16(const float* p) {
    return _mm512_loadu_ps(p);
}
// A separate load, then vcvtph2ps from the register. GCC would fold the load into vcvtph2ps's
// memory operand; streaming F16 weights from DRAM on Zen 4, that form reached 0.86 - 0.92 of a
// plain streaming read and this one 1.07 - 1.11 (five runs each, same program, alternating). The
// empty asm makes the loaded value opaque to GCC, which keeps the load apart; it emits nothing.
__m512 LoadF16x16(const uint16_t* p) {
    __m256i half = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
    __asm__("" : "+v"(half));
    return _mm512_cvtph_ps(half);
}
__m512 WidenBF16x16(__m256i b) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(b), 16));
}
__m512 LoadBF16x16(const uint16_t* p) {
    return WidenBF16x16(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}

// The same loads restricted to the lanes in `mask`, zero elsewhere.
__m512 MaskedLoadF32x16(__mmask16 mask, const float* p) {
    return _mm512_maskz_loadu_ps(mask, p);
}
__m512 MaskedLoadF16x16(__mmask16 mask, const uint16_t* p) {
    return _mm512_cvtph_ps(_mm256_maskz_loadu_epi16(mask, p));
}
__m512 MaskedLoadBF16x16(__mmask16 mask, const uint16_t* p) {
    return WidenBF16x16(_mm256_maskz_loadu_epi16(mask, p));
}

template <typename W, __m512 (*kLoad)(const W*), __m512 (*kMaskedLoad)(__mmask16, const W*)>
float Dot(const W* w, const float* x, size_t n) {
    __m512 acc0 = _mm512_setzero_ps();
    __m512 acc1 = _mm512_setzero_ps();
    __m512 acc2 = _mm512_setzero_ps();
    __m512 acc3 = _mm512_setzero_ps();
    size_t j = 0;
    for (; j + kStep <= n; j += kStep) {
        acc0 = _mm512_fmadd_ps(kLoad(w + j), _mm512_loadu_ps(x + j), acc0);
        acc1 = _mm512_fmadd_ps(kLoad(w + j + kLanes), _mm512_loadu_ps(x + j + kLanes), acc1);
        acc2 = _mm512_fmadd_ps(kLoad(w + j + 2 * kLanes), _mm512_loadu_ps(x + j + 2 * kLanes), acc2);
        acc3 = _mm512_fmadd_ps(kLoad(w + j + 3 * kLanes), _mm512_loadu_ps(x + j + 3 * kLanes), acc3);
    }
    for (; j < n; j += kLanes) {
        const __mmask16 mask = FirstLanes(n - j);
        acc0 = _mm512_fmadd_ps(kMaskedLoad(mask, w + j), _mm512_maskz_loadu_ps(mask, x + j), acc0);
    }
    return _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(acc0, acc1), _mm512_add_ps(acc2, acc3)));
}

template <typename W, __m512 (*kLoad)(const W*), __m512 (*kMaskedLoad)(__mmask16, const W*)>
void Axpy(float a, const W* w, float* y, size_t n) {
    const __m512 va = _mm512_set1_ps(a);
    size_t j = 0;
    for (; j + kStep <= n; j += kStep) {
        for (size_t k = 0; k < kStep; k += kLanes) {
            _mm512_storeu_ps(y + j + k, _mm512_fmadd_ps(va, kLoad(w + j + k), _mm512_loadu_ps(y + j + k)));
        }
    }
    for (; j < n; j += kLanes) {
        const __mmask16 mask = FirstLanes(n - j);
        const __m512 out = _mm512_fmadd_ps(va, kMaskedLoad(mask, w + j), _mm512_maskz_loadu_ps(mask, y + j));
        _mm512_mask_storeu_ps(y + j, mask, out);
    }
}

// exp(x) for x <= 0 (softmax's shifted inputs): x = k ln2 + r with |r| <= ln2/2 (ln2 split in two
// parts so that r is exact), e^r by its degree-6 Taylor polynomial (truncation error below
// 1.2e-7 relative on that interval, Horner with FMA), scaled by 2^k through the exponent bits.
// Inputs below -87.3 give 2^-126-ish or 0, which softmax treats as 0 anyway.
__m512 ExpNonPositive(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.3f));
    const __m512 k = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                          _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(k, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(k, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.0f / 720);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 120));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 24));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f / 6));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(0.5f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.0f));
    const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(k), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
}

void Softmax(float* x, size_t n) {
    __m512 vmax = _mm512_set1_ps(-INFINITY);
    for (size_t j = 0; j < n; j += kLanes) {
        const __mmask16 mask = FirstLanes(n - j);
        vmax = _mm512_max_ps(vmax, _mm512_mask_loadu_ps(_mm512_set1_ps(-INFINITY), mask, x + j));
    }
    const __m512 max_value = _mm512_set1_ps(_mm512_reduce_max_ps(vmax));
    __m512 vsum = _mm512_setzero_ps();
    for (size_t j = 0; j < n; j += kLanes) {
        const __mmask16 mask = FirstLanes(n - j);
        const __m512 e = ExpNonPositive(_mm512_sub_ps(_mm512_maskz_loadu_ps(mask, x + j), max_value));
        vsum = _mm512_add_ps(vsum, _mm512_maskz_mov_ps(mask, e));
        _mm512_mask_storeu_ps(x + j, mask, e);
    }
    const __m512 inv = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vsum));
    for (size_t j = 0; j < n; j += kLanes) {
        const __mmask16 mask = FirstLanes(n - j);
        _mm512_mask_storeu_ps(x + j, mask, _mm512_mul_ps(_mm512_maskz_loadu_ps(mask, x + j), inv));
    }
}

}  // namespace

const KernelTable kKernelTableAvx512 = {
    Isa::kAvx512,
    Dot<float, LoadF32x16, MaskedLoadF32x16>,
    Dot<uint16_t, LoadF16x16, MaskedLoadF16x16>,
    Dot<uint16_t, LoadBF16x16, MaskedLoadBF16x16>,
    Axpy<float, LoadF32x16, MaskedLoadF32x16>,
    Axpy<uint16_t, LoadF16x16, MaskedLoadF16x16>,
    Axpy<uint16_t, LoadBF16x16, MaskedLoadBF16x16>,
    Softmax,
};

}  // namespace tenpak::kernels
