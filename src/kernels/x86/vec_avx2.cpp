// The inner kernels with AVX2 + FMA + F16C: 8 lanes, the same results as ref/vec_ref.cpp except
// for the order of the dot's additions.
//
// F16 weights are widened by vcvtph2ps (exact), BF16 weights by zero-extending to 32 bits and
// shifting left 16 (a BF16 is the top half of an F32). The dot keeps four 8-lane partial sums (32
// elements per iteration, enough independent FMAs to cover their latency while the loads stream
// in) and adds them at the end: (acc0 + acc1) + (acc2 + acc3), then across lanes. That order
// depends only on n, never on alignment or threads, so a given input always gives the same
// result. axpy computes fma(a, w[j], y[j]) per element, bit-identical to the reference.
//
// AVX2 has no masked 16-bit load, so the last (fewer than 8) elements are copied into zeroed
// 8-lane buffers and go through the same vector code: a padding lane adds fma(0, 0, s) = s, and
// axpy copies only the real lanes back.
#include <immintrin.h>

#include <cstring>

#include "kernels/vec_kernels_internal.h"

namespace tenpak::kernels {
namespace {

constexpr size_t kLanes = 8;
constexpr size_t kUnroll = 4;  // partial sums in the dot; vectors per iteration in axpy
constexpr size_t kStep = kLanes * kUnroll;

__m256 LoadF32x8(const float* p) {
    return _mm256_loadu_ps(p);
}
// A separate load, then vcvtph2ps from the register: GCC would fold the load into vcvtph2ps's
// memory operand, which streams F16 weights from DRAM more slowly on Zen 4 (0.96 - 1.01 of a plain
// streaming read against 1.04 - 1.10; vec_avx512.cpp has the same). The empty asm makes the loaded
// value opaque to GCC, which keeps the load apart; it emits nothing.
__m256 LoadF16x8(const uint16_t* p) {
    __m128i half = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
    __asm__("" : "+x"(half));
    return _mm256_cvtph_ps(half);
}
__m256 LoadBF16x8(const uint16_t* p) {
    const __m256i wide = _mm256_cvtepu16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
    return _mm256_castsi256_ps(_mm256_slli_epi32(wide, 16));
}

float HorizontalSum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

// The last `count` (< 8) elements, zero-padded to a full vector.
template <typename W>
struct Tail {
    W w[kLanes] = {};
    float v[kLanes] = {};  // x for the dot, y for axpy

    Tail(const W* w_src, const float* v_src, size_t count) {
        std::memcpy(w, w_src, count * sizeof(W));
        std::memcpy(v, v_src, count * sizeof(float));
    }
};

template <typename W, __m256 (*kLoad)(const W*)>
float Dot(const W* w, const float* x, size_t n) {
    __m256 acc0 = _mm256_setzero_ps();
    __m256 acc1 = _mm256_setzero_ps();
    __m256 acc2 = _mm256_setzero_ps();
    __m256 acc3 = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + kStep <= n; j += kStep) {
        acc0 = _mm256_fmadd_ps(kLoad(w + j), _mm256_loadu_ps(x + j), acc0);
        acc1 = _mm256_fmadd_ps(kLoad(w + j + kLanes), _mm256_loadu_ps(x + j + kLanes), acc1);
        acc2 = _mm256_fmadd_ps(kLoad(w + j + 2 * kLanes), _mm256_loadu_ps(x + j + 2 * kLanes), acc2);
        acc3 = _mm256_fmadd_ps(kLoad(w + j + 3 * kLanes), _mm256_loadu_ps(x + j + 3 * kLanes), acc3);
    }
    for (; j + kLanes <= n; j += kLanes) acc0 = _mm256_fmadd_ps(kLoad(w + j), _mm256_loadu_ps(x + j), acc0);
    if (j < n) {
        const Tail<W> tail(w + j, x + j, n - j);
        acc1 = _mm256_fmadd_ps(kLoad(tail.w), _mm256_loadu_ps(tail.v), acc1);
    }
    return HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
}

template <typename W, __m256 (*kLoad)(const W*)>
void Axpy(float a, const W* w, float* y, size_t n) {
    const __m256 va = _mm256_set1_ps(a);
    size_t j = 0;
    for (; j + kStep <= n; j += kStep) {
        for (size_t k = 0; k < kStep; k += kLanes) {
            _mm256_storeu_ps(y + j + k, _mm256_fmadd_ps(va, kLoad(w + j + k), _mm256_loadu_ps(y + j + k)));
        }
    }
    for (; j + kLanes <= n; j += kLanes) {
        _mm256_storeu_ps(y + j, _mm256_fmadd_ps(va, kLoad(w + j), _mm256_loadu_ps(y + j)));
    }
    if (j < n) {
        Tail<W> tail(w + j, y + j, n - j);
        _mm256_storeu_ps(tail.v, _mm256_fmadd_ps(va, kLoad(tail.w), _mm256_loadu_ps(tail.v)));
        std::memcpy(y + j, tail.v, (n - j) * sizeof(float));
    }
}

// exp(x) for x <= 0, as ExpNonPositive in vec_avx512.cpp (the same constants and steps).
__m256 ExpNonPositive(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.3f));
    const __m256 k = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                                     _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(k, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(k, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.0f / 720);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 120));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 24));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f / 6));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(0.5f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.0f));
    const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(k), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(bits));
}

void Softmax(float* x, size_t n) {
    float max_value = x[0];
    for (size_t j = 1; j < n; ++j) max_value = x[j] > max_value ? x[j] : max_value;
    const __m256 vmax = _mm256_set1_ps(max_value);
    __m256 vsum = _mm256_setzero_ps();
    size_t j = 0;
    for (; j + kLanes <= n; j += kLanes) {
        const __m256 e = ExpNonPositive(_mm256_sub_ps(_mm256_loadu_ps(x + j), vmax));
        vsum = _mm256_add_ps(vsum, e);
        _mm256_storeu_ps(x + j, e);
    }
    float sum = HorizontalSum(vsum);
    if (j < n) {  // the tail through a padded buffer; only the real lanes are summed and kept
        float tail[kLanes] = {};
        std::memcpy(tail, x + j, (n - j) * sizeof(float));
        _mm256_storeu_ps(tail, ExpNonPositive(_mm256_sub_ps(_mm256_loadu_ps(tail), vmax)));
        for (size_t i = 0; i < n - j; ++i) sum += tail[i];
        std::memcpy(x + j, tail, (n - j) * sizeof(float));
    }
    const float inv = 1.0f / sum;
    for (size_t i = 0; i < n; ++i) x[i] *= inv;
}

}  // namespace

const KernelTable kKernelTableAvx2 = {
    Isa::kAvx2,
    Dot<float, LoadF32x8>,
    Dot<uint16_t, LoadF16x8>,
    Dot<uint16_t, LoadBF16x8>,
    Axpy<float, LoadF32x8>,
    Axpy<uint16_t, LoadF16x8>,
    Axpy<uint16_t, LoadBF16x8>,
    Softmax,
};

}  // namespace tenpak::kernels
